/**
 * A cluster's dynamic configuration (what lives in its DCS): rendered once into every node's
 * bootstrap.dcs, and sent to the running cluster as a `PATCH /config` body.
 */
import { ResolvedCluster } from '../resolve';
import { clusterPgHba } from './pg-hba';
import { backupParameters } from './pgbackrest';

/** What a standby link adds to one cluster's dynamic configuration. */
export interface LinkContribution {
  /** pg_hba lines the cluster must add (the primary admits every standby node). */
  readonly pgHbaLines?: readonly string[];
  /** PostgreSQL parameters the link needs; the cluster's own parameters take precedence. */
  readonly parameters?: Readonly<Record<string, string | number | boolean>>;
  /** Permanent slots to keep (`{type: physical}`), or to drop (`null`). */
  readonly slots?: Readonly<Record<string, Readonly<Record<string, string>> | null>>;
  /**
   * The standby_cluster block; `null` detaches (promotion), undefined leaves the key alone.
   */
  readonly standbyCluster?: Readonly<Record<string, unknown>> | null;
}

export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

export function sortedRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key];
  return out;
}

function mergedSlots(cluster: ResolvedCluster, contributions: readonly LinkContribution[]) {
  const slots: Record<string, Readonly<Record<string, string>> | null> = { ...cluster.patroni.permanentSlots };
  for (const c of contributions) Object.assign(slots, c.slots ?? {});
  return sortedRecord(slots);
}

function standbyBlock(contributions: readonly LinkContribution[]) {
  const withBlock = contributions.filter((c) => c.standbyCluster !== undefined);
  return withBlock.length === 0 ? undefined : withBlock[withBlock.length - 1].standbyCluster;
}

/**
 * The dynamic configuration for bootstrap.dcs of a node. Dropped slots and a detached link
 * are simply absent here: bootstrap.dcs only describes how a fresh cluster starts.
 */
export function bootstrapDcs(cluster: ResolvedCluster, contributions: readonly LinkContribution[]): JsonObject {
  const p = cluster.patroni;
  const out: JsonObject = {
    ttl: p.ttl,
    loop_wait: p.loopWait,
    retry_timeout: p.retryTimeout,
    maximum_lag_on_failover: p.maximumLagOnFailover,
  };
  Object.assign(out, sortedRecord(cluster.patroni.dynamic));
  const block = standbyBlock(contributions);
  if (block) out.standby_cluster = withoutNulls(block as JsonObject);
  out.postgresql = postgresqlSection(cluster, contributions);
  const slots = Object.entries(mergedSlots(cluster, contributions)).filter(([, v]) => v !== null);
  if (slots.length > 0) out.slots = Object.fromEntries(slots) as JsonObject;
  return out;
}

function postgresqlSection(cluster: ResolvedCluster, contributions: readonly LinkContribution[]): JsonObject {
  const extra = contributions.flatMap((c) => c.pgHbaLines ?? []);
  return {
    use_pg_rewind: cluster.patroni.usePgRewind,
    use_slots: cluster.patroni.useSlots,
    parameters: sortedRecord(
      Object.assign(
        {},
        ...contributions.map((c) => c.parameters ?? {}),
        backupParameters(cluster),
        cluster.postgresql.parameters,
      ),
    ),
    pg_hba: clusterPgHba(cluster, extra),
    pg_ident: [...cluster.postgresql.pgIdent],
  };
}

/**
 * The `PATCH /config` body for a running cluster: the desired state. Managed clusters get their
 * whole dynamic configuration; existing clusters only what the project writes (the link's pg_hba,
 * slots and standby_cluster, and `patroni.dynamic`). What the topology removed is not in the body:
 * the patch step computes the nulls against the running configuration
 * (runtime/apply-config-patch.ts), so a removed key leaves the cluster.
 */
export function configPatch(cluster: ResolvedCluster, contributions: readonly LinkContribution[]): JsonObject {
  const patch: JsonObject = {};
  if (cluster.mode === 'managed') {
    const p = cluster.patroni;
    Object.assign(patch, {
      ttl: p.ttl,
      loop_wait: p.loopWait,
      retry_timeout: p.retryTimeout,
      maximum_lag_on_failover: p.maximumLagOnFailover,
    });
  }
  Object.assign(patch, sortedRecord(cluster.patroni.dynamic));
  const block = standbyBlock(contributions);
  if (block !== undefined) patch.standby_cluster = block as JsonObject | null;
  if (cluster.mode === 'managed') {
    patch.postgresql = postgresqlSection(cluster, contributions);
  } else {
    const extra = contributions.flatMap((c) => c.pgHbaLines ?? []);
    if (extra.length > 0) patch.postgresql = { pg_hba: clusterPgHba(cluster, extra) };
  }
  const slots = mergedSlots(cluster, contributions);
  if (Object.keys(slots).length > 0) patch.slots = slots as JsonObject;
  return patch;
}

function withoutNulls(obj: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== null && v !== undefined)) as JsonObject;
}
