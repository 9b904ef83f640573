/**
 * Validation entry points, shared by the topology file and the constructs so that both report
 * the same problems in the same words.
 */
import { z } from 'zod';
import { closest, Problem, TopologyError, zodProblems } from './errors';
import { checkRules, WARNING_IDS } from './rules';
import { resolveCluster, resolveLink } from './resolve';
import {
  Across,
  allowedKeysAt,
  CLUSTER_NAME,
  clusterSchema,
  dataCenterLayoutSchema,
  linkSchema,
  topologySchema,
} from './schema';
import { ClusterSpec, LinkSpec, Topology } from './types';

function schemaProblems<T>(
  schema: z.ZodType<T>,
  input: unknown,
  prefix: readonly PropertyKey[],
  across?: Across,
): { value?: T; problems: Problem[] } {
  const result = schema.safeParse(input);
  if (result.success) return { value: result.data, problems: [] };
  return {
    problems: zodProblems(result.error, input, (path) => allowedKeysAt(schema, input, path, across), prefix).map(
      acknowledgementProblem,
    ),
  };
}

/** What an acknowledgement looks like, with the id it names. */
const acknowledgement = (id: string) => `{ id: ${id}, reason: <why this risk is accepted> }`;

/** An acknowledgement written as its id alone (`[no-wal-retention]`): the mapping it should be. */
function acknowledgementProblem(p: Problem): Problem {
  if (!/(^|\.)acknowledgeWarnings\[\d+\]$/.test(p.path) || !p.message.startsWith('must be a mapping')) return p;
  const written = typeof p.received === 'string' ? p.received.trim() : '';
  const id = WARNING_IDS.includes(written)
    ? written
    : (closest(written, WARNING_IDS) ?? (written || '<the id the warning prints in brackets>'));
  return { ...p, allowed: `a mapping: ${acknowledgement("<a warning's id>")}`, fix: `write ${acknowledgement(id)}` };
}

/** The link's keys in a cluster, a cluster's keys under the link: where each is in the primary:/standby: layout. */
const LEGACY_ACROSS: Across = new Map<z.ZodType, { schema: z.ZodType; at: PropertyKey[] }[]>([
  [clusterSchema, [{ schema: linkSchema, at: ['link'] }]],
  [
    linkSchema,
    [
      { schema: clusterSchema, at: ['primary'] },
      { schema: clusterSchema, at: ['standby'] },
    ],
  ],
]);

/** The link of the clusters: layout, with its `source`, as a place a misplaced key may belong. */
const layoutLinkSchema = linkSchema.extend({ source: z.string() });

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
  names: { primary: string; standby: string } = { primary: 'primary', standby: 'standby' },
): Problem[] {
  const p = resolveCluster(primary);
  const s = resolveCluster(standby);
  const acknowledged = link.acknowledgeWarnings ?? [];
  const { errors, warnings } = checkRules(
    { primary: p, standby: s, link: resolveLink(link, p, s), where, names },
    acknowledged.map((a) => a.id),
  );
  errors.push(...reseedProblems(link, standby, names, where.link));
  acknowledged.forEach((a, i) => {
    if (!WARNING_IDS.includes(a.id)) {
      const meant = closest(a.id, WARNING_IDS);
      errors.push({
        path: `${where.link}.acknowledgeWarnings[${i}].id`,
        message: `is not the id of a warning${meant ? `: did you mean ${meant}?` : ''}`,
        received: a.id,
        allowed: `one of ${WARNING_IDS.join(', ')}`,
        fix: meant
          ? `write id: ${meant}, or remove this entry`
          : 'copy the id a warning prints in brackets, or remove this entry',
      });
    }
  });
  if (errors.length > 0) throw new TopologyError(source, errors);
  return warnings.filter((w) => !acknowledged.some((a) => a.id === w.id));
}

/**
 * Validates a parsed topology document: the strict schema first, then the rules table.
 * `source` names the input in the message (the file path).
 */
export function validateTopology(input: unknown, source: string): { topology: Topology; warnings: Problem[] } {
  if (typeof input === 'object' && input !== null && 'clusters' in input)
    return validateDataCenterLayout(input, source);
  const { value, problems } = schemaProblems(topologySchema, input, [], LEGACY_ACROSS);
  if (problems.length > 0 || value === undefined) throw new TopologyError(source, problems);
  const warnings = checkLink(
    value.primary,
    value.standby,
    value.link,
    { primary: 'primary', standby: 'standby', link: 'link' },
    source,
  );
  return { topology: value, warnings };
}

/**
 * The `clusters:` layout: two clusters by name and `link.source`. Each cluster and the link are
 * checked with their own paths (`clusters.dc1.nodes[0].host`); the result is the same model, with
 * the names of the source and the standby.
 */
