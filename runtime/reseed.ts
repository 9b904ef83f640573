/**
 * The pipeline's part of a re-seed of the standby cluster (`link.reseed`, constructs/reseed.ts):
 *
 *   gate  before anything is touched: refuses unless the cluster is a standby cluster (no
 *         read-write member, a standby_cluster block in its DCS) whose standby leader does not
 *         stream, or streams through a slot the source has invalidated, and the source has a
 *         reachable leader to clone from; prints what the standby had and where each member's
 *         data directory goes; renews an invalidated link slot on the source (through the
 *         source's DCS: removed, then declared again, so that it holds WAL from now on and the
 *         new standby leader streams through it after its base backup);
 *   wait  after the members were started with empty data directories: until the new standby
 *         leader streams from a source member, on the source's system, and every other member
 *         from it (timeoutSeconds).
 * From the backup (`from: backup`) the steps are the same; the members restore from their own data
 * center's repository instead of copying the source across the link (Patroni's replica methods).
 * From the archive (`from: archive`) no member is cloned: the gate only renews the invalidated
 * slot (refusing when there is none to renew), and the wait follows it at once: the standby leader,
 * which caught up from the archive, streams through the renewed slot.
 *
 * RESEED_CONFIG (JSON, no password): the contract's ReseedConfig, built by
 * constructs/planners/reseed.ts. Database access as status's: PGPASSWORD or a pgpass file for
 * health.user; REST credentials as the role change's.
 */
import { ConfigError, parseConfig, PROGRAMS, ReseedConfig, RoleChangeCluster } from './contract';
import { collect, fieldsOf, LinkReport, nodeNamed, NodeReport, ProgramEnv, query, TextOut } from './link-health';
import { realIo } from './cluster-io';

/** The phases of the re-seed that run in the pipeline. */
export type ReseedPhase = 'gate' | 'wait';

/** One cluster as the gate looks at it through its REST API: whether it answers, and its dynamic configuration. */
export interface ReseedLook {
  readonly reachable: boolean;
  readonly config?: unknown;
}

/** The REST side of the gate: the role change's (realIo), or a test's fake with the same methods. */
export interface ReseedIo {
  look(cluster: RoleChangeCluster): Promise<ReseedLook>;
  patch(cluster: RoleChangeCluster, body: Record<string, unknown>, leader: string): Promise<unknown>;
}

/** A refusal: the message says why, and what was (not) touched; printed without "FAILED". */
export type Refusal = Error & { readonly refused: true };

type Log = (msg: string) => void;

function logTo(out: TextOut): Log {
  return (msg) => out.write(`[re-seed] ${new Date().toISOString()} ${msg}\n`);
}

function fail(msg: string): never {
  const refusal: Refusal = Object.assign(new Error(msg), { refused: true as const });
  throw refusal;
}

function isRefusal(err: unknown): err is Refusal {
  return err instanceof Error && (err as Partial<Refusal>).refused === true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const standbyNodes = (cfg: ReseedConfig, report: LinkReport): NodeReport[] =>
  report.nodes.filter((n) => n.cluster === cfg.health.standby.name);

/** The source leader's reading (its system id is the one the standby must have); none without a leader. */
const sourceLeaderOf = (cfg: ReseedConfig, report: LinkReport): NodeReport | undefined =>
  report.nodes.find((n) => n.cluster === cfg.source.name && n.member === report.source.leader);

type SlotStatusRow = { wal_status: string | null };

async function slotRow(cfg: ReseedConfig, slotName: string, leader: string): Promise<SlotStatusRow | undefined> {
  const rows = await query<SlotStatusRow>(
    nodeNamed(cfg.health.source.nodes, leader),
    cfg.health,
    'select wal_status from pg_replication_slots where slot_name = $1',
    [slotName],
  );
  return rows[0];
}

async function until<T>(what: string, seconds: number, check: () => Promise<T>): Promise<NonNullable<T>> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() >= deadline) fail(`${what} did not happen within ${seconds} s`);
    await sleep(500);
  }
}

/**
 * An invalidated slot cannot be used again: it is removed from the source's DCS configuration
 * (Patroni drops it on every member), then declared again as it was (Patroni creates it, holding
 * WAL from the current position).
 */
