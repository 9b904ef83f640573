/**
 * What each planned resource's change means for Patroni: a member's file (reload, restart,
 * added, removed, created with its cluster), its env file and stop on destroy, the DCS patch,
 * the link's slots, the role change (switchover, rejoin), the promotion's detach, the re-seed's
 * steps; where it acts, and the role event a headline names.
 */
import { parse } from 'yaml';
import { parameterFindings, patchReview, unified } from './config-changes';
import { attention, Finding, info, ResourceReview, RoleEvent, UNNAMED } from './model';
import { Entry, HASH, roleConfigOf } from './resources';
import { num, obj, parseJson, str, Values } from './values';
import { listed } from './words';

/** Whether the step's provisioners run: on create (a replace is a create). */
const runs = (action: string): boolean => action === 'create' || action === 'replace';

/** What the review of one stack knows about it while reading its resources. */
export interface StackContext {
  readonly stack: string;
  /** This stack's data center. */
  readonly cluster: string;
  /** The source of the link this cluster follows (its standby role change's other cluster), when it names one. */
  readonly source?: string;
  /** Members whose stop-on-destroy step leaves the plan (it stops their Patroni). */
  readonly stopped: ReadonlySet<string>;
  readonly memberOf: (ip: string) => string | undefined;
  /** The cluster a resource belongs to, by the construct path above its own components. */
  readonly clusterOf: (e: Entry) => ClusterFacts;
}

/** A cluster of the stack, as its resources in the plan show it. */
export interface ClusterFacts {
  /** Its name: its role change's, else its DCS patch's, else the stack's cluster. */
  readonly name: string;
  /** The role its role change gives it after the plan (a cluster that is the standby of a link is a standby). */
  readonly role?: string;
  /** The cluster it follows, when it is a standby. */
  readonly source?: string;
  /** Whether the plan creates it whole: it has members, and every resource of it is created (a first deploy). */
  readonly fresh: boolean;
  /** Its first member in the plan, when it is fresh. */
  readonly first?: string;
}

function memberReview(e: Entry, ctx: StackContext): ResourceReview {
  const { action, before, after } = e;
  const name = str(e.v.member) ?? e.part;
  const who = name ? `member ${name}` : 'a member whose name is not in the plan';
  const at = (v: Values | undefined) => (str(v?.host) ? ` (${v!.host})` : '');
  const findings: Finding[] = [];
  const restart: string[] = [];
  let reload: boolean | undefined;
  const cluster = ctx.clusterOf(e);
  const leader = cluster.role === 'standby' ? 'standby leader' : 'leader';
  if (action === 'create' && cluster.fresh) {
    // Created with its cluster (a first deploy, or a new standby cluster): for information, see
    // clustersOf. The members start side by side and the first whose Patroni takes the new
    // cluster's initialize key bootstraps it: the plan's first member is named, with that said.
    const how =
      name === undefined || name !== cluster.first
        ? `it joins as a replica (cloned from the ${leader})`
        : cluster.role === 'standby'
          ? `as the standby leader it clones from ${cluster.source ?? 'its source'} across the link (or the member that starts before it does)`
          : 'it bootstraps the cluster with initdb (or the member that starts before it does)';
    findings.push(
      info(`${who}${at(after)} created with its cluster: its file is written and Patroni started on it; ${how}`),
    );
  } else if (action === 'create') {
    // Added to a running cluster: it clones a full copy from the leader, which loads it, and then
    // serves as a replica: worth a reviewer's look.
    findings.push(
      attention(
        `${who}${at(after)} added: its file is written and Patroni started on it; it joins as a replica (cloned from the ${leader})`,
      ),
    );
  }
  if (action === 'delete') {
    const stopped = name !== undefined && ctx.stopped.has(name);
    findings.push(
      attention(
        `${who}${at(before)} removed from the stack: ${stopped ? 'its Patroni is stopped (deploy.stopOnDestroy)' : 'its Patroni keeps running (deploy.stopOnDestroy is off); stop it and remove it from the cluster by hand'}`,
      ),
    );
  }
  if (action === 'update' || action === 'replace') {
    const b = str(before?.runtime_sha256);
    const a = str(after?.runtime_sha256);
    if (b === undefined && a === undefined) {
      findings.push(
        info(
          `${who}: the file is rewritten; the plan does not show whether the part Patroni reads at run time changed (no runtime_sha256)`,
        ),
      );
    } else {
      reload = b !== a;
      findings.push(
        info(
          reload
            ? `${who}: the file is rewritten and Patroni reloaded (the part it reads at run time changed)`
            : `${who}: the file is rewritten, no reload (only its bootstrap part changed, read when a cluster is initialised)`,
        ),
      );
    }
    const local = (v: Values | undefined): Values => {
      try {
        return obj(obj(obj(parse(String(v?.patroni_yml ?? ''), { version: '1.1' })).postgresql).parameters);
      } catch {
        return {};
      }
    };
    // the same part read at run time (everything but bootstrap): the same parameters, nothing to parse
    if (reload !== false) {
      const params = parameterFindings(local(before), local(after), `${who}:`);
      findings.push(...params.findings);
      restart.push(...params.restart);
    }
  }
  const yml = (v: Values | undefined) => (typeof v?.patroni_yml === 'string' ? v.patroni_yml : '');
  return {
    kind: 'member',
    subject: name ? `member ${name}` : 'a member',
    where: `of ${cluster.name}`,
    action,
    findings,
    diffs: [unified(`${name ?? 'member'}: patroni.yml`, yml(before), yml(after))],
    target: cluster.name,
    reload,
    restart,
  };
}