function validateDataCenterLayout(input: unknown, source: string): { topology: Topology; warnings: Problem[] } {
  const layout = schemaProblems(dataCenterLayoutSchema, input, []);
  if (layout.problems.length > 0 || layout.value === undefined)
    throw new TopologyError(
      source,
      layout.problems.map((p) => layoutProblem(p, input)),
    );
  const { clusters, link } = layout.value;
  const names = Object.keys(clusters);
  const problems: Problem[] = [];
  for (const name of names.filter((n) => !CLUSTER_NAME.test(n))) {
    const valid = validClusterName(name, names);
    const fix = !valid
      ? 'rename the cluster (and link.source)'
      : link.source === name
        ? `rename the cluster to ${valid}, and set link.source: ${valid}`
        : `rename the cluster to ${valid}`;
    problems.push({
      path: `clusters.${name}`,
      message:
        'a cluster name is lower-case letters, digits and -, starting with a letter (it names a stack and a state file)',
      received: name,
      allowed: 'e.g. dc1, fra-1, berlin',
      fix,
    });
  }
  if (problems.length > 0) throw new TopologyError(source, problems);
  if (names.length !== 2) {
    problems.push({
      path: 'clusters',
      message: `has ${names.length} cluster(s): the layout is one source and its standby`,
      received: names,
      allowed: 'exactly two clusters, named after their data centers',
      fix: 'keep the two clusters of the link, e.g. clusters: {dc1: ..., dc2: ...}',
    });
    throw new TopologyError(source, problems);
  }
  if (!names.includes(link.source)) {
    problems.push({
      path: 'link.source',
      message: 'names no cluster of clusters:',
      received: link.source,
      allowed: names.join(' or '),
      fix: `set link.source to the cluster that is (or becomes) the primary, e.g. ${names[0]}`,
    });
    throw new TopologyError(source, problems);
  }
  const standbyName = names.find((n) => n !== link.source)!;
  const { source: _source, ...linkSpec } = link;
  // a key of the link in a cluster, or a cluster's key under link:, is pointed across
  const across: Across = new Map<z.ZodType, { schema: z.ZodType; at: PropertyKey[] }[]>([
    [clusterSchema, [{ schema: layoutLinkSchema, at: ['link'] }]],
    [
      linkSchema,
      [
        { schema: clusterSchema, at: ['clusters', link.source] },
        { schema: clusterSchema, at: ['clusters', standbyName] },
      ],
    ],
  ]);
  const primary = schemaProblems(clusterSchema, clusters[link.source], ['clusters', link.source], across);
  const standby = schemaProblems(clusterSchema, clusters[standbyName], ['clusters', standbyName], across);
  const linked = schemaProblems(linkSchema, linkSpec, ['link'], across);
  problems.push(...primary.problems, ...standby.problems, ...linked.problems);
  if (problems.length > 0 || !primary.value || !standby.value || !linked.value)
    throw new TopologyError(source, problems);
  const where = { primary: `clusters.${link.source}`, standby: `clusters.${standbyName}`, link: 'link' };
  const warnings = checkLink(primary.value, standby.value, linked.value, where, source, {
    primary: link.source,
    standby: standbyName,
  });
  return {
    topology: {
      primary: primary.value,
      standby: standby.value,
      link: linked.value,
      names: { primary: link.source, standby: standbyName },
    },
    warnings,
  };
}

/**
 * The cluster name that `name` most likely means (`Ber` -> `ber`, `DC_1` -> `dc-1`): lower case,
 * other characters as `-`; undefined when that is still no valid name, or another cluster's.
 */
function validClusterName(name: string, names: readonly string[]): string | undefined {
  const valid = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return CLUSTER_NAME.test(valid) && !names.includes(valid) ? valid : undefined;
}

/**
 * A problem of the clusters: layout itself, with the fix in the topology's own names: a missing
 * `link:` as the skeleton to add, a missing `link.source` as one of the clusters.
 */
function layoutProblem(p: Problem, input: unknown): Problem {
  const clusters = (input as { clusters?: unknown }).clusters;
  const names =
    clusters !== null && typeof clusters === 'object' && !Array.isArray(clusters) ? Object.keys(clusters) : [];
  const choice = names.length > 0 ? names.join(' or ') : 'a cluster of clusters:';
  const first = names[0] ?? '<the cluster that is the primary now>';
  if (p.path === 'link' && (p.received === undefined || p.received === null)) {
    return {
      ...p,
      allowed: `a mapping: source (${choice}) and the link's settings`,
      fix: `add link: { source: ${first}, slotName: <name>, monitoring: { user: monitor, addresses: [<the pipeline's address>] } }`,
    };
  }
  if (p.path === 'link.source' && p.received === undefined) {
    return {
      ...p,
      allowed: choice,
      fix: `add link.source: ${names[0] ?? '<cluster>'} (the cluster that is the primary now)`,
    };
  }
  return p;
}

/** A re-seed names the link's standby cluster, which follows and whose members the stacks deploy. */
function reseedProblems(
  link: LinkSpec,
  standby: ClusterSpec,
  names: { primary: string; standby: string },
  linkPath: string,
): Problem[] {
  const reseed = link.reseed;
  if (!reseed) return [];
  const path = `${linkPath}.reseed.cluster`;
  if (reseed.cluster === names.primary) {
    return [
      {
        path,
        message: "is the source of the link: a re-seed throws a cluster's data away and clones it from the source",
        received: reseed.cluster,
        allowed: `the standby cluster, ${names.standby}`,
        fix: `remove link.reseed (it re-seeded ${reseed.cluster} while it was the standby), or name ${names.standby}`,
      },
    ];
  }
  if (reseed.cluster !== names.standby) {
    return [
      {
        path,
        message: 'is not the standby cluster of this link',
        received: reseed.cluster,
        allowed: names.standby,
        fix: `set link.reseed.cluster: ${names.standby}`,
      },
    ];
  }
  if ((link.state ?? 'following') === 'detached') {
    return [
      {
        path: `${linkPath}.reseed`,
        message: `re-seeds ${reseed.cluster}, which the detached link promotes: its own writes would be thrown away`,
        received: `state: detached, reseed.generation: ${reseed.generation}`,
        allowed: 'a re-seed while the link follows',
        fix: 'remove link.reseed, or set link.state: following',
      },
    ];
  }
  if (standby.mode === 'existing') {
    return [
      {
        path,
        message: 'is a cluster of mode existing: the stacks do not run its members, so they cannot stop and clone them',
        received: reseed.cluster,
        allowed: 'a managed standby cluster',
        fix: 're-seed it with its own tooling, and remove link.reseed',
      },
    ];
  }
  return [];
}
