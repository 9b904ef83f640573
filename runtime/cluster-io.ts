/**
 * The role change's input and output: the two clusters as it reads and changes them (Patroni's REST
 * API, SQL through link-health.ts), where it prints, and the REST API passwords, each from the
 * variable its cluster's `restPasswordEnv` names. role-change.ts runs the role change against
 * `realIo`; tests hand it fakes with the same methods. The re-seed (reseed.ts) uses it too.
 */
import { PATRONI_ROLES, type RoleChangeCluster, type RoleChangeConfig } from './contract';
import * as health from './link-health';
import { getJson, jsonHeaders, request } from './rest-client';

// --- types --------------------------------------------------------------------------------------

/** Where the step prints (process.stdout, process.stderr, or a test's stand-in). */
export interface Output {
  write(text: string): unknown;
}

/** The environment the step reads: ROLE_CHANGE_CONFIG, and the REST API passwords its clusters name. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A member as Patroni's GET /cluster lists it. */
export type ClusterMember = { readonly name: string; readonly role: string; readonly state?: unknown };

/** A cluster's dynamic configuration (GET /config), or a PATCH of it. */
export type DynamicConfig = Readonly<Record<string, unknown>>;

/** What one cluster looks like right now: its dynamic configuration and members. */
export type ClusterLook =
  | { readonly reachable: false }
  | {
      readonly reachable: true;
      readonly config: DynamicConfig;
      readonly members: readonly ClusterMember[];
      readonly leader: ClusterMember | undefined;
      readonly standby: boolean;
      readonly primary: boolean;
    };

/** A member as status reads it: the fields the role change uses (link-health's readNode gives more). */
export type MemberReading = {
  readonly member: string;
  readonly reachable: boolean;
  readonly inRecovery: boolean | null;
  readonly timeline: number | null;
  readonly currentLsn: string | null;
  readonly receiverStatus: string | null;
  readonly senderHost: string | null;
};

/** One member's recovery state and replay position, read with SQL alone. */
export type Position = {
  readonly member: string;
  readonly inRecovery: boolean | null;
  readonly replayLsn: string | null;
  readonly timeline: number | null;
};

/**
 * The source leader's read-only setting and current WAL position (the soft fence's wait), its
 * synchronous_commit and the application names of its synchronous standbys (the synchronous
 * handoff's).
 */
export type SourceState = {
  readonly readOnly: boolean;
  readonly currentLsn: string | null;
  readonly synchronousCommit: string | null;
  /** synchronous_standby_names as PostgreSQL runs it (ALTER SYSTEM and the configuration file included). */
  readonly standbyNames: string | null;
  /** Every walsender: its application_name, whether it is synchronous, the address it comes from. */
  readonly senders: readonly Sender[];
};

/** A walsender of the source, as pg_stat_replication shows it. */
export type Sender = { readonly name: string; readonly sync: boolean; readonly address: string | null };

/** The switchover gate: why the link is not ready (empty: it is), and the report it read, when it read one. */
export type SwitchoverGate = { readonly problems: readonly string[]; readonly report?: health.LinkReport };

/** What the role change does to the clusters: the real ones (realIo), or a test's fakes. */
export interface RoleIo {
  look: (cluster: RoleChangeCluster) => Promise<ClusterLook>;
  patch: (cluster: RoleChangeCluster, body: DynamicConfig, leader?: string) => Promise<void>;
  post: (
    cluster: RoleChangeCluster,
    members: readonly ClusterMember[],
    endpoint: string,
    body: unknown,
    member?: string,
  ) => Promise<void>;
  readMember: (cluster: RoleChangeCluster, member: string, cfg: RoleChangeConfig) => Promise<MemberReading | undefined>;
  position: (
    cluster: RoleChangeCluster,
    member: string | undefined,
    cfg: RoleChangeConfig,
  ) => Promise<Position | undefined>;
  sourceState: (cluster: RoleChangeCluster, member: string, cfg: RoleChangeConfig) => Promise<SourceState | undefined>;
  gate: (cfg: RoleChangeConfig) => Promise<SwitchoverGate>;
  history: (cluster: RoleChangeCluster, member: string) => Promise<unknown>;
  /** The Patroni version a member runs (GET /patroni), when it answers. */
  version: (cluster: RoleChangeCluster, member: string) => Promise<string | undefined>;
}

