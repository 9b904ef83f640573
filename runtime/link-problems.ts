/**
 * Why a link is not healthy, from its figures (link-report.ts): the standby leader not streaming,
 * a stalled stream, another system or timeline, replay paused, the slot missing or lost, a
 * promoted standby, a standby replica left on an old timeline, members cut off from their DCS.
 * Pure; `collect` (link-health.ts) calls `problemsOf` after reading, and the gate and status print
 * what it finds.
 */
import type { LinkFigures, LinkView, NodeReading, NodeReport } from './link-report';
import { lsn } from './lsn';

/**
 * A stream that says "streaming" but carries nothing: the source has WAL the standby leader has
 * not received, and no message came for STALL_SECONDS (the sender sends WAL as soon as it is
 * flushed). A partition that drops packets looks like this until wal_receiver_timeout ends it.
 * The silence and the bytes the source is ahead when it is stalled; undefined when it is not (an
 * unknown silence counts as none).
 */
const STALL_SECONDS = 5;
function stall(
  leader: NodeReading,
  srcLeader: NodeReading | undefined,
): { silence: number; ahead: number } | undefined {
  const silence = leader.receiverSilenceSeconds ?? 0;
  if (!srcLeader || !srcLeader.currentLsn || !leader.receiveLsn || silence < STALL_SECONDS) return undefined;
  const ahead = lsn(srcLeader.currentLsn) - lsn(leader.receiveLsn);
  return ahead > 0n ? { silence, ahead: Number(ahead) } : undefined;
}

/**
 * Members that have not reached their cluster's DCS for longer than its ttl: the leader key has
 * expired meanwhile, so the cluster can neither fail over nor take a configuration change (its
 * PostgreSQL may go on replaying). One line per cluster.
 */
function dcsProblems(report: LinkFigures, cfg: LinkView): string[] {
  const out: string[] = [];
  for (const c of [cfg.source, cfg.standby]) {
    // without a ttl (the role change's view) no contact is too old; an unknown one is not either
    const ttl = c.ttl || Infinity;
    const silent = report.nodes.filter((n) => n.cluster === c.name && (n.dcsAgeSeconds ?? 0) > ttl);
    if (silent.length === 0) continue;
    const age = Math.max(...silent.map((n) => n.dcsAgeSeconds ?? 0));
    out.push(
      `${silent.map((n) => n.member).join(', ')} of ${c.name} ${silent.length === 1 ? 'has' : 'have'} not reached ${c.name}'s DCS for ${age} s (more than ttl, ${c.ttl} s): ${c.name} cannot fail over or take a configuration change until its DCS answers`,
    );
  }
  return out;
}

/** The timeline a member replays: Patroni's word when it answered, else what SQL read. */
export function replayTimeline(n: NodeReading): number | null {
  return n.patroniTimeline ?? n.timeline;
}

/**
 * A standby replica on a fork: replaying an older timeline than its standby leader's, past where
 * that timeline ended on the source (all known). Streaming or not: such a member reconnects again
 * and again, and reads "streaming" for a moment each time.
 */
function pastTheFork(n: NodeReport, leader: NodeReading): boolean {
  const tl = replayTimeline(n);
  return (
    tl !== null &&
    leader.timeline !== null &&
    tl < leader.timeline &&
    n.timelineEndLsn !== undefined &&
    n.replayLsn !== null &&
    lsn(n.replayLsn) > lsn(n.timelineEndLsn)
  );
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
      `${cfg.standby.name} has a read-write leader (${promoted.member}) although the topology makes it follow ${cfg.source.name}: a role change is in progress or was left half done (deploy again: the role change finishes or undoes it), or it was promoted`,
    );
  // a member's recovery is known only when it is reachable (null otherwise)
  if (!srcLeader && src.some((n) => n.inRecovery === true))
    out.push(
      `${cfg.source.name} runs in recovery (a standby cluster) although the topology makes it the source: a role change is in progress, or link.source names the wrong cluster`,
    );
  if (!leader) {
    out.push(`the standby cluster ${cfg.standby.name} has no standby leader`);
  } else {
    const stalled = stall(leader, srcLeader);
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
  // source replicas not on the source leader's timeline yet: Patroni 3.0's check after a restart
  // asks the first source member that answers for the source's timeline, and one of these would
  // make it find nothing to rewind
  const srcBehind = src.filter((n) => {
    const tl = replayTimeline(n);
    return n !== srcLeader && n.reachable && tl !== null && srcLeader?.timeline != null && tl < srcLeader.timeline;
  });
  for (const n of sby) {
    if (n === leader || !n.reachable) continue;
    if (leader && pastTheFork(n, leader)) {
      const wait =
        srcBehind.length === 0
          ? ''
          : ` once ${srcBehind.map((s) => s.member).join(', ')} of ${cfg.source.name} ${srcBehind.length === 1 ? 'is' : 'are'} on timeline ${srcLeader!.timeline} too`;
      out.push(
        `${n.member} is on timeline ${replayTimeline(n)}, its standby leader ${leader.member} on ${leader.timeline} (wal receiver: ${n.receiverStatus || 'none'}): it replayed WAL up to ${n.replayLsn}, past ${n.timelineEndLsn} where timeline ${replayTimeline(n)} ended on the source (${cfg.source.name} failed over without WAL that had already reached ${cfg.standby.name}), and Patroni before 4.1.1 may leave a replica whose leader stayed the same there (4.1.1 and later rewind it within a loop); restart its PostgreSQL${wait} (patronictl -c <its patroni.yml> restart <scope> ${n.member} --force): Patroni then rewinds it from the source with pg_rewind (with use_pg_rewind, the default; without it, patronictl reinit copies it anew); still named a minute after, restart it again (docs/troubleshooting.md)`,
      );
    } else if (n.receiverStatus !== 'streaming')
      out.push(`${n.member} is not streaming (wal receiver: ${n.receiverStatus || 'none'})`);
    else if (leader && n.senderHost !== leader.host)
      out.push(`${n.member} streams from ${n.senderHost}, not from the standby leader ${leader.host}`);
  }
  if (report.slot) {
    if (!report.slot.present) out.push(`the link slot ${report.slot.name} does not exist on the source leader`);
    else {
      if (!report.slot.active) out.push(`the link slot ${report.slot.name} is not active: nothing streams through it`);
      if (report.slot.walStatus === 'lost' && cfg.readsArchive)
        out.push(
          `the link slot ${report.slot.name} has wal_status lost: the source removed WAL the standby leader still needed, which it reads from the archive instead; once it has caught up there, renew the slot without a copy: set link.reseed: { cluster: ${cfg.standby.name}, generation: <a new number>, from: archive } and deploy (docs/archive.md: The hybrid standby)`,
        );
      else if (report.slot.walStatus === 'lost')
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
