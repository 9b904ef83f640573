/**
 * The rejoin: both clusters are primaries (this one was promoted while the other was cut off, or
 * a promotion is undone). How far the other wrote past the point where the two histories part is
 * measured; without acceptDataLoss nothing is changed. With it, the other is moved above this
 * cluster's timeline (Patroni 3.0 trusts equal timeline numbers), fenced as this one's standby
 * cluster (pg_rewind throws its writes past the split away), and its replicas re-cloned. Called
 * by the role change (role-change.ts), with its I/O and waits.
 */
import { PATRONI_ROLES, type RoleChangeCluster, type RoleChangeConfig } from './contract';
import { type ClusterMember, fail, field, type RoleIo } from './cluster-io';
import { lsn, lsnText } from './lsn';

/** What the rejoin uses of the role change that calls it: its I/O, its log, its waits, its last step. */
export interface Steps {
  readonly io: RoleIo;
  log(msg: string): void;
  waitFor<T>(what: string, seconds: number, check: () => Promise<T | undefined>): Promise<T | undefined>;
  /** Step 6 of the role change: the other cluster streams from this one; its old link slot goes. */
  settleFollower(cfg: RoleChangeConfig, t0: number): Promise<void>;
  /** The roles have changed: records the source and the generation (holding.ts). */
  made(): Promise<void>;
  /** How long a re-clone request a member did not take waits before it is sent again (2000 ms unless given). */
  readonly retryMs?: number;
}

/** A row of Patroni's GET /history: [timeline, end LSN, reason, timestamp, new leader]. */
export type HistoryRow = readonly unknown[];

const isHistory = (v: unknown): v is HistoryRow[] => Array.isArray(v) && v.every((r) => Array.isArray(r));

/** BigInt() of a JSON value, with BigInt's own TypeError for one it cannot convert. */
function bigintOf(v: unknown): bigint {
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')
    return BigInt(v);
  throw new TypeError(`Cannot convert ${String(v)} to a BigInt`);
}

/**
 * Where two timeline histories part (Patroni's GET /history rows: [timeline, end LSN, ...], a
 * timeline that ended at that LSN). The first timeline the two sides ended differently (or one of
 * them still runs on) forks at the lower of the two ends. Pure; returns the LSN as a BigInt.
 */
export function divergencePoint(mine: readonly HistoryRow[], theirs: readonly HistoryRow[]): bigint | undefined {
  const ends = (rows: readonly HistoryRow[]) =>
    new Map(rows.map((r): [number, bigint] => [Number(r[0]), bigintOf(r[1])]));
  const a = ends(mine);
  const b = ends(theirs);
  const last = Math.max(0, ...a.keys(), ...b.keys());
  for (let tl = 1; tl <= last; tl++) {
    const x = a.get(tl);
    const y = b.get(tl);
    // one side still runs on this timeline: it forks where the other left it (both: no fork)
    if (x === undefined || y === undefined) return x ?? y;
    if (x < y) return x;
    if (y < x) return y;
  }
  return undefined; // every timeline ended at the same point on both sides: one history
}

type Divergence =
  | { readonly known: false; readonly why: string }
  | {
      readonly known: true;
      readonly bytes: number;
      readonly fork: string;
      readonly at: string | null;
      readonly timeline: number | null;
    };

/** Both clusters primaries: how far the other wrote past the point where the two histories part. */
async function divergence(
  ctx: Steps,
  cfg: RoleChangeConfig,
  meLeader: string,
  otherLeader: string,
): Promise<Divergence> {
  const mine = await ctx.io.history(cfg.me, meLeader);
  const theirs = await ctx.io.history(cfg.other, otherLeader);
  if (!isHistory(mine) || !isHistory(theirs))
    return { known: false, why: 'a timeline history (GET /history) could not be read' };
  const leader = await ctx.io.readMember(cfg.other, otherLeader, cfg);
  if (!leader || !leader.reachable) return { known: false, why: `${cfg.other.name}'s leader cannot be read with SQL` };
  const fork = divergencePoint(mine, theirs);
  if (fork === undefined)
    return {
      known: false,
      why: 'the two timeline histories do not part: both clusters run on one timeline as primaries',
    };
  const at = lsn(leader.currentLsn);
  if (at === null)
    return { known: false, why: `${cfg.other.name}'s leader shows no current WAL position (not a primary)` };
  return {
    known: true,
    bytes: at > fork ? Number(at - fork) : 0,
    fork: lsnText(fork),
    at: leader.currentLsn,
    timeline: leader.timeline,
  };
}

