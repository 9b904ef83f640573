/**
 * Validation entry points, shared by the topology file and the constructs so that both report
 * the same problems in the same words.
 */
import { z } from 'zod';
import { Problem, TopologyError, zodProblems } from './errors';
import { checkRules } from './rules';
import { resolveCluster, resolveLink } from './resolve';
import { allowedKeysAt, clusterSchema, linkSchema, topologySchema } from './schema';
import { ClusterSpec, LinkSpec, Topology } from './types';

function schemaProblems<T>(schema: z.ZodType<T>, input: unknown, prefix: readonly PropertyKey[]): { value?: T; problems: Problem[] } {
  const result = schema.safeParse(input);
  if (result.success) return { value: result.data, problems: [] };
  return { problems: zodProblems(result.error, input, (path) => allowedKeysAt(schema, input, path), prefix) };
}

/** Schema check of one cluster's props; throws one TopologyError naming `where`. */
export function validateClusterSpec(spec: unknown, where: string): ClusterSpec {
  const { value, problems } = schemaProblems(clusterSchema, spec, [where]);
  if (problems.length > 0 || value === undefined) throw new TopologyError(where, problems);
  return value;
}

export function validateLinkSpec(spec: unknown, where: string): LinkSpec {
  const { value, problems } = schemaProblems(linkSchema, spec, [where]);
  if (problems.length > 0 || value === undefined) throw new TopologyError(where, problems);
  return value;
}

/** Cross-object rules; returns the warnings, throws every error at once. */
export function checkLink(
  primary: ClusterSpec,
  standby: ClusterSpec,
  link: LinkSpec,
  where: { primary: string; standby: string; link: string },
  source: string,
): Problem[] {
  const p = resolveCluster(primary);
  const { errors, warnings } = checkRules({ primary: p, standby: resolveCluster(standby), link: resolveLink(link, p), where });
  if (errors.length > 0) throw new TopologyError(source, errors);
  return warnings;
}

/**
 * Validates a parsed topology document: the strict schema first, then the rules table.
 * `source` names the input in the message (the file path).
 */
export function validateTopology(input: unknown, source: string): { topology: Topology; warnings: Problem[] } {
  const { value, problems } = schemaProblems(topologySchema, input, []);
  if (problems.length > 0 || value === undefined) throw new TopologyError(source, problems);
  const warnings = checkLink(value.primary, value.standby, value.link, { primary: 'primary', standby: 'standby', link: 'link' }, source);
  return { topology: value, warnings };
}
