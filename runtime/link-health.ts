/**
 * Cross-cluster health of a Patroni standby link, read with the `pg` client and Patroni's REST
 * API: the figures behind `npm run status` and its report (the promotion gate, gate.ts, and the
 * role step read their members with it too).
 *
 * Patroni reports lag only against each cluster's own leader. Here every node's lag is measured
 * against the SOURCE cluster's leader, whose position is read last, so a lag is never negative.
 *
 * Passwords come from PGPASSWORD or a pgpass file (PGPASSFILE, ~/.pgpass), read by `pg` itself;
 * nothing here prints them.
 */
// pg is imported, not required on first use: the programs ship as bundles that carry it, so it
// cannot be missing where they run.
import { Client } from 'pg';
import { HealthNode, LinkHealthConfig, PATRONI_ROLES } from './contract';
import { bytesBetween } from './lsn';
import { getJsonAt } from './rest-client';

// --- types ------------------------------------------------------------------------------------

/**
 * How the programs reach PostgreSQL: the role they connect as, and how long a connection may take (3 s
 * when not given).
 */
export interface DbAccess {
  readonly user: string;
  readonly connectTimeoutMs?: number;
}

/** One cluster as `collect` reads it: the configuration's, or the role step's (which has no ttl). */
export type LinkCluster = Omit<LinkHealthConfig['source'], 'ttl' | 'nodes'> & {
  /** Patroni's ttl: a member that has not reached its DCS for longer is a problem (not checked without one). */
  readonly ttl?: number;
  readonly nodes: readonly HealthNode[];
};

/**
 * What `collect` and `problemsOf` read of a link: LINK_HEALTH_CONFIG (status, the gate), or the
 * role step's view of the link (its clusters, without the gate's settings); status adds its
 * connect timeout.
 */
export type LinkView = DbAccess &
  Pick<LinkHealthConfig, 'state' | 'slotName'> &
  Partial<Pick<LinkHealthConfig, 'keepSourceSlot'>> & {
    readonly source: LinkCluster;
    readonly standby: LinkCluster;
  };

/** One member as `readNode` reads it: Patroni's view and its PostgreSQL's figures (null: unknown). */
export interface NodeReading {
  cluster: string;
  member: string;
  host: string;
  port: number;
  /** Patroni's role in `patronictl list`'s words (Leader, Standby Leader, Replica), or unknown. */
  role: string;
  /** Patroni's state (running, ...); unreachable or no REST answer when it does not say. */
  state: string | undefined;
  /** Maintenance mode (patronictl pause); null without a REST answer. */
  patroniPaused: boolean | null;
  /** Whether its PostgreSQL answered SQL. */
  reachable: boolean;
  /** Why it did not (the first line of the error). */
  error: string | undefined;
  inRecovery: boolean | null;
  systemId: string | null;
  timeline: number | null;
  currentLsn: string | null;
  receiveLsn: string | null;
  replayLsn: string | null;
  replayPaused: boolean | null;
  replayAgeSeconds: number | null;
  applyDelayMs: number | null;
  receiverStatus: string | null;
  receiverSilenceSeconds: number | null;
  senderHost: string | null;
  /** Seconds since it last reached its DCS, on its own clock. */
  dcsAgeSeconds: number | null;
}

/** One member in the report: its reading, and its lag against its reference leader. */
export interface NodeReport extends NodeReading {
  lagBytes: number | null;
  lagSeconds: number | null;
}

/** The link slot on the source leader. */
export type SlotReport =
  | {
      name: string;
      present: true;
      active: boolean;
      walStatus: string | null;
      retainedBytes: number;
      safeWalSize: number | null;
      consumer: string | null;
    }
  | { name: string; present: false };

/** What `problemsOf` judges: the report without its verdict. */
export interface LinkFigures {
  state: LinkHealthConfig['state'];
  source: { cluster: string; leader: string | null; currentLsn: string | null; timeline: number | null };
  standby: { cluster: string; leader: string | null };
  nodes: NodeReport[];
  /** null when the link has no slot, or the source has no reachable leader. */
  slot: SlotReport | null;
}

/** What `collect` returns (status prints it, as a table or as JSON). */
export interface LinkReport extends LinkFigures {
  problems: string[];
  healthy: boolean;
}

