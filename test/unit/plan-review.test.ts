/**
 * The plan review (ops/plan-review.ts) on plans made from two synths of the stacks (before and
 * after a topology change): what it says Patroni will do, what it marks for attention, which data
 * center each step touches, the headline of each environment, and the Markdown; a first deploy
 * (clusters the plans create whole: a new environment, a standby added to a running source). Also: plans made
 * by the previous version (link_... names), constructs composed under other ids, plans with
 * fields missing, and the command's exit codes. The end-to-end walkthrough runs it on plans that
 * Terraform saved.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import {
  environments,
  main,
  membersByAddress,
  needsAttention,
  Plan,
  reviewMarkdown,
  reviewPlan,
  StackReview,
} from '../../ops/plan-review';
import { PatroniCluster } from '../../constructs/patroni-cluster';
import { StandbyLink } from '../../constructs/standby-link';
import { parseTopology } from '../../stacks/topology-file';
import { articleTopology, mutate, synthTopology, TfJson } from './helpers';

/** A `terraform show -json` plan between two synthesized stacks (terraform_data values are known at plan). */
function planBetween(before: TfJson | undefined, after: TfJson) {
  const b = before?.resource?.terraform_data ?? {};
  const a = after.resource.terraform_data ?? {};
  const change = (name: string) => {
    const was = b[name] ? { input: b[name].input } : null;
    const now = a[name] ? { input: a[name].input } : null;
    const same = JSON.stringify(was) === JSON.stringify(now);
    const actions = !was ? ['create'] : !now ? ['delete'] : same ? ['no-op'] : ['delete', 'create'];
    return {
      address: `terraform_data.${name}`,
      type: 'terraform_data',
      name,
      change: { actions, before: was, after: now },
    };
  };
  return { resource_changes: [...new Set([...Object.keys(b), ...Object.keys(a)])].sort().map(change) };
}

/**
 * A stack's JSON as the previous version named it: the link's steps under `link_` in the
 * standby's stack (`link_source-slots_apply`, `link_promotion_detach_apply`, `link_reseed_<step>`),
 * no link-slots step in the source's stack, no `cluster` input on the patches.
 */
function previousVersion(json: TfJson): TfJson {
  const out: Record<string, any> = {};
  for (const [name, r] of Object.entries(json.resource.terraform_data ?? {})) {
    const input = { ...r.input };
    if (name.startsWith('cluster_link-slots_apply_') && !('patch_json' in input)) continue;
    delete input.cluster;
    const old = name
      .replace(/^cluster_link-slots_apply_/, 'link_source-slots_apply_')
      .replace(/^cluster_promotion_detach_apply_/, 'link_promotion_detach_apply_')
      .replace(/^cluster_reseed_/, 'link_reseed_');
    out[old] = { ...r, input };
  }
  return { ...json, resource: { ...json.resource, terraform_data: out } };
}

function review(
  change: (t: any) => void,
  from = articleTopology(),
  linkState?: string,
  shape: (j: TfJson) => TfJson = (j) => j,
): { primary: StackReview; standby: StackReview } {
  const before = synthTopology(from);
  const changed = mutate(from, change);
  const after = synthTopology(linkState ? parseTopology(stringify(changed), 'x.yaml', linkState).topology : changed);
  const plans = {
    primary: planBetween(shape(before.primary), shape(after.primary)),
    standby: planBetween(shape(before.standby), shape(after.standby)),
  };
  const members = membersByAddress([plans.primary, plans.standby]);
  return {
    primary: reviewPlan('primary', plans.primary, (ip) => members.get(ip)),
    standby: reviewPlan('standby', plans.standby, (ip) => members.get(ip)),
  };
}

const texts = (s: StackReview, subject?: string) =>
  s.resources
    .filter((r) => !subject || r.subject === subject)
    .flatMap((r) => r.findings.map((f) => `${f.attention ? 'ATTENTION ' : ''}${f.text}`));
const headings = (s: StackReview) => s.resources.map((r) => `${r.subject}${r.where ? ` ${r.where}` : ''}: ${r.action}`);
const headlines = (...s: StackReview[]) => environments(s).map((e) => `${e.name}: ${e.headline}`);

/** The clusters: layout of the article's clusters as dc1 and dc2. */
const dcLayout = (source: 'dc1' | 'dc2', link: Record<string, unknown> = {}) => {
  const t = articleTopology();
  return parseTopology(
    stringify({ clusters: { dc1: t.primary, dc2: t.standby }, link: { ...t.link, source, ...link } }),
    'dc.yaml',
  ).topology;
};

/** A switchover dc1 -> dc2: each data center's stack keeps its name and its cluster. */
function switchover() {
  const b = synthTopology(dcLayout('dc1'));
  const a = synthTopology(dcLayout('dc2'));
  const plans = { dc1: planBetween(b.primary, a.standby), dc2: planBetween(b.standby, a.primary) };
  const members = membersByAddress([plans.dc1, plans.dc2]);
  return {
    dc1: reviewPlan('dc1', plans.dc1, (ip) => members.get(ip)),
    dc2: reviewPlan('dc2', plans.dc2, (ip) => members.get(ip)),
  };
}

