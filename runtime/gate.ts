/**
 * The promotion gate: whether the standby cluster may be promoted without losing a write of the
 * source, decided from the figures link-health.ts reads. The promotion variant runs it (as a
 * planned resource) before it detaches the standby cluster.
 *
 * As a program (`runGate`): configured by LINK_HEALTH_CONFIG (JSON, the contract's
 * LinkHealthConfig; no password). Passwords come from PGPASSWORD or a pgpass file (PGPASSFILE,
 * ~/.pgpass), read by `pg` itself; nothing here prints them.
 */
import { ConfigError, type LinkHealthConfig, parseConfig, PROGRAMS } from './contract';
import {
  dash,
  type DbAccess,
  fieldsOf,
  leaderOf,
  type NodeReading,
  nodeNamed,
  type ProgramEnv,
  query,
  readNode,
  SOURCE_SQL,
  type SourceRow,
  table,
  type TextOut,
} from './link-health';
import { bytesBetween, lsnAtLeast } from './lsn';
import { getJson } from './rest-client';

// --- types ------------------------------------------------------------------------------------

/** What the gate reads: the whole LINK_HEALTH_CONFIG (and a connect timeout, when a caller gives one). */
export type GateConfig = LinkHealthConfig & DbAccess;

/** One check of the gate: the figures it compared and whether it passed. */
export interface GateCheck {
  check: string;
  standby: string;
  source: string;
  ok: boolean;
}

/** The gate's decision: every check it ran, and what it says besides. */
export interface GateOutcome {
  ok: boolean;
  checks: GateCheck[];
  notes: string[];
}

// --- what could still commit on the source ----------------------------------------------------

// Transactions on the source that have written (they hold a transaction id) and not ended, and
// prepared transactions: each could commit after the detach, and its acknowledged commit would be
// missing on the promoted cluster. Autovacuum's own transactions (statistics) are left out.
export const IN_FLIGHT_SQL = `
select pid::text as pid, usename as user_name, application_name,
  coalesce(host(client_addr), 'local socket') as client, backend_xid::text as xid,
  round(extract(epoch from now() - xact_start)::numeric, 1)::float8 as age_s, state
from pg_stat_activity
where backend_xid is not null and pid <> pg_backend_pid() and backend_type <> 'autovacuum worker'
union all
select null, owner, 'prepared transaction ' || gid, null, transaction::text,
  round(extract(epoch from now() - prepared)::numeric, 1)::float8, 'prepared'
from pg_prepared_xacts
order by age_s desc`;

/** A row of IN_FLIGHT_SQL: a transaction that could still commit on the source. */
export type InFlightRow = {
  pid: string | null;
  user_name: string;
  application_name: string;
  client: string | null;
  xid: string;
  age_s: number;
  state: string;
};

// --- the gate ---------------------------------------------------------------------------------

/**
 * Nothing received waits for replay. After a restart without a stream, PostgreSQL reports the
 * receive position as the start of the segment it would stream from, behind what it replayed from
 * its own pg_wal: replay at or past receive is "everything replayed".
 */
