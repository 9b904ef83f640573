/**
 * The role change's lease and its record of the source, both kept under MARKER in each cluster's
 * own dynamic configuration (Patroni keeps that key and ignores it). Terraform locks each data
 * center's state alone, but a role change changes both clusters from one stack: while it runs, it
 * holds both clusters' configuration, and the patch program of any stack waits until it lets go
 * (or its lease runs out: a role change that was killed holds nothing for long). When it has
 * made a source, it records the source and the topology's generation (link.roleChange.generation), so that a
 * pipeline with an older topology is refused instead of undoing it. Pure: the readers of a
 * configuration and the bodies that write one; the role change's steps with them are holding.ts.
 */
import {
  LEASE_KEY,
  type Lease,
  leaseSchema,
  MARKER,
  SOURCE_KEY,
  type SourceRecord,
  sourceRecordSchema,
} from './contract';

type Config = Readonly<Record<string, unknown>> | undefined;

/** The marker's fields (none when it is no object; an array has no field of these names either). */
const markerOf = (config: Config): Readonly<Record<string, unknown>> => {
  const m = config?.[MARKER];
  return typeof m === 'object' && m !== null ? (m as Readonly<Record<string, unknown>>) : {};
};

/** The lease a configuration shows, live at `now`; undefined when there is none or it ran out. */
export function liveLease(config: Config, now: number): Lease | undefined {
  const parsed = leaseSchema.safeParse(markerOf(config)[LEASE_KEY]);
  return parsed.success && parsed.data.until > now ? parsed.data : undefined;
}

/** The source and generation a configuration records; undefined when none (or not readable). */
export function sourceRecord(config: Config): SourceRecord | undefined {
  const parsed = sourceRecordSchema.safeParse(markerOf(config)[SOURCE_KEY]);
  return parsed.success ? parsed.data : undefined;
}

/** The body that takes (or renews) the lease. */
export const leaseBody = (lease: Lease): Record<string, unknown> => ({ [MARKER]: { [LEASE_KEY]: lease } });

/** The body that lets the lease go. */
export const releaseBody = (): Record<string, unknown> => ({ [MARKER]: { [LEASE_KEY]: null } });

/** The body that records the source a role change made. */
export const recordBody = (record: SourceRecord): Record<string, unknown> => ({ [MARKER]: { [SOURCE_KEY]: record } });

/** The newest of the records the clusters show (the higher generation; undefined when none shows one). */
export function newestRecord(configs: readonly Config[]): SourceRecord | undefined {
  return configs
    .map(sourceRecord)
    .filter((r): r is SourceRecord => r !== undefined)
    .reduce<SourceRecord | undefined>((a, b) => (a === undefined || b.generation > a.generation ? b : a), undefined);
}

/**
 * Why a role change of `generation` that makes `source` the source (or, `role: 'standby'`, keeps
 * `me` a standby) must not run, given the newest record; undefined when it may. Nothing is
 * checked while the clusters record no generation; once they do, a topology needs one.
 */
export function staleBecause(
  record: SourceRecord | undefined,
  topology: { readonly source: string; readonly generation?: number },
): string | undefined {
  const g = topology.generation;
  if (record === undefined) return undefined;
  if (g === undefined)
    return `the clusters record link.roleChange.generation ${record.generation} (source ${record.cluster}), this topology has none: an older commit, or the generation removed. Deploy the current topology, or set link.roleChange.generation to ${record.cluster === topology.source ? record.generation : record.generation + 1}. Nothing was changed`;
  if (record.generation > g)
    return `this topology is older than the clusters: they record link.roleChange.generation ${record.generation} (source ${record.cluster}), this one has ${g} (source ${topology.source}). A pipeline of an older commit must not undo a newer role change: deploy the current topology. Nothing was changed`;
  if (record.generation === g && record.cluster !== topology.source)
    return `link.source is ${topology.source} but link.roleChange.generation stays at ${g}, which the clusters record for source ${record.cluster}: raise it to ${g + 1} with every change of link.source, then deploy again. Nothing was changed`;
  return undefined;
}
