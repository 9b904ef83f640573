#!/usr/bin/env node
/**
 * `npm run --silent plan-review -- <stack>=<plan.json> ...`: a saved plan of the stacks
 * (`terraform show -json <plan>`) as Markdown for a pull request comment. Per stack and member:
 * the unified diff of patroni.yml and of the DCS patch, and in words what Patroni will do with
 * it (a reload; a parameter that needs a restart, which this deploy does not do; a promotion,
 * demotion or switchover and the gate that guards it; slots created or removed; pg_hba lines
 * that stop admitting replication from an address; members added or removed).
 *
 * Exit 0: nothing needs a reviewer's attention; 2: something does (each such finding is marked
 * **attention**); 1: a plan could not be read. Pure except for `main`: `reviewPlan` and
 * `reviewMarkdown` take and return values.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { parse } from 'yaml';
import { firstMatch, parseHbaLine, HbaLine } from '../constructs/planners/pg-hba';

/** PostgreSQL parameters read only at server start (context `postmaster`): a change needs a restart. */
export const RESTART_PARAMETERS: readonly string[] = [
  'archive_mode', 'autovacuum_max_workers', 'bonjour', 'bonjour_name', 'cluster_name', 'config_file', 'data_directory',
  'data_sync_retry', 'dynamic_shared_memory_type', 'event_source', 'external_pid_file', 'hba_file', 'hot_standby',
  'huge_pages', 'huge_page_size', 'ident_file', 'io_method', 'jit_provider', 'listen_addresses', 'logging_collector',
  'max_connections', 'max_files_per_process', 'max_locks_per_transaction', 'max_logical_replication_workers',
  'max_pred_locks_per_transaction', 'max_prepared_transactions', 'max_replication_slots', 'max_wal_senders',
  'max_worker_processes', 'min_dynamic_shared_memory', 'old_snapshot_threshold', 'port', 'recovery_target',
  'recovery_target_action', 'recovery_target_inclusive', 'recovery_target_lsn', 'recovery_target_name',
  'recovery_target_time', 'recovery_target_timeline', 'recovery_target_xid', 'reserved_connections',
  'shared_buffers', 'shared_memory_type', 'shared_preload_libraries', 'superuser_reserved_connections',
  'track_activity_query_size', 'track_commit_timestamp', 'unix_socket_directories', 'unix_socket_group',
  'unix_socket_permissions', 'wal_buffers', 'wal_decode_buffer_size', 'wal_level', 'wal_log_hints',
];

export interface Finding {
  readonly attention: boolean;
  readonly text: string;
}

export interface ResourceReview {
  /** What the resource is, in words: `member so1`, `DCS patch`, `role step`... */
  readonly subject: string;
  readonly action: string;
  readonly findings: readonly Finding[];
  /** Unified diffs, titled. */
  readonly diffs: readonly { readonly title: string; readonly diff: string }[];
}

export interface StackReview {
  readonly stack: string;
  readonly resources: readonly ResourceReview[];
}

interface ResourceChange {
  address: string;
  type: string;
  name: string;
  change: { actions: string[]; before: Record<string, any> | null; after: Record<string, any> | null };
}

type Values = Record<string, any>;

const attention = (text: string): Finding => ({ attention: true, text });
const info = (text: string): Finding => ({ attention: false, text });

/** The resource's own values: `input` of terraform_data, `triggers` of null_resource. */
function valuesOf(state: Record<string, any> | null): Values | undefined {
  if (!state) return undefined;
  const v = state.input ?? state.triggers;
  return v && typeof v === 'object' ? v : undefined;
}

function actionOf(actions: string[]): string {
  if (actions.includes('delete') && actions.includes('create')) return 'replace';
  return actions[0] ?? 'no-op';
}

function unified(title: string, before: string, after: string): { title: string; diff: string } {
  const patch = createTwoFilesPatch(`${title} (before)`, `${title} (after)`, before, after, '', '', { context: 3 });
  return { title, diff: patch.split('\n').slice(3).join('\n').trimEnd() };
}

