/**
 * The role change of a cluster: makes the cluster the topology names as the source the source,
 * against both clusters' REST APIs, in one run (the steps alternate between the clusters, so
 * they cannot be spread over two stacks). Run by the new source's role resource; a failure
 * taints it, and the next apply runs everything again from a fresh look at both clusters.
 *
 *   planned switchover (this cluster is a standby cluster of the other, a primary):
 *     1. gate: the link is healthy (standby leader streaming, same system and timeline, replay
 *        not paused, no maintenance mode) and the standby leader lags by at most maxLagBytes;
 *     2. the reverse link: the link slot on this cluster (pg_hba admits both sides already);
 *     2b. synchronous handoff: this cluster's standby leader becomes the other's synchronous
 *        standby (synchronous_standby_names through its DCS, for the handoff alone) and the step
 *        waits until the other reports it sync; from then on no commit there is acknowledged
 *        before it is here. Where it does not apply (the other's Patroni before 4.1, whose
 *        demotion is an immediate stop; link.roleChange.synchronousHandoff false; Patroni's
 *        synchronous_mode or a synchronous_standby_names of the user's own there; a
 *        synchronous_commit that does not wait; not sync in time), the soft fence instead: the
 *        other cluster's new transactions are read-only (default_transaction_read_only through
 *        its DCS), and this cluster's standby leader replays everything the other has written
 *        (catchUpTimeoutSeconds; if not, the soft fence is undone and the step refuses, nothing
 *        changed);
 *     3. fence: the other cluster becomes a standby cluster of this one (PATCH standby_cluster):
 *        Patroni stops its PostgreSQL (3.0 and 4.0 at once; 4.1 with a fast shutdown whose last
 *        WAL this standby leader flushes first) and restarts it in recovery;
 *     4. after the handoff: once this cluster's standby leader no longer streams from the old
 *        leader (it stopped), every commit it acknowledged is here (not within recoverySeconds:
 *        the fence and the handoff are undone, nothing promoted, the step fails). After the soft
 *        fence: once the old leader is back in recovery (not within 30 s: the fence and the soft
 *        fence are undone, nothing promoted, the step fails), its last position (replayed there
 *        after the restart) must be replayed here within catchUpTimeoutSeconds; if not, the
 *        fence is undone (the other cluster is a primary again, nothing lost) and the step fails;
 *     5. promote this cluster (standby_cluster: null);
 *     6. the other cluster streams from this one (Patroni rewinds only where needed), its old
 *        link slot is dropped and the handoff leaves its configuration.
 *   rejoin (both are primaries: this one was promoted while the other was cut off; also run by
 *     the standby's step, with the roles swapped, when its detached link follows again and it
 *     is a primary: a promotion undone): how many
 *     bytes the other wrote past the divergence point is printed; without acceptDataLoss the
 *     step refuses; with it, steps 2, 3 and 6 (pg_rewind throws those bytes away).
 *   already the source, the other following or absent: nothing to do.
 *   a previous run stopped between 3 and 5 (both are standby clusters): step 4 decides again,
 *     by the old leader's last position.
 *
 * Configured by ROLE_CHANGE_CONFIG (RoleChangeConfig of the contract, no password): runRoleChange parses it and
 * refuses one that does not match. Database access as the gate's: PGPASSWORD or a pgpass file for
 * `user`; each cluster's REST API password from the variable its `restPasswordEnv` names. What
 * the step reads and changes on the clusters, and where it prints, is cluster-io.ts's (`realIo`).
 */
import {
  ConfigError,
  MARKER,
  PATRONI_ROLES,
  PROGRAMS,
  parseConfig,
  type RoleChangeCluster,
  type RoleChangeConfig,
} from './contract';
import {
  type ClusterLook,
  type DynamicConfig,
  type Env,
  fail,
  field,
  type MemberReading,
  type Output,
  type Position,
  READ_ONLY,
  realIo,
  SYNC_NAMES,
  type RoleIo,
  type RunOutput,
  type SourceState,
  useRunOutput,
  write,
} from './cluster-io';
import { lsnAtLeast } from './lsn';
import { rejoin, type Steps } from './rejoin';
import { holding, type LeaseSteps, recordSource, refuseIfHeld } from './holding';
import { newestRecord, staleBecause } from './lease';

export { divergencePoint, type HistoryRow } from './rejoin';