export function allReplayed(node: Pick<NodeReading, 'replayLsn' | 'receiveLsn'>): boolean {
  return node.replayLsn !== null && node.receiveLsn !== null
    ? lsnAtLeast(node.replayLsn, node.receiveLsn)
    : node.replayLsn !== null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The standby cluster's dynamic configuration (GET /config), from the first node that answers. */
async function standbyConfig(cfg: GateConfig): Promise<unknown> {
  for (const node of cfg.standby.nodes) {
    const config = await getJson(`${node.rest}/config`);
    if (config !== undefined) return config;
  }
  return undefined;
}

/**
 * Decides whether the standby cluster may be promoted. Returns { ok, checks: [{check, standby,
 * source, ok}], notes: [] }; every figure it compared is in `checks`.
 */
export async function gate(cfg: GateConfig, log: (message: string) => void = () => undefined): Promise<GateOutcome> {
  const checks: GateCheck[] = [];
  const notes: string[] = [];
  const add = (check: string, standby: unknown, source: unknown, ok: boolean) =>
    checks.push({ check, standby: String(standby), source: String(source), ok });
  const result = (ok: boolean): GateOutcome => ({ ok, checks, notes });

  // Only a gated step ever sends `standby_cluster: null`: a configuration without it means the
  // detach was applied (the promotion may still be completing), and there is nothing to guard.
  const config = await standbyConfig(cfg);
  // (an answer that is no object, null included, is no configuration to judge: the checks run)
  const fields = fieldsOf(config);
  if (fields !== undefined && !fields.standby_cluster) {
    notes.push(
      `the dynamic configuration of ${cfg.standby.name} has no standby_cluster: the detach was applied already, nothing to check`,
    );
    return result(true);
  }
  const standby = await Promise.all(cfg.standby.nodes.map((n) => readNode(n, cfg, cfg.standby.name)));
  const promoted = standby.find((n) => n.reachable && n.inRecovery === false);
  if (promoted) {
    notes.push(`${promoted.member} already runs read-write: the standby cluster is promoted, nothing to check`);
    return result(true);
  }
  const found = standby.find((n) => n.role === 'Standby Leader' && n.reachable);
  add('standby leader found', found ? found.member : 'none', '', Boolean(found));
  if (!found) return result(false);
  let leader: NodeReading = found;
  // In maintenance mode Patroni would not act on the detach (and leaves a paused replay paused).
  add('Patroni not in maintenance mode (pause)', leader.patroniPaused, '', leader.patroniPaused === false);
  const leaderNode = nodeNamed(cfg.standby.nodes, leader.member);

  const sourceNodes = await Promise.all(cfg.source.nodes.map((n) => readNode(n, cfg, cfg.source.name)));
  const srcLeader = leaderOf(sourceNodes);
  if (!srcLeader) {
    const unreachable = sourceNodes.map((n) => `${n.member}: ${n.error || `${n.role}, in recovery`}`).join('; ');
    if (!cfg.disaster) {
      add('source cluster reachable', '', `no read-write leader (${unreachable})`, false);
      notes.push(
        'without the source nothing proves that the standby has every write; if its data center is lost, set link.promotion.disaster: true in the topology and deploy again',
      );
      return result(false);
    }
    add('source cluster reachable', '', `no (${unreachable}); disaster promotion declared`, true);
    add('replay not paused', leader.replayPaused, '', leader.replayPaused === false);
    const deadline = Date.now() + cfg.catchUpTimeoutSeconds * 1000;
    while (!allReplayed(leader) && !leader.replayPaused && Date.now() < deadline) {
      await sleep(250);
      leader = await readNode(leaderNode, cfg, cfg.standby.name);
    }
    add(
      'everything received is replayed (replay >= receive)',
      `${leader.replayLsn} >= ${leader.receiveLsn}`,
      '',
      allReplayed(leader),
    );
    notes.push(
      `last known gap: the standby leader received up to ${dash(leader.receiveLsn)} and replayed its last transaction ${leader.replayAgeSeconds === null ? 'at an unknown time' : `${Math.round(leader.replayAgeSeconds)} s ago`}; writes the source made after that are lost`,
    );
    return result(checks.every((c) => c.ok));
  }
  const srcNode = nodeNamed(cfg.source.nodes, srcLeader.member);
  const sameSystem = leader.systemId === srcLeader.systemId;
  const sameTimeline = leader.timeline === srcLeader.timeline;
  add('same database system identifier', leader.systemId, srcLeader.systemId, sameSystem);
  add('standby leader on the source timeline', leader.timeline, srcLeader.timeline, sameTimeline);
  if (!sameSystem || !sameTimeline) return result(false); // another database or timeline: nothing more to compare

  // Catch up: replay reaches the source's current position, with nothing received left unreplayed.
  const readSource = async (): Promise<SourceRow> => (await query<SourceRow>(srcNode, cfg, SOURCE_SQL))[0];
  const catchUp = async (seconds: number): Promise<SourceRow> => {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      leader = await readNode(leaderNode, cfg, cfg.standby.name);
      const source = await readSource();
      const caughtUp = allReplayed(leader) && lsnAtLeast(leader.replayLsn, source.current_lsn);
      if (caughtUp || !leader.reachable || leader.replayPaused || Date.now() >= deadline) return source;
      await sleep(250);
    }
  };
  const first = await readSource();
  let source = await catchUp(cfg.catchUpTimeoutSeconds);
  add('replay not paused (pg_is_wal_replay_paused)', leader.replayPaused, '', leader.replayPaused === false);
  const delay = leader.applyDelayMs ? `, recovery_min_apply_delay ${leader.applyDelayMs} ms` : '';
  add(
    `received <= replayed (no WAL waiting${delay})`,
    `${leader.receiveLsn} / ${leader.replayLsn}`,
    '',
    allReplayed(leader),
  );
  add(
    'replayed up to the source position',
    leader.replayLsn,
    `${source.current_lsn} (gap ${bytesBetween(source.current_lsn, leader.replayLsn)} bytes)`,
    lsnAtLeast(leader.replayLsn, source.current_lsn),
  );
  if (!checks.every((c) => c.ok)) {
    if (!allReplayed(leader) && (leader.applyDelayMs ?? 0) > 0)
      notes.push(
        `${leader.member} replays ${(leader.applyDelayMs ?? 0) / 1000} s behind on purpose (recovery_min_apply_delay, link.recoveryMinApplyDelay): the gate waits for its replay; stop the writes on the source and give promotion.catchUpTimeoutSeconds more than the delay, or remove the delay and deploy first. A promotion replays what it held back at once, the change the delay was kept for included`,
      );
    const moved = bytesBetween(source.current_lsn, first.current_lsn);
    if (moved !== null && moved > 0)
      notes.push(
        `the source's WAL position moved ${moved} bytes while the gate waited: stop the writes on the source first`,
      );
    return result(false);
  }

  // Settle: no transaction may write on the source for settleSeconds (its next transaction id
  // stays the same: background WAL such as checkpoints assigns none), and the standby leader
  // must then have replayed up to the source's final position.
  log(`caught up at ${source.current_lsn}; checking for ${cfg.settleSeconds} s that writes have stopped on the source`);
  const before = source;
  await sleep(cfg.settleSeconds * 1000);
  source = await catchUp(Math.min(cfg.catchUpTimeoutSeconds, 10));
  add(
    `no write on the source for ${cfg.settleSeconds} s (next transaction id)`,
    '',
    `${before.next_xid} -> ${source.next_xid}`,
    source.next_xid === before.next_xid,
  );
  const open = await query<InFlightRow>(srcNode, cfg, IN_FLIGHT_SQL);
  add(
    'no open write or prepared transaction on the source',
    '',
    open.length === 0 ? 'none' : `${open.length} open`,
    open.length === 0,
  );
  for (const t of open) notes.push(inFlightNote(t));
  add(
    'replayed up to the source position at the end',
    leader.replayLsn,
    source.current_lsn,
    allReplayed(leader) && lsnAtLeast(leader.replayLsn, source.current_lsn),
  );
  return result(checks.every((c) => c.ok));
}

