/**
 * Cross-cluster health of a Patroni standby link, read with the `pg` client and Patroni's REST
 * API: the figures behind `npm run status` and its report (the promotion gate, gate.ts, and the
 * role change read their members with it too).
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
import { HealthNode, PATRONI_ROLES } from './contract';
import type { DbAccess, LinkFigures, LinkReport, LinkView, NodeReading, NodeReport, SlotReport } from './link-report';
import { problemsOf, replayTimeline } from './link-problems';
import { bytesBetween, lsnText } from './lsn';
import { getJsonAt } from './rest-client';

// the report's shape and printing, and the problems, for the programs and status that read a link
export * from './link-report';
export { problemsOf } from './link-problems';

// --- reading one node -----------------------------------------------------------------------

const NODE_SQL = `
select pg_is_in_recovery() as in_recovery,
  (select system_identifier::text from pg_control_system()) as system_id,
  case when pg_is_in_recovery() then null else pg_current_wal_flush_lsn()::text end as current_lsn,
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

/**
 * The source leader's position, next transaction id, timeline and system identifier (read by
 * status and the gate). Its position is what it has flushed: its walsenders send up to there and
 * no further, so a standby can reach it. The write position can stay ahead while the source is
 * quiet (seen on PostgreSQL 18: 344 bytes for over 20 s, sent to no replica), which would read as
 * a lag that never goes and a stalled stream.
 */
export const SOURCE_SQL = `
select pg_current_wal_flush_lsn()::text as current_lsn,
  pg_snapshot_xmax(pg_current_snapshot())::text as next_xid,
  ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as timeline,
  (select system_identifier::text from pg_control_system()) as system_id`;

/** A row of SOURCE_SQL: the source leader's position. */
export type SourceRow = { current_lsn: string; next_xid: string; timeline: number; system_id: string };

const SLOT_SQL = `
select s.active, s.wal_status, s.safe_wal_size::text as safe_wal_size,
  pg_wal_lsn_diff(pg_current_wal_flush_lsn(), s.restart_lsn)::text as retained_bytes,
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
  const cause = causeOf?.code || causeOf?.message;
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
    ...(rest && typeof rest.timeline === 'number' ? { patroniTimeline: rest.timeline } : {}),
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

/**
 * Where each timeline ended on a cluster, from its member's GET /history (rows [timeline, end
 * LSN as a number, ...]); empty when the REST API does not answer with such rows.
 */
async function timelineEnds(node: HealthNode): Promise<Map<number, string>> {
  const { body } = await getJsonAt(`${node.rest}/history`);
  const ends = new Map<number, string>();
  for (const row of Array.isArray(body) ? body : [])
    if (Array.isArray(row) && typeof row[0] === 'number' && /^\d+$/.test(String(row[1])))
      ends.set(row[0], lsnText(BigInt(String(row[1]))));
  return ends;
}

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
  // a standby member replaying an older timeline than the source's may have replayed past where
  // that timeline ended there (the source failed over without WAL it had): read where
  const sourceTimeline = sourceLeader?.reachable ? sourceLeader.timeline : null;
  const offTimeline = (n: NodeReading) => {
    const tl = replayTimeline(n);
    return n.inRecovery === true && tl !== null && tl < sourceTimeline!;
  };
  const ends =
    cfg.state === 'following' && sourceLeader && sourceTimeline !== null && standby.some(offTimeline)
      ? await timelineEnds(nodeNamed(cfg.source.nodes, sourceLeader.member))
      : undefined;
  // without Patroni's word, the member in recovery that streams from a source node (an unreachable
  // member's sender is unknown, null)
  const standbyLeader =
    cfg.state === 'detached'
      ? leaderOf(standby)
      : standby.find((n) => n.role === 'Standby Leader') ||
        standby.find((n) => n.inRecovery && cfg.source.nodes.some((s) => s.host === n.senderHost));
  const reference = (n: NodeReading) =>
    cfg.state === 'detached' && n.cluster === cfg.standby.name ? leaderOf(standby) : sourceLeader;
  const nodes = [...source, ...standby].map((n): NodeReport => {
    const ref = reference(n);
    // a member that replays behind on purpose (recovery_min_apply_delay) lags by what it has not
    // received yet, and by the time its replay is behind beyond the delay (a primary's lag is
    // its current position's, whatever the setting)
    const delaySeconds = (n.applyDelayMs ?? 0) / 1000;
    const at = n.inRecovery === false ? n.currentLsn : delaySeconds > 0 ? n.receiveLsn : n.replayLsn;
    const lagBytes = ref && ref.currentLsn && at ? bytesBetween(ref.currentLsn, at) : null;
    const lagSeconds =
      lagBytes === null
        ? null
        : lagBytes === 0
          ? 0
          : n.replayAgeSeconds === null
            ? null
            : Math.max(0, Math.round((n.replayAgeSeconds - delaySeconds) * 10) / 10);
    const end = ends && n.cluster === cfg.standby.name && offTimeline(n) ? ends.get(replayTimeline(n)!) : undefined;
    return { ...n, lagBytes, lagSeconds, ...(end === undefined ? {} : { timelineEndLsn: end }) };
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