// --- types --------------------------------------------------------------------------------------

/** The step's waits that tests shorten. */
export type Timing = { readonly recoverySeconds: number };

// --- helpers ------------------------------------------------------------------------------------

/** The patch that lifts the soft fence (with its note in the marker). */
const LIFT_SOFT_FENCE: DynamicConfig = {
  postgresql: { parameters: { [READ_ONLY]: null } },
  [MARKER]: { softFence: null },
};
/** What lifts a soft fence if there is one (else nothing: a PATCH would write empty keys). */
const lift = (softFenced: boolean): DynamicConfig => (softFenced ? LIFT_SOFT_FENCE : {});
const softFencedConfig = (config: DynamicConfig | undefined): boolean =>
  Boolean(field(field(config, MARKER), 'softFence'));

/** The patch that takes the synchronous handoff away (with its note in the marker). */
const LIFT_HANDOFF: DynamicConfig = {
  postgresql: { parameters: { [SYNC_NAMES]: null } },
  [MARKER]: { handoff: null },
};
/** The member a synchronous handoff of this configuration names (set by a run of this step), if any. */
const handoffOf = (config: DynamicConfig | undefined): string | undefined => {
  const member = field(field(config, MARKER), 'handoff');
  return typeof member === 'string' ? member : undefined;
};
/** The synchronous_commit levels at which a commit waits for the synchronous standby's write or flush. */
const WAITING_COMMITS = ['on', 'remote_write', 'remote_apply'];
/** A member name as synchronous_standby_names takes it (a quoted identifier). */
const quoted = (name: string): string => `"${name.replace(/"/g, '""')}"`;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function log(msg: string): void {
  write(`[role change] ${new Date().toISOString()} ${msg}\n`);
}

let io: RoleIo = realIo;

/** How long the fenced leader has to come back in recovery before the fence is undone. */
export const TIMING: Timing = { recoverySeconds: 30 };
let timing: Timing = TIMING;

// --- the steps ----------------------------------------------------------------------------------

async function waitFor<T>(_what: string, seconds: number, check: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() >= deadline) return undefined;
    await sleep(100);
  }
}

/**
 * Step 2b. Makes the source's new transactions read-only and waits until this cluster's standby
 * leader has replayed everything the source wrote. Skipped (false) when the source's own
 * configuration sets the parameter: the stacks never touch a value they did not set.
 */
async function softFence(
  cfg: RoleChangeConfig,
  meLeader: string,
  other: DynamicConfig,
  otherLeader: string,
): Promise<boolean> {
  const params = field(field(other, 'postgresql'), 'parameters');
  const ours = softFencedConfig(other);
  if (field(params, READ_ONLY) !== undefined && !ours) {
    log(`soft fence skipped: ${cfg.other.name}'s configuration sets ${READ_ONLY} itself`);
    return false;
  }
  const t0 = Date.now();
  await io.patch(
    cfg.other,
    { postgresql: { parameters: { [READ_ONLY]: 'on' } }, [MARKER]: { softFence: true } },
    otherLeader,
  );
  let last = 'nothing readable';
  const drained = await waitFor(
    'the standby leader replays all the read-only source wrote',
    cfg.catchUpTimeoutSeconds,
    async () => {
      const src = await io.sourceState(cfg.other, otherLeader, cfg);
      if (!src || !src.readOnly) return undefined;
      const n = await io.position(cfg.me, meLeader, cfg);
      last = `${n && n.replayLsn ? n.replayLsn : 'nothing readable'} of ${src.currentLsn}`;
      return n && lsnAtLeast(n.replayLsn, src.currentLsn) ? src : undefined;
    },
  );
  if (!drained) {
    await io.patch(cfg.other, LIFT_SOFT_FENCE, otherLeader);
    fail(
      `REFUSED: ${cfg.me.name}'s standby leader did not replay what ${cfg.other.name} wrote once read-only (${last}) within ${cfg.catchUpTimeoutSeconds} s: the soft fence was lifted, nothing changed on either side; deploy again to retry`,
    );
  }
  log(
    `soft fence: ${cfg.other.name} read-only, ${cfg.me.name} replayed its last write (${drained.currentLsn}), ${Date.now() - t0} ms`,
  );
  return true;
}