test('no change: nothing to review, exit 0', () => {
  const r = review(() => undefined);
  expect([r.primary.resources, r.standby.resources]).toEqual([[], []]);
  expect(needsAttention([r.primary, r.standby])).toBe(false);
  expect(reviewMarkdown([r.primary])).toBe(
    "## Patroni plan review\n\n- **primary and standby** (stack `primary`): no role change; no changes\n\nNothing here needs a reviewer's attention.\n\n### Stack `primary`\n\nNo change.\n",
  );
});

test('a reload-only parameter: applied with a reload, nothing for attention', () => {
  const r = review((t) => (t.primary.postgresql.parameters.effective_cache_size = '3GB'));
  expect(texts(r.primary, 'DCS patch')).toEqual([
    'cluster-wide parameter effective_cache_size set to "3GB": Patroni applies it with a reload',
  ]);
  expect(texts(r.primary, 'member so1')).toEqual([
    'member so1: the file is rewritten, no reload (only its bootstrap part changed, read when a cluster is initialised)',
  ]);
  expect(needsAttention([r.primary, r.standby])).toBe(false);
  const patch = r.primary.resources.find((x) => x.subject === 'DCS patch')!.diffs[0].diff;
  expect(patch).toMatch(/^\+ {6}"effective_cache_size": "3GB"/m);
  expect(headings(r.primary)).toEqual([
    'DCS patch of primary: replace',
    'member so1 of primary: replace',
    'member so2 of primary: replace',
    'member so3 of primary: replace',
  ]);
  expect(headlines(r.primary, r.standby)).toEqual([
    'primary and standby: no role change; configuration only: 3 member files rewritten without a reload, DCS patch of primary changed',
  ]);
});

test('a parameter that needs a restart is marked, with what Patroni will show, and named in the headline', () => {
  const r = review((t) => (t.primary.postgresql.parameters.max_connections = 500));
  expect(texts(r.primary, 'DCS patch')).toEqual([
    expect.stringMatching(
      /^ATTENTION cluster-wide parameter max_connections set to 500: needs a PostgreSQL restart, which this deploy does not do; Patroni shows the members as pending restart/,
    ),
  ]);
  expect(needsAttention([r.primary])).toBe(true);
  expect(headlines(r.primary, r.standby)).toEqual([
    expect.stringMatching(
      /^primary and standby: no role change; configuration only: .*a PostgreSQL restart needed for max_connections, DCS patch of primary changed$/,
    ),
  ]);
});

test('a member-local parameter in patroni.yml: a reload, or a restart named', () => {
  const r = review(
    (t) => (t.primary.nodes[0].overrides = { postgresql: { parameters: { shared_buffers: '2GB', work_mem: '8MB' } } }),
  );
  const so1 = texts(r.primary, 'member so1');
  expect(so1).toContain(
    'member so1: the file is rewritten and Patroni reloaded (the part it reads at run time changed)',
  );
  expect(so1).toContain(
    'ATTENTION member so1: parameter shared_buffers set to "2GB": needs a PostgreSQL restart, which this deploy does not do; Patroni shows the members as pending restart until one (patronictl restart)',
  );
  expect(so1).toContain('member so1: parameter work_mem set to "8MB": Patroni applies it with a reload');
  expect(r.primary.resources.find((x) => x.subject === 'member so1')!.diffs[0].diff).toMatch(
    /^\+ +shared_buffers: "2GB"$/m,
  );
  expect(headlines(r.primary, r.standby)).toEqual([
    'primary and standby: no role change; configuration only: 1 member reloaded, a PostgreSQL restart needed for shared_buffers',
  ]);
});

test("a renamed link slot: created on the source, the old one removed (for attention) by the link slots step of the standby's stack", () => {
  const r = review((t) => (t.link.slotName = 'dr_slot'));
  expect(texts(r.primary, 'DCS patch')).toEqual(
    expect.arrayContaining(['slot dr_slot created on primary: it retains WAL for its consumer from now on']),
  );
  expect(texts(r.standby, 'link slots').join('\n')).toMatch(
    /ATTENTION slot my_standby_cluster_slot removed on primary|slot dr_slot created on primary/,
  );
  expect(texts(r.standby, 'DCS patch')).toEqual([
    expect.stringMatching(/^standby_cluster changed: the standby leader of standby follows .* through dr_slot/),
  ]);
  expect(headings(r.standby)).toContain("link slots on primary (run from standby's stack): replace");
  expect(headings(r.standby)).toContain('DCS patch of standby: replace');
});

test('a standby member removed: the member, and the source no longer admitting its replication', () => {
  const r = review((t) => (t.standby.nodes = t.standby.nodes.slice(0, 2)));
  expect(texts(r.standby, 'member ta3')).toEqual([
    'ATTENTION member ta3 (192.168.122.172) removed from the stack: its Patroni keeps running (deploy.stopOnDestroy is off); stop it and remove it from the cluster by hand',
  ]);
  expect(texts(r.primary, 'DCS patch')).toContain(
    'ATTENTION pg_hba stops admitting replication as replicator from member ta3 (192.168.122.172): `host replication replicator 192.168.122.172/32 scram-sha-256` is removed and no line matches any more; a standby or replica there can no longer stream',
  );
  expect(headlines(r.primary, r.standby)[0]).toMatch(
    /^primary and standby: no role change; configuration only: 1 member removed, /,
  );
});