/** Where a program writes its text (process.stdout, process.stderr, or a test's collector). */
export interface TextOut {
  write(text: string): unknown;
}

/** The variables a program reads its configuration from. */
export type ProgramEnv = Readonly<Record<string, string | undefined>>;

// --- reading one node -----------------------------------------------------------------------

const NODE_SQL = `
select pg_is_in_recovery() as in_recovery,
  (select system_identifier::text from pg_control_system()) as system_id,
  case when pg_is_in_recovery() then null else pg_current_wal_lsn()::text end as current_lsn,
  pg_last_wal_receive_lsn()::text as receive_lsn,
  pg_last_wal_replay_lsn()::text as replay_lsn,
  case when pg_is_in_recovery() then pg_is_wal_replay_paused() else false end as replay_paused,
  extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as replay_age_s,
  (select setting::int from pg_settings where name = 'recovery_min_apply_delay') as apply_delay_ms,
  case when pg_is_in_recovery()
    then coalesce((select received_tli from pg_stat_wal_receiver), (select timeline_id from pg_control_checkpoint()))
    else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int end as timeline,
  (select status from pg_stat_wal_receiver) as receiver_status,
  (select extract(epoch from now() - last_msg_receipt_time)::float8 from pg_stat_wal_receiver) as receiver_silence_s,
  (select sender_host from pg_stat_wal_receiver) as sender_host`;

/** A row of NODE_SQL. */
type NodeRow = {
  in_recovery: boolean;
  system_id: string | null;
  current_lsn: string | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
  replay_paused: boolean | null;
  replay_age_s: number | null;
  apply_delay_ms: number | null;
  timeline: number | null;
  receiver_status: string | null;
  receiver_silence_s: number | null;
  sender_host: string | null;
};

/** The source leader's position, next transaction id, timeline and system identifier (read by status and the gate). */
export const SOURCE_SQL = `
select pg_current_wal_lsn()::text as current_lsn,
  pg_snapshot_xmax(pg_current_snapshot())::text as next_xid,
  ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as timeline,
  (select system_identifier::text from pg_control_system()) as system_id`;

/** A row of SOURCE_SQL: the source leader's position. */
export type SourceRow = { current_lsn: string; next_xid: string; timeline: number; system_id: string };

const SLOT_SQL = `
select s.active, s.wal_status, s.safe_wal_size::text as safe_wal_size,
  pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::text as retained_bytes,
  r.application_name as consumer
from pg_replication_slots s left join pg_stat_replication r on r.pid = s.active_pid
where s.slot_name = $1`;

/** A row of SLOT_SQL. */
type SlotRow = {
  active: boolean;
  wal_status: string | null;
  safe_wal_size: string | null;
  retained_bytes: string | null;
  consumer: string | null;
};