/**
 * Whether a Patroni version demotes a primary cleanly when standby_cluster is added (4.1 and
 * later: a fast shutdown whose walsenders send every WAL record first). 3.0 and 4.0 stop it at
 * once: WAL it wrote and sent to no one stays on it, and once it is back in recovery it streams
 * that to its own replicas before Patroni rewinds it; a replica whose standby leader stays the
 * same gets no check for that fork from Patroni, and stays stuck ("new timeline forked off ...
 * before current recovery point", seen on 3.0.2).
 */
export function demotesCleanly(version: string | undefined): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 4 || (major === 4 && minor >= 1);
}

/** Patroni's synchronous_mode as a configuration sets it: anything but absent, false or off is on. */
const synchronousMode = (config: DynamicConfig): boolean => {
  const mode = field(config, 'synchronous_mode');
  return mode !== undefined && mode !== null && mode !== false && mode !== 'off';
};

/**
 * Whether `src` runs `member` as its one synchronous standby: synchronous_standby_names is the
 * handoff's (not overridden by ALTER SYSTEM or a file of the host's), exactly one walsender carries
 * the name (PostgreSQL compares names case-insensitively: a local client of the same name would
 * acknowledge in its place), and it is synchronous. That it is the member's own stream, the member
 * says (`streamsFrom`): its address as the source sees it may be another (NAT, a second interface,
 * the host's source address choice). Else why not.
 */
function notSyncBecause(src: SourceState, member: string): string | undefined {
  if (src.standbyNames !== quoted(member))
    return `${SYNC_NAMES} there is ${JSON.stringify(src.standbyNames)}, not ${JSON.stringify(quoted(member))}`;
  const named = src.senders.filter((s) => s.name.toLowerCase() === member.toLowerCase());
  if (named.length !== 1) return `${named.length} walsenders there are named ${member}`;
  if (!named[0].sync) return `${member} is not synchronous there yet`;
  return undefined;
}

/**
 * Step 2b, the synchronous handoff: this cluster's standby leader becomes the source's synchronous
 * standby (synchronous_standby_names through the source's DCS, for the handoff alone); the step
 * waits until the source runs it so (notSyncBecause), then until the standby leader has replayed
 * what the source had flushed by then (commits acknowledged before the setting took effect waited
 * for no one). From then on the source acknowledges no commit before this standby leader has it,
 * so once the fence has stopped the source, every acknowledged write is here and the promotion
 * need not wait for the old side to restart in recovery. Not used (false, the soft fence instead)
 * when link.roleChange.synchronousHandoff is false, when the source runs Patroni's
 * synchronous_mode or sets synchronous_standby_names itself (never touched), when its
 * synchronous_commit does not wait for a standby, when a soft fence of an earlier run is still in
 * its configuration, when the member's name is no application_name PostgreSQL keeps as it is, or
 * when the standby is not synchronous and caught up within catchUpTimeoutSeconds (then taken away
 * again).
 */