test('a member removed with deploy.stopOnDestroy: its stop step says so', () => {
  const from = mutate(articleTopology(), (t) => (t.standby.deploy = { ...t.standby.deploy, stopOnDestroy: true }));
  const r = review((t) => (t.standby.nodes = t.standby.nodes.slice(0, 2)), from);
  expect(texts(r.standby, 'member ta3')).toEqual([
    'ATTENTION member ta3 (192.168.122.172) removed from the stack: its Patroni is stopped (deploy.stopOnDestroy)',
  ]);
  expect(headings(r.standby)).toContain("member ta3's stop on destroy on standby: delete");
});

test('a member added', () => {
  const r = review((t) => t.primary.nodes.push({ name: 'so4', host: '192.168.122.44' }));
  expect(texts(r.primary, 'member so4')).toEqual([
    'ATTENTION member so4 (192.168.122.44) added: its file is written and Patroni started on it; it joins as a replica (cloned from the leader)',
  ]);
  expect(texts(r.standby, 'DCS patch').join('\n')).toContain(
    'pg_hba line added: `host replication replicator 192.168.122.44/32 scram-sha-256`',
  );
});

describe('a first deploy: clusters the plans create whole', () => {
  /** The article's clusters as fra (the source) and ber, in the clusters: layout. */
  const fraBer = () => {
    const t = articleTopology();
    return parseTopology(
      stringify({ clusters: { fra: t.primary, ber: t.standby }, link: { ...t.link, source: 'fra' } }),
      'fra-ber.yaml',
    ).topology;
  };
  /** The same clusters composed by hand: fra alone in stack east, or with ber in stack west and the link. */
  const composed = (withStandby: boolean) => {
    const t = articleTopology();
    const app = Testing.app();
    const east = new TerraformStack(app, 'east');
    const fra = new PatroniCluster(east, 'cluster', { name: 'fra', ...t.primary });
    if (!withStandby) return { east: JSON.parse(Testing.synth(east)) as TfJson };
    const west = new TerraformStack(app, 'west');
    const ber = new PatroniCluster(west, 'cluster', { name: 'ber', ...t.standby });
    new StandbyLink(west, 'link', { clusters: [fra, ber], source: fra, ...t.link });
    return { east: JSON.parse(Testing.synth(east)) as TfJson, west: JSON.parse(Testing.synth(west)) as TfJson };
  };

  test('a new environment: the headline says what bootstraps and what follows; the first member bootstraps, the standby leader clones across the link, the others join as replicas; nothing for attention', () => {
    const a = synthTopology(fraBer());
    const plans = { fra: planBetween(undefined, a.primary), ber: planBetween(undefined, a.standby) };
    const members = membersByAddress([plans.fra, plans.ber]);
    const fra = reviewPlan('fra', plans.fra, (ip) => members.get(ip));
    const ber = reviewPlan('ber', plans.ber, (ip) => members.get(ip));
    expect([fra.created, ber.created]).toEqual([['fra'], ['ber']]);
    expect(headlines(fra, ber)).toEqual([
      'ber and fra: NEW ENVIRONMENT: fra bootstraps as the source, ber follows it (its standby leader clones from fra across the link)',
    ]);
    expect(texts(fra, 'member so1')).toEqual([
      'member so1 (192.168.122.237) created with its cluster: its file is written and Patroni started on it; it bootstraps the cluster with initdb (or the member that starts before it does)',
    ]);
    expect(texts(fra, 'member so2')).toEqual([
      'member so2 (192.168.122.93) created with its cluster: its file is written and Patroni started on it; it joins as a replica (cloned from the leader)',
    ]);
    expect(texts(ber, 'member ta1')).toEqual([
      'member ta1 (192.168.122.97) created with its cluster: its file is written and Patroni started on it; as the standby leader it clones from fra across the link (or the member that starts before it does)',
    ]);
    expect(texts(ber, 'member ta3')).toEqual([
      'member ta3 (192.168.122.172) created with its cluster: its file is written and Patroni started on it; it joins as a replica (cloned from the standby leader)',
    ]);
    expect(texts(fra, 'role change')).toEqual([
      "created: when link.source changes later, the new source's role resource runs the role change; now this one checks that fra is the source and ber follows it, and changes nothing when the clusters are new or already so",
    ]);
    expect(texts(ber, 'role change')).toEqual([
      "created: when link.source changes later, the new source's role resource runs the role change; now this one checks that ber follows fra, and changes nothing when the clusters are new or already so",
    ]);
    expect(texts(fra, 'DCS patch')).toEqual([
      "the new cluster's dynamic configuration: 3 parameters (archive_command, archive_mode, work_mem), 17 pg_hba lines, ttl 30, loop_wait 10, retry_timeout 10, maximum_lag_on_failover 1048576; its members' bootstrap.dcs has the same, so fra starts with it (nothing to reload or restart)",
      'slot my_standby_cluster_slot created on fra: it retains WAL for its consumer from now on',
    ]);
    expect(texts(ber, 'DCS patch')).toContain(
      'standby_cluster: ber starts as a standby cluster, its standby leader following 192.168.122.237,192.168.122.93,192.168.122.128 through my_standby_cluster_slot',
    );
    expect(headings(fra)).toEqual([
      'DCS patch of fra: create',
      "link slots (in fra's stack; inactive): create",
      'member so1 of fra: create',
      'member so2 of fra: create',
      'member so3 of fra: create',
      "role change (in fra's stack; touches ber and fra): create",
    ]);
    expect(headings(ber)).toContain("role change (in ber's stack; touches ber and fra): create");
    expect([...fra.resources, ...ber.resources].every((r) => r.fresh === true)).toBe(true);
    expect(needsAttention([fra, ber])).toBe(false);
    expect(reviewMarkdown([fra, ber])).toMatch(
      /^## Patroni plan review\n\n- \*\*ber and fra\*\* \(stacks `fra`, `ber`\): NEW ENVIRONMENT: fra bootstraps as the source, ber follows it \(its standby leader clones from fra across the link\)\n\nNothing here needs a reviewer's attention\.\n/,
    );
  });

  test("a standby cluster added to a running source: NEW STANDBY CLUSTER, and the source's own changes counted as configuration", () => {
    const b = composed(false);
    const a = composed(true);
    const east = reviewPlan('east', planBetween(b.east, a.east));
    const west = reviewPlan('west', planBetween(undefined, a.west!));
    expect([east.created, west.created]).toEqual([[], ['ber']]);
    expect(headlines(east, west)).toEqual([
      'ber and fra: NEW STANDBY CLUSTER ber follows fra; configuration: 3 member files rewritten without a reload, DCS patch of fra changed',
    ]);
    expect(headlines(west)).toEqual([
      "ber and fra: NEW STANDBY CLUSTER ber follows fra (fra's plan is not among these)",
    ]);
    expect(texts(west, 'member ta1')).toEqual([
      'member ta1 (192.168.122.97) created with its cluster: its file is written and Patroni started on it; as the standby leader it clones from fra across the link (or the member that starts before it does)',
    ]);
    expect(texts(east, 'DCS patch')).toContain(
      'slot my_standby_cluster_slot created on fra: it retains WAL for its consumer from now on',
    );
    expect(texts(east, 'DCS patch')).toContain(
      'pg_hba line added: `host replication replicator 192.168.122.97/32 scram-sha-256`',
    );
    expect(texts(east, 'role change')).toEqual([
      "created: when link.source changes later, the new source's role resource runs the role change; now this one checks that fra is the source and ber follows it, and changes nothing when the clusters are new or already so",
    ]);
    expect(needsAttention([east, west])).toBe(false);
    // a cluster of its own, new: it bootstraps
    expect(headlines(reviewPlan('east', planBetween(undefined, b.east)))).toEqual(['east: NEW CLUSTER fra bootstraps']);
  });

  test('a member added to a running standby cluster: marked, cloned from the standby leader', () => {
    const r = review((t) => t.standby.nodes.push({ name: 'ta4', host: '192.168.122.44' }));
    expect(r.standby.created).toEqual([]);
    expect(texts(r.standby, 'member ta4')).toEqual([
      'ATTENTION member ta4 (192.168.122.44) added: its file is written and Patroni started on it; it joins as a replica (cloned from the standby leader)',
    ]);
    expect(headlines(r.primary, r.standby)[0]).toMatch(
      /^primary and standby: no role change; configuration only: 1 member added, /,
    );
  });

  test('both clusters in one stack: each member named after its own cluster, both new', () => {
    const t = articleTopology();
    const app = Testing.app();
    const env = new TerraformStack(app, 'payments-db');
    const fra = new PatroniCluster(env, 'fra', { name: 'fra', ...t.primary });
    const ber = new PatroniCluster(env, 'ber', { name: 'ber', ...t.standby });
    new StandbyLink(env, 'dr', { clusters: [fra, ber], source: fra, ...t.link });
    const s = reviewPlan('payments-db', planBetween(undefined, JSON.parse(Testing.synth(env))));
    expect(s.created).toEqual(['ber', 'fra']);
    expect(headlines(s)).toEqual([
      'ber and fra: NEW ENVIRONMENT: fra bootstraps as the source, ber follows it (its standby leader clones from fra across the link)',
    ]);
    expect(headings(s)).toEqual(expect.arrayContaining(['member so1 of fra: create', 'member ta1 of ber: create']));
    expect(texts(s, 'member so1')).toEqual([
      expect.stringMatching(/; it bootstraps the cluster with initdb \(or the member that starts before it does\)$/),
    ]);
    expect(texts(s, 'member ta1')).toEqual([
      expect.stringMatching(/; as the standby leader it clones from fra across the link/),
    ]);
  });
});

