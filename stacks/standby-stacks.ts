/**
 * The app's stacks: one per cluster, each with its own state, as its own data center would have.
 * The promotion variant is the same stacks with the link detached (same names, same paths).
 */
import { LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { PrimaryPatroniCluster, StandbyPatroniCluster } from '../constructs/patroni-cluster';
import { StandbyLink } from '../constructs/standby-link';
import { Topology } from '../constructs/types';

export interface StandbyStacksOptions {
  /** Stack names. @default the topology's names (the `clusters:` layout), else {primary: 'primary', standby: 'standby'} */
  readonly names?: { readonly primary: string; readonly standby: string };
  /** Local state files, relative to each stack's folder in cdktf.out. @default project root: terraform.<stack>.tfstate */
  readonly localStatePath?: (stackName: string) => string;
}

export interface StandbyStacks {
  readonly primaryStack: TerraformStack;
  readonly standbyStack: TerraformStack;
  readonly primary: PrimaryPatroniCluster;
  readonly standby: StandbyPatroniCluster;
  readonly link: StandbyLink;
}

function clusterOutputs(stack: TerraformStack, cluster: PrimaryPatroniCluster | StandbyPatroniCluster): void {
  new TerraformOutput(stack, 'scope', { value: cluster.scope });
  new TerraformOutput(stack, 'rest_endpoints', { value: cluster.restEndpoints });
  new TerraformOutput(stack, 'postgres_endpoints', { value: cluster.postgresEndpoints });
}

export function buildStandbyStacks(app: Construct, topology: Topology, options: StandbyStacksOptions = {}): StandbyStacks {
  const names = options.names ?? topology.names ?? { primary: 'primary', standby: 'standby' };
  const statePath = options.localStatePath ?? ((name: string) => `../../../terraform.${name}.tfstate`);

  const primaryStack = new TerraformStack(app, names.primary);
  new LocalBackend(primaryStack, { path: statePath(names.primary) });
  const primary = new PrimaryPatroniCluster(primaryStack, 'cluster', topology.primary);
  clusterOutputs(primaryStack, primary);

  const standbyStack = new TerraformStack(app, names.standby);
  new LocalBackend(standbyStack, { path: statePath(names.standby) });
  const standby = new StandbyPatroniCluster(standbyStack, 'cluster', topology.standby);
  // problems name the topology's own paths
  const problemPaths = topology.names
    ? { primary: `clusters.${topology.names.primary}`, standby: `clusters.${topology.names.standby}`, link: 'link' }
    : { primary: 'primary', standby: 'standby', link: 'link' };
  const link = new StandbyLink(standbyStack, 'link', { primary, standby, names, problemPaths, ...topology.link });
  clusterOutputs(standbyStack, standby);
  new TerraformOutput(standbyStack, 'link_state', { value: link.state });
  new TerraformOutput(standbyStack, 'source_hosts', { value: link.sourceHosts });

  return { primaryStack, standbyStack, primary, standby, link };
}