async function syncHandoff(
  cfg: RoleChangeConfig,
  meLeader: string,
  other: DynamicConfig,
  otherLeader: string,
): Promise<boolean> {
  const params = field(field(other, 'postgresql'), 'parameters');
  const skipped = (why: string): false => {
    log(`synchronous handoff not used: ${why}; the soft fence instead`);
    return false;
  };
  if (cfg.synchronousHandoff === false) return skipped('link.roleChange.synchronousHandoff is false');
  if (synchronousMode(other))
    return skipped(`${cfg.other.name} runs Patroni's synchronous_mode (Patroni sets ${SYNC_NAMES} there)`);
  if (field(params, SYNC_NAMES) !== undefined && handoffOf(other) === undefined)
    return skipped(`${cfg.other.name}'s configuration sets ${SYNC_NAMES} itself`);
  if (softFencedConfig(other)) return skipped(`${cfg.other.name} is soft-fenced by an earlier run`);
  const version = await io.version(cfg.other, otherLeader);
  if (!demotesCleanly(version))
    return skipped(
      `${otherLeader} runs Patroni ${version ?? '(version unknown)'}: before 4.1 its demotion is an immediate stop, whose last WAL its replicas could take and then not follow the new timeline`,
    );
  if (Buffer.byteLength(meLeader) > 63 || !/^[\x20-\x7e]+$/.test(meLeader))
    return skipped(
      `the member name ${meLeader} is no application_name PostgreSQL keeps as it is (63 ASCII bytes at most)`,
    );
  const before = await io.sourceState(cfg.other, otherLeader, cfg);
  if (!before || !before.synchronousCommit || !WAITING_COMMITS.includes(before.synchronousCommit))
    return skipped(
      `${cfg.other.name}'s synchronous_commit is ${before && before.synchronousCommit ? before.synchronousCommit : 'unreadable'} (its commits would not wait for a synchronous standby)`,
    );
  const t0 = Date.now();
  await io.patch(
    cfg.other,
    { postgresql: { parameters: { [SYNC_NAMES]: quoted(meLeader) } }, [MARKER]: { handoff: meLeader } },
    otherLeader,
  );
  const sourceHost = (cfg.other.nodes.find((n) => n.name === otherLeader) ?? { host: undefined }).host;
  let why = `${cfg.other.name} could not be read`;
  const sync = await waitFor('the standby leader a synchronous standby', cfg.catchUpTimeoutSeconds, async () => {
    const src = await io.sourceState(cfg.other, otherLeader, cfg);
    why = src ? (notSyncBecause(src, meLeader) ?? '') : `${cfg.other.name} could not be read`;
    if (!src || why !== '') return undefined;
    // the one walsender of that name is the member's own: it streams from the source leader
    const n = await io.readMember(cfg.me, meLeader, cfg);
    const streams = n && n.receiverStatus === 'streaming' && n.senderHost === sourceHost;
    why = streams ? '' : `${meLeader} does not stream from ${otherLeader} (${sourceHost ?? 'no host'})`;
    return streams ? src : undefined;
  });
  const caughtUp =
    sync &&
    sync.currentLsn !== null &&
    (await waitFor('the standby leader replays what was flushed before', cfg.catchUpTimeoutSeconds, async () => {
      const n = await io.position(cfg.me, meLeader, cfg);
      return n && lsnAtLeast(n.replayLsn, sync.currentLsn) ? n : undefined;
    }));
  if (!caughtUp) {
    await io.patch(cfg.other, LIFT_HANDOFF, otherLeader);
    return skipped(
      sync
        ? `${meLeader} did not replay ${sync.currentLsn ?? 'an unreadable position'} (flushed on ${otherLeader} when it turned synchronous) within ${cfg.catchUpTimeoutSeconds} s (taken away again)`
        : `${meLeader} did not become the synchronous standby of ${otherLeader} within ${cfg.catchUpTimeoutSeconds} s: ${why} (taken away again)`,
    );
  }
  log(
    `synchronous handoff: ${meLeader} is the synchronous standby of ${otherLeader} (${cfg.other.name}) and has replayed ${sync.currentLsn}, ${Date.now() - t0} ms`,
  );
  return true;
}

/**
 * Steps 4 and 5 after a synchronous handoff: once this cluster's standby leader (read, in recovery)
 * no longer streams from the fenced leader, and that leader does not answer as a primary (its
 * PostgreSQL stopped: at once on Patroni 3.0 and 4.0; on 4.1 a clean shutdown whose last WAL, the
 * shutdown checkpoint, this standby flushed first), every commit the old source acknowledged is
 * here. If this cluster's leader is still that standby leader, it is promoted; else (a failover
 * here meanwhile: another member may lack what it had) the fence and the handoff are undone.
 * Whatever the old source wrote past that was acknowledged to no one. Not stopped within
 * recoverySeconds: the fence and the handoff are undone, nothing promoted, the step fails. The
 * handoff's synchronous_standby_names leaves the old source once its former leader is seen in
 * recovery: were it somehow still read-write, it could acknowledge nothing more meanwhile.
 */