function parseJson(text: string | undefined): Values {
  if (!text) return {};
  try {
    return JSON.parse(text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{')) as Values;
  } catch {
    return {};
  }
}

function pretty(value: unknown): string {
  return value === undefined ? '' : `${JSON.stringify(value, null, 2)}\n`;
}

/** What changes among PostgreSQL parameters, with a restart named where one is needed. */
function parameterFindings(before: Values, after: Values, where: string): Finding[] {
  const out: Finding[] = [];
  for (const name of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const b = before[name];
    const a = after[name];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    const what = a === undefined || a === null ? `removed (was ${JSON.stringify(b)})` : b === undefined ? `set to ${JSON.stringify(a)}` : `${JSON.stringify(b)} -> ${JSON.stringify(a)}`;
    if (RESTART_PARAMETERS.includes(name)) {
      out.push(attention(`${where} parameter ${name} ${what}: needs a PostgreSQL restart, which this deploy does not do; Patroni shows the members as pending restart until one (patronictl restart)`));
    } else {
      out.push(info(`${where} parameter ${name} ${what}: Patroni applies it with a reload`));
    }
  }
  return out;
}

/** A host address of a pg_hba line (a /32 or /128), as the client IP it admits. */
function hostOf(line: HbaLine): string | undefined {
  const m = /^(.+)\/(32|128)$/.exec(line.address ?? '');
  return m ? m[1] : undefined;
}

/** Replication lines removed whose address the new list no longer admits. */
function hbaFindings(before: string[], after: string[], memberOf: (ip: string) => string | undefined): Finding[] {
  const parsed = (lines: string[]) => lines.map(parseHbaLine).filter((l): l is HbaLine => !('error' in l));
  const now = parsed(after);
  const out: Finding[] = [];
  const removed = before.filter((l) => !after.includes(l));
  for (const line of removed) {
    const p = parseHbaLine(line);
    if ('error' in p) continue;
    const ip = hostOf(p);
    if (!ip || !p.databases.includes('replication')) {
      out.push(info(`pg_hba line removed: \`${line}\``));
      continue;
    }
    const user = p.users[0];
    const match = firstMatch(now, { clientIp: ip, database: 'replication', user });
    const who = memberOf(ip) ? `member ${memberOf(ip)} (${ip})` : ip;
    if (!match || match.method === 'reject') {
      out.push(attention(`pg_hba stops admitting replication as ${user} from ${who}: \`${line}\` is removed and ${match ? 'a reject line matches instead' : 'no line matches any more'}; a standby or replica there can no longer stream`));
    } else {
      out.push(info(`pg_hba line removed: \`${line}\` (${who} is still admitted by \`${[match.type, match.databases.join(','), match.users.join(','), match.address, match.method].join(' ')}\`)`));
    }
  }
  for (const line of after.filter((l) => !before.includes(l))) out.push(info(`pg_hba line added: \`${line}\``));
  return out;
}

function slotFindings(before: Values | undefined, after: Values | undefined, where: string): Finding[] {
  const out: Finding[] = [];
  const b = before ?? {};
  const a = after ?? {};
  for (const name of Object.keys(a).sort()) {
    if (a[name] === null && b[name] !== undefined && b[name] !== null) out.push(attention(`slot ${name} removed ${where}: the WAL it retained is released; a standby that streams through it must have moved to another slot (removals wait while a standby cluster still names it)`));
    else if (a[name] === null) out.push(info(`slot ${name} removed ${where} (if it is still there)`));
    else if (b[name] === undefined) out.push(info(`slot ${name} created ${where}: it retains WAL for its consumer from now on`));
  }
  for (const name of Object.keys(b).sort()) if (!(name in a)) out.push(info(`slot ${name} no longer written ${where}: the patch program removes it when it wrote it before`));
  return out;
}

/** A DCS patch: its JSON diff and what Patroni does with each part. */
function patchReview(before: Values | undefined, after: Values | undefined, memberOf: (ip: string) => string | undefined): { findings: Finding[]; diff: { title: string; diff: string } } {
  const b = parseJson(before?.patch_json);
  const a = parseJson(after?.patch_json);
  const findings: Finding[] = [];
  findings.push(...parameterFindings(b.postgresql?.parameters ?? {}, a.postgresql?.parameters ?? {}, 'cluster-wide'));
  if (b.postgresql?.pg_hba || a.postgresql?.pg_hba) findings.push(...hbaFindings(b.postgresql?.pg_hba ?? [], a.postgresql?.pg_hba ?? [], memberOf));
  findings.push(...slotFindings(b.slots, a.slots, 'on this cluster'));
  if (a.standby_cluster && !b.standby_cluster) {
    findings.push(attention(`standby_cluster added (following ${a.standby_cluster.host}): this cluster becomes a standby cluster. The patch program refuses this on a running primary; a role change is done by the role step, after its gate`));
  } else if (a.standby_cluster && JSON.stringify(a.standby_cluster) !== JSON.stringify(b.standby_cluster)) {
    findings.push(info(`standby_cluster changed: the standby leader follows ${a.standby_cluster.host} through ${a.standby_cluster.primary_slot_name ?? 'no slot'} (Patroni rewrites its recovery settings and reconnects)`));
  } else if (b.standby_cluster && a.standby_cluster === null) {
    findings.push(attention('standby_cluster removed: the standby leader is promoted, this cluster becomes an independent primary'));
  }
  for (const key of Object.keys(a).filter((k) => !['postgresql', 'slots', 'standby_cluster', 'managed_by_patroni_standby_cdktf'].includes(k)).sort()) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) findings.push(info(`${key}: ${JSON.stringify(b[key])} -> ${JSON.stringify(a[key])} (dynamic configuration, no restart)`));
  }
  return { findings, diff: unified('DCS patch', pretty(before ? b : undefined), pretty(after ? a : undefined)) };
}