/** The member steps beside its file: the env file of secrets, the stop on destroy. */
function memberStepReview(e: Entry, ctx: StackContext): ResourceReview {
  const name = str(e.v.member) ?? e.part;
  const owner = name ? `member ${name}'s` : "a member's";
  const findings: Finding[] = [];
  if (e.kind === 'env-file' && e.action !== 'delete')
    findings.push(info('the env file is written again from the ephemeral variables (values are never in the plan)'));
  if (e.kind === 'stop-on-destroy' && e.action === 'delete')
    findings.push(info(`it stops Patroni on ${name ?? 'the member'} as it leaves the plan`));
  if (e.kind === 'stop-on-destroy' && e.action === 'create')
    findings.push(info(`from now on, ${name ?? 'the member'} taken out of the stack has its Patroni stopped`));
  const cluster = ctx.clusterOf(e).name;
  return {
    kind: e.kind,
    subject: `${owner} ${e.kind === 'env-file' ? 'env file' : 'stop on destroy'}`,
    where: `on ${cluster}`,
    action: e.action,
    findings,
    diffs: [],
    target: cluster,
  };
}

/** `of dc1`, and the stack it runs from when that is another data center's. */
function ofWhere(target: string, ctx: StackContext): string {
  return target === ctx.cluster ? `of ${target}` : `of ${target} (run from ${ctx.cluster}'s stack)`;
}

function dcsPatchReview(e: Entry, ctx: StackContext): ResourceReview {
  const target = str(e.v.cluster) ?? ctx.cluster;
  // a new cluster's patch: what it starts with, for information (nothing runs yet that it could disturb)
  const { findings, restart, diff } = patchReview(
    e.before,
    e.after,
    target,
    ctx.memberOf,
    'DCS patch',
    ctx.clusterOf(e).fresh,
  );
  return {
    kind: 'dcs-patch',
    subject: 'DCS patch',
    where: ofWhere(target, ctx),
    action: e.action,
    findings,
    diffs: [diff],
    target,
    restart,
  };
}

/**
 * The link's slots step: in the standby's stack a DCS patch of the source's slots (after the
 * standby's own patch); in the source's stack inactive, it runs nothing.
 */
function linkSlotsReview(e: Entry, ctx: StackContext): ResourceReview {
  const active = (v: Values | undefined) => v !== undefined && 'patch_json' in v;
  if (e.after && !active(e.after)) {
    const wrote = active(e.before)
      ? `; until now it wrote the link's slots on ${str(e.before!.cluster) ?? ctx.source ?? 'the source'}`
      : '';
    return {
      kind: 'link-slots',
      subject: 'link slots',
      where: `(in ${ctx.cluster}'s stack; inactive)`,
      action: e.action,
      findings: [
        info(
          `inactive: ${ctx.cluster} is the source of the link, so this step runs nothing (the standby's stack writes the link's slots on ${ctx.cluster})${wrote}`,
        ),
      ],
      diffs: [],
      inactive: true,
    };
  }
  const target = str(e.v.cluster) ?? ctx.source ?? 'the source';
  const { findings, restart, diff } = patchReview(
    active(e.before) ? e.before : undefined,
    e.after,
    target,
    ctx.memberOf,
    `link slots on ${target}`,
  );
  return {
    kind: 'link-slots',
    subject: 'link slots',
    where: `on ${target} (run from ${ctx.cluster}'s stack)`,
    action: e.action,
    findings,
    diffs: [diff],
    target,
    restart,
  };
}