async function promoteAfterHandoff(
  cfg: RoleChangeConfig,
  meLeader: string,
  formerLeader: string,
  fence: number,
  made: () => Promise<void>,
): Promise<void> {
  const formerHost = (cfg.other.nodes.find((n) => n.name === formerLeader) ?? { host: undefined }).host;
  const undo = async (why: string): Promise<never> => {
    await io.patch(cfg.other, { standby_cluster: null, ...LIFT_HANDOFF }, formerLeader);
    return fail(
      `${why}: the fence and the handoff were undone (${cfg.other.name} is the primary again) and nothing was promoted`,
    );
  };
  const stopped = await waitFor('the old source stopped streaming here', timing.recoverySeconds, async () => {
    const n = await io.readMember(cfg.me, meLeader, cfg);
    if (!n || !n.reachable || n.inRecovery !== true) return undefined;
    if (n.receiverStatus === 'streaming' && n.senderHost === formerHost) return undefined;
    const old = await io.position(cfg.other, formerLeader, cfg);
    return old && old.inRecovery === false ? undefined : n;
  });
  if (!stopped)
    await undo(
      `${cfg.other.name}'s former leader ${formerLeader} did not stop streaming to ${meLeader} within ${timing.recoverySeconds} s after the fence`,
    );
  const here = await io.look(cfg.me);
  const leader = here.reachable ? here.leader : undefined;
  if (!leader || leader.name !== meLeader || leader.role !== PATRONI_ROLES.standbyLeader)
    await undo(
      `${cfg.me.name}'s standby leader is ${leader ? `${leader.name} (${leader.role})` : 'unknown'} now, not ${meLeader}, the synchronous standby`,
    );
  log(
    `${formerLeader} stopped streaming to ${meLeader}, ${Date.now() - fence} ms after the fence: every commit it acknowledged is here`,
  );
  await promote(cfg, meLeader, fence, made);
  const back = await waitFor('the former leader in recovery', timing.recoverySeconds, async () => {
    const n = await io.position(cfg.other, formerLeader, cfg);
    return n && n.inRecovery === true ? n : undefined;
  });
  if (back) await io.patch(cfg.other, LIFT_HANDOFF, formerLeader);
  else
    log(
      `${formerLeader} was not seen in recovery within ${timing.recoverySeconds} s: the handoff stays in ${cfg.other.name}'s configuration until it streams from ${cfg.me.name} or the next deploy`,
    );
}

/** Step 5: this cluster promoted, the roles recorded, and read-write within 60 s. */
async function promote(
  cfg: RoleChangeConfig,
  leaderName: string | undefined,
  fence: number,
  made: () => Promise<void>,
): Promise<void> {
  await io.patch(cfg.me, { standby_cluster: null }, leaderName);
  // the roles have changed: the source and its generation recorded before anything else can fail
  await made();
  const writable = await waitFor('this cluster read-write', 60, async () => {
    const n = await io.position(cfg.me, leaderName, cfg);
    return n && n.inRecovery === false ? n : undefined;
  });
  if (!writable) fail(`${cfg.me.name} was told to promote but is not read-write after 60 s: look at its Patroni log`);
  log(
    `${cfg.me.name} is the primary (leader ${writable.member}, timeline ${writable.timeline}), ${Date.now() - fence} ms after the fence`,
  );
}

/**
 * The last position the demoted cluster has (replayed there from its own WAL after the restart in
 * recovery). Only a member in recovery counts: while it still runs read-write, its replay
 * position is the one it had as a standby, long ago, and it may still be writing.
 */
async function finalPosition(cfg: RoleChangeConfig, formerLeader: string): Promise<Position | undefined> {
  return waitFor('the demoted leader back in recovery', timing.recoverySeconds, async () => {
    const n = await io.position(cfg.other, formerLeader, cfg);
    return n && n.inRecovery === true && n.replayLsn ? n : undefined;
  });
}

async function follows(cfg: RoleChangeConfig): Promise<MemberReading | undefined> {
  return waitFor('the other cluster streaming from this one', cfg.followTimeoutSeconds, async () => {
    const other = await io.look(cfg.other);
    const leader =
      other.reachable && other.leader && other.leader.role === PATRONI_ROLES.standbyLeader
        ? other.leader.name
        : undefined;
    if (!leader) return undefined;
    const n = await io.readMember(cfg.other, leader, cfg);
    return n && n.receiverStatus === 'streaming' && cfg.me.nodes.some((m) => m.host === n.senderHost) ? n : undefined;
  });
}

/**
 * Steps 6: the other cluster streams from here; its old link slot goes, and so does the
 * synchronous handoff once it is in recovery (streaming).
 */
async function settleFollower(cfg: RoleChangeConfig, t0: number): Promise<void> {
  if (cfg.slotName) await io.patch(cfg.other, { slots: { [cfg.slotName]: null } });
  const streaming = await follows(cfg);
  if (!streaming)
    fail(
      `${cfg.other.name} does not stream from ${cfg.me.name} after ${cfg.followTimeoutSeconds} s (roleChange.followTimeoutSeconds); the roles have changed, nothing was lost: look at its Patroni log`,
    );
  const other = await io.look(cfg.other);
  if (other.reachable && handoffOf(other.config) !== undefined) await io.patch(cfg.other, LIFT_HANDOFF);
  log(
    `${cfg.other.name} streams from ${cfg.me.name} (standby leader ${streaming.member}, timeline ${streaming.timeline}), ${Date.now() - t0} ms after the start`,
  );
}