/** One query on one member, in a connection of its own; the rows as the query names them. */
export async function query<R extends Record<string, unknown> = Record<string, unknown>>(
  node: Pick<HealthNode, 'host' | 'port'>,
  cfg: DbAccess,
  text: string,
  params?: readonly unknown[],
): Promise<R[]> {
  const client = new Client({
    host: node.host,
    port: node.port,
    user: cfg.user,
    database: 'postgres',
    application_name: 'patroni-link-health',
    connectionTimeoutMillis: cfg.connectTimeoutMs || 3000,
    query_timeout: 5000,
  });
  // A server that goes away between two calls (a fenced leader stops at once) makes the client
  // emit 'error' with no call waiting for it: without a listener that would end the program. The
  // calls themselves reject with the same error, and are handled where they are made.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<R>(text, params === undefined ? undefined : [...params])).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A JSON object's fields; undefined for anything else. */
export function fieldsOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/**
 * Patroni's own view of the member (role, state), with the member's clock at the answer;
 * body undefined when the REST API does not answer.
 */
function patroniView(node: HealthNode): Promise<{ body: unknown; at: number | undefined }> {
  return getJsonAt(`${node.rest}/patroni`);
}

/**
 * Seconds since the member last reached its DCS: its dcs_last_seen against its own clock (the
 * REST answer's Date header, 1 s resolution), so that a deploying machine whose clock is off does
 * not see a silence that is not there; against this machine's clock when the answer has no date.
 */
function dcsAge(rest: Record<string, unknown> | undefined, at: number | undefined): number | null {
  if (!rest || typeof rest.dcs_last_seen !== 'number' || rest.dcs_last_seen <= 0) return null;
  const now = at === undefined ? Date.now() / 1000 : at;
  return Math.max(0, Math.round(now - rest.dcs_last_seen));
}

/** Patroni's role names (GET /patroni) in `patronictl list`'s words. */
const ROLE_NAMES: Readonly<Record<string, string>> = {
  master: 'Leader',
  primary: 'Leader',
  [PATRONI_ROLES.standbyLeader]: 'Standby Leader',
  [PATRONI_ROLES.replica]: 'Replica',
};

/** The first line of an error's reason: its message, its cause's code or message, or the value itself. */
export function errorText(err: unknown): string {
  const e = fieldsOf(err);
  const causeOf = fieldsOf(e?.cause);
  const cause = e && e.cause ? causeOf?.code || causeOf?.message : undefined;
  const own = e ? (e.code === 'ECONNREFUSED' ? 'connection refused' : e.message) : undefined;
  return String(own || cause || err).split('\n')[0];
}

/** Reads one member: Patroni's view (GET /patroni) and its PostgreSQL's figures, at once. */
export async function readNode(node: HealthNode, cfg: DbAccess, cluster: string): Promise<NodeReading> {
  const [{ body, at }, read] = await Promise.all([
    patroniView(node),
    query<NodeRow>(node, cfg, NODE_SQL).then(
      (r): NodeRow | { error: string } => r[0],
      (err: unknown) => ({ error: errorText(err) }),
    ),
  ]);
  const rest = fieldsOf(body);
  const error = 'error' in read ? read.error : undefined;
  const row: Partial<NodeRow> = 'error' in read ? {} : read;
  const patroniRole = rest && rest.role ? String(rest.role) : undefined;
  const role = patroniRole
    ? Object.hasOwn(ROLE_NAMES, patroniRole)
      ? ROLE_NAMES[patroniRole]
      : patroniRole
    : error
      ? 'unknown'
      : row.in_recovery
        ? 'Replica'
        : 'Leader';
  return {
    cluster,
    member: node.name,
    host: node.host,
    port: node.port,
    role,
    state: rest ? (typeof rest.state === 'string' ? rest.state : undefined) : error ? 'unreachable' : 'no REST answer',
    patroniPaused: rest ? rest.pause === true : null,
    reachable: !error,
    error,
    inRecovery: error ? null : (row.in_recovery ?? null),
    systemId: row.system_id ?? null,
    timeline: row.timeline ?? null,
    currentLsn: row.current_lsn ?? null,
    receiveLsn: row.receive_lsn ?? null,
    replayLsn: row.replay_lsn ?? null,
    replayPaused: row.replay_paused ?? null,
    replayAgeSeconds: row.replay_age_s ?? null,
    applyDelayMs: row.apply_delay_ms ?? null,
    receiverStatus: row.receiver_status ?? null,
    receiverSilenceSeconds: row.receiver_silence_s ?? null,
    senderHost: row.sender_host ?? null,
    dcsAgeSeconds: dcsAge(rest, at),
  };
}

/** The member of `nodes` named `name` (a member the programs read from these same nodes). */
export function nodeNamed(nodes: readonly HealthNode[], name: string): HealthNode {
  const node = nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no member named ${name} in the configuration`);
  return node;
}

// --- the whole link ---------------------------------------------------------------------------

/** The node of `nodes` that is a read-write leader. */
export function leaderOf<N extends NodeReading>(nodes: readonly N[]): N | undefined {
  return nodes.find((n) => n.reachable && n.inRecovery === false);
}

/** Reads every node of both clusters, then the source leader's position and the link slot. */
export async function collect(cfg: LinkView): Promise<LinkReport> {
  const [source, standby] = await Promise.all([
    Promise.all(cfg.source.nodes.map((n) => readNode(n, cfg, cfg.source.name))),
    Promise.all(cfg.standby.nodes.map((n) => readNode(n, cfg, cfg.standby.name))),
  ]);
  const sourceLeader = leaderOf(source);
  let slot: SlotReport | null = null;
  if (sourceLeader) {
    // Read last: every other node's figures are older than this position.
    try {
      const node = nodeNamed(cfg.source.nodes, sourceLeader.member);
      const [pos] = await query<SourceRow>(node, cfg, SOURCE_SQL);
      sourceLeader.currentLsn = pos.current_lsn;
      sourceLeader.timeline = pos.timeline;
      if (cfg.slotName) {
        const rows = await query<SlotRow>(node, cfg, SLOT_SQL, [cfg.slotName]);
        slot = rows[0]
          ? {
              name: cfg.slotName,
              present: true,
              active: rows[0].active,
              walStatus: rows[0].wal_status,
              retainedBytes: Number(rows[0].retained_bytes),
              safeWalSize: rows[0].safe_wal_size === null ? null : Number(rows[0].safe_wal_size),
              consumer: rows[0].consumer,
            }
          : { name: cfg.slotName, present: false };
      }
    } catch (err) {
      sourceLeader.reachable = false;
      sourceLeader.error = errorText(err);
    }
  }
  const standbyLeader =
    cfg.state === 'detached'
      ? leaderOf(standby)
      : standby.find((n) => n.role === 'Standby Leader') ||
        standby.find((n) => n.reachable && n.inRecovery && cfg.source.nodes.some((s) => s.host === n.senderHost));
  const reference = (n: NodeReading) =>
    cfg.state === 'detached' && n.cluster === cfg.standby.name ? leaderOf(standby) : sourceLeader;
  const nodes = [...source, ...standby].map((n): NodeReport => {
    const ref = reference(n);
    const at = n.inRecovery === false ? n.currentLsn : n.replayLsn;
    const lagBytes = ref && ref.currentLsn && at ? bytesBetween(ref.currentLsn, at) : null;
    const lagSeconds =
      lagBytes === null
        ? null
        : lagBytes === 0
          ? 0
          : n.replayAgeSeconds === null
            ? null
            : Math.max(0, Math.round(n.replayAgeSeconds * 10) / 10);
    return { ...n, lagBytes, lagSeconds };
  });
  const figures: LinkFigures = {
    state: cfg.state,
    source: {
      cluster: cfg.source.name,
      leader: sourceLeader ? sourceLeader.member : null,
      currentLsn: sourceLeader ? sourceLeader.currentLsn : null,
      timeline: sourceLeader ? sourceLeader.timeline : null,
    },
    standby: { cluster: cfg.standby.name, leader: standbyLeader ? standbyLeader.member : null },
    nodes,
    slot,
  };
  const problems = problemsOf(figures, cfg);
  return { ...figures, problems, healthy: problems.length === 0 };
}

/**
 * A stream that says "streaming" but carries nothing: the source has WAL the standby leader has
 * not received, and no message came for STALL_SECONDS (the sender sends WAL as soon as it is
 * flushed). A partition that drops packets looks like this until wal_receiver_timeout ends it.
 * The silence and the bytes the source is ahead when it is stalled; undefined when it is not.
 */
const STALL_SECONDS = 5;
function stall(
  leader: NodeReading,
  srcLeader: NodeReading | undefined,
): { silence: number; ahead: number } | undefined {
  if (
    !srcLeader ||
    !srcLeader.currentLsn ||
    !leader.receiveLsn ||
    leader.receiverSilenceSeconds === null ||
    leader.receiverSilenceSeconds === undefined
  )
    return undefined;
  const ahead = bytesBetween(srcLeader.currentLsn, leader.receiveLsn);
  return leader.receiverSilenceSeconds >= STALL_SECONDS && ahead !== null && ahead > 0
    ? { silence: leader.receiverSilenceSeconds, ahead }
    : undefined;
}

/**
 * Members that have not reached their cluster's DCS for longer than its ttl: the leader key has
 * expired meanwhile, so the cluster can neither fail over nor take a configuration change (its
 * PostgreSQL may go on replaying). One line per cluster.
 */
function dcsProblems(report: LinkFigures, cfg: LinkView): string[] {
  const out: string[] = [];
  for (const c of [cfg.source, cfg.standby]) {
    if (!c.ttl) continue;
    const ttl = c.ttl;
    const silent = report.nodes.filter(
      (n) => n.cluster === c.name && n.dcsAgeSeconds !== null && n.dcsAgeSeconds > ttl,
    );
    if (silent.length === 0) continue;
    const age = Math.max(...silent.map((n) => n.dcsAgeSeconds ?? 0));
    out.push(
      `${silent.map((n) => n.member).join(', ')} of ${c.name} ${silent.length === 1 ? 'has' : 'have'} not reached ${c.name}'s DCS for ${age} s (more than ttl, ${c.ttl} s): ${c.name} cannot fail over or take a configuration change until its DCS answers`,
    );
  }
  return out;
}