function memberReview(action: string, before: Values | undefined, after: Values | undefined): { findings: Finding[]; diffs: { title: string; diff: string }[] } {
  const member = (after ?? before)?.member ?? '?';
  const findings: Finding[] = [];
  if (action === 'create') findings.push(attention(`member ${member} (${after?.host}) added: its file is written and Patroni started on it; it joins as a replica (cloned from the leader)`));
  if (action === 'delete') findings.push(attention(`member ${member} (${before?.host}) removed from the stack: ${before?.stop_command ? 'its Patroni is stopped (deploy.stopOnDestroy)' : 'its Patroni keeps running (deploy.stopOnDestroy is off); stop it and remove it from the cluster by hand'}`));
  if (action === 'update' || action === 'replace') {
    if (before?.runtime_sha256 !== after?.runtime_sha256) findings.push(info(`member ${member}: the file is rewritten and Patroni reloaded (the part it reads at run time changed)`));
    else findings.push(info(`member ${member}: the file is rewritten, no reload (only its bootstrap part changed, read when a cluster is initialised)`));
    const local = (v: Values | undefined): Values => {
      try {
        return (parse(String(v?.patroni_yml ?? ''), { version: '1.1' }) as Values)?.postgresql?.parameters ?? {};
      } catch {
        return {};
      }
    };
    findings.push(...parameterFindings(local(before), local(after), `member ${member}:`));
  }
  const diffs = [unified(`${member}: patroni.yml`, before?.patroni_yml ?? '', after?.patroni_yml ?? '')];
  return { findings, diffs };
}