/** What the lease (lease.ts) uses of this run. */
const leaseSteps = (): LeaseSteps => ({ io, log, recoverySeconds: timing.recoverySeconds });

/** What the rejoin (rejoin.ts) uses of this run. */
const steps = (made: () => Promise<void>): Steps => ({ io, log, waitFor, settleFollower, made });

async function planned(
  cfg: RoleChangeConfig,
  meLeader: string,
  other: DynamicConfig,
  otherLeader: string,
  made: () => Promise<void>,
): Promise<void> {
  const t0 = Date.now();
  log(`switchover: ${cfg.other.name} (primary, leader ${otherLeader}) -> ${cfg.me.name} (standby cluster)`);
  const { problems } = await io.gate(cfg);
  if (problems.length > 0)
    fail(
      `REFUSED: the link is not ready for a switchover:\n${problems.map((p) => `  - ${p}`).join('\n')}\nnothing was changed on either side`,
    );
  log('gate passed: the link is healthy and caught up');
  if (cfg.slotName) await io.patch(cfg.me, { slots: { [cfg.slotName]: { type: 'physical' } } }, meLeader);
  const formerLeader = otherLeader;
  const handoff = await syncHandoff(cfg, meLeader, other, otherLeader);
  const softFenced = !handoff && (await softFence(cfg, meLeader, other, otherLeader));
  const fence = Date.now();
  try {
    await io.patch(cfg.other, { standby_cluster: cfg.block }, formerLeader);
  } catch (e) {
    // not fenced: the source stays as it was, without this run's handoff
    if (handoff) await io.patch(cfg.other, LIFT_HANDOFF, formerLeader).catch(() => undefined);
    throw e;
  }
  log(`fence: ${cfg.other.name} demoted (standby_cluster -> ${cfg.block.host}) at ${new Date(fence).toISOString()}`);
  if (handoff) await promoteAfterHandoff(cfg, meLeader, formerLeader, fence, made);
  else await catchUpAndPromote(cfg, meLeader, formerLeader, fence, softFenced, made);
  await settleFollower(cfg, t0);
}

/** Steps 4 and 5 (also the resumption of a run that stopped after the fence). */
async function catchUpAndPromote(
  cfg: RoleChangeConfig,
  leaderName: string | undefined,
  formerLeader: string,
  fence: number,
  softFenced: boolean,
  made: () => Promise<void>,
): Promise<void> {
  const final = await finalPosition(cfg, formerLeader);
  if (!final) {
    await io.patch(cfg.other, { standby_cluster: null, ...lift(softFenced) }, formerLeader);
    fail(
      `${cfg.other.name}'s former leader ${formerLeader} did not come back in recovery within ${timing.recoverySeconds} s: the fence was undone (${cfg.other.name} is the primary again) and nothing was promoted`,
    );
  }
  const target = final.replayLsn;
  log(`${cfg.other.name}'s last position: ${target} (timeline ${final.timeline})`);
  // back in recovery: the soft fence leaves its configuration
  if (softFenced) await io.patch(cfg.other, LIFT_SOFT_FENCE, formerLeader);
  const caughtUp = await waitFor('replay here up to that position', cfg.catchUpTimeoutSeconds, async () => {
    const n = await io.position(cfg.me, leaderName, cfg);
    return n && lsnAtLeast(n.replayLsn, target) ? n : undefined;
  });
  if (!caughtUp) {
    const n = await io.position(cfg.me, leaderName, cfg);
    await io.patch(cfg.other, { standby_cluster: null }, formerLeader);
    fail(
      `REFUSED: ${cfg.me.name}'s standby leader replayed ${n ? n.replayLsn : 'nothing readable'}, not ${cfg.other.name}'s last position ${target}, within ${cfg.catchUpTimeoutSeconds} s: the fence was undone (${cfg.other.name} is the primary again, nothing lost); deploy again to retry`,
    );
  }
  log(`caught up: ${caughtUp.member} replayed ${caughtUp.replayLsn} >= ${target}`);
  await promote(cfg, leaderName, fence, made);
}