/** Why the link is not healthy; empty when it is. */
export function problemsOf(report: LinkFigures, cfg: LinkView): string[] {
  return [...linkProblems(report, cfg), ...dcsProblems(report, cfg)];
}

function linkProblems(report: LinkFigures, cfg: LinkView): string[] {
  const out: string[] = [];
  const nodes = report.nodes;
  for (const n of nodes) if (!n.reachable) out.push(`${n.member} (${n.host}:${n.port}) is unreachable: ${n.error}`);
  const src = nodes.filter((n) => n.cluster === cfg.source.name);
  const sby = nodes.filter((n) => n.cluster === cfg.standby.name);
  const srcLeader = src.find((n) => n.member === report.source.leader);
  if (!srcLeader) out.push(`the source cluster ${cfg.source.name} has no reachable read-write leader`);
  for (const n of src) {
    if (n === srcLeader || !n.reachable) continue;
    if (n.receiverStatus !== 'streaming')
      out.push(`${n.member} is not streaming (wal receiver: ${n.receiverStatus || 'none'})`);
  }
  if (cfg.state === 'detached') {
    const leader = sby.find((n) => n.member === report.standby.leader);
    if (!leader) out.push(`the promoted cluster ${cfg.standby.name} has no read-write leader`);
    else if (leader.role === 'Standby Leader')
      out.push(`${leader.member} is still a standby leader: the detach has not been applied`);
    for (const n of sby)
      if (n !== leader && n.reachable && n.receiverStatus !== 'streaming')
        out.push(`${n.member} is not streaming (wal receiver: ${n.receiverStatus || 'none'})`);
    if (report.slot && report.slot.present && !cfg.keepSourceSlot)
      out.push(
        `the link slot ${report.slot.name} is still on the source and retains ${report.slot.retainedBytes} bytes of WAL`,
      );
    return out;
  }
  const leader = sby.find((n) => n.member === report.standby.leader);
  const promoted = sby.find((n) => n.reachable && n.inRecovery === false);
  if (promoted)
    out.push(
      `${cfg.standby.name} has a read-write leader (${promoted.member}) although the topology makes it follow ${cfg.source.name}: a role change is in progress or was left half done (deploy again: the role step finishes or undoes it), or it was promoted`,
    );
  if (!srcLeader && src.some((n) => n.reachable && n.inRecovery))
    out.push(
      `${cfg.source.name} runs in recovery (a standby cluster) although the topology makes it the source: a role change is in progress, or link.source names the wrong cluster`,
    );
  if (!leader) {
    out.push(`the standby cluster ${cfg.standby.name} has no standby leader`);
  } else {
    const stalled = leader.receiverStatus === 'streaming' ? stall(leader, srcLeader) : undefined;
    if (leader.receiverStatus !== 'streaming')
      out.push(
        `standby leader ${leader.member} is not streaming from the source (wal receiver: ${leader.receiverStatus || 'none'})`,
      );
    else if (stalled)
      out.push(
        `standby leader ${leader.member} has received nothing from the source for ${Math.round(stalled.silence)} s while the source is ${stalled.ahead} bytes ahead: the stream is stalled (the network between the data centers?)`,
      );
    else if (!cfg.source.nodes.some((s) => s.host === leader.senderHost))
      out.push(`standby leader ${leader.member} streams from ${leader.senderHost}, not from a source node`);
    if (srcLeader && leader.systemId && srcLeader.systemId && leader.systemId !== srcLeader.systemId)
      out.push(`system identifiers differ: source ${srcLeader.systemId}, standby ${leader.systemId}`);
    if (srcLeader && leader.timeline !== null && srcLeader.timeline !== null && leader.timeline !== srcLeader.timeline)
      out.push(
        `standby leader ${leader.member} is on timeline ${leader.timeline}, the source on ${srcLeader.timeline}`,
      );
    if (leader.replayPaused) out.push(`replay is paused on standby leader ${leader.member}`);
    if (leader.patroniPaused) out.push(`the standby cluster is in maintenance mode (patronictl pause)`);
  }
  for (const n of sby) {
    if (n === leader || !n.reachable) continue;
    if (n.receiverStatus !== 'streaming')
      out.push(`${n.member} is not streaming (wal receiver: ${n.receiverStatus || 'none'})`);
    else if (leader && n.senderHost !== leader.host)
      out.push(`${n.member} streams from ${n.senderHost}, not from the standby leader ${leader.host}`);
  }
  if (report.slot) {
    if (!report.slot.present) out.push(`the link slot ${report.slot.name} does not exist on the source leader`);
    else {
      if (!report.slot.active) out.push(`the link slot ${report.slot.name} is not active: nothing streams through it`);
      if (report.slot.walStatus === 'lost')
        out.push(
          `the link slot ${report.slot.name} has wal_status lost: the source removed WAL the standby leader still needed, so it can no longer catch up by streaming; the way back is a re-seed of ${cfg.standby.name} from ${cfg.source.name}: set link.reseed: { cluster: ${cfg.standby.name}, generation: <a new number> } and deploy (docs/operations.md: Re-seeding the standby cluster)`,
        );
      else if (report.slot.walStatus === 'unreserved')
        out.push(
          `the link slot ${report.slot.name} has wal_status unreserved: the source is about to remove WAL the standby needs (max_slot_wal_keep_size); if it does, the standby must be re-seeded`,
        );
    }
  }
  return out;
}

