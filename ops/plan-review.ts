#!/usr/bin/env node
/**
 * `npm run --silent plan-review -- <stack>=<plan.json> ...`: saved plans of the stacks
 * (`terraform show -json <plan>`, one per stack) as Markdown for a pull request comment.
 *
 * At the top, one line per environment (the pair of clusters a role step names; a stack without
 * one is its own): what the plan does to it, a NEW ENVIRONMENT (or a NEW STANDBY CLUSTER) on a
 * first deploy, a SWITCHOVER, a PROMOTION, a REJOIN, a RE-SEED, or no role change and how much
 * configuration changes. Then per stack and resource, named after the data center it touches:
 * the unified diff of patroni.yml and of the DCS patch, and in words what Patroni will do with it
 * (a reload; a parameter that needs a restart, which this deploy does not do; a promotion,
 * demotion or switchover and the gate that guards it; slots created or removed; pg_hba lines
 * that stop admitting replication from an address; members added or removed; on a cluster the
 * plan creates whole, which member bootstraps it and which clone).
 *
 * Resources are recognised by the last components of their construct path, whatever the ids
 * above them (`<cluster>_node-<member>_config`, `<cluster>_dcs-patch_apply`, `<cluster>_role_apply`,
 * `<cluster>_link-slots_apply`, `<cluster>_promotion_detach_apply`, `<cluster>_reseed_<step>`), and
 * by their inputs; the previous version's `link_source-slots_apply`, `link_promotion_detach_apply`
 * and `link_reseed_<step>` too. The path above those components (`<cluster>`) tells the clusters
 * of one stack apart.
 *
 * Exit 0: nothing needs a reviewer's attention; 2: something does (each such finding is marked
 * **attention**); 1: a plan could not be read. Pure except for `main`: `reviewPlan`,
 * `environments` and `reviewMarkdown` take and return values.
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

/** What a planned resource is, recognised by its construct path's last components (or its inputs). */
export type ResourceKind = 'member' | 'env-file' | 'stop-on-destroy' | 'dcs-patch' | 'link-slots' | 'role' | 'detach' | 'reseed' | 'other';

/** A role change a resource runs (or, the new standby's role step, that the other stack runs): what a headline says. */
export type RoleEvent =
  | { readonly kind: 'switchover'; readonly from: string; readonly to: string }
  | { readonly kind: 'promotion'; readonly cluster: string; readonly disaster: boolean }
  | { readonly kind: 'rejoin'; readonly cluster: string; readonly to?: string }
  | { readonly kind: 'reseed'; readonly cluster: string; readonly generation?: string };

export interface ResourceReview {
  readonly kind: ResourceKind;
  /** What the resource is, in words: `member so1`, `DCS patch`, `role step`, `re-seed gate`... */
  readonly subject: string;
  /**
   * The data center it touches, and the stack it runs from where that is not the same one:
   * `of dc2`, `on dc1 (run from dc2's stack)`, `(in dc2's stack; touches dc1 and dc2)`; empty
   * when there is nothing to say.
   */
  readonly where: string;
  readonly action: string;
  readonly findings: readonly Finding[];
  /** Unified diffs, titled. */
  readonly diffs: readonly { readonly title: string; readonly diff: string }[];
  readonly event?: RoleEvent;
  /** The data center whose configuration it changes (a member's file, a DCS patch, link slots). */
  readonly target?: string;
  /** A member's file: whether Patroni is reloaded; undefined when the plan does not say. */
  readonly reload?: boolean;
  /** Parameters whose change needs a PostgreSQL restart. */
  readonly restart?: readonly string[];
  /** The link slots step of the source's stack, which runs nothing. */
  readonly inactive?: boolean;
  /** Created with its cluster, which the plan creates whole (a first deploy): counted in the headline's NEW, not as configuration. */
  readonly fresh?: boolean;
}

export interface StackReview {
  readonly stack: string;
  /** The data center whose cluster the stack holds: its role step's name for it, else its DCS patch's, else the stack's name. */
  readonly cluster: string;
  /** The pairs of clusters its role steps name, [this one, the other one]: its environments. */
  readonly links: readonly (readonly [string, string])[];
  /**
   * For each of `links`, the pair's identity: each cluster's name with its members' REST
   * endpoints, so that two environments whose data centers have the same names stay apart.
   */
  readonly linkIds?: readonly string[];
  /** For each of `links`, the role its role step gives this stack's cluster after the plan: `source` or `standby`. */
  readonly linkRoles?: readonly (string | undefined)[];
  /** The clusters of the stack that the plan creates whole (every resource of theirs created, no state yet). */
  readonly created?: readonly string[];
  readonly resources: readonly ResourceReview[];
}

/** An environment: the pair of clusters a link joins (as their role steps name them), or a stack without a role step. */
export interface Environment {
  /** `dc1 and dc2`, or the stack's name. */
  readonly name: string;
  /** The pair, sorted; undefined for a stack of its own. */
  readonly clusters?: readonly [string, string];
  /** The given stacks that belong to it. */
  readonly stacks: readonly string[];
  /** In one line, what the plan does to it. */
  readonly headline: string;
}

interface ResourceChange {
  address?: string;
  type?: string;
  name?: string;
  change?: { actions?: string[]; before?: Record<string, any> | null; after?: Record<string, any> | null };
}

/** What `terraform show -json` writes; only the resource changes are read. */
export interface Plan {
  resource_changes?: ResourceChange[];
}

type Values = Record<string, any>;

const attention = (text: string): Finding => ({ attention: true, text });
const info = (text: string): Finding => ({ attention: false, text });

