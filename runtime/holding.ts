/**
 * The role change holding both clusters (lease.ts): refused while another holds them; the lease
 * taken on both, checked once more, renewed while the role change runs (so that a killed run's
 * lease runs out within LEASE_TTL_SECONDS) and let go afterwards (only if it is still this run's);
 * the source and its generation recorded as soon as the roles have changed. Called by the role
 * change (role-change.ts) with its I/O and log.
 */
import { randomBytes } from 'node:crypto';
import { type ClusterLook, fail, field, type RoleIo } from './cluster-io';
import type { Lease, RoleChangeCluster, RoleChangeConfig } from './contract';
import { leaseBody, liveLease, recordBody, releaseBody, sourceRecord } from './lease';

/** What the lease's steps use of the role change that runs them. */
export interface LeaseSteps {
  readonly io: RoleIo;
  log(msg: string): void;
}

/** How long a lease holds without renewal: a killed role change holds nothing for longer. */
export const LEASE_TTL_SECONDS = 45;
/** How often a running role change renews its lease. */
export const LEASE_RENEW_SECONDS = 10;

const refusal = (held: Lease): string =>
  `REFUSED: another role change (${held.holder}, since ${held.since}) holds both clusters' configuration until ${new Date(held.until).toISOString()}: it runs from another pipeline (a killed one's lease runs out within ${LEASE_TTL_SECONDS} s); deploy again after it. Nothing was changed`;

/** Refuses when a role change other than `mine` holds a cluster's configuration (its lease is live). */
export function refuseIfHeld(looks: readonly ClusterLook[], mine?: string): void {
  const now = Date.now();
  for (const x of looks) {
    const held = x.reachable ? liveLease(x.config, now) : undefined;
    if (held && held.holder !== mine) fail(refusal(held));
  }
}

/**
 * The roles are already as the topology says: records the source and its generation on the
 * clusters that answer and record an older one (never a lower generation over a higher one).
 */
export async function recordSource(
  ctx: LeaseSteps,
  cfg: RoleChangeConfig,
  looks: readonly ClusterLook[],
): Promise<void> {
  if (cfg.generation === undefined) return;
  const record = { cluster: cfg.me.name, generation: cfg.generation };
  const clusters = [cfg.me, cfg.other].filter((_, i) => {
    const look = looks[i];
    const have = look.reachable ? sourceRecord(look.config) : undefined;
    return look.reachable && (have === undefined || have.generation < record.generation);
  });
  for (const c of clusters) await ctx.io.patch(c, recordBody(record));
  if (clusters.length > 0)
    ctx.log(
      `recorded on ${clusters.map((c) => c.name).join(' and ')}: source ${record.cluster}, link.roleChange.generation ${record.generation}`,
    );
}

/**
 * Runs `work` (a role change that changes the clusters) holding both clusters' configuration.
 * `runsIn`: the cluster whose role resource runs it (the lease names it, so an operator finds the
 * pipeline). `work` calls `made()` as soon as `cfg.me` is the source: the source and the
 * topology's generation are recorded on both clusters then (a run that fails later leaves them
 * recorded; one that cannot record fails).
 */
export async function holding(
  ctx: LeaseSteps,
  cfg: RoleChangeConfig,
  looks: readonly ClusterLook[],
  runsIn: string,
  work: (made: () => Promise<void>) => Promise<void>,
): Promise<void> {
  refuseIfHeld(looks);
  const since = Date.now();
  const holder = `${runsIn}/${randomBytes(4).toString('hex')}`;
  const lease = (): Lease => ({
    holder,
    since: new Date(since).toISOString(),
    until: Date.now() + LEASE_TTL_SECONDS * 1000,
  });
  const clusters = [cfg.me, cfg.other].filter((_, i) => looks[i].reachable);
  const taken: RoleChangeCluster[] = [];
  let renewing: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  try {
    const results = await Promise.allSettled(clusters.map((c) => ctx.io.patch(c, leaseBody(lease()))));
    results.forEach((r, i) => r.status === 'fulfilled' && taken.push(clusters[i]));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0)
      fail(
        `REFUSED: the lease could not be taken on ${clusters[failed].name} (${String(field((results[failed] as PromiseRejectedResult).reason, 'message'))}); nothing was changed`,
      );
    // another role change that took its lease at the same moment: the later writer's lease shows
    refuseIfHeld(await Promise.all(taken.map((c) => ctx.io.look(c))), holder);
    ctx.log(`lease ${holder} taken on ${taken.map((c) => c.name).join(' and ')}`);
    timer = setInterval(() => {
      renewing = renewing.then(() =>
        Promise.allSettled(taken.map((c) => ctx.io.patch(c, leaseBody(lease())))).then((rs) =>
          rs.forEach(
            (r, i) => r.status === 'rejected' && ctx.log(`WARNING: the lease on ${taken[i].name} was not renewed`),
          ),
        ),
      );
    }, LEASE_RENEW_SECONDS * 1000);
    timer.unref();
    await work(() => recordMade(ctx, cfg, taken));
  } finally {
    if (timer) clearInterval(timer);
    await renewing;
    for (const c of taken) {
      try {
        // let go only of this run's own lease: one that ran out may be another's by now
        const look = await ctx.io.look(c);
        const now = look.reachable ? liveLease(look.config, Date.now()) : undefined;
        if (now && now.holder !== holder) continue;
        await ctx.io.patch(c, releaseBody());
      } catch (e) {
        ctx.log(
          `WARNING: the lease on ${c.name} could not be let go (${String(field(e, 'message'))}); it runs out within ${LEASE_TTL_SECONDS} s`,
        );
      }
    }
  }
}

/** The roles have changed: the source and the generation recorded on both clusters (or the run fails). */
async function recordMade(ctx: LeaseSteps, cfg: RoleChangeConfig, clusters: readonly RoleChangeCluster[]) {
  if (cfg.generation === undefined) return;
  const record = { cluster: cfg.me.name, generation: cfg.generation };
  const results = await Promise.allSettled(clusters.map((c) => ctx.io.patch(c, recordBody(record))));
  const done = clusters.filter((_, i) => results[i].status === 'fulfilled').map((c) => c.name);
  if (!done.includes(cfg.me.name))
    fail(
      `${cfg.me.name} is the source now, but its DCS did not take the record of link.roleChange.generation ${record.generation}: deploy again (the role change finds nothing to do and records it)`,
    );
  ctx.log(
    `recorded on ${done.join(' and ')}: source ${record.cluster}, link.roleChange.generation ${record.generation}`,
  );
}