/** A cluster's state as the step prints it first. */
function described(x: ClusterLook): string {
  if (!x.reachable) return 'not answering (its REST API)';
  return x.standby
    ? `a standby cluster (leader ${x.leader ? x.leader.name : 'none'})`
    : `a primary (leader ${x.leader ? x.leader.name : 'none'})`;
}

/**
 * Takes away a synchronous handoff found in a cluster's configuration. A handoff lives within one
 * run, and the lease keeps other runs out: one found while no lease is live was left by a run that
 * stopped, and would make a primary wait for a standby in the other data center (or, on a standby
 * cluster, once it is promoted). Left alone while another run's lease is live.
 */
async function clearLeftoverHandoffs(
  clusters: readonly (readonly [RoleChangeCluster, ClusterLook])[],
  runsIn?: string,
): Promise<void> {
  if (runsIn !== undefined) {
    try {
      refuseIfHeld(
        { ...leaseSteps(), log: () => undefined },
        clusters.map(([, x]) => x),
        runsIn,
      );
    } catch {
      return log('a synchronous handoff in a configuration is left to the role change that holds the lease');
    }
  }
  for (const [c, x] of clusters) {
    if (!x.reachable) continue;
    const member = handoffOf(x.config);
    if (member === undefined) continue;
    await io.patch(c, LIFT_HANDOFF, x.leader && x.leader.name);
    log(`${c.name} kept ${member} as a synchronous standby, left by a role change that stopped: taken away`);
  }
}

async function changeRoles(cfg: RoleChangeConfig): Promise<void> {
  if (cfg.state === 'detached') {
    // before the promotion's patch (which waits for this step): a promoted cluster must not keep one
    await clearLeftoverHandoffs([[cfg.me, await io.look(cfg.me)]], cfg.me.name);
    log(
      `the link is detached (a promotion): no role change; once it follows again, this step rejoins ${cfg.me.name} to ${cfg.other.name} if it is a primary then`,
    );
    return;
  }
  const [me, other] = await Promise.all([io.look(cfg.me), io.look(cfg.other)]);
  // a pipeline of an older topology (link.roleChange.generation) is refused before anything is changed
  const stale = staleBecause(newestRecord([me, other].map((x) => (x.reachable ? x.config : undefined))), {
    source: cfg.role === 'source' ? cfg.me.name : cfg.other.name,
    generation: cfg.generation,
  });
  if (stale) fail(`REFUSED: ${stale}`);
  if (cfg.role !== 'source') {
    if (
      me.reachable &&
      !me.standby &&
      me.primary &&
      me.leader &&
      other.reachable &&
      !other.standby &&
      other.primary &&
      other.leader
    ) {
      // a promotion undone: the link follows again, this cluster was promoted meanwhile
      log(
        `${cfg.me.name} is a primary (promoted) and the topology makes it follow ${cfg.other.name} again: rejoining it`,
      );
      const swapped: RoleChangeConfig = { ...cfg, role: 'source', me: cfg.other, other: cfg.me };
      const [otherLeader, meLeader] = [other.leader.name, me.leader.name];
      return holding(leaseSteps(), swapped, [other, me], cfg.me.name, (made) =>
        rejoin(steps(made), swapped, otherLeader, meLeader),
      );
    }
    await clearLeftoverHandoffs(
      [
        [cfg.me, me],
        [cfg.other, other],
      ],
      cfg.me.name,
    );
    log(
      `${cfg.me.name} is a standby cluster of ${cfg.other.name} in the topology: a role change runs in ${cfg.other.name}'s role resource`,
    );
    return;
  }
  log(`${cfg.me.name} is ${described(me)}; ${cfg.other.name} is ${described(other)}`);
  refuseIfHeld(leaseSteps(), [me, other], cfg.me.name);
  if (!me.reachable) {
    if (!other.reachable || other.standby)
      return log(
        `nothing to do: ${cfg.me.name} is not running yet (a new deployment), its nodes start it as the source`,
      );
    fail(
      `REFUSED: ${cfg.me.name} does not answer, and ${cfg.other.name} is a primary: it cannot be made the source; start it, or keep link.source: ${cfg.other.name}`,
    );
  }
  if (!me.standby && softFencedConfig(me.config)) {
    // a run that stopped in its soft fence left this cluster, the source in the topology, read-only
    await io.patch(cfg.me, LIFT_SOFT_FENCE, me.leader && me.leader.name);
    log(`${cfg.me.name} was left read-only by a role change that stopped in its soft fence: lifted`);
  }
  await clearLeftoverHandoffs([
    [cfg.me, me],
    [cfg.other, other],
  ]);
  if (!me.standby) {
    if (!other.reachable) {
      log(
        `nothing to do: ${cfg.me.name} is the source; ${cfg.other.name} does not answer (its stack makes it follow once it runs)`,
      );
      return recordSource(leaseSteps(), cfg, [me, other]);
    }
    if (other.standby) {
      log(`nothing to do: ${cfg.me.name} is the source and ${cfg.other.name} a standby cluster`);
      return recordSource(leaseSteps(), cfg, [me, other]);
    }
    if (!me.primary || !other.primary || !me.leader || !other.leader)
      fail(
        `REFUSED: a cluster has no running leader (${cfg.me.name}: ${me.leader ? me.leader.role : 'none'}, ${cfg.other.name}: ${other.leader ? other.leader.role : 'none'}); deploy again once both have one`,
      );
    const [meLeader, otherLeader] = [me.leader.name, other.leader.name];
    return holding(leaseSteps(), cfg, [me, other], cfg.me.name, (made) =>
      rejoin(steps(made), cfg, meLeader, otherLeader),
    );
  }
  if (!other.reachable)
    fail(
      `REFUSED: ${cfg.other.name} does not answer, so nothing proves ${cfg.me.name} has its last writes; for a lost data center use link.state: detached with link.promotion.disaster`,
    );
  if (other.standby) {
    log(`both clusters are standby clusters: a previous role change stopped after its fence; resuming`);
    if (!other.leader) fail(`REFUSED: ${cfg.other.name} has no leader to read its last position from`);
    const formerLeader = other.leader.name;
    return holding(leaseSteps(), cfg, [me, other], cfg.me.name, async (made) => {
      await catchUpAndPromote(
        cfg,
        me.leader && me.leader.name,
        formerLeader,
        Date.now(),
        softFencedConfig(other.config),
        made,
      );
      await settleFollower(cfg, Date.now());
    });
  }
  if (!other.leader || !me.leader)
    fail(
      `REFUSED: a cluster has no leader (${cfg.me.name}: ${me.leader ? me.leader.name : 'none'}, ${cfg.other.name}: ${other.leader ? other.leader.name : 'none'})`,
    );
  const [meLeader, otherLeader] = [me.leader.name, other.leader.name];
  return holding(leaseSteps(), cfg, [me, other], cfg.me.name, (made) =>
    planned(cfg, meLeader, other.config, otherLeader, made),
  );
}