function roleReview(action: string, before: Values | undefined, after: Values | undefined): Finding[] {
  const b = before?.role as string | undefined;
  const a = after?.role as string | undefined;
  const cfg = parseJson(after?.role_config);
  const out: Finding[] = [];
  const wasState = before?.link_state as string | undefined;
  const state = after?.link_state as string | undefined;
  if (action !== 'create' && b === a && a === 'standby' && wasState === 'detached' && state === 'following') {
    out.push(attention(`the link follows again after a promotion: if this cluster is a primary, its role step REJOINS it as the standby of ${cfg.other?.name ?? 'the source'} (pg_rewind; its replicas re-cloned), which throws away what it wrote since the promotion${cfg.acceptDataLoss ? ' (acceptDataLoss is set)' : ', refused unless roleChange.acceptDataLoss'}`));
    return out;
  }
  if (action === 'create' || b === a) {
    if (cfg.acceptDataLoss) out.push(attention('roleChange.acceptDataLoss is set: a rejoin discards what the diverged cluster wrote after the split'));
    return out;
  }
  if (a === 'source') {
    out.push(attention(`SWITCHOVER: this cluster becomes the source (role ${b} -> ${a}). Its role step runs the gate (the link healthy, lag at most ${cfg.maxLagBytes ?? '?'} bytes), puts the slot here, fences the old primary (standby_cluster), waits until everything it wrote is replayed here (at most ${cfg.catchUpTimeoutSeconds ?? '?'} s, else the fence is undone), promotes, and makes the old primary follow (nothing re-cloned). A diverged cluster (after a disaster promotion) is rejoined instead${cfg.acceptDataLoss ? ', DISCARDING its writes after the split (acceptDataLoss)' : ', refused unless roleChange.acceptDataLoss'}`));
  } else {
    out.push(attention(`this cluster becomes the standby (role ${b} -> ${a}): the new source's role step demotes it and makes it follow`));
  }
  return out;
}

function detachReview(action: string, after: Values | undefined): Finding[] {
  if (action !== 'create' && action !== 'replace') return [];
  const gate = parseJson(after?.gate_config);
  if (gate.disaster) {
    return [attention('DISASTER PROMOTION (link.promotion.disaster): the standby cluster is promoted without its source; the gate checks only that everything received is replayed and prints the last known position. Writes the source made after that are lost')];
  }
  return [attention(`PROMOTION: the standby cluster is detached (standby_cluster: null) and becomes an independent primary, after the promotion gate: same system identifier and timeline as the source, replay not paused, caught up, no write on the source for ${gate.settleSeconds ?? '?'} s, no open write or prepared transaction; a refusal leaves both clusters as they are`)];
}

/**
 * The re-seed's steps: its gate carries the plan-wide warning (what is thrown away, what is kept);
 * each host step says what it does on its member. Only a create or a replace runs them; their
 * removal (link.reseed taken out) runs nothing.
 */
function reseedReview(action: string, step: string, v: Values): Finding[] {
  if (action !== 'create' && action !== 'replace') return [info('the re-seed step leaves the plan: nothing runs')];
  const cfg = parseJson(v.reseed_config);
  if (step === 'gate') {
    const aside = Object.entries((cfg.setAside ?? {}) as Record<string, string>).map(([m, d]) => `${m} -> ${d}`).join(', ');
    return [attention(`RE-SEED of ${cfg.standby?.name ?? 'the standby cluster'} from ${cfg.source?.name ?? 'the source'} (generation ${v.generation}): refused unless it is a standby cluster whose standby leader cannot stream; then every member is stopped, its data directory set aside (${aside}; nothing deleted), the cluster's DCS state removed, and the members cloned anew from the source (a full copy across the data centers)`)];
  }
  if (step.endsWith('-set-aside')) return [attention(`member ${v.member}: Patroni stopped, its data directory set aside`)];
  if (step === 'dcs-reset') return [attention(`the cluster's state in its DCS removed (patronictl remove, on ${v.member})`)];
  if (step.endsWith('-start')) return [info(`member ${v.member}: Patroni started, it clones anew`)];
  return [info('waits until the re-seeded members stream')];
}