// --- output -------------------------------------------------------------------------------

/** Rows (the first one the head) as a text table with borders. */
export function table(rows: readonly (readonly unknown[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const fmt = (r: readonly unknown[]) => `| ${r.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line, fmt(rows[0]), line, ...rows.slice(1).map(fmt), line].join('\n');
}

/** A figure as the tables print it: '-' when unknown. */
export function dash<T>(v: T | null | undefined): T | '-' {
  return v === null || v === undefined ? '-' : v;
}

/** The report as `patronictl list` would show both clusters at once. */
export function formatReport(report: LinkReport): string {
  const head = ['Cluster', 'Member', 'Host', 'Role', 'State', 'TL', 'Receive LSN', 'Replay LSN', 'Lag bytes', 'Lag s'];
  const rows = report.nodes.map((n) => [
    n.cluster,
    n.member,
    `${n.host}:${n.port}`,
    n.role,
    dash(n.state),
    dash(n.timeline),
    n.inRecovery === false ? dash(n.currentLsn) : dash(n.receiveLsn),
    n.inRecovery === false ? '' : dash(n.replayLsn),
    dash(n.lagBytes),
    dash(n.lagSeconds),
  ]);
  const out = [
    `Link ${report.state}: source ${report.source.cluster} (leader ${dash(report.source.leader)}, ${dash(report.source.currentLsn)}), standby ${report.standby.cluster} (${report.state === 'detached' ? 'leader' : 'standby leader'} ${dash(report.standby.leader)})`,
  ];
  out.push(table([head, ...rows]));
  const s = report.slot;
  if (s) {
    out.push(
      s.present
        ? `Slot ${s.name} on the source: active ${s.active}${s.consumer ? ` (${s.consumer})` : ''}, wal_status ${dash(s.walStatus)}, retained ${s.retainedBytes} bytes, safe_wal_size ${s.safeWalSize === null ? 'unlimited' : `${s.safeWalSize} bytes`}`
        : `Slot ${s.name} on the source: absent`,
    );
  }
  out.push(report.healthy ? 'healthy' : `NOT healthy:\n${report.problems.map((p) => `  - ${p}`).join('\n')}`);
  return out.join('\n');
}