test('the promotion variant: the detach and its gate; a disaster promotion says what is lost; the headline names the promoted cluster', () => {
  const r = review(() => undefined, articleTopology(), 'detached');
  expect(texts(r.standby, 'promotion (detach)')).toEqual([
    expect.stringMatching(
      /^ATTENTION PROMOTION of standby: it is detached .* same system identifier and timeline as primary, .* no write on primary for 3 s, no open write or prepared transaction/,
    ),
  ]);
  expect(texts(r.standby, 'link slots')).toEqual([
    'ATTENTION slot my_standby_cluster_slot removed on primary: the WAL it retained is released; a standby that streams through it must have moved to another slot (removals wait while a standby cluster still names it)',
  ]);
  expect(headings(r.standby)).toEqual(
    expect.arrayContaining([
      'promotion (detach) of standby: create',
      "link slots on primary (run from standby's stack): replace",
      "role change (in standby's stack; runs nothing): replace",
    ]),
  );
  expect(headlines(r.primary, r.standby)).toEqual(['primary and standby: PROMOTION of standby (detach)']);
  const d = review((t) => (t.link.promotion = { disaster: true }), articleTopology(), 'detached');
  expect(texts(d.standby, 'promotion (detach)')).toEqual([
    expect.stringMatching(/^ATTENTION DISASTER PROMOTION of standby .* Writes that primary made after that are lost$/),
  ]);
  expect(headlines(d.standby)).toEqual(['primary and standby: DISASTER PROMOTION of standby']);
});