/** What the gate says about one transaction that could still commit on the source. */
function inFlightNote(t: InFlightRow): string {
  if (t.state === 'prepared') {
    return `${t.application_name} (xid ${t.xid}) by ${t.user_name}: prepared ${t.age_s} s ago; it could commit after the detach: COMMIT PREPARED or ROLLBACK PREPARED it on the source first`;
  }
  const app = t.application_name ? ` (${t.application_name})` : '';
  return `transaction ${t.xid} of pid ${t.pid} by ${t.user_name} from ${t.client}${app}: open for ${t.age_s} s, ${t.state}; it could commit after the detach: end it on the source first`;
}

/** The gate's table of checks, then its notes. */
export function formatGate(outcome: GateOutcome): string {
  const rows = [
    ['check', 'standby leader', 'source leader', 'result'],
    ...outcome.checks.map((c) => [c.check, c.standby, c.source, c.ok ? 'ok' : 'FAILED']),
  ];
  return [table(rows), ...outcome.notes.map((n) => `note: ${n}`)].join('\n');
}

/** The program's name in what it prints about its configuration. */
const PROGRAM = PROGRAMS.health.file.replace(/\.cjs$/, '');

/**
 * The gate as a program: configured by LINK_HEALTH_CONFIG in `env`, it prints its table to `out`
 * when it passes and to `err` when it refuses. Resolves to the exit code: 0 passed, 1 refused,
 * 2 a configuration that does not match the contract (printed to `err`, nothing read).
 */
export async function runGate(
  env: ProgramEnv = process.env,
  out: TextOut = process.stdout,
  err: TextOut = process.stderr,
): Promise<number> {
  const label = '[promotion gate]';
  let cfg: LinkHealthConfig;
  try {
    cfg = parseConfig('health', env[PROGRAMS.health.configEnv]);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err.write(`${PROGRAM}: ${e.message}\n`);
    return 2;
  }
  out.write(`${label} checking that promoting ${cfg.standby.name} loses no write of ${cfg.source.name}\n`);
  const outcome = await gate(cfg, (m) => out.write(`${label} ${m}\n`));
  const text = formatGate(outcome);
  if (outcome.ok) {
    out.write(`${text}\n${label} passed: the detach may proceed\n`);
    return 0;
  }
  const failed = outcome.checks
    .filter((c) => !c.ok)
    .map((c) => c.check)
    .join('; ');
  err.write(`${text}\n${label} REFUSED (${failed}): the standby cluster was left as it is\n`);
  return 1;
}