/** Where `run` prints, and the environment that holds the REST API passwords its clusters name. */
export type RunOutput = { readonly out?: Output; readonly env?: Env };

// --- helpers ------------------------------------------------------------------------------------

const isRecord = (v: unknown): v is Readonly<Record<string, unknown>> => typeof v === 'object' && v !== null;

/** `v[key]` for an object, else undefined (what a property of a missing or primitive value reads). */
export const field = (v: unknown, key: string): unknown => (isRecord(v) ? v[key] : undefined);

const isMember = (v: unknown): v is ClusterMember =>
  isRecord(v) && typeof v.name === 'string' && typeof v.role === 'string';

const isLeaderRole = (role: string): boolean => PATRONI_ROLES.leader.includes(role);

/** The soft fence's parameter (role-change.ts sets it; sourceState reads it). */
export const READ_ONLY = 'default_transaction_read_only';

/** The synchronous handoff's parameter (role-change.ts sets it for the handoff alone). */
export const SYNC_NAMES = 'synchronous_standby_names';

/** The source's state: SOURCE_STATE_SQL's columns. */
export const SOURCE_STATE_SQL = `select current_setting('${READ_ONLY}') as read_only,
  pg_current_wal_flush_lsn()::text as current_lsn,
  current_setting('synchronous_commit') as synchronous_commit,
  current_setting('${SYNC_NAMES}') as standby_names,
  coalesce((select json_agg(json_build_object('name', application_name, 'sync', sync_state = 'sync',
    'address', host(client_addr))) from pg_stat_replication), '[]'::json) as senders`;

/** A failure the step meant (a refusal): printed without FAILED. */
type Refusal = Error & { readonly refused: true };

