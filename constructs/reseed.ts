/**
 * A re-seed of the standby cluster (`link.reseed`), as planned resources of the standby's stack,
 * each replaced when the generation changes, in this order whatever is deployed:
 *   gate      (pipeline, runtime/reseed.ts): refuses, with nothing touched, unless the cluster
 *             is a standby cluster whose standby leader cannot stream from a reachable source
 *             leader; prints what the standby had; renews an invalidated link slot on the source;
 *   set-aside (each member's host): stops Patroni, sets the data directory aside (never deleted);
 *   dcs-reset (the first member's host): removes the cluster's state from its DCS;
 *   start     (each member's host): starts Patroni, which clones the source anew;
 *   wait      (pipeline): until the new standby leader streams from the source and every member
 *             from it; then the cluster's DCS patch runs again (its configuration was reset).
 * A failed step is tainted and runs again at the next deploy; the steps before it are not.
 */
import { Construct } from 'constructs';
import { TerraformResource } from 'cdktf';
import { escapeTemplate, planResource } from './patroni-node';
import { PatroniCluster } from './patroni-cluster';
import { sshConnection } from './planners/provisioners';
import { dcsResetCommand, ReseedConfig, reseedStartCommand, setAsideCommand } from './planners/reseed';
import { ResolvedNode } from './resolve';
import { shippedProgram } from './scripts';
import { PROGRAMS } from '../runtime/contract';

export interface ReseedProps {
  /** The standby cluster (re-seeded). */
  readonly cluster: PatroniCluster;
  readonly config: ReseedConfig;
  /** What must be in place first (the cluster's role change). */
  readonly after?: TerraformResource[];
}

export class Reseed extends Construct {
  readonly gate: TerraformResource;
  readonly wait: TerraformResource;

  constructor(scope: Construct, id: string, props: ReseedProps) {
    super(scope, id);
    const { cluster, config } = props;
    const resolved = cluster.resolved;
    const kind = resolved.deploy.resourceKind;
    const attr = kind === 'null_resource' ? 'triggers' : 'input';
    const generation = String(config.generation);
    const json = JSON.stringify(config);
    const program = (phase: 'gate' | 'wait', after: TerraformResource[]) =>
      planResource(
        this,
        phase,
        kind,
        { scope: resolved.scope, generation, reseed_config: escapeTemplate(json) },
        { generation },
        [
          {
            type: 'local-exec',
            command: `node "${shippedProgram(this, 'reseed')}" ${phase}`,
            environment: { [PROGRAMS.reseed.configEnv]: `\${self.${attr}.reseed_config}` },
          },
        ],
        { dependsOn: after },
      ).resource;
    const onHost = (name: string, node: ResolvedNode, command: string, after: TerraformResource[]) =>
      planResource(
        this,
        name,
        kind,
        { member: node.name, host: node.host, generation, command: escapeTemplate(command) },
        { generation },
        resolved.deploy.transport === 'local'
          ? [{ type: 'local-exec', interpreter: ['/bin/sh', '-c'], command: `\${self.${attr}.command}` }]
          : [{ type: 'remote-exec', inline: [`\${self.${attr}.command}`] }],
        {
          dependsOn: after,
          connection:
            resolved.deploy.transport === 'ssh' ? sshConnection(resolved, `\${self.${attr}.host}`, node) : undefined,
        },
      ).resource;

    // the members' files are delivered (and the role settled) before anything is stopped
    this.gate = program('gate', [...cluster.nodeResources, ...(props.after ?? [])]);
    // from the archive: nothing is stopped or cloned; the wait follows the gate's slot renewal
    if (config.from === 'archive') {
      this.wait = program('wait', [this.gate]);
      return;
    }
    const setAside = resolved.nodes.map((n) =>
      onHost(`${n.name}-set-aside`, n, setAsideCommand(resolved, n, config.generation), [this.gate]),
    );
    const first = resolved.nodes[0];
    const reset = onHost('dcs-reset', first, dcsResetCommand(resolved, first), setAside);
    const starts = resolved.nodes.map((n) => onHost(`${n.name}-start`, n, reseedStartCommand(resolved, n), [reset]));
    this.wait = program('wait', starts);
  }
}