/** Timelines compared as the step always has: an unknown (null) one counts as 0. */
const above = (a: number | null, b: number | null): boolean => Number(a) > Number(b);

/**
 * Patroni 3.0 rewinds a member whose timeline is higher than its new leader's, and trusts the
 * timeline number when both are equal (no rewind, although the two histories differ). A cluster
 * that diverged is therefore moved above the new source's timeline first, by switchovers inside
 * it (its writes past the split are thrown away anyway), so that pg_rewind, which compares the
 * histories themselves, does the real work.
 */
async function timelineAbove(ctx: Steps, cfg: RoleChangeConfig, meLeader: string): Promise<void> {
  const leaderOf = async (cluster: RoleChangeCluster) => {
    const x = await ctx.io.look(cluster);
    return x.reachable && x.leader
      ? { members: x.members, node: await ctx.io.readMember(cluster, x.leader.name, cfg) }
      : undefined;
  };
  for (let round = 0; ; round++) {
    const mine = await ctx.io.readMember(cfg.me, meLeader, cfg);
    const theirs = await leaderOf(cfg.other);
    if (!mine || !theirs || !theirs.node)
      fail('REFUSED: a leader could not be read while preparing the rejoin; nothing was demoted');
    const node = theirs.node;
    if (above(node.timeline, mine.timeline)) return;
    if (round === 5)
      fail(
        `REFUSED: ${cfg.other.name}'s timeline could not be moved above ${cfg.me.name}'s in 5 switchovers; re-seed it instead`,
      );
    const candidate = theirs.members.find(
      (m) => m.role === PATRONI_ROLES.replica && (m.state === 'running' || m.state === 'streaming'),
    );
    if (!candidate)
      fail(
        `REFUSED: ${cfg.other.name} is on timeline ${node.timeline}, not above ${cfg.me.name}'s ${mine.timeline}, and has no running replica to move it up with (Patroni 3.0 would not rewind it); nothing was demoted`,
      );
    ctx.log(
      `${cfg.other.name} is on timeline ${node.timeline}, not above ${cfg.me.name}'s ${mine.timeline}: a switchover inside ${cfg.other.name} (${node.member} -> ${candidate.name}) moves it up, so that Patroni rewinds it`,
    );
    await ctx.io.post(cfg.other, theirs.members, '/switchover', { leader: node.member, candidate: candidate.name });
    const moved = await ctx.waitFor('the switchover inside the other cluster', 60, async () => {
      const n = await ctx.io.readMember(cfg.other, candidate.name, cfg);
      return n && n.inRecovery === false && above(n.timeline, node.timeline) ? n : undefined;
    });
    if (!moved)
      fail(`REFUSED: the switchover inside ${cfg.other.name} did not finish within 60 s; nothing was demoted`);
    // every member on the new timeline too: each one is then above the new source's, and rewound
    const all = await ctx.waitFor('every member of the other cluster on the new timeline', 60, async () => {
      const nodes = await Promise.all(cfg.other.nodes.map((n) => ctx.io.readMember(cfg.other, n.name, cfg)));
      return nodes.every(
        (n) =>
          !n ||
          !n.reachable ||
          n.member === moved.member ||
          (n.timeline === moved.timeline && n.receiverStatus === 'streaming'),
      )
        ? nodes
        : undefined;
    });
    if (!all)
      fail(
        `REFUSED: the members of ${cfg.other.name} did not all follow its new timeline ${moved.timeline} within 60 s; nothing was demoted`,
      );
  }
}

