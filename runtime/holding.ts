/**
 * The role change holding both clusters (lease.ts): refused while another stack's role change holds
 * them; the lease taken on both and read back, and let go afterwards (only if it is still this
 * run's); the source and its generation recorded as soon as the roles have changed. A lease left by
 * a killed run of the same stack is taken over when that stack deploys again (Terraform's lock of
 * the stack lets one apply run it at a time); another stack waits for it or for its end. The lease
 * is written twice only, at the start and the end: a PATCH of the configuration while Patroni 3.0
 * rewinds a demoted member can cancel its rewind check. Called by the role change (role-change.ts)
 * with its I/O and log.
 */
import { randomBytes } from 'node:crypto';
import { type ClusterLook, fail, field, type RoleIo } from './cluster-io';
import type { Lease, RoleChangeCluster, RoleChangeConfig } from './contract';
import { leaseBody, liveLease, recordBody, releaseBody, sourceRecord } from './lease';

/** What the lease's steps use of the role change that runs them. */
export interface LeaseSteps {
  readonly io: RoleIo;
  log(msg: string): void;
  /** How long the fenced leader may take to come back in recovery (one of the waits a lease covers). */
  readonly recoverySeconds: number;
}

/**
 * How long a lease holds: every wait of a role change, a rejoin's included (up to five
 * switchovers inside the other cluster, each with its waits), with room to spare.
 */
export const leaseSeconds = (ctx: LeaseSteps, cfg: RoleChangeConfig): number =>
  2 * cfg.catchUpTimeoutSeconds + ctx.recoverySeconds + 2 * cfg.followTimeoutSeconds + 1200;

const refusal = (held: Lease): string =>
  `REFUSED: another role change (${held.holder}, since ${held.since}) holds both clusters' configuration until ${new Date(held.until).toISOString()}: it runs from ${held.holder.split('/')[0]}'s stack in another pipeline (one a killed run left is taken over when that stack deploys again); deploy again after it. Nothing was changed`;

/**
 * Refuses when a role change other than `mine` holds a cluster's configuration (its lease is
 * live), unless it is a lease of this run's own stack (`runsIn`): a run that stopped without
 * letting go, taken over (logged).
 */
export function refuseIfHeld(ctx: LeaseSteps, looks: readonly ClusterLook[], runsIn: string, mine?: string): void {
  const now = Date.now();
  for (const x of looks) {
    const held = x.reachable ? liveLease(x.config, now) : undefined;
    if (!held || held.holder === mine) continue;
    if (mine === undefined && held.holder.startsWith(`${runsIn}/`)) {
      ctx.log(`the lease ${held.holder} of a run of this stack that stopped without letting go: taken over`);
      continue;
    }
    fail(refusal(held));
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
  refuseIfHeld(ctx, looks, runsIn);
  const since = Date.now();
  const holder = `${runsIn}/${randomBytes(4).toString('hex')}`;
  const lease: Lease = {
    holder,
    since: new Date(since).toISOString(),
    until: since + leaseSeconds(ctx, cfg) * 1000,
  };
  const clusters = [cfg.me, cfg.other].filter((_, i) => looks[i].reachable);
  const taken: RoleChangeCluster[] = [];
  try {
    const results = await Promise.allSettled(clusters.map((c) => ctx.io.patch(c, leaseBody(lease))));
    results.forEach((r, i) => r.status === 'fulfilled' && taken.push(clusters[i]));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0)
      fail(
        `REFUSED: the lease could not be taken on ${clusters[failed].name} (${String(field((results[failed] as PromiseRejectedResult).reason, 'message'))}); nothing was changed`,
      );
    // another role change that took its lease at the same moment: the later writer's lease shows
    refuseIfHeld(ctx, await Promise.all(taken.map((c) => ctx.io.look(c))), runsIn, holder);
    ctx.log(`lease ${holder} taken on ${taken.map((c) => c.name).join(' and ')}`);
    await work(() => recordMade(ctx, cfg, taken));
  } finally {
    for (const c of taken) {
      try {
        // let go only of this run's own lease: one that ran out may be another's by now
        const look = await ctx.io.look(c);
        const now = look.reachable ? liveLease(look.config, Date.now()) : undefined;
        if (now && now.holder !== holder) continue;
        await ctx.io.patch(c, releaseBody());
      } catch (e) {
        ctx.log(
          `WARNING: the lease on ${c.name} could not be let go (${String(field(e, 'message'))}); it runs out at ${new Date(lease.until).toISOString()}, or this stack's next deploy takes it over`,
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