async function renewSlot(cfg: ReseedConfig, slotName: string, leader: string, io: ReseedIo, log: Log): Promise<void> {
  const look = await io.look(cfg.source);
  const slots = look.reachable ? fieldsOf(fieldsOf(look.config)?.slots) : undefined;
  const value = slots ? slots[slotName] : undefined;
  if (!value)
    fail(
      `REFUSED: the link slot ${slotName} is lost on ${cfg.source.name} and is not in its DCS configuration (slots) to be created again: deploy ${cfg.source.name}'s stack first. Nothing was touched`,
    );
  log(
    `the link slot ${slotName} on ${cfg.source.name} is invalidated (wal_status lost): renewing it through ${cfg.source.name}'s DCS configuration`,
  );
  await io.patch(cfg.source, { slots: { [slotName]: null } }, leader);
  await until(
    `the removal of ${slotName} on ${leader}`,
    60,
    async () => (await slotRow(cfg, slotName, leader)) === undefined,
  );
  await io.patch(cfg.source, { slots: { [slotName]: value } }, leader);
  const row = await until(`the new ${slotName} on ${leader}`, 60, async () => {
    const r = await slotRow(cfg, slotName, leader);
    return r && r.wal_status !== 'lost' ? r : undefined;
  });
  log(
    `the link slot ${slotName} is back on ${leader} (wal_status ${row.wal_status}): it holds the WAL the new standby leader streams after its base backup`,
  );
}

/** The gate phase: refuses (a Refusal) with nothing touched, or prints the plan and renews a lost slot. */
export async function gate(cfg: ReseedConfig, io: ReseedIo = realIo, out: TextOut = process.stdout): Promise<void> {
  const log = logTo(out);
  const name = cfg.standby.name;
  const src = cfg.source.name;
  const report = await collect(cfg.health);
  const nodes = standbyNodes(cfg, report);
  const writable = nodes.find((n) => n.reachable && n.inRecovery === false);
  if (writable)
    fail(
      `REFUSED: ${writable.member} of ${name} is read-write: ${name} is a primary, not a standby cluster, and a re-seed would throw its writes away. Nothing was touched`,
    );
  const look = await io.look(cfg.standby);
  if (!look.reachable)
    fail(
      `REFUSED: no member of ${name} answers on its REST API, so nothing shows that it is a standby cluster: start its members and deploy again. Nothing was touched`,
    );
  if (!fieldsOf(look.config)?.standby_cluster)
    fail(
      `REFUSED: ${name}'s DCS configuration has no standby_cluster block: it is not a standby cluster. Nothing was touched`,
    );
  const source = sourceLeaderOf(cfg, report);
  if (!source) fail(`REFUSED: the source ${src} has no reachable read-write leader to clone from. Nothing was touched`);
  const sourceLeader = source.member;
  const leader = nodes.find((n) => n.member === report.standby.leader);
  const slot = report.slot;
  const slotLost = slot?.present === true && slot.walStatus === 'lost';
  if (leader && leader.receiverStatus === 'streaming' && !slotLost && leader.systemId === source.systemId) {
    fail(
      `REFUSED: nothing to re-seed: ${name}'s standby leader ${leader.member} streams from ${leader.senderHost} (lag ${leader.lagBytes === null ? 'unknown' : `${leader.lagBytes} bytes`}), and a re-seed would throw a working copy away. Remove link.reseed (or set it back to the generation it had). Nothing was touched`,
    );
  }
  if (cfg.from === 'archive') {
    // nothing is cloned: the slot is what is missing, and the archive what the standby caught up from
    if (!(cfg.slotName && slotLost))
      fail(
        `REFUSED: a re-seed from the archive renews an invalidated link slot, and ${cfg.slotName ? `the link slot ${cfg.slotName} on ${src} is ${slot?.present ? `not invalidated (wal_status ${slot.walStatus || '-'})` : 'missing'}` : 'the link has no slot'}: nothing to renew. If the standby leader cannot stream for another reason, its Patroni log says why; to clone the members anew: link.reseed.from: source. Nothing was touched`,
      );
    log(
      `re-seeding ${name} (generation ${cfg.generation}) from the archive: no member is cloned; ${leader ? `standby leader ${leader.member} replayed up to ${leader.replayLsn || '-'}, ${src} is at ${report.source.currentLsn}` : 'no standby leader'}`,
    );
    await renewSlot(cfg, cfg.slotName, sourceLeader, io, log);
    log(
      `gate passed: ${name}'s standby leader streams through the renewed slot once it has replayed what the archive holds`,
    );
    return;
  }
  const why = [
    leader
      ? `standby leader ${leader.member}: wal receiver ${leader.receiverStatus || 'none'}, received up to ${leader.receiveLsn || '-'}, replayed up to ${leader.replayLsn || '-'}`
      : `no standby leader`,
    report.slot
      ? report.slot.present
        ? `link slot ${report.slot.name}: wal_status ${report.slot.walStatus || '-'}`
        : `link slot ${report.slot.name}: missing`
      : undefined,
  ].filter((w): w is string => Boolean(w));
  const from =
    cfg.from === 'backup'
      ? `from the backup in its own data center's repository (pgBackRest restore, then the archive and the stream from ${src}; a base backup from ${src} where the repository has none)`
      : `from ${src}`;
  log(
    `re-seeding ${name} (generation ${cfg.generation}) ${from} (leader ${sourceLeader}, at ${report.source.currentLsn}): ${why.join('; ')}`,
  );
  for (const [member, dir] of Object.entries(cfg.setAside))
    log(`${member}: its data directory will be set aside as ${dir} (not deleted)`);
  if (cfg.slotName && slotLost) await renewSlot(cfg, cfg.slotName, sourceLeader, io, log);
  log('gate passed: the members are stopped and cloned anew next');
}