/** Throws a refusal with `msg`: the step stops, and says why without FAILED. */
export function fail(msg: string): never {
  const refusal: Refusal = Object.assign(new Error(msg), { refused: true as const });
  throw refusal;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// --- where the step prints, and its REST passwords -----------------------------------------------

/** Where `run` prints and which environment holds the REST passwords (unset: the process's own). */
let sink: Output | undefined;
let restEnv: Env | undefined;

/** Prints where the step prints: the run's output, else process.stdout. */
export function write(text: string): void {
  (sink ?? process.stdout).write(text);
}

/**
 * Sets where the step prints and which environment holds the REST passwords: `run` sets them for its
 * run, and unsets them ({}) after it.
 */
export function useRunOutput(via: RunOutput): void {
  sink = via.out;
  restEnv = via.env;
}

// --- the real clusters --------------------------------------------------------------------------

/** What one cluster looks like right now: its dynamic configuration and members. */
async function realLook(cluster: RoleChangeCluster): Promise<ClusterLook> {
  for (const n of cluster.nodes) {
    const answer = await getJson(`${n.rest}/config`);
    if (answer === undefined) continue;
    const config: DynamicConfig = isRecord(answer) ? answer : {};
    const listed = field(await getJson(`${n.rest}/cluster`), 'members');
    const members = Array.isArray(listed) ? listed.filter(isMember) : [];
    const leader = members.find((m) => isLeaderRole(m.role) || m.role === PATRONI_ROLES.standbyLeader);
    return {
      reachable: true,
      config,
      members,
      leader,
      standby: Boolean(config.standby_cluster),
      primary: Boolean(leader && isLeaderRole(leader.role)),
    };
  }
  return { reachable: false };
}

/** The cluster's REST credentials from the pipeline's environment (the variable its topology names). */
function headersFor(cluster: RoleChangeCluster): Record<string, string> {
  const password = (restEnv ?? process.env)[cluster.restPasswordEnv] || '';
  if (cluster.restUser && !password)
    fail(
      `the REST API of ${cluster.name} needs authentication as "${cluster.restUser}": set ${cluster.restPasswordEnv}`,
    );
  return jsonHeaders(cluster.restUser, password);
}

/**
 * PATCH /config on a cluster, its leader first: Patroni wakes the HA loop of the node that
 * receives a PATCH, so the leader acts at once instead of at its next loop_wait. The same PATCH
 * again to every node 150 and 500 ms later wakes loops that still read the old configuration
 * from their DCS cache (it changes nothing the second time).
 */
async function realPatch(cluster: RoleChangeCluster, body: DynamicConfig, leader?: string): Promise<void> {
  const headers = headersFor(cluster);
  const ordered = [
    ...cluster.nodes.filter((n) => n.name === leader),
    ...cluster.nodes.filter((n) => n.name !== leader),
  ];
  const send = (n: (typeof ordered)[number]) =>
    request(`${n.rest}/config`, { method: 'PATCH', headers, body, timeoutMs: 5000 });
  let last = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    for (const n of ordered) {
      try {
        const res = await send(n);
        if (res.status === 401 || res.status === 403)
          fail(`${n.rest} refused the credentials (HTTP ${res.status}): check ${cluster.restPasswordEnv}`);
        if (res.status !== 200) {
          last = `${n.rest}: HTTP ${res.status}`;
          continue;
        }
        for (const pause of [150, 350]) {
          await sleep(pause);
          await Promise.allSettled(ordered.map(send));
        }
        return;
      } catch (err) {
        if (field(err, 'refused') || field(err, 'tls')) throw err;
        last = `${n.rest}: ${field(err, 'message')}`;
      }
    }
    await sleep(500);
  }
  throw new Error(`PATCH /config on ${cluster.name} failed: ${last}`);
}

/** POST to a member's REST API: `member`, else the cluster's leader. */
async function realPost(
  cluster: RoleChangeCluster,
  members: readonly ClusterMember[],
  endpoint: string,
  body: unknown,
  member?: string,
): Promise<void> {
  const headers = headersFor(cluster);
  const leader = members.find((m) => isLeaderRole(m.role));
  const target = member || (leader && leader.name);
  const node = cluster.nodes.find((n) => n.name === target) || cluster.nodes[0];
  const res = await request(`${node.rest}${endpoint}`, { method: 'POST', headers, body, timeoutMs: 60000 });
  if (res.status !== 200)
    fail(`POST ${endpoint} on ${cluster.name} answered HTTP ${res.status}: ${res.text.trim().slice(0, 200)}`);
}

/** The node of `cluster` named `member` (undefined when it has none). */
const nodeOf = (cluster: RoleChangeCluster, member: string | undefined) => cluster.nodes.find((n) => n.name === member);

/** The node of `cluster` named `member`, read with SQL (recovery state, positions, timeline). */
async function realReadMember(
  cluster: RoleChangeCluster,
  member: string,
  cfg: RoleChangeConfig,
): Promise<MemberReading | undefined> {
  const node = nodeOf(cluster, member);
  return node ? health.readNode(node, cfg, cluster.name) : undefined;
}

const POSITION_SQL = `select pg_is_in_recovery() as in_recovery, pg_last_wal_replay_lsn()::text as replay_lsn,
  case when pg_is_in_recovery() then (select timeline_id from pg_control_checkpoint())
    else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int end as timeline`;

const textOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The first row of one query on `node` with a short connect timeout; undefined when it cannot be read. */
function firstRow(
  node: RoleChangeCluster['nodes'][number],
  cfg: RoleChangeConfig,
  sql: string,
): Promise<Readonly<Record<string, unknown>> | undefined> {
  return health.query(node, { ...cfg, connectTimeoutMs: 1000 }, sql).then(
    ([row]) => (isRecord(row) ? row : undefined),
    () => undefined,
  );
}