function roleReview(e: Entry, ctx: StackContext): ResourceReview {
  const { action, before, after } = e;
  const cfg = roleConfigOf(e);
  const was = parseJson(before?.role_config);
  const now = parseJson(after?.role_config);
  const me = str(obj(cfg.me).name) ?? ctx.cluster;
  const other = str(obj(cfg.other).name);
  const otherName = other ?? UNNAMED;
  const b = str(before?.role) ?? str(was.role);
  const a = str(after?.role) ?? str(now.role);
  const wasState = str(before?.link_state) ?? str(was.state);
  const state = str(after?.link_state) ?? str(now.state);
  const inStack = `in ${ctx.cluster}'s stack`;
  const touching = `(${inStack}; touches ${other ? listed([me, other].sort()) : `${me} and the other cluster`})`;
  const idle = `(${inStack}; runs nothing)`;
  const review = (where: string, findings: Finding[], event?: RoleEvent): ResourceReview => ({
    kind: 'role',
    subject: 'role change',
    where,
    action,
    findings,
    diffs: [],
    event,
  });
  const dataLoss = cfg.acceptDataLoss === true;

  if (action === 'delete') return review(`(${inStack})`, [info('the role change leaves the plan: nothing runs')]);
  if (action !== 'create' && b === a && a === 'standby' && wasState === 'detached' && state === 'following') {
    return review(
      touching,
      [
        attention(
          `the link follows again after a promotion: if ${me} is a primary, its role change REJOINS it as the standby of ${other ?? 'the source'} (pg_rewind; its replicas re-cloned), which throws away what it wrote since the promotion${dataLoss ? ' (acceptDataLoss is set)' : ', refused unless roleChange.acceptDataLoss'}`,
        ),
      ],
      { kind: 'rejoin', cluster: me, to: other },
    );
  }
  if (action === 'create' || b === a || a === undefined || b === undefined) {
    const out: Finding[] = [];
    if (dataLoss)
      out.push(
        attention(
          'roleChange.acceptDataLoss is set: a rejoin discards what the diverged cluster wrote after the split',
        ),
      );
    // A role change created (a first deploy, or a new link): it acts only where the clusters' roles
    // differ from the topology's, which new clusters cannot; for information, in one line.
    if (action === 'create') {
      const roles =
        a === 'source'
          ? `${me} is the source and ${otherName} follows it`
          : a === 'standby'
            ? `${me} follows ${otherName}`
            : 'the roles are as the topology says';
      out.push(
        info(
          state === 'detached'
            ? 'created with the link detached (a promotion): it changes nothing now; it acts once the link follows again'
            : `created: when link.source changes later, the new source's role resource runs the role change; now this one checks that ${roles}, and changes nothing when the clusters are new or already so`,
        ),
      );
    }
    if (action === 'update')
      out.push(info('its settings change, not its role: nothing runs now; the next role change uses them'));
    if (action === 'replace' && a === 'standby' && state === 'detached' && wasState !== 'detached')
      out.push(info(`the link is detached: this step runs nothing (the detach in this stack promotes ${me})`));
    // created, either role's step looks at both clusters; replaced, only the source's acts
    return review(action === 'create' || (runs(action) && (a ?? b) === 'source') ? touching : idle, out);
  }
  if (a === 'source') {
    const maxLag = num(cfg.maxLagBytes);
    const catchUp = num(cfg.catchUpTimeoutSeconds);
    return review(
      touching,
      [
        attention(
          `SWITCHOVER ${otherName} -> ${me}: ${me} becomes the source (role ${b} -> ${a}) and ${otherName} its standby. This role change runs the gate (the link healthy${maxLag !== undefined ? `, the lag at most ${maxLag} bytes` : ''}), puts the slot on ${me}, fences ${otherName}, the old primary (standby_cluster), waits until everything ${otherName} wrote is replayed on ${me} (${catchUp !== undefined ? `at most ${catchUp} s, ` : ''}else the fence is undone), promotes ${me} and makes ${otherName} follow (nothing re-cloned). If the two have diverged (after a disaster promotion), ${otherName} is rejoined instead${dataLoss ? ', DISCARDING its writes after the split (acceptDataLoss)' : ', refused unless roleChange.acceptDataLoss'}`,
        ),
      ],
      { kind: 'switchover', from: otherName, to: me },
    );
  }
  if (a === 'standby') {
    const runner = other ? `${other}'s role change (in ${other}'s stack)` : "the new source's role change";
    return review(
      idle,
      [
        attention(
          `${me} becomes the standby${other ? ` of ${other}` : ''} (role ${b} -> ${a}): this step runs nothing; ${runner} demotes it and makes it follow`,
        ),
      ],
      { kind: 'switchover', from: me, to: otherName },
    );
  }
  return review(idle, [attention(`role ${b} -> ${a}: not a role this review knows (source or standby)`)]);
}