/** The wait phase: until the cluster streams again (a Refusal after timeoutSeconds). */
export async function wait(cfg: ReseedConfig, out: TextOut = process.stdout): Promise<void> {
  const log = logTo(out);
  const t0 = Date.now();
  const name = cfg.standby.name;
  // typed to hold null, so that a standby leader without a sender (null) is simply not among them
  const sourceHosts: readonly (string | null)[] = cfg.health.source.nodes.map((n) => n.host);
  let last = '';
  let lastLog = 0;
  for (;;) {
    const report = await collect(cfg.health).catch((err: unknown) => ({
      error: err instanceof Error ? err.message : String(err),
    }));
    if (!('error' in report)) {
      const nodes = standbyNodes(cfg, report);
      const srcLeader = sourceLeaderOf(cfg, report);
      const leader = nodes.find((n) => n.member === report.standby.leader);
      const missing: string[] = [];
      if (!leader) missing.push('no standby leader yet');
      else {
        if (leader.receiverStatus !== 'streaming' || !sourceHosts.includes(leader.senderHost))
          missing.push(
            `${leader.member} not streaming from the source yet (${leader.receiverStatus || 'no wal receiver'})`,
          );
        if (srcLeader && leader.systemId !== srcLeader.systemId)
          missing.push(`${leader.member} has system ${leader.systemId}, the source ${srcLeader.systemId}`);
      }
      for (const n of nodes) {
        if (leader && n === leader) continue;
        // an unreachable member has no wal receiver (null): it is not streaming
        if (n.receiverStatus !== 'streaming' || (leader && n.senderHost !== leader.host))
          missing.push(`${n.member} not streaming from the standby leader yet (${n.state || 'down'})`);
      }
      if (missing.length === 0 && leader && cfg.from === 'archive') {
        log(
          `back in ${Math.round((Date.now() - t0) / 1000)} s without a clone: ${leader.member} caught up from the archive and streams from ${leader.senderHost}, ${
            nodes
              .filter((n) => n !== leader)
              .map((n) => n.member)
              .join(', ') || 'no other member'
          } from it`,
        );
        return;
      }
      if (missing.length === 0 && leader) {
        log(
          `re-seeded in ${Math.round((Date.now() - t0) / 1000)} s: ${leader.member} streams from ${leader.senderHost}, ${
            nodes
              .filter((n) => n !== leader)
              .map((n) => n.member)
              .join(', ') || 'no other member'
          } from it`,
        );
        log(
          `the old data directories stay where they were set aside (${Object.values(cfg.setAside).join(', ')}): remove them once you no longer need them`,
        );
        return;
      }
      last = missing.join('; ');
    } else last = report.error;
    if (Date.now() - lastLog > 30000) {
      lastLog = Date.now();
      log(`waiting for ${name}: ${last}`);
    }
    if (Date.now() - t0 > cfg.timeoutSeconds * 1000)
      fail(
        `${name} is not streaming again after ${cfg.timeoutSeconds} s (${last}): look at its members' Patroni logs; deploy again to wait again`,
      );
    await sleep(1000);
  }
}

/** The program's name in what it prints about its configuration. */
const PROGRAM = PROGRAMS.reseed.file.replace(/\.cjs$/, '');

/**
 * A phase as a program: configured by RESEED_CONFIG in `env`, it prints its progress to `out` and
 * a refusal or a failure to `err`. Resolves to the exit code: 0 done, 1 refused or failed, 2 a
 * configuration that does not match the contract (nothing read, nothing touched). `io` is the
 * gate's REST side (the real clusters unless a test hands a fake).
 */
export async function runReseed(
  phase: ReseedPhase,
  env: ProgramEnv = process.env,
  out: TextOut = process.stdout,
  err: TextOut = process.stderr,
  io: ReseedIo = realIo,
): Promise<number> {
  let cfg: ReseedConfig;
  try {
    cfg = parseConfig('reseed', env[PROGRAMS.reseed.configEnv]);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err.write(`${PROGRAM}: ${e.message}\n`);
    return 2;
  }
  try {
    if (phase === 'gate') await gate(cfg, io, out);
    else if (phase === 'wait') await wait(cfg, out);
    else throw new Error(`usage: reseed.cjs gate|wait (got ${String(phase)})`);
    return 0;
  } catch (e) {
    err.write(`[re-seed] ${isRefusal(e) ? '' : 'FAILED: '}${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