test('a plan of the previous version (link_... names, no cluster inputs): the same findings, the same attribution', () => {
  const r = review(() => undefined, articleTopology(), 'detached', previousVersion);
  const names = r.standby.resources.map((x) => x.subject);
  expect(names).toEqual(expect.arrayContaining(['promotion (detach)', 'link slots', 'DCS patch']));
  expect(texts(r.standby, 'promotion (detach)')).toEqual([
    expect.stringMatching(/^ATTENTION PROMOTION of standby: it is detached /),
  ]);
  expect(texts(r.standby, 'link slots')).toEqual([
    expect.stringMatching(/^ATTENTION slot my_standby_cluster_slot removed on primary: /),
  ]);
  expect(headings(r.standby)).toEqual(
    expect.arrayContaining([
      'promotion (detach) of standby: create',
      "link slots on primary (run from standby's stack): replace",
      'DCS patch of standby: replace',
    ]),
  );
  expect(headlines(r.primary, r.standby)).toEqual(['primary and standby: PROMOTION of standby (detach)']);
  // and its re-seed steps
  const withReseed = (g: number) =>
    mutate(articleTopology(), (t) => (t.link.reseed = { cluster: 'standby', generation: g }));
  const plan = planBetween(
    previousVersion(synthTopology(withReseed(1)).standby),
    previousVersion(synthTopology(withReseed(2)).standby),
  );
  expect(plan.resource_changes.map((c) => c.name)).toContainEqual(expect.stringMatching(/^link_reseed_gate_/));
  const s = reviewPlan('standby', plan);
  expect(texts(s, 're-seed gate')).toEqual([
    expect.stringMatching(/^ATTENTION RE-SEED of standby from primary \(generation 2\)/),
  ]);
  expect(headlines(s)).toEqual(['primary and standby: RE-SEED of standby (generation 2)']);
});

test("a switchover dc1 -> dc2: the new source's role change, with its gate and undo, touches both; the headline names old and new source", () => {
  const { dc1, dc2 } = switchover();
  expect(texts(dc2, 'role change')).toEqual([
    expect.stringMatching(
      /^ATTENTION SWITCHOVER dc1 -> dc2: dc2 becomes the source \(role standby -> source\) and dc1 its standby\. .*the lag at most 16777216 bytes.*fences dc1, the old primary .*at most 30 s, else the fence is undone.*nothing re-cloned.*refused unless roleChange\.acceptDataLoss$/,
    ),
  ]);
  expect(texts(dc1, 'role change')).toEqual([
    "ATTENTION dc1 becomes the standby of dc2 (role source -> standby): this step runs nothing; dc2's role change (in dc2's stack) demotes it and makes it follow",
  ]);
  expect(headings(dc2)).toEqual(
    expect.arrayContaining([
      "role change (in dc2's stack; touches dc1 and dc2): replace",
      'DCS patch of dc2: replace',
      "link slots (in dc2's stack; inactive): replace",
      'member ta1 of dc2: replace',
    ]),
  );
  expect(headings(dc1)).toEqual(
    expect.arrayContaining([
      "role change (in dc1's stack; runs nothing): replace",
      'DCS patch of dc1: replace',
      "link slots on dc2 (run from dc1's stack): replace",
    ]),
  );
  expect(texts(dc1, 'DCS patch')).toContainEqual(
    expect.stringMatching(/^ATTENTION standby_cluster added \(following [^)]+\): dc1 becomes a standby cluster/),
  );
  expect(headlines(dc1, dc2)).toEqual(['dc1 and dc2: SWITCHOVER dc1 -> dc2']);
  // the new standby's plan alone still says who runs it
  expect(headlines(dc1)).toEqual([
    "dc1 and dc2: SWITCHOVER dc1 -> dc2 (run from dc2's stack, whose plan is not among these)",
  ]);
  const md = reviewMarkdown([dc1, dc2]);
  expect(md).toMatch(
    /^## Patroni plan review\n\n- \*\*dc1 and dc2\*\* \(stacks `dc1`, `dc2`\): SWITCHOVER dc1 -> dc2\n\n\*\*\d+ changes need a reviewer's attention\.\*\*$/m,
  );
  expect(md).toContain('### Stack `dc2`');
  expect(md).toContain("#### role change (in dc2's stack; touches dc1 and dc2): replace");
  expect(md).toContain("#### link slots on dc2 (run from dc1's stack): replace");
});