/**
 * One member's recovery state and replay position, by SQL alone with a short connect timeout:
 * the fence's critical path polls it while PostgreSQL restarts, when the REST API answers late.
 */
async function realPosition(
  cluster: RoleChangeCluster,
  member: string | undefined,
  cfg: RoleChangeConfig,
): Promise<Position | undefined> {
  const node = nodeOf(cluster, member);
  if (!node) return undefined;
  const row = await firstRow(node, cfg, POSITION_SQL);
  if (!row) return undefined;
  return {
    member: node.name,
    inRecovery: typeof row.in_recovery === 'boolean' ? row.in_recovery : null,
    replayLsn: textOrNull(row.replay_lsn),
    timeline: typeof row.timeline === 'number' ? row.timeline : null,
  };
}

/**
 * The source leader's read-only setting and the WAL position it has flushed (the soft fence's
 * wait): its walsenders send up to there and no further. The write position can stay ahead of it
 * while the source is quiet (seen on PostgreSQL 18: 344 bytes for over 20 s, sent to no replica),
 * and no standby could reach it.
 */
async function realSourceState(
  cluster: RoleChangeCluster,
  member: string,
  cfg: RoleChangeConfig,
): Promise<SourceState | undefined> {
  const node = nodeOf(cluster, member);
  if (!node) return undefined;
  const row = await firstRow(node, cfg, SOURCE_STATE_SQL);
  if (!row) return undefined;
  const senders = Array.isArray(row.senders) ? row.senders : [];
  return {
    readOnly: row.read_only === 'on',
    currentLsn: textOrNull(row.current_lsn),
    synchronousCommit: textOrNull(row.synchronous_commit),
    standbyNames: textOrNull(row.standby_names),
    senders: senders
      .filter((s): s is Readonly<Record<string, unknown>> => isRecord(s) && typeof s.name === 'string')
      .map((s) => ({ name: String(s.name), sync: s.sync === true, address: textOrNull(s.address) })),
  };
}

/** The Patroni version `member` of `cluster` runs, from its GET /patroni; undefined when it does not say. */
async function realVersion(cluster: RoleChangeCluster, member: string): Promise<string | undefined> {
  const node = nodeOf(cluster, member);
  if (!node) return undefined;
  const version = field(field(await getJson(`${node.rest}/patroni`), 'patroni'), 'version');
  return typeof version === 'string' ? version : undefined;
}

/** The link from `other` (source) to `me` (standby), checked as `npm run status` checks it, plus the lag bound. */
async function realGate(cfg: RoleChangeConfig): Promise<SwitchoverGate> {
  const report = await health.collect({
    state: 'following',
    slotName: cfg.slotName,
    user: cfg.user,
    source: cfg.other,
    standby: cfg.me,
  });
  const problems = [...report.problems];
  const leader = report.nodes.find((n) => n.member === report.standby.leader);
  if (leader && (leader.lagBytes ?? 0) > cfg.maxLagBytes)
    problems.push(
      `standby leader ${leader.member} lags ${leader.lagBytes} bytes behind the source (at most ${cfg.maxLagBytes}: roleChange.maxLagBytes)`,
    );
  write(`${health.formatReport(report)}\n`);
  return { problems, report };
}

/** GET /history of the member named `member` (undefined when the cluster has no such member). */
async function realHistory(cluster: RoleChangeCluster, member: string): Promise<unknown> {
  const node = nodeOf(cluster, member);
  return node ? getJson(`${node.rest}/history`) : undefined;
}

/** The real clusters: REST APIs and SQL. Tests hand `run` a fake with the same methods. */
export const realIo: RoleIo = {
  look: realLook,
  patch: realPatch,
  post: realPost,
  readMember: realReadMember,
  position: realPosition,
  version: realVersion,
  sourceState: realSourceState,
  gate: realGate,
  history: realHistory,
};