/** A non-empty string, else undefined. */
const str = (x: unknown): string | undefined => (typeof x === 'string' && x.length > 0 ? x : undefined);
/** A finite number (also from a string), else undefined. */
function num(x: unknown): number | undefined {
  const n = typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x) : NaN;
  return Number.isFinite(n) ? n : undefined;
}
/** An object, else an empty one. */
const obj = (x: unknown): Values => (x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Values) : {});
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
/** `dc1`, `dc1 and dc2`, `dc1, dc2 and dc3`. */
function listed(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
const unique = <T>(xs: readonly T[]): T[] => [...new Set(xs)];

/** The resource's own values: `input` of terraform_data, `triggers` of null_resource. */
function valuesOf(state: Record<string, any> | null | undefined): Values | undefined {
  if (!state || typeof state !== 'object') return undefined;
  const v = state.input ?? state.triggers;
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function actionOf(actions: unknown): string {
  if (!Array.isArray(actions)) return 'no-op';
  if (actions.includes('delete') && actions.includes('create')) return 'replace';
  return str(actions[0]) ?? 'no-op';
}

/** Whether the step's provisioners run: on create (a replace is a create). */
const runs = (action: string): boolean => action === 'create' || action === 'replace';

function unified(title: string, before: string, after: string): { title: string; diff: string } {
  const patch = createTwoFilesPatch(`${title} (before)`, `${title} (after)`, before, after, '', '', { context: 3 });
  return { title, diff: patch.split('\n').slice(3).join('\n').trimEnd() };
}

/** A JSON object from a plan's string (its template escapes undone); {} for anything else. */
function parseJson(text: unknown): Values {
  if (typeof text !== 'string' || !text) return {};
  try {
    return obj(JSON.parse(text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{')));
  } catch {
    return {};
  }
}

function pretty(value: unknown): string {
  return value === undefined ? '' : `${JSON.stringify(value, null, 2)}\n`;
}

const absent = (x: unknown): boolean => x === undefined || x === null;
const shown = (x: unknown): string => JSON.stringify(x) ?? String(x);

/** A value's change in words; undefined when it does not change (absent and null are the same). */
function changeOf(before: unknown, after: unknown): string | undefined {
  if (absent(before) && absent(after)) return undefined;
  if (JSON.stringify(before) === JSON.stringify(after)) return undefined;
  if (absent(after)) return `removed (was ${shown(before)})`;
  if (absent(before)) return `set to ${shown(after)}`;
  return `${shown(before)} -> ${shown(after)}`;
}

/** What changes among PostgreSQL parameters, with a restart named where one is needed. */
function parameterFindings(before: Values, after: Values, where: string): { findings: Finding[]; restart: string[] } {
  const findings: Finding[] = [];
  const restart: string[] = [];
  for (const name of unique([...Object.keys(before), ...Object.keys(after)]).sort()) {
    const what = changeOf(before[name], after[name]);
    if (what === undefined) continue;
    if (RESTART_PARAMETERS.includes(name)) {
      restart.push(name);
      findings.push(attention(`${where} parameter ${name} ${what}: needs a PostgreSQL restart, which this deploy does not do; Patroni shows the members as pending restart until one (patronictl restart)`));
    } else {
      findings.push(info(`${where} parameter ${name} ${what}: Patroni applies it with a reload`));
    }
  }
  return { findings, restart };
}

/** A host address of a pg_hba line (a /32 or /128), as the client IP it admits. */
function hostOf(line: HbaLine): string | undefined {
  const m = /^(.+)\/(32|128)$/.exec(line.address ?? '');
  return m ? m[1] : undefined;
}

const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((l): l is string => typeof l === 'string') : []);

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
    const member = memberOf(ip);
    const who = member ? `member ${member} (${ip})` : ip;
    if (!match || match.method === 'reject') {
      out.push(attention(`pg_hba stops admitting replication as ${user} from ${who}: \`${line}\` is removed and ${match ? 'a reject line matches instead' : 'no line matches any more'}; a standby or replica there can no longer stream`));
    } else {
      const admitting = [match.type, match.databases.join(','), match.users.join(','), match.address, match.method].filter((f) => f).join(' ');
      out.push(info(`pg_hba line removed: \`${line}\` (${who} is still admitted by \`${admitting}\`)`));
    }
  }
  for (const line of after.filter((l) => !before.includes(l))) out.push(info(`pg_hba line added: \`${line}\``));
  return out;
}

function slotFindings(before: Values, after: Values, where: string): Finding[] {
  const out: Finding[] = [];
  for (const name of Object.keys(after).sort()) {
    if (after[name] === null && !absent(before[name])) out.push(attention(`slot ${name} removed ${where}: the WAL it retained is released; a standby that streams through it must have moved to another slot (removals wait while a standby cluster still names it)`));
    else if (after[name] === null) out.push(info(`slot ${name} removed ${where} (if it is still there)`));
    else if (before[name] === undefined) out.push(info(`slot ${name} created ${where}: it retains WAL for its consumer from now on`));
  }
  for (const name of Object.keys(before).sort()) if (!(name in after)) out.push(info(`slot ${name} no longer written ${where}: the patch program removes it when it wrote it before`));
  return out;
}

/** The keys of a DCS patch that are not reviewed part by part. */
const OTHER_KEYS = (patch: Values): string[] => Object.keys(patch).filter((k) => !['postgresql', 'slots', 'standby_cluster', 'managed_by_patroni_standby_cdktf'].includes(k));

/**
 * The DCS patch of a cluster the plan creates whole: what the new cluster starts with, in a few
 * lines. Its members' bootstrap.dcs holds the same configuration, so nothing in it needs a reload
 * or a restart, and there is no running configuration to compare it with (the folded diff has
 * every line).
 */
function freshPatchFindings(a: Values, cluster: string): Finding[] {
  const ap = obj(a.postgresql);
  const params = Object.keys(obj(ap.parameters)).filter((k) => !absent(obj(ap.parameters)[k])).sort();
  const hba = strings(ap.pg_hba).length;
  const parts = [
    ...(params.length > 0 ? [`${plural(params.length, 'parameter')} (${params.join(', ')})`] : []),
    ...(hba > 0 ? [plural(hba, 'pg_hba line')] : []),
    ...OTHER_KEYS(a).filter((k) => !absent(a[k])).map((k) => `${k} ${shown(a[k])}`),
  ];
  const findings = [info(`the new cluster's dynamic configuration${parts.length > 0 ? `: ${parts.join(', ')}` : ''}; its members' bootstrap.dcs has the same, so ${cluster} starts with it (nothing to reload or restart)`)];
  findings.push(...slotFindings({}, obj(a.slots), `on ${cluster}`));
  const as = obj(a.standby_cluster);
  if (!absent(a.standby_cluster)) findings.push(info(`standby_cluster: ${cluster} starts as a standby cluster, its standby leader following ${str(as.host) ?? 'its source'} through ${str(as.primary_slot_name) ?? 'no slot'}`));
  return findings;
}

/**
 * A DCS patch of `cluster`: its JSON diff and what Patroni does with each part; `fresh` when the
 * plan creates the cluster whole.
 */
function patchReview(before: Values | undefined, after: Values | undefined, cluster: string, memberOf: (ip: string) => string | undefined, title = 'DCS patch', fresh = false): { findings: Finding[]; restart: string[]; diff: { title: string; diff: string } } {
  const b = parseJson(before?.patch_json);
  const a = parseJson(after?.patch_json);
  const diff = unified(title, pretty(before ? b : undefined), pretty(after ? a : undefined));
  if (fresh && !before && after) return { findings: freshPatchFindings(a, cluster), restart: [], diff };
  const bp = obj(b.postgresql);
  const ap = obj(a.postgresql);
  const params = parameterFindings(obj(bp.parameters), obj(ap.parameters), 'cluster-wide');
  const findings: Finding[] = [...params.findings];
  if (bp.pg_hba || ap.pg_hba) findings.push(...hbaFindings(strings(bp.pg_hba), strings(ap.pg_hba), memberOf));
  findings.push(...slotFindings(obj(b.slots), obj(a.slots), `on ${cluster}`));
  const bs = b.standby_cluster;
  const as = a.standby_cluster;
  if (as && !bs) {
    const following = str(obj(as).host) ? ` (following ${as.host})` : '';
    findings.push(attention(`standby_cluster added${following}: ${cluster} becomes a standby cluster. The patch program refuses this on a running primary; a role change is done by the role step, after its gate`));
  } else if (as && JSON.stringify(as) !== JSON.stringify(bs)) {
    const host = str(obj(as).host);
    findings.push(info(`standby_cluster changed: the standby leader of ${cluster} follows ${host ?? 'its source'} through ${str(obj(as).primary_slot_name) ?? 'no slot'} (Patroni rewrites its recovery settings and reconnects)`));
  } else if (bs && as === null) {
    findings.push(attention(`standby_cluster removed: the standby leader is promoted, ${cluster} becomes an independent primary`));
  }
  for (const key of OTHER_KEYS(a).sort()) {
    const what = changeOf(b[key], a[key]);
    if (what !== undefined) findings.push(info(`${key} ${what} (dynamic configuration, no restart)`));
  }
  return { findings, restart: params.restart, diff };
}

/** What the review of one stack knows about it while reading its resources. */
interface StackContext {
  readonly stack: string;
  /** This stack's data center. */
  readonly cluster: string;
  /** The source of the link this cluster follows (its standby role step's other cluster), when it names one. */
  readonly source?: string;
  /** Members whose stop-on-destroy step leaves the plan (it stops their Patroni). */
  readonly stopped: ReadonlySet<string>;
  readonly memberOf: (ip: string) => string | undefined;
  /** The cluster a resource belongs to, by the construct path above its own components. */
  readonly clusterOf: (e: Entry) => ClusterFacts;
}

/** A cluster of the stack, as its resources in the plan show it. */
interface ClusterFacts {
  /** Its name: its role step's, else its DCS patch's, else the stack's cluster. */
  readonly name: string;
  /** The role its role step gives it after the plan (a cluster that is the standby of a link is a standby). */
  readonly role?: string;
  /** The cluster it follows, when it is a standby. */
  readonly source?: string;
  /** Whether the plan creates it whole: it has members, and every resource of it is created (a first deploy). */
  readonly fresh: boolean;
  /** Its first member in the plan, when it is fresh. */
  readonly first?: string;
}

interface Entry {
  readonly name: string;
  readonly action: string;
  readonly before?: Values;
  readonly after?: Values;
  /** after, else before, else {}. */
  readonly v: Values;
  readonly kind: ResourceKind;
  /** The member (node-<member>), the re-seed step (reseed_<step>). */
  readonly part?: string;
  /** The construct path above the cluster's own components (`cluster`, `payments_db`), when the name shows it. */
  readonly prefix?: string;
}

const HASH = /_[0-9A-F]{8}$/;
/** How a role step that does not name the other cluster of its link speaks of it. */
const UNNAMED = 'the other cluster';

/** The last components of a construct path; whatever the ids above them. */
const PATTERNS: readonly (readonly [ResourceKind, RegExp])[] = [
  ['member', /(?:^|.*_)node-(.+)_config$/],
  ['env-file', /(?:^|.*_)node-(.+)_secrets$/],
  ['stop-on-destroy', /(?:^|.*_)node-(.+)_stop-on-destroy$/],
  ['dcs-patch', /(?:^|_)dcs-patch_apply$/],
  // link-slots; source-slots before (link_source-slots_apply)
  ['link-slots', /(?:^|_)(?:link|source)-slots_apply$/],
  ['detach', /(?:^|_)promotion_detach_apply$/],
  // role, or role-<link id> for a cluster in several links
  ['role', /(?:^|_)role(?:-[^_]+)?_apply$/],
  ['reseed', /(?:^|.*_)reseed_(.+)$/],
];

/** A cluster's own components, after the construct path of the cluster (captured). */
const PREFIXES: readonly RegExp[] = [
  /^(?:(.*)_)?node-.+_(?:config|secrets|stop-on-destroy)$/,
  /^(?:(.*)_)?dcs-patch_apply$/,
  /^(?:(.*)_)?link-slots_apply$/,
  /^(?:(.*)_)?promotion_detach_apply$/,
  /^(?:(.*)_)?role(?:-[^_]+)?_apply$/,
  /^(?:(.*)_)?reseed_.+$/,
];

function classify(name: string, v: Values): { kind: ResourceKind; part?: string; prefix?: string } {
  const base = name.replace(HASH, '');
  for (const [kind, re] of PATTERNS) {
    const m = re.exec(base);
    if (m) {
      const p = PREFIXES.map((r) => r.exec(base)).find((x) => x !== null);
      return { kind, part: m[1], ...(p ? { prefix: p[1] ?? '' } : {}) };
    }
  }
  if ('patroni_yml' in v) return { kind: 'member' };
  if ('gate_config' in v && base.includes('detach')) return { kind: 'detach' };
  if ('reseed_config' in v) return { kind: 'reseed' };
  if ('role_config' in v) return { kind: 'role' };
  if ('patch_json' in v) return { kind: base.includes('slots') ? 'link-slots' : 'dcs-patch' };
  return { kind: 'other' };
}

/** A role step's configuration: the one it has after the plan, else the one before. */
function roleConfigOf(e: Entry): Values {
  const a = parseJson(e.after?.role_config);
  return Object.keys(a).length > 0 ? a : parseJson(e.before?.role_config);
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
    const how = name === undefined || name !== cluster.first
      ? `it joins as a replica (cloned from the ${leader})`
      : cluster.role === 'standby'
        ? `as the standby leader it clones from ${cluster.source ?? 'its source'} across the link (or the member that starts before it does)`
        : 'it bootstraps the cluster with initdb (or the member that starts before it does)';
    findings.push(info(`${who}${at(after)} created with its cluster: its file is written and Patroni started on it; ${how}`));
  } else if (action === 'create') {
    // Added to a running cluster: it clones a full copy from the leader, which loads it, and then
    // serves as a replica: worth a reviewer's look.
    findings.push(attention(`${who}${at(after)} added: its file is written and Patroni started on it; it joins as a replica (cloned from the ${leader})`));
  }
  if (action === 'delete') {
    const stopped = name !== undefined && ctx.stopped.has(name);
    findings.push(attention(`${who}${at(before)} removed from the stack: ${stopped ? 'its Patroni is stopped (deploy.stopOnDestroy)' : 'its Patroni keeps running (deploy.stopOnDestroy is off); stop it and remove it from the cluster by hand'}`));
  }
  if (action === 'update' || action === 'replace') {
    const b = str(before?.runtime_sha256);
    const a = str(after?.runtime_sha256);
    if (b === undefined && a === undefined) {
      findings.push(info(`${who}: the file is rewritten; the plan does not show whether the part Patroni reads at run time changed (no runtime_sha256)`));
    } else {
      reload = b !== a;
      findings.push(info(reload ? `${who}: the file is rewritten and Patroni reloaded (the part it reads at run time changed)` : `${who}: the file is rewritten, no reload (only its bootstrap part changed, read when a cluster is initialised)`));
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
    kind: 'member', subject: name ? `member ${name}` : 'a member', where: `of ${cluster.name}`, action, findings,
    diffs: [unified(`${name ?? 'member'}: patroni.yml`, yml(before), yml(after))], target: cluster.name, reload, restart,
  };
}

/** The member steps beside its file: the env file of secrets, the stop on destroy. */
function memberStepReview(e: Entry, ctx: StackContext): ResourceReview {
  const name = str(e.v.member) ?? e.part;
  const owner = name ? `member ${name}'s` : "a member's";
  const findings: Finding[] = [];
  if (e.kind === 'env-file' && e.action !== 'delete') findings.push(info('the env file is written again from the ephemeral variables (values are never in the plan)'));
  if (e.kind === 'stop-on-destroy' && e.action === 'delete') findings.push(info(`it stops Patroni on ${name ?? 'the member'} as it leaves the plan`));
  if (e.kind === 'stop-on-destroy' && e.action === 'create') findings.push(info(`from now on, ${name ?? 'the member'} taken out of the stack has its Patroni stopped`));
  const cluster = ctx.clusterOf(e).name;
  return { kind: e.kind, subject: `${owner} ${e.kind === 'env-file' ? 'env file' : 'stop on destroy'}`, where: `on ${cluster}`, action: e.action, findings, diffs: [], target: cluster };
}

/** `of dc1`, and the stack it runs from when that is another data center's. */
function ofWhere(target: string, ctx: StackContext): string {
  return target === ctx.cluster ? `of ${target}` : `of ${target} (run from ${ctx.cluster}'s stack)`;
}

function dcsPatchReview(e: Entry, ctx: StackContext): ResourceReview {
  const target = str(e.v.cluster) ?? ctx.cluster;
  // a new cluster's patch: what it starts with, for information (nothing runs yet that it could disturb)
  const { findings, restart, diff } = patchReview(e.before, e.after, target, ctx.memberOf, 'DCS patch', ctx.clusterOf(e).fresh);
  return { kind: 'dcs-patch', subject: 'DCS patch', where: ofWhere(target, ctx), action: e.action, findings, diffs: [diff], target, restart };
}

/**
 * The link's slots step: in the standby's stack a DCS patch of the source's slots (after the
 * standby's own patch); in the source's stack inactive, it runs nothing.
 */
function linkSlotsReview(e: Entry, ctx: StackContext): ResourceReview {
  const active = (v: Values | undefined) => v !== undefined && 'patch_json' in v;
  if (e.after && !active(e.after)) {
    const wrote = active(e.before) ? `; until now it wrote the link's slots on ${str(e.before!.cluster) ?? ctx.source ?? 'the source'}` : '';
    return {
      kind: 'link-slots', subject: 'link slots', where: `(in ${ctx.cluster}'s stack; inactive)`, action: e.action,
      findings: [info(`inactive: ${ctx.cluster} is the source of the link, so this step runs nothing (the standby's stack writes the link's slots on ${ctx.cluster})${wrote}`)],
      diffs: [], inactive: true,
    };
  }
  const target = str(e.v.cluster) ?? ctx.source ?? 'the source';
  const { findings, restart, diff } = patchReview(active(e.before) ? e.before : undefined, e.after, target, ctx.memberOf, `link slots on ${target}`);
  return { kind: 'link-slots', subject: 'link slots', where: `on ${target} (run from ${ctx.cluster}'s stack)`, action: e.action, findings, diffs: [diff], target, restart };
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
  const review = (where: string, findings: Finding[], event?: RoleEvent): ResourceReview => ({ kind: 'role', subject: 'role step', where, action, findings, diffs: [], event });
  const dataLoss = cfg.acceptDataLoss === true;

  if (action === 'delete') return review(`(${inStack})`, [info('the role step leaves the plan: nothing runs')]);
  if (action !== 'create' && b === a && a === 'standby' && wasState === 'detached' && state === 'following') {
    return review(touching, [attention(`the link follows again after a promotion: if ${me} is a primary, its role step REJOINS it as the standby of ${other ?? 'the source'} (pg_rewind; its replicas re-cloned), which throws away what it wrote since the promotion${dataLoss ? ' (acceptDataLoss is set)' : ', refused unless roleChange.acceptDataLoss'}`)], { kind: 'rejoin', cluster: me, to: other });
  }
  if (action === 'create' || b === a || a === undefined || b === undefined) {
    const out: Finding[] = [];
    if (dataLoss) out.push(attention('roleChange.acceptDataLoss is set: a rejoin discards what the diverged cluster wrote after the split'));
    // A role step created (a first deploy, or a new link): it acts only where the clusters' roles
    // differ from the topology's, which new clusters cannot; for information, in one line.
    if (action === 'create') {
      const roles = a === 'source' ? `${me} is the source and ${otherName} follows it` : a === 'standby' ? `${me} follows ${otherName}` : 'the roles are as the topology says';
      out.push(info(state === 'detached'
        ? 'created with the link detached (a promotion): it changes nothing now; it acts once the link follows again'
        : `created: when link.source changes later, the new source's role step runs the role change; now this one checks that ${roles}, and changes nothing when the clusters are new or already so`));
    }
    if (action === 'update') out.push(info('its settings change, not its role: nothing runs now; the next role change uses them'));
    if (action === 'replace' && a === 'standby' && state === 'detached' && wasState !== 'detached') out.push(info(`the link is detached: this step runs nothing (the detach in this stack promotes ${me})`));
    // created, either role's step looks at both clusters; replaced, only the source's acts
    return review(action === 'create' || (runs(action) && (a ?? b) === 'source') ? touching : idle, out);
  }
  if (a === 'source') {
    const maxLag = num(cfg.maxLagBytes);
    const catchUp = num(cfg.catchUpTimeoutSeconds);
    return review(touching, [attention(
      `SWITCHOVER ${otherName} -> ${me}: ${me} becomes the source (role ${b} -> ${a}) and ${otherName} its standby. This role step runs the gate (the link healthy${maxLag !== undefined ? `, the lag at most ${maxLag} bytes` : ''}), puts the slot on ${me}, fences ${otherName}, the old primary (standby_cluster), waits until everything ${otherName} wrote is replayed on ${me} (${catchUp !== undefined ? `at most ${catchUp} s, ` : ''}else the fence is undone), promotes ${me} and makes ${otherName} follow (nothing re-cloned). If the two have diverged (after a disaster promotion), ${otherName} is rejoined instead${dataLoss ? ', DISCARDING its writes after the split (acceptDataLoss)' : ', refused unless roleChange.acceptDataLoss'}`,
    )], { kind: 'switchover', from: otherName, to: me });
  }
  if (a === 'standby') {
    const runner = other ? `${other}'s role step (in ${other}'s stack)` : "the new source's role step";
    return review(idle, [attention(`${me} becomes the standby${other ? ` of ${other}` : ''} (role ${b} -> ${a}): this step runs nothing; ${runner} demotes it and makes it follow`)], { kind: 'switchover', from: me, to: otherName });
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
    findings.push(attention(`DISASTER PROMOTION of ${target} (link.promotion.disaster): it is promoted without its source; the gate checks only that everything received is replayed and prints the last known position. Writes that ${source} made after that are lost`));
    event = { kind: 'promotion', cluster: target, disaster: true };
  } else {
    findings.push(attention(`PROMOTION of ${target}: it is detached (its standby_cluster block removed) and becomes an independent primary, after the promotion gate: same system identifier and timeline as ${source}, replay not paused, caught up, no write on ${source} for ${settle !== undefined ? `${settle} s` : 'the settle time (its length is not in the plan)'}, no open write or prepared transaction; a refusal leaves both clusters as they are`));
    event = { kind: 'promotion', cluster: target, disaster: false };
  }
  return { kind: 'detach', subject: 'promotion (detach)', where: ofWhere(target, ctx), action: e.action, findings, diffs: [], event, target };
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
  const member = str(v.member) ?? (/^(.+)-(?:set-aside|start)$/.exec(step)?.[1]);
  const review = (where: string, findings: Finding[], event?: RoleEvent): ResourceReview => ({ kind: 'reseed', subject: `re-seed ${step}`, where, action, findings, diffs: [], event, target: reseeded });
  const onHost = `on ${reseeded}`;
  if (step === 'gate') {
    const where = `(in ${ctx.cluster}'s stack; touches ${source ? listed([reseeded, source].sort()) : `${reseeded} and its source`})`;
    if (!runs(action)) return review(where, [info('the re-seed step leaves the plan: nothing runs')]);
    const aside = Object.entries(obj(cfg.setAside)).filter(([, d]) => typeof d === 'string').map(([m, d]) => `${m} -> ${d}`).join(', ');
    return review(where, [attention(`RE-SEED of ${str(obj(cfg.standby).name) ?? 'the standby cluster'} from ${str(obj(cfg.source).name) ?? 'the source'}${generation ? ` (generation ${generation})` : ''}: refused unless it is a standby cluster whose standby leader cannot stream; then every member is stopped, its data directory set aside (${aside ? `${aside}; ` : ''}nothing deleted), the cluster's DCS state removed, and the members cloned anew from the source (a full copy across the data centers)`)], { kind: 'reseed', cluster: reseeded, generation });
  }
  if (!runs(action)) return review(onHost, [info('the re-seed step leaves the plan: nothing runs')]);
  const who = member ? `member ${member}` : 'a member whose name is not in the plan';
  if (step.endsWith('-set-aside')) return review(onHost, [attention(`${who}: Patroni stopped, its data directory set aside`)]);
  if (step === 'dcs-reset') return review(onHost, [attention(`the cluster's state in its DCS removed (patronictl remove${member ? `, on ${member}` : ''})`)]);
  if (step.endsWith('-start')) return review(onHost, [info(`${who}: Patroni started, it clones anew`)]);
  if (step === 'wait') return review(onHost, [info('waits until the re-seeded members stream')]);
  return review(onHost, []);
}

/** One stack's plan (`terraform show -json`), reviewed. `memberOf` names addresses (from all the plans). */
export function reviewPlan(stack: string, plan: Plan, memberOf: (ip: string) => string | undefined = () => undefined): StackReview {
  const changes = Array.isArray(plan?.resource_changes) ? plan.resource_changes : [];
  const entries: Entry[] = [];
  for (const rc of changes) {
    if (!rc || (rc.type !== 'terraform_data' && rc.type !== 'null_resource')) continue;
    const name = str(rc.name) ?? String(rc.address ?? '').split('.').pop() ?? '';
    const before = valuesOf(rc.change?.before);
    const after = valuesOf(rc.change?.after);
    const v = after ?? before ?? {};
    entries.push({ name, action: actionOf(rc.change?.actions), before, after, v, ...classify(name, v) });
  }
  // the names, from every role step and patch, changed or not
  const links: [string, string][] = [];
  const linkIds: string[] = [];
  const linkRoles: (string | undefined)[] = [];
  let me: string | undefined;
  let source: string | undefined;
  let patched: string | undefined;
  for (const e of entries) {
    if (e.kind === 'role') {
      const cfg = roleConfigOf(e);
      const m = str(obj(cfg.me).name);
      const o = str(obj(cfg.other).name);
      me ??= m;
      if (m && o && !links.some(([x, y]) => x === m && y === o)) {
        links.push([m, o]);
        linkRoles.push(str(e.v.role) ?? str(cfg.role));
        const id = (c: unknown, name: string) => `${name}@${(Array.isArray(obj(c).nodes) ? (obj(c).nodes as unknown[]) : []).map((n) => str(obj(n).rest) ?? '').join(',')}`;
        linkIds.push([id(cfg.me, m), id(cfg.other, o)].sort().join('\u0000'));
      }
      if ((str(e.v.role) ?? str(cfg.role)) === 'standby') source ??= o;
    }
    if (e.kind === 'dcs-patch') patched ??= str(e.v.cluster);
  }
  const stopped = new Set(entries.filter((e) => e.kind === 'stop-on-destroy' && e.action === 'delete').map((e) => str(e.v.member) ?? e.part).filter((m): m is string => m !== undefined));
  const cluster = me ?? patched ?? stack;
  const clusters = clustersOf(entries, cluster, source);
  const clusterOf = (e: Entry): ClusterFacts => clusters.get(e.prefix ?? NO_PREFIX)!;
  const ctx: StackContext = { stack, cluster, source, stopped, memberOf, clusterOf };
  const resources: ResourceReview[] = [];
  const review = (e: Entry): ResourceReview => {
    switch (e.kind) {
      case 'member': return memberReview(e, ctx);
      case 'env-file':
      case 'stop-on-destroy': return memberStepReview(e, ctx);
      case 'dcs-patch': return dcsPatchReview(e, ctx);
      case 'link-slots': return linkSlotsReview(e, ctx);
      case 'role': return roleReview(e, ctx);
      case 'detach': return detachReview(e, ctx);
      case 'reseed': return reseedReview(e, ctx);
      default: return { kind: 'other', subject: e.name.replace(HASH, '') || 'a resource whose name is not in the plan', where: '', action: e.action, findings: [], diffs: [] };
    }
  };
  for (const e of entries) {
    if (e.action === 'no-op' || e.action === 'read') continue;
    const r = review(e);
    resources.push(clusterOf(e).fresh ? { ...r, fresh: true } : r);
  }
  const created = unique([...clusters.values()].filter((c) => c.fresh).map((c) => c.name));
  return { stack, cluster, links, linkIds, linkRoles, created, resources };
}

/** The key of the resources whose names do not show their cluster's construct path. */
const NO_PREFIX = '\u0000';

/**
 * The clusters of a stack, by the construct path above their resources' own components (one per
 * stack as `buildStandbyStacks` makes them; two when a stack holds both clusters of a link).
 * Resources whose names do not show it belong to the stack's cluster.
 *
 * A cluster is fresh when the plan creates it whole: it has members and every resource of it is
 * created (no state yet: a first deploy, or a standby cluster added to a running source). What
 * needs a reviewer's attention then: nothing that only creates it. Its members, its DCS patch
 * (what it starts with, no restart) and its role step are for information: no data exists there
 * yet, no running member is disturbed, and the headline says what bootstraps and what follows.
 * What the plan changes on a running cluster keeps its findings: a member *added* to a running
 * cluster is marked (it clones a full copy from its leader and then serves as a replica), and so
 * is anything a running source loses; a slot or pg_hba line it gains is information. The review
 * cannot see the machines: a cluster whose state was lost looks fresh too.
 */
function clustersOf(entries: readonly Entry[], stackCluster: string, stackSource: string | undefined): Map<string, ClusterFacts> {
  const groups = new Map<string, Entry[]>();
  for (const e of entries) {
    const key = e.prefix ?? NO_PREFIX;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  if (!groups.has(NO_PREFIX)) groups.set(NO_PREFIX, []);
  const out = new Map<string, ClusterFacts>();
  for (const [key, group] of groups) {
    const roles = group.filter((e) => e.kind === 'role').map((e) => ({ cfg: roleConfigOf(e), role: str(e.v.role) }));
    const named = roles.map((r) => str(obj(r.cfg.me).name)).find((n) => n !== undefined) ?? group.filter((e) => e.kind === 'dcs-patch').map((e) => str(e.v.cluster)).find((n) => n !== undefined);
    const name = named ?? stackCluster;
    // a standby of one link is a standby (a cluster follows one source), whatever else it feeds
    const following = roles.find((r) => (r.role ?? str(r.cfg.role)) === 'standby');
    const role = following ? 'standby' : roles.length > 0 ? 'source' : name === stackCluster && stackSource !== undefined ? 'standby' : undefined;
    const source = following ? str(obj(following.cfg.other).name) : role === 'standby' ? stackSource : undefined;
    const members = group.filter((e) => e.kind === 'member');
    const fresh = members.length > 0 && group.every((e) => e.action === 'create');
    const first = fresh ? members.map((e) => str(e.v.member) ?? e.part).find((m) => m !== undefined) : undefined;
    out.set(key, { name, role, source, fresh, first });
  }
  return out;
}

/** Addresses of every member in the plans, for naming them in pg_hba findings. */
export function membersByAddress(plans: Plan[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const plan of plans) {
    for (const rc of Array.isArray(plan?.resource_changes) ? plan.resource_changes : []) {
      const v = valuesOf(rc?.change?.after) ?? valuesOf(rc?.change?.before);
      if (v && 'patroni_yml' in v && typeof v.host === 'string' && typeof v.member === 'string') out.set(v.host, v.member);
    }
  }
  return out;
}

export function needsAttention(reviews: readonly StackReview[]): boolean {
  return reviews.some((s) => s.resources.some((r) => r.findings.some((f) => f.attention)));
}

function eventText(e: RoleEvent, given: ReadonlySet<string>): string {
  switch (e.kind) {
    case 'switchover':
      return `SWITCHOVER ${e.from} -> ${e.to}${given.has(e.to) ? '' : ` (run from ${e.to === UNNAMED ? 'its' : `${e.to}'s`} stack, whose plan is not among these)`}`;
    case 'promotion':
      return e.disaster ? `DISASTER PROMOTION of ${e.cluster}` : `PROMOTION of ${e.cluster} (detach)`;
    case 'rejoin':
      return `REJOIN of ${e.cluster} to ${e.to ?? 'its source'}`;
    case 'reseed':
      return `RE-SEED of ${e.cluster}${e.generation ? ` (generation ${e.generation})` : ''}`;
  }
}

/** The clusters an event names (a role step that does not name the other cluster stands for it with UNNAMED). */
const eventClusters = (e: RoleEvent): string[] =>
  (e.kind === 'switchover' ? [e.from, e.to] : e.kind === 'rejoin' ? [e.cluster, ...(e.to ? [e.to] : [])] : [e.cluster]).filter((c) => c !== UNNAMED);

/** What changes besides roles, counted: `3 members reloaded`, `DCS patch of dc1 changed`... */
function configuration(resources: readonly ResourceReview[]): string[] {
  const out: string[] = [];
  const members = resources.filter((r) => r.kind === 'member');
  const count = (n: number, text: string) => n > 0 && out.push(text);
  const rewritten = members.filter((r) => r.action === 'update' || r.action === 'replace');
  const added = members.filter((r) => r.action === 'create').length;
  const removed = members.filter((r) => r.action === 'delete').length;
  const reloaded = rewritten.filter((r) => r.reload === true).length;
  count(added, `${plural(added, 'member')} added`);
  count(removed, `${plural(removed, 'member')} removed`);
  count(reloaded, `${plural(reloaded, 'member')} reloaded`);
  count(rewritten.length - reloaded, `${plural(rewritten.length - reloaded, 'member file')} rewritten without a reload`);
  const restart = unique(resources.flatMap((r) => r.restart ?? [])).sort();
  count(restart.length, `a PostgreSQL restart needed for ${listed(restart)}`);
  const patched = unique(resources.filter((r) => r.kind === 'dcs-patch' && r.target).map((r) => r.target!));
  count(patched.length, `${patched.length === 1 ? 'DCS patch' : 'DCS patches'} of ${listed(patched)} changed`);
  const slots = unique(resources.filter((r) => r.kind === 'link-slots' && !r.inactive && r.target).map((r) => r.target!));
  count(slots.length, `link slots on ${listed(slots)} changed`);
  const named = (kind: ResourceKind, one: string, many: string) => {
    const n = resources.filter((r) => r.kind === kind && !r.event).length;
    count(n, `${n} ${n === 1 ? one : many}`);
  };
  named('env-file', 'env file rewritten', 'env files rewritten');
  named('stop-on-destroy', 'stop-on-destroy step changed', 'stop-on-destroy steps changed');
  named('role', 'role step changed without a role change', 'role steps changed without a role change');
  named('reseed', 're-seed step changed', 're-seed steps changed');
  named('detach', 'detach step changed', 'detach steps changed');
  named('other', 'other resource changed', 'other resources changed');
  const inactive = resources.filter((r) => r.kind === 'link-slots' && r.inactive).length;
  count(inactive, `${plural(inactive, 'inactive link slots step')} changed`);
  return out;
}

/** The environments of the given stacks, each with its headline, in the order their stacks come. */
export function environments(reviews: readonly StackReview[]): Environment[] {
  const groups = new Map<string, { clusters?: [string, string]; stacks: StackReview[]; source?: string; standby?: string }>();
  const add = (key: string, clusters: [string, string] | undefined, s: StackReview, roles: { source?: string; standby?: string } = {}) => {
    const g = groups.get(key) ?? { clusters, stacks: [] };
    if (!g.stacks.includes(s)) g.stacks.push(s);
    g.source ??= roles.source;
    g.standby ??= roles.standby;
    groups.set(key, g);
  };
  for (const s of reviews) {
    if (s.links.length === 0) add(`stack\u0000${s.stack}`, undefined, s);
    s.links.forEach(([me, other], i) => {
      const pair = [me, other].sort() as [string, string];
      const role = s.linkRoles?.[i];
      const roles = role === 'source' ? { source: me, standby: other } : role === 'standby' ? { source: other, standby: me } : {};
      add(`pair\u0000${s.linkIds?.[i] ?? `${pair[0]}\u0000${pair[1]}`}`, pair, s, roles);
    });
  }
  return [...groups.values()].map(({ clusters, stacks, source, standby }) => {
    const resources = stacks.flatMap((s) => s.resources);
    const given = new Set(stacks.map((s) => s.cluster));
    const created = new Set(stacks.flatMap((s) => s.created ?? []));
    const events = unique(resources
      .map((r) => r.event)
      .filter((e): e is RoleEvent => e !== undefined && (!clusters || eventClusters(e).every((c) => clusters.includes(c))))
      .map((e) => eventText(e, given)));
    const fresh = clusters ? newLink(source, standby, created, given) : created.has(stacks[0].cluster) ? `NEW CLUSTER ${stacks[0].cluster} bootstraps` : undefined;
    // on a first deploy the new clusters' resources, and the link's steps created with them, are
    // the NEW one; what else changes (on a running source) is counted as configuration
    const config = configuration(fresh ? resources.filter((r) => !r.fresh && !(r.action === 'create' && (r.kind === 'role' || r.kind === 'link-slots'))) : resources);
    const headline = fresh
      ? [fresh, ...events].join('; ') + (config.length > 0 ? `; configuration: ${config.join(', ')}` : '')
      : events.length > 0 ? events.join('; ') : `no role change; ${config.length > 0 ? `configuration only: ${config.join(', ')}` : 'no changes'}`;
    return { name: clusters ? listed(clusters) : stacks[0].stack, clusters, stacks: stacks.map((s) => s.stack), headline };
  });
}

/**
 * The headline of a link whose clusters the plans create (both: a first deploy; one: a cluster
 * added to a running one), from the source and the standby its role steps name; undefined when
 * neither is new.
 */
function newLink(source: string | undefined, standby: string | undefined, created: ReadonlySet<string>, given: ReadonlySet<string>): string | undefined {
  if (source === undefined || standby === undefined) return undefined;
  const missing = (c: string) => (given.has(c) ? '' : ` (${c}'s plan is not among these)`);
  if (created.has(source) && created.has(standby)) return `NEW ENVIRONMENT: ${source} bootstraps as the source, ${standby} follows it (its standby leader clones from ${source} across the link)`;
  if (created.has(standby)) return `NEW STANDBY CLUSTER ${standby} follows ${source}${missing(source)}`;
  if (created.has(source)) return `NEW SOURCE CLUSTER ${source} bootstraps, ${standby} follows it${missing(standby)}`;
  return undefined;
}

export function reviewMarkdown(reviews: readonly StackReview[]): string {
  const count = reviews.flatMap((s) => s.resources.flatMap((r) => r.findings)).filter((f) => f.attention).length;
  const out: string[] = ['## Patroni plan review', ''];
  const envs = environments(reviews);
  for (const e of envs) {
    const stacks = e.clusters ? ` (${e.stacks.length === 1 ? 'stack' : 'stacks'} ${e.stacks.map((s) => `\`${s}\``).join(', ')})` : '';
    out.push(`- **${e.name}**${stacks}: ${e.headline}`);
  }
  if (envs.length > 0) out.push('');
  out.push(count > 0 ? `**${count} change${count === 1 ? '' : 's'} need${count === 1 ? 's' : ''} a reviewer's attention.**` : 'Nothing here needs a reviewer\'s attention.', '');
  for (const s of reviews) {
    out.push(`### Stack \`${s.stack}\`${s.cluster !== s.stack ? ` (${s.cluster})` : ''}`, '');
    if (s.resources.length === 0) {
      out.push('No change.', '');
      continue;
    }
    for (const r of s.resources) {
      out.push(`#### ${r.subject}${r.where ? ` ${r.where}` : ''}: ${r.action}`, '');
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

/** The command: reads the plans, writes the Markdown; returns the exit code. */
export function main(args: string[]): number {
  if (args.length === 0) {
    process.stderr.write('usage: plan-review <stack>=<plan.json> ... (terraform show -json <saved plan> > plan.json); or <plan.json> named after its stack\n');
    return 1;
  }
  const inputs: { stack: string; plan: Plan }[] = [];
  for (const arg of args) {
    const [stack, file] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [path.basename(arg).replace(/\.(plan\.)?json$/, ''), arg];
    try {
      const plan: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (plan === null || typeof plan !== 'object' || Array.isArray(plan)) throw new Error('it is not a JSON object');
      inputs.push({ stack, plan: plan as Plan });
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
