/**
 * The app's stacks: one per cluster, named after the cluster (its data center), each with its own
 * state, as its own data center would have. A cluster keeps its stack, its construct ids and its
 * state in either role: a switchover (`link.source` changed) only changes inputs. The promotion
 * variant is the same stacks with the link detached (same names, same paths).
 */
import { LocalBackend, TerraformOutput, TerraformResource, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { Problem, TopologyError } from '../constructs/errors';
import { PatroniCluster } from '../constructs/patroni-cluster';
import { StandbyLink } from '../constructs/standby-link';
import { CLUSTER_NAME } from '../constructs/schema';
import { Topology } from '../constructs/types';
import { BackendFor, StateBackendSpec, stateBackend } from './state-backend';

export interface StandbyStacksOptions {
  /**
   * The stack (and state) name of each cluster, from the cluster's name: for two environments,
   * `(cluster) => \`staging-${cluster}\``.
   * @default - the cluster's name (`dc1`; `primary` and `standby` in the primary:/standby: layout)
   */
  readonly stackName?: (cluster: string) => string;
  /**
   * Stack names by role. Only for the primary:/standby: layout, whose roles never change; with
   * the `clusters:` layout it is refused (after a switchover the stack named for the primary would
   * hold the other data center's members): use `stackName`.
   * @deprecated use `stackName`
   */
  readonly names?: { readonly primary: string; readonly standby: string };
  /**
   * Where each stack keeps its state and its lock: a `state:` spec (any backend of
   * STATE_BACKENDS, `{stack}` and `{cluster}` in its strings), or a function that adds any cdktf
   * backend to a stack. Each data center's stack keeps its own state.
   * @default - a local state file per stack in the project root, terraform.<stack>.tfstate
   */
  readonly backend?: StateBackendSpec | BackendFor;
  /**
   * Local state files, relative to each stack's folder in cdktf.out.
   * @deprecated use `backend: { backend: 'local', options: { path: '...{stack}...' } }`
   */
  readonly localStatePath?: (stackName: string) => string;
}

export interface StandbyStacks {
  /** Each cluster's stack, by cluster name. */
  readonly stacks: Readonly<Record<string, TerraformStack>>;
  /** Each cluster, by cluster name. */
  readonly clusters: Readonly<Record<string, PatroniCluster>>;
  readonly link: StandbyLink;
  /** The stack of the cluster that is the source now (one of `stacks`). */
  readonly primaryStack: TerraformStack;
  /** The stack of the cluster that is the standby now (one of `stacks`). */
  readonly standbyStack: TerraformStack;
  /** The cluster that is the source now. */
  readonly primary: PatroniCluster;
  /** The cluster that is the standby now. */
  readonly standby: PatroniCluster;
}

const OPTIONS = 'buildStandbyStacks options';

/** The backend function of the options: `backend`, the older `localStatePath`, or a local file per stack. */
function backendOf(options: StandbyStacksOptions): BackendFor {
  if (options.backend !== undefined && options.localStatePath !== undefined)
    throw new TopologyError(OPTIONS, [
      {
        path: 'localStatePath',
        message: 'is given together with backend',
        received: '(a function)',
        allowed: 'one of backend and localStatePath',
        fix: "drop localStatePath: backend: { backend: 'local', options: { path: '<path with {stack}>' } } sets the file",
      },
    ]);
  if (typeof options.backend === 'function') return options.backend;
  if (options.backend !== undefined) return stateBackend(options.backend, OPTIONS);
  const path = options.localStatePath;
  if (path) return (stack, names) => new LocalBackend(stack, { path: path(names.stack) });
  return stateBackend({ backend: 'local' }, OPTIONS);
}

function clusterOutputs(stack: TerraformStack, cluster: PatroniCluster, link: StandbyLink): void {
  new TerraformOutput(stack, 'scope', { value: cluster.scope });
  new TerraformOutput(stack, 'rest_endpoints', { value: cluster.restEndpoints });
  new TerraformOutput(stack, 'postgres_endpoints', { value: cluster.postgresEndpoints });
  new TerraformOutput(stack, 'role', { value: cluster === link.sourceCluster ? 'source' : 'standby' });
  new TerraformOutput(stack, 'link_source', { value: link.sourceCluster.name });
  // the link's state where the promotion happens: a promotion changes nothing in the source's stack
  if (cluster === link.standbyCluster) {
    new TerraformOutput(stack, 'link_state', { value: link.state });
    new TerraformOutput(stack, 'source_hosts', { value: link.sourceHosts });
  }
}

/** Each cluster's stack name, or every problem with the options. */
function stackNames(
  topology: Topology,
  options: StandbyStacksOptions,
  clusterNames: { primary: string; standby: string },
): { primary: string; standby: string } {
  const problems: Problem[] = [];
  if (options.names !== undefined && topology.names !== undefined) {
    const example = options.names.primary.replace(new RegExp(`${clusterNames.primary}$`), '');
    problems.push({
      path: `${OPTIONS}.names`,
      message: `keys the stacks by role, but the clusters: layout changes roles: after a switchover the stack "${options.names.primary}" would hold ${clusterNames.standby}'s members, and the plan would destroy and re-create every member of both stacks`,
      received: options.names,
      allowed: 'stackName: (cluster) => string, which names each stack after its cluster',
      fix: `replace names with stackName: (cluster) => \`${example || 'env-'}\${cluster}\``,
    });
  }
  if (options.names !== undefined && options.stackName !== undefined) {
    problems.push({
      path: `${OPTIONS}.names`,
      message: 'is given with stackName',
      received: options.names,
      allowed: 'one of names and stackName',
      fix: 'keep stackName alone',
    });
  }
  if (problems.length > 0) throw new TopologyError(OPTIONS, problems);
  if (options.names !== undefined) return options.names;
  const named = {
    primary: options.stackName?.(clusterNames.primary) ?? clusterNames.primary,
    standby: options.stackName?.(clusterNames.standby) ?? clusterNames.standby,
  };
  for (const [role, name] of Object.entries(named) as [keyof typeof named, string][]) {
    if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) {
      problems.push({
        path: `${OPTIONS}.stackName`,
        message: `gives cluster ${clusterNames[role]} a name that cannot name a stack and its state`,
        received: name,
        allowed: 'letters, digits, - and _, starting with a letter',
        fix: 'return e.g. `staging-${cluster}`',
      });
    }
  }
  if (problems.length === 0 && named.primary === named.standby) {
    problems.push({
      path: `${OPTIONS}.stackName`,
      message: 'gives both clusters the same stack',
      received: named.primary,
      allowed: 'a stack of its own for each cluster',
      fix: 'include the cluster in the name, e.g. `staging-${cluster}`',
    });
  }
  if (problems.length > 0) throw new TopologyError(OPTIONS, problems);
  return named;
}