/**
 * The role change for `cfg` against `clusters` (the real ones by default). `waits` (keys of TIMING)
 * shortens the waits for tests; Terraform's runs use TIMING. `via` (runRoleChange's): where it
 * prints and which environment holds the REST passwords, process.stdout and process.env unless given.
 */
export async function run(
  cfg: RoleChangeConfig,
  clusters: RoleIo = realIo,
  waits: Partial<Timing> = TIMING,
  via: RunOutput = {},
): Promise<void> {
  io = clusters;
  timing = { ...TIMING, ...waits };
  useRunOutput(via);
  try {
    return await changeRoles(cfg);
  } finally {
    io = realIo;
    timing = TIMING;
    useRunOutput({});
  }
}

/**
 * The role change as a program: its configuration from ROLE_CHANGE_CONFIG in `env` (one that does not
 * match the contract is refused, exit code 2, before anything is read or changed), its progress
 * to `out`, its failure to `err`. Resolves to the exit code: 0 done, 1 refused or failed.
 */
export async function runRoleChange(env: Env, out: Output, err: Output): Promise<number> {
  let cfg: RoleChangeConfig;
  try {
    cfg = parseConfig('roleChange', env[PROGRAMS.roleChange.configEnv]);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err.write(`[role change] ${e.message}\n`);
    return 2;
  }
  try {
    await run(cfg, realIo, TIMING, { out, env });
    return 0;
  } catch (e) {
    err.write(`[role change] ${field(e, 'refused') ? '' : 'FAILED: '}${field(e, 'message')}\n`);
    return 1;
  }
}