export async function rejoin(ctx: Steps, cfg: RoleChangeConfig, meLeader: string, otherLeader: string): Promise<void> {
  const t0 = Date.now();
  const d = await divergence(ctx, cfg, meLeader, otherLeader);
  if (!d.known)
    fail(
      `REFUSED: both clusters are primaries and how far ${cfg.other.name} diverged is unknown (${d.why}); nothing was changed`,
    );
  ctx.log(
    `rejoin: ${cfg.other.name} is a primary too; the histories part at ${d.fork}, ${cfg.other.name} is at ${d.at} (timeline ${d.timeline}): ${d.bytes} bytes written there after the split`,
  );
  if (d.bytes > 0 && !cfg.acceptDataLoss) {
    fail(
      `REFUSED: rejoining ${cfg.other.name} throws away the ${d.bytes} bytes of WAL it wrote after ${d.fork} (pg_rewind); save what you need from it, then set link.roleChange.acceptDataLoss: true and deploy again. Nothing was changed`,
    );
  }
  if (d.bytes > 0)
    ctx.log(`acceptDataLoss is set: ${d.bytes} bytes of ${cfg.other.name} past ${d.fork} will be thrown away`);
  await timelineAbove(ctx, cfg, meLeader);
  if (cfg.slotName) await ctx.io.patch(cfg.me, { slots: { [cfg.slotName]: { type: 'physical' } } }, meLeader);
  await ctx.io.patch(cfg.other, { standby_cluster: cfg.block }, otherLeader);
  ctx.log(`${cfg.other.name} demoted (standby_cluster -> ${cfg.block.host})`);
  await ctx.made();
  await ctx.settleFollower(cfg, t0);
  await recloneReplicas(ctx, cfg);
}

/**
 * POST /reinitialize to one member, again until followTimeoutSeconds while it does not take it:
 * Patroni answers only between two of its HA loops, and a member still busy with the demotion
 * (Patroni 4.1's clean one) can let a request wait past its timeout. A re-clone already in progress
 * counts as taken.
 */
async function reinitialize(
  ctx: Steps,
  cfg: RoleChangeConfig,
  members: readonly ClusterMember[],
  name: string,
): Promise<void> {
  let why = '';
  const taken = await ctx.waitFor(`${name} re-cloning`, cfg.followTimeoutSeconds, async () => {
    try {
      await ctx.io.post(cfg.other, members, '/reinitialize', { force: true }, name);
      return true;
    } catch (e) {
      why = String(field(e, 'message'));
      if (why.includes('already in progress')) return true;
      ctx.log(`${name} did not take the re-clone (${why}); asking again`);
      await new Promise((r) => setTimeout(r, ctx.retryMs ?? 2000));
      return undefined;
    }
  });
  if (!taken)
    fail(
      `${name} of ${cfg.other.name} did not take the re-clone within ${cfg.followTimeoutSeconds} s (${why}); the rejoin itself is done: re-clone it (patronictl reinit) before it serves reads`,
    );
}

/**
 * After a rejoin the standby leader has been rewound (its timeline was above the new source's).
 * Its replicas reconnect to it on the new source's timeline number and Patroni 3.0, reading that
 * number from their WAL receiver, may skip their rewind; their data then silently misses what
 * the new source wrote before their diverged position. So they are re-cloned from their standby
 * leader, inside their own data center (covered by acceptDataLoss: their writes past the split go
 * anyway).
 */
async function recloneReplicas(ctx: Steps, cfg: RoleChangeConfig): Promise<void> {
  const other = await ctx.io.look(cfg.other);
  if (!other.reachable || !other.leader)
    fail(
      `the replicas of ${cfg.other.name} cannot be re-cloned: its REST API shows no standby leader; the rejoin itself is done: re-clone them (patronictl reinit) before they serve reads`,
    );
  const leader = other.leader;
  const replicas = other.members.filter((m) => m.name !== leader.name);
  for (const m of replicas) {
    ctx.log(
      `re-cloning ${m.name} of ${cfg.other.name} from its standby leader ${leader.name} (a replica of a rejoined cluster)`,
    );
    await reinitialize(ctx, cfg, other.members, m.name);
  }
  if (replicas.length === 0) return;
  const done = await ctx.waitFor('the re-cloned replicas streaming', cfg.followTimeoutSeconds, async () => {
    const nodes = await Promise.all(replicas.map((m) => ctx.io.readMember(cfg.other, m.name, cfg)));
    return nodes.every((n) => n && n.reachable && n.receiverStatus === 'streaming') ? nodes : undefined;
  });
  if (!done)
    fail(
      `the re-cloned replicas of ${cfg.other.name} do not stream after ${cfg.followTimeoutSeconds} s; the rejoin itself is done: look at their Patroni logs`,
    );
  ctx.log(`${replicas.map((m) => m.name).join(', ')} re-cloned and streaming`);
}