test("a promotion undone (the link follows again): the standby's role change, marked with the rejoin it may run", () => {
  const r = review((t) => (t.link.state = 'following'), articleTopology('detached'));
  expect(texts(r.standby, 'role change')).toEqual([
    'ATTENTION the link follows again after a promotion: if standby is a primary, its role change REJOINS it as the standby of primary (pg_rewind; its replicas re-cloned), which throws away what it wrote since the promotion, refused unless roleChange.acceptDataLoss',
  ]);
  expect(headings(r.standby)).toContain("role change (in standby's stack; touches primary and standby): replace");
  // the source's stack has no role change for it
  expect(texts(r.primary, 'role change')).toEqual([]);
  expect(headlines(r.primary, r.standby)).toEqual(['primary and standby: REJOIN of standby to primary']);
});

test('a re-seed in the clusters: layout: the headline and the steps on the re-seeded cluster', () => {
  const b = synthTopology(dcLayout('dc1'));
  const a = synthTopology(dcLayout('dc1', { reseed: { cluster: 'dc2', generation: 3 } }));
  const dc2 = reviewPlan('dc2', planBetween(b.standby, a.standby));
  expect(headlines(dc2)).toEqual(['dc1 and dc2: RE-SEED of dc2 (generation 3)']);
  expect(headings(dc2)).toEqual(
    expect.arrayContaining([
      "re-seed gate (in dc2's stack; touches dc1 and dc2): create",
      're-seed ta1-set-aside on dc2: create',
      're-seed dcs-reset on dc2: create',
      're-seed wait on dc2: create',
    ]),
  );
  expect(texts(dc2, 're-seed gate')).toEqual([
    expect.stringMatching(/^ATTENTION RE-SEED of dc2 from dc1 \(generation 3\): /),
  ]);
});

test('constructs composed under other ids and stack names: recognised by their last path components, named by their clusters', () => {
  const t = articleTopology();
  const synth = (source: 'fra' | 'ber') => {
    const app = Testing.app();
    const east = new TerraformStack(app, 'east');
    const west = new TerraformStack(app, 'west');
    const fra = new PatroniCluster(new Construct(east, 'payments'), 'db', { name: 'fra', ...t.primary });
    const ber = new PatroniCluster(new Construct(west, 'payments'), 'db', { name: 'ber', ...t.standby });
    new StandbyLink(new Construct(west, 'links'), 'dr', {
      clusters: [fra, ber],
      source: source === 'fra' ? fra : ber,
      ...t.link,
    });
    return { east: JSON.parse(Testing.synth(east)) as TfJson, west: JSON.parse(Testing.synth(west)) as TfJson };
  };
  const b = synth('fra');
  const a = synth('ber');
  expect(Object.keys(a.west.resource.terraform_data)).toContainEqual(
    expect.stringMatching(/^payments_db_role_apply_[0-9A-F]{8}$/),
  );
  const east = reviewPlan('east', planBetween(b.east, a.east));
  const west = reviewPlan('west', planBetween(b.west, a.west));
  expect([east.cluster, west.cluster]).toEqual(['fra', 'ber']);
  expect(headings(west)).toEqual(
    expect.arrayContaining([
      "role change (in ber's stack; touches ber and fra): replace",
      'DCS patch of ber: replace',
      'member ta1 of ber: replace',
    ]),
  );
  expect(headings(east)).toEqual(
    expect.arrayContaining([
      "role change (in fra's stack; runs nothing): replace",
      "link slots on ber (run from fra's stack): replace",
    ]),
  );
  expect(headlines(east, west)).toEqual(['ber and fra: SWITCHOVER fra -> ber']);
  expect(reviewMarkdown([east, west])).toContain('### Stack `east` (fra)');
});

test('a stack without a role change is an environment of its own; a source of two links belongs to both', () => {
  const member = (name: string, member: string, sha: string) => ({
    address: `terraform_data.${name}`,
    type: 'terraform_data',
    name,
    change: {
      actions: ['update'],
      before: { input: { member, host: '10.0.0.1', runtime_sha256: 'a', patroni_yml: 'x: 1\n' } },
      after: { input: { member, host: '10.0.0.1', runtime_sha256: sha, patroni_yml: 'x: 2\n' } },
    },
  });
  const role = (name: string, me: string, other: string) => ({
    address: `terraform_data.${name}`,
    type: 'terraform_data',
    name,
    change: {
      actions: ['no-op'],
      before: {
        input: {
          role: 'source',
          role_config: JSON.stringify({ role: 'source', me: { name: me }, other: { name: other } }),
        },
      },
      after: {
        input: {
          role: 'source',
          role_config: JSON.stringify({ role: 'source', me: { name: me }, other: { name: other } }),
        },
      },
    },
  });
  const lab = reviewPlan('lab', { resource_changes: [member('pg_node-l1_config_0A1B2C3D', 'l1', 'b')] });
  const hub = reviewPlan('hub', {
    resource_changes: [
      role('db_role_apply_11111111', 'hub', 'spoke1'),
      role('db_role-second_apply_22222222', 'hub', 'spoke2'),
      member('db_node-h1_config_33333333', 'h1', 'a'),
    ],
  });
  expect(environments([lab, hub]).map((e) => [e.name, e.stacks, e.headline])).toEqual([
    ['lab', ['lab'], 'no role change; configuration only: 1 member reloaded'],
    ['hub and spoke1', ['hub'], 'no role change; configuration only: 1 member file rewritten without a reload'],
    ['hub and spoke2', ['hub'], 'no role change; configuration only: 1 member file rewritten without a reload'],
  ]);
  expect(reviewMarkdown([lab, hub])).toMatch(/^- \*\*lab\*\*: no role change; configuration only: 1 member reloaded$/m);
  expect(headings(lab)).toEqual(['member l1 of lab: update']);
});