/**
 * Until 0.2 the link's own steps lived under the link, in the standby's stack (`link/source-slots`,
 * `link/promotion/detach`, `link/reseed/*`); they are now in the cluster. `moved` blocks carry a
 * state of that version over, so that its plan shows moves, not a destroy and a create (a new
 * re-seed gate would run). A moved block whose old address is not in the state changes nothing.
 */
function movedFromLinkPaths(stack: TerraformStack, cluster: PatroniCluster): void {
  for (const resource of cluster.node.findAll()) {
    if (!(resource instanceof TerraformResource)) continue;
    const path = resource.node.scopes.slice(resource.node.scopes.indexOf(cluster) + 1).map((c) => c.node.id);
    const id = path[0];
    if (id !== 'link-slots' && id !== 'promotion' && id !== 'reseed') continue;
    const old = ['link', id === 'link-slots' ? 'source-slots' : id, ...path.slice(1)];
    resource.moveFromId(`${resource.terraformResourceType}.${logicalIdAt(stack, old)}`);
  }
}

/** The logical id cdktf gives a resource at `path` under the stack (a probe branch, removed at once). */
function logicalIdAt(stack: TerraformStack, path: readonly string[]): string {
  let scope: Construct = stack;
  const added: [Construct, string][] = [];
  for (const id of path) {
    const child = scope.node.tryFindChild(id) as Construct | undefined;
    if (child) {
      scope = child;
      continue;
    }
    added.push([scope, id]);
    scope = new Construct(scope, id);
  }
  const logicalId = stack.getLogicalId(scope.node);
  for (const [parent, id] of added.reverse()) parent.node.tryRemoveChild(id);
  return logicalId;
}

export function buildStandbyStacks(
  app: Construct,
  topology: Topology,
  options: StandbyStacksOptions = {},
): StandbyStacks {
  // the clusters' own names: their data centers (clusters: layout), or primary and standby
  const clusterNames = topology.names ?? { primary: 'primary', standby: 'standby' };
  for (const name of [clusterNames.primary, clusterNames.standby]) {
    if (!CLUSTER_NAME.test(name))
      throw new TopologyError(OPTIONS, [
        {
          path: 'clusters',
          message:
            'a cluster name is lower-case letters, digits and -, starting with a letter (it names a stack and a state file)',
          received: name,
          allowed: 'e.g. dc1, fra-1, berlin',
          fix: 'rename the cluster (and link.source)',
        },
      ]);
  }
  const names = stackNames(topology, options, clusterNames);
  const backendFor = backendOf(options);

  // the stacks in a fixed order (the clusters' names), whatever the roles
  const stackOf = (name: string, cluster: string): TerraformStack => {
    const stack = new TerraformStack(app, name);
    backendFor(stack, { cluster, stack: name });
    return stack;
  };
  const order = topology.names
    ? [clusterNames.primary, clusterNames.standby].sort()
    : [clusterNames.primary, clusterNames.standby];
  const stacks: Record<string, TerraformStack> = {};
  const clusters: Record<string, PatroniCluster> = {};
  for (const cluster of order) {
    const role = cluster === clusterNames.primary ? 'primary' : 'standby';
    stacks[cluster] = stackOf(names[role], cluster);
    clusters[cluster] = new PatroniCluster(stacks[cluster], 'cluster', { name: cluster, ...topology[role] });
  }
  const primary = clusters[clusterNames.primary];
  const standby = clusters[clusterNames.standby];
  // problems name the topology's own paths
  const problemPaths = topology.names
    ? { primary: `clusters.${clusterNames.primary}`, standby: `clusters.${clusterNames.standby}`, link: 'link' }
    : { primary: 'primary', standby: 'standby', link: 'link' };
  // the link holds no resource: it sits in the standby's stack, where its warnings are printed
  const link = new StandbyLink(stacks[clusterNames.standby], 'link', {
    clusters: [primary, standby],
    source: primary,
    problemPaths,
    ...topology.link,
  });
  for (const cluster of order) clusterOutputs(stacks[cluster], clusters[cluster], link);
  for (const cluster of order) movedFromLinkPaths(stacks[cluster], clusters[cluster]);

  return {
    stacks,
    clusters,
    link,
    primaryStack: stacks[clusterNames.primary],
    standbyStack: stacks[clusterNames.standby],
    primary,
    standby,
  };
}