/** One stack's plan (`terraform show -json`), reviewed. `memberOf` names addresses (from all the plans). */
export function reviewPlan(stack: string, plan: { resource_changes?: ResourceChange[] }, memberOf: (ip: string) => string | undefined = () => undefined): StackReview {
  const resources: ResourceReview[] = [];
  for (const rc of plan.resource_changes ?? []) {
    if (rc.type !== 'terraform_data' && rc.type !== 'null_resource') continue;
    const action = actionOf(rc.change.actions);
    if (action === 'no-op' || action === 'read') continue;
    const before = valuesOf(rc.change.before);
    const after = valuesOf(rc.change.after);
    const v = after ?? before ?? {};
    if ('patroni_yml' in v) {
      const { findings, diffs } = memberReview(action, before, after);
      resources.push({ subject: `member ${v.member}`, action, findings, diffs });
    } else if ('gate_config' in v && rc.name.includes('detach')) {
      resources.push({ subject: 'promotion (detach)', action, findings: detachReview(action, after), diffs: [] });
    } else if (rc.name.startsWith('link_reseed_')) {
      const step = rc.name.replace(/^link_reseed_/, '').replace(/_[0-9A-F]{8}$/, '');
      resources.push({ subject: `re-seed ${step}`, action, findings: reseedReview(action, step, v), diffs: [] });
    } else if ('role' in v && 'role_config' in v) {
      resources.push({ subject: 'role step', action, findings: roleReview(action, before, after), diffs: [] });
    } else if ('patch_json' in v) {
      const slotsOnly = rc.name.includes('source-slots');
      const { findings, diff } = patchReview(before, after, memberOf);
      resources.push({ subject: slotsOnly ? "the link's slots on the source" : 'DCS patch', action, findings, diffs: [diff] });
    } else if (rc.name.includes('secrets')) {
      resources.push({ subject: rc.name.replace(/_[0-9A-F]{8}$/, ''), action, findings: [info('the env file is written again from the ephemeral variables (values are never in the plan)')], diffs: [] });
    } else {
      resources.push({ subject: rc.name.replace(/_[0-9A-F]{8}$/, ''), action, findings: [], diffs: [] });
    }
  }
  return { stack, resources };
}

/** Addresses of every member in the plans, for naming them in pg_hba findings. */
export function membersByAddress(plans: { resource_changes?: ResourceChange[] }[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const plan of plans) {
    for (const rc of plan.resource_changes ?? []) {
      const v = valuesOf(rc.change.after) ?? valuesOf(rc.change.before);
      if (v && 'patroni_yml' in v && typeof v.host === 'string') out.set(v.host, v.member);
    }
  }
  return out;
}

export function needsAttention(reviews: readonly StackReview[]): boolean {
  return reviews.some((s) => s.resources.some((r) => r.findings.some((f) => f.attention)));
}

export function reviewMarkdown(reviews: readonly StackReview[]): string {
  const count = reviews.flatMap((s) => s.resources.flatMap((r) => r.findings)).filter((f) => f.attention).length;
  const out: string[] = ['## Patroni plan review', ''];
  out.push(count > 0 ? `**${count} change${count === 1 ? '' : 's'} need${count === 1 ? 's' : ''} a reviewer's attention.**` : 'Nothing here needs a reviewer\'s attention.', '');
  for (const s of reviews) {
    out.push(`### Stack \`${s.stack}\``, '');
    if (s.resources.length === 0) {
      out.push('No change.', '');
      continue;
    }
    for (const r of s.resources) {
      out.push(`#### ${r.subject}: ${r.action}`, '');
      for (const f of [...r.findings].sort((x, y) => Number(y.attention) - Number(x.attention))) out.push(`- ${f.attention ? '**attention**: ' : ''}${f.text}`);
      if (r.findings.length > 0) out.push('');
      for (const d of r.diffs) {
        if (!d.diff.includes('\n')) continue;
        out.push('<details><summary>' + d.title + '</summary>', '', '```diff', d.diff, '```', '', '</details>', '');
      }
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function main(args: string[]): number {
  if (args.length === 0) {
    process.stderr.write('usage: plan-review <stack>=<plan.json> ... (terraform show -json <saved plan> > plan.json); or <plan.json> named after its stack\n');
    return 1;
  }
  const inputs: { stack: string; plan: { resource_changes?: ResourceChange[] } }[] = [];
  for (const arg of args) {
    const [stack, file] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [path.basename(arg).replace(/\.(plan\.)?json$/, ''), arg];
    try {
      inputs.push({ stack, plan: JSON.parse(fs.readFileSync(file, 'utf8')) });
    } catch (err) {
      process.stderr.write(`${file}: not a plan from \`terraform show -json\` (${(err as Error).message})\n`);
      return 1;
    }
  }
  const members = membersByAddress(inputs.map((i) => i.plan));
  const reviews = inputs.map((i) => reviewPlan(i.stack, i.plan, (ip) => members.get(ip)));
  process.stdout.write(reviewMarkdown(reviews));
  return needsAttention(reviews) ? 2 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