test('Markdown: attention first, diffs folded', () => {
  const r = review((t) => {
    t.primary.postgresql.parameters.max_connections = 500;
    t.primary.postgresql.parameters.effective_cache_size = '3GB';
  });
  const md = reviewMarkdown([r.primary]);
  expect(md).toContain("**1 change needs a reviewer's attention.**");
  const patch = md.slice(md.indexOf('#### DCS patch'));
  expect(patch.indexOf('**attention**: cluster-wide parameter max_connections')).toBeLessThan(
    patch.indexOf('cluster-wide parameter effective_cache_size'),
  );
  expect(md).toMatch(/<details><summary>DCS patch<\/summary>\n\n```diff\n@@ /);
  expect(md).toMatch(/<details><summary>so1: patroni\.yml<\/summary>/);
});

describe('plans with fields missing', () => {
  /** The prose of the Markdown: everything but the folded diffs (which show the JSON and YAML as they are). */
  const prose = (md: string) => md.replace(/```diff\n[\s\S]*?\n```/g, '');
  const PLACEHOLDER = /\bundefined\b|\bnull\b|\bNaN\b|\?/;
  const rc = (
    name: string,
    actions: string[],
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
  ) => ({
    address: `terraform_data.${name}`,
    type: 'terraform_data',
    name,
    change: { actions, before: before && { input: before }, after: after && { input: after } },
  });

  test('no undefined, null, NaN or ? in what it says; what is missing is said in words or left out', () => {
    const dc2: Plan = {
      resource_changes: [
        rc('cluster_node-ta1_config_11111111', ['create'], null, {}),
        rc('cluster_node-ta2_config_22222222', ['delete'], {}, null),
        rc('cluster_node-ta3_config_33333333', ['update'], { patroni_yml: 'a: 1\n' }, { patroni_yml: 'a: 2\n' }),
        rc(
          'x_y_config_44444444',
          ['update'],
          { patroni_yml: 'postgresql:\n  parameters:\n    max_connections: null\n' },
          { patroni_yml: 'postgresql:\n  parameters:\n    max_connections: 200\n' },
        ),
        rc('cluster_node-ta1_secrets_55555555', ['replace'], {}, {}),
        rc(
          'cluster_dcs-patch_apply_66666666',
          ['update'],
          { patch_json: '{"ttl": null, "postgresql": {"parameters": {"work_mem": null}}}' },
          {
            patch_json:
              '{"ttl": 30, "loop_wait": null, "standby_cluster": {}, "postgresql": {"parameters": {"work_mem": "4MB"}, "pg_hba": [1, "host replication r 10.0.0.9/32 md5"]}}',
          },
        ),
        rc(
          'cluster_role_apply_77777777',
          ['delete', 'create'],
          { role: 'standby' },
          { role: 'source', role_config: '{"me": {}, "other": {}}' },
        ),
        rc('cluster_role-b_apply_88888888', ['update'], {}, { role_config: 'not json' }),
        rc('cluster_promotion_detach_apply_99999999', ['create'], null, { gate_config: '{}' }),
        rc('cluster_reseed_gate_AAAAAAAA', ['create'], null, {}),
        rc('cluster_reseed_x-set-aside_BBBBBBBB', ['create'], null, {}),
        rc('cluster_reseed_dcs-reset_CCCCCCCC', ['create'], null, {}),
        rc('cluster_link-slots_apply_DDDDDDDD', ['create'], null, { patch_json: '{"slots": {"s": null}}' }),
        rc('cluster_node-ta4_stop-on-destroy_EEEEEEEE', ['delete'], {}, null),
        rc('something_FFFFFFFF', ['create'], null, null),
        { type: 'terraform_data', change: { actions: ['create'] } } as any,
        { type: 'terraform_data' } as any,
      ],
    };
    const dc1: Plan = {
      resource_changes: [
        rc(
          'cluster_role_apply_12345678',
          ['delete', 'create'],
          { role: 'source', role_config: '{"role":"source","me":{"name":"dc1"}}' },
          { role: 'standby', role_config: '{"role":"standby","me":{"name":"dc1"}}' },
        ),
      ],
    };
    const reviews = [
      reviewPlan('dc2', dc2),
      reviewPlan('dc1', dc1),
      reviewPlan('empty', {}),
      reviewPlan('odd', { resource_changes: 'x' } as any),
    ];
    const md = reviewMarkdown(reviews);
    expect(prose(md)).not.toMatch(PLACEHOLDER);
    for (const s of reviews)
      for (const r of s.resources) for (const f of r.findings) expect(f.text).not.toMatch(PLACEHOLDER);
    for (const e of environments(reviews)) expect(e.headline).not.toMatch(PLACEHOLDER);
    // what it could still say
    expect(md).toContain('- **dc2**: SWITCHOVER the other cluster -> dc2; PROMOTION of dc2 (detach); RE-SEED of dc2');
    expect(md).toContain('member ta1 added: its file is written');
    expect(md).toContain('no write on the source for the settle time (its length is not in the plan)');
    expect(md).toContain(
      'SWITCHOVER the other cluster -> dc2: dc2 becomes the source (role standby -> source) and the other cluster its standby. This role change runs the gate (the link healthy), ',
    );
    expect(md).toContain('(else the fence is undone)');
    expect(md).toContain(
      'member ta3: the file is rewritten; the plan does not show whether the part Patroni reads at run time changed',
    );
    expect(md).toContain('#### a member of dc2: update');
    expect(md).toContain('a member whose name is not in the plan: parameter max_connections set to 200');
    expect(md).toContain('ttl set to 30 (dynamic configuration, no restart)');
    expect(md).toContain(
      '- **dc1**: SWITCHOVER dc1 -> the other cluster (run from its stack, whose plan is not among these)',
    );
  });

  test('a first deploy with fields missing: still no placeholder, and what it knows', () => {
    const plan: Plan = {
      resource_changes: [
        rc('cluster_node-a_config_11111111', ['create'], null, {}),
        rc('cluster_node-b_config_22222222', ['create'], null, { member: 'b' }),
        rc('cluster_dcs-patch_apply_33333333', ['create'], null, { patch_json: '{"standby_cluster": {}}' }),
        rc('cluster_role_apply_44444444', ['create'], null, { role_config: '{"me": {"name": "ber"}, "other": {}}' }),
      ],
    };
    const s = reviewPlan('ber', plan);
    const md = reviewMarkdown([s]);
    expect(prose(md)).not.toMatch(PLACEHOLDER);
    expect(s.created).toEqual(['ber']);
    expect(headlines(s)).toEqual(['ber: NEW CLUSTER ber bootstraps']);
    expect(md).toContain(
      "- the new cluster's dynamic configuration; its members' bootstrap.dcs has the same, so ber starts with it (nothing to reload or restart)",
    );
    expect(md).toContain(
      '- standby_cluster: ber starts as a standby cluster, its standby leader following its source through no slot',
    );
    expect(md).toContain(
      '- member a created with its cluster: its file is written and Patroni started on it; it bootstraps the cluster with initdb (or the member that starts before it does)',
    );
    expect(md).toContain(
      '- member b created with its cluster: its file is written and Patroni started on it; it joins as a replica (cloned from the leader)',
    );
    expect(md).toContain(
      "- created: when link.source changes later, the new source's role resource runs the role change; now this one checks that the roles are as the topology says, and changes nothing when the clusters are new or already so",
    );
  });
});

describe('the command', () => {
  let dir: string;
  let out: string;
  let spy: jest.SpyInstance;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-review-'));
    out = '';
    spy = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    jest.spyOn(process.stdout, 'write').mockImplementation((s: any) => ((out += String(s)), true));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, content: unknown) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  };

  test('exit 0 when nothing needs attention, 2 when something does, 1 for a plan it cannot read', () => {
    const quiet = review((t) => (t.primary.postgresql.parameters.effective_cache_size = '3GB'));
    expect(main([`primary=${file('a.json', { resource_changes: [] })}`])).toBe(0);
    expect(out).toContain('### Stack `primary`');
    const { dc1, dc2 } = {
      dc1: planBetween(synthTopology(dcLayout('dc1')).primary, synthTopology(dcLayout('dc2')).standby),
      dc2: planBetween(synthTopology(dcLayout('dc1')).standby, synthTopology(dcLayout('dc2')).primary),
    };
    expect(main([`dc1=${file('dc1.json', dc1)}`, file('dc2.plan.json', dc2)])).toBe(2);
    expect(out).toContain('- **dc1 and dc2** (stacks `dc1`, `dc2`): SWITCHOVER dc1 -> dc2');
    expect(main([`x=${file('bad.json', '{not json')}`])).toBe(1);
    expect(main([`x=${file('null.json', 'null')}`])).toBe(1);
    expect(main([`x=${path.join(dir, 'missing.json')}`])).toBe(1);
    expect(main([])).toBe(1);
    expect(spy).toHaveBeenCalledWith(expect.stringMatching(/bad\.json: not a plan from `terraform show -json`/));
    expect(needsAttention([quiet.primary])).toBe(false);
  });
});

test('two environments whose data centers have the same names (dc1, dc2) keep a headline each: a cluster is its name and its members', () => {
  const staging = switchover();
  const moveTo = (t: any, prefix: string) => JSON.parse(JSON.stringify(t).replace(/192\.168\.122\./g, prefix));
  const b = synthTopology(moveTo(dcLayout('dc1'), '10.9.0.'));
  const unchanged = { dc1: planBetween(b.primary, b.primary), dc2: planBetween(b.standby, b.standby) };
  const production = {
    dc1: reviewPlan('production-dc1', unchanged.dc1),
    dc2: reviewPlan('production-dc2', unchanged.dc2),
  };
  expect(
    environments([staging.dc1, staging.dc2, production.dc1, production.dc2]).map((e) => [e.stacks, e.headline]),
  ).toEqual([
    [['dc1', 'dc2'], 'SWITCHOVER dc1 -> dc2'],
    [['production-dc1', 'production-dc2'], 'no role change; no changes'],
  ]);
});
