/**
 * The role change holding both clusters (lease.ts): refused while another holds them, the lease
 * taken on every cluster that answers and let go afterwards, the source and its generation
 * recorded once made. Called by the role change (role-change.ts) with its I/O and log.
 */
import { randomBytes } from 'node:crypto';
import { type ClusterLook, fail, field, type RoleIo } from './cluster-io';
import type { RoleChangeConfig } from './contract';
import { leaseBody, liveLease, recordBody, releaseBody, sourceRecord } from './lease';

/** What the lease's steps use of the role change that runs them. */
export interface LeaseSteps {
  readonly io: RoleIo;
  log(msg: string): void;
  /** How long the fenced leader may take to come back in recovery (one of the waits a lease covers). */
  readonly recoverySeconds: number;
}

/** How long a lease holds: every wait of a role change, a rejoin's included, with room to spare. */
export const leaseSeconds = (ctx: LeaseSteps, cfg: RoleChangeConfig): number =>
  2 * cfg.catchUpTimeoutSeconds + ctx.recoverySeconds + cfg.followTimeoutSeconds + 600;

/** Refuses when another role change holds a cluster's configuration (its lease is live). */
export function refuseIfHeld(looks: readonly ClusterLook[]): void {
  const now = Date.now();
  const held = looks.map((x) => (x.reachable ? liveLease(x.config, now) : undefined)).find((l) => l !== undefined);
  if (held)
    fail(
      `REFUSED: another role change (${held.holder}, since ${held.since}) holds both clusters' configuration until ${new Date(held.until).toISOString()}: it runs from another pipeline or stopped without letting go; deploy again after it. Nothing was changed`,
    );
}

/**
 * The roles are already as the topology says: records the source and its generation on the
 * clusters that answer, when the topology has a generation they do not record yet.
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
    return (
      look.reachable && (have === undefined || have.cluster !== record.cluster || have.generation !== record.generation)
    );
  });
  for (const c of clusters) await ctx.io.patch(c, recordBody(record));
  if (clusters.length > 0)
    ctx.log(
      `recorded on ${clusters.map((c) => c.name).join(' and ')}: source ${record.cluster}, link.generation ${record.generation}`,
    );
}

/**
 * Runs `work` (a role change that changes the clusters) holding both clusters' configuration:
 * refused when another role change holds it; the lease is taken on every cluster that answers,
 * and let go afterwards, with the source and the topology's generation recorded when `work`
 * made the source (`lease.ts`).
 */
export async function holding(
  ctx: LeaseSteps,
  cfg: RoleChangeConfig,
  looks: readonly ClusterLook[],
  work: () => Promise<void>,
): Promise<void> {
  const now = Date.now();
  refuseIfHeld(looks);
  const lease = {
    holder: `${cfg.me.name}/${randomBytes(4).toString('hex')}`,
    since: new Date(now).toISOString(),
    until: now + leaseSeconds(ctx, cfg) * 1000,
  };
  const clusters = [cfg.me, cfg.other].filter((_, i) => looks[i].reachable);
  await Promise.all(clusters.map((c) => ctx.io.patch(c, leaseBody(lease))));
  ctx.log(`lease ${lease.holder} taken on ${clusters.map((c) => c.name).join(' and ')}`);
  let done = false;
  try {
    await work();
    done = true;
  } finally {
    const record =
      done && cfg.generation !== undefined ? { cluster: cfg.me.name, generation: cfg.generation } : undefined;
    for (const c of clusters) {
      try {
        await ctx.io.patch(c, releaseBody(record));
      } catch (e) {
        ctx.log(
          `WARNING: the lease on ${c.name} could not be let go (${String(field(e, 'message'))}); it runs out at ${new Date(lease.until).toISOString()}`,
        );
      }
    }
  }
}