function detachReview(e: Entry, ctx: StackContext): ResourceReview {
  const target = str(e.v.cluster) ?? ctx.cluster;
  const gate = parseJson(e.after?.gate_config);
  const source = ctx.source ?? str(obj(gate.source).name) ?? 'the source';
  const settle = num(gate.settleSeconds);
  const findings: Finding[] = [];
  let event: RoleEvent | undefined;
  if (!runs(e.action)) {
    if (e.action === 'delete') findings.push(info('the detach leaves the plan: nothing runs'));
  } else if (gate.disaster === true) {
    findings.push(
      attention(
        `DISASTER PROMOTION of ${target} (link.promotion.disaster): it is promoted without its source; the gate checks only that everything received is replayed and prints the last known position. Writes that ${source} made after that are lost`,
      ),
    );
    event = { kind: 'promotion', cluster: target, disaster: true };
  } else {
    findings.push(
      attention(
        `PROMOTION of ${target}: it is detached (its standby_cluster block removed) and becomes an independent primary, after the promotion gate: same system identifier and timeline as ${source}, replay not paused, caught up, no write on ${source} for ${settle !== undefined ? `${settle} s` : 'the settle time (its length is not in the plan)'}, no open write or prepared transaction; a refusal leaves both clusters as they are`,
      ),
    );
    event = { kind: 'promotion', cluster: target, disaster: false };
  }
  return {
    kind: 'detach',
    subject: 'promotion (detach)',
    where: ofWhere(target, ctx),
    action: e.action,
    findings,
    diffs: [],
    event,
    target,
  };
}

/**
 * The re-seed's steps: its gate carries the plan-wide warning (what is thrown away, what is kept);
 * each host step says what it does on its member. Only a create or a replace runs them; their
 * removal (link.reseed taken out) runs nothing.
 */
function reseedReview(e: Entry, ctx: StackContext): ResourceReview {
  const { action, v } = e;
  const step = e.part ?? 'step';
  const cfg = parseJson(v.reseed_config);
  const reseeded = str(obj(cfg.standby).name) ?? ctx.cluster;
  const source = str(obj(cfg.source).name) ?? ctx.source;
  const generation = str(v.generation) ?? (num(cfg.generation) !== undefined ? String(num(cfg.generation)) : undefined);
  const member = str(v.member) ?? /^(.+)-(?:set-aside|start)$/.exec(step)?.[1];
  const review = (where: string, findings: Finding[], event?: RoleEvent): ResourceReview => ({
    kind: 'reseed',
    subject: `re-seed ${step}`,
    where,
    action,
    findings,
    diffs: [],
    event,
    target: reseeded,
  });
  const onHost = `on ${reseeded}`;
  if (step === 'gate') {
    const where = `(in ${ctx.cluster}'s stack; touches ${source ? listed([reseeded, source].sort()) : `${reseeded} and its source`})`;
    if (!runs(action)) return review(where, [info('the re-seed step leaves the plan: nothing runs')]);
    const aside = Object.entries(obj(cfg.setAside))
      .filter(([, d]) => typeof d === 'string')
      .map(([m, d]) => `${m} -> ${d}`)
      .join(', ');
    return review(
      where,
      [
        attention(
          `RE-SEED of ${str(obj(cfg.standby).name) ?? 'the standby cluster'} from ${str(obj(cfg.source).name) ?? 'the source'}${generation ? ` (generation ${generation})` : ''}: refused unless it is a standby cluster whose standby leader cannot stream; then every member is stopped, its data directory set aside (${aside ? `${aside}; ` : ''}nothing deleted), the cluster's DCS state removed, and the members cloned anew from the source (a full copy across the data centers)`,
        ),
      ],
      { kind: 'reseed', cluster: reseeded, generation },
    );
  }
  if (!runs(action)) return review(onHost, [info('the re-seed step leaves the plan: nothing runs')]);
  const who = member ? `member ${member}` : 'a member whose name is not in the plan';
  if (step.endsWith('-set-aside'))
    return review(onHost, [attention(`${who}: Patroni stopped, its data directory set aside`)]);
  if (step === 'dcs-reset')
    return review(onHost, [
      attention(`the cluster's state in its DCS removed (patronictl remove${member ? `, on ${member}` : ''})`),
    ]);
  if (step.endsWith('-start')) return review(onHost, [info(`${who}: Patroni started, it clones anew`)]);
  if (step === 'wait') return review(onHost, [info('waits until the re-seeded members stream')]);
  return review(onHost, []);
}

/** A resource's review, by its kind. */
export function reviewResource(e: Entry, ctx: StackContext): ResourceReview {
  switch (e.kind) {
    case 'member':
      return memberReview(e, ctx);
    case 'env-file':
    case 'stop-on-destroy':
      return memberStepReview(e, ctx);
    case 'dcs-patch':
      return dcsPatchReview(e, ctx);
    case 'link-slots':
      return linkSlotsReview(e, ctx);
    case 'role':
      return roleReview(e, ctx);
    case 'detach':
      return detachReview(e, ctx);
    case 'reseed':
      return reseedReview(e, ctx);
    default:
      return {
        kind: 'other',
        subject: e.name.replace(HASH, '') || 'a resource whose name is not in the plan',
        where: '',
        action: e.action,
        findings: [],
        diffs: [],
      };
  }
}
