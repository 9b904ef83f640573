/**
 * A cluster's role change: one planned resource per cluster whose input is the role the topology
 * gives it (`source` or `standby`), the link's state and the configuration of
 * runtime/role-change.ts. It is replaced when the role changes (on the standby also when the
 * state changes), so the new source's step runs the switchover (or the rejoin), and a promoted
 * standby's step rejoins it when its detached link follows again
 * against both clusters' REST APIs, gate and fence included, right before the cluster's members
 * and patch; the new standby's step only says who runs it. Both clusters keep their step in their
 * own stack in either role, so a role change moves no resource between states.
 */
import { Construct } from 'constructs';
import { TerraformResource } from 'cdktf';
import { escapeTemplate, planResource } from './patroni-node';
import { PatroniCluster } from './patroni-cluster';
import { PROGRAMS, RoleChangeConfig } from '../runtime/contract';
import { shippedProgram } from './scripts';

export interface RoleChangeProps {
  readonly cluster: PatroniCluster;
  readonly config: RoleChangeConfig;
}

export class RoleChange extends Construct {
  readonly resource: TerraformResource;

  constructor(scope: Construct, id: string, props: RoleChangeProps) {
    super(scope, id);
    const { cluster, config } = props;
    const kind = cluster.resolved.deploy.resourceKind;
    const attr = kind === 'null_resource' ? 'triggers' : 'input';
    const json = JSON.stringify(config);
    const { resource } = planResource(
      this,
      'apply',
      kind,
      {
        scope: cluster.resolved.scope,
        role: config.role,
        ...(config.state ? { link_state: config.state } : {}),
        role_config: escapeTemplate(json),
      },
      // only the role replaces it (a switchover runs when the source changes, not on every edit),
      // and on the standby the link's state too: when a detached link follows again, the promoted
      // cluster's own step rejoins it (the source's stack does not change for a promotion)
      config.state ? { role: config.role, link_state: config.state } : { role: config.role },
      [
        {
          type: 'local-exec',
          command: `node "${shippedProgram(this, 'roleChange')}"`,
          environment: { [PROGRAMS.roleChange.configEnv]: `\${self.${attr}.role_config}` },
        },
      ],
    );
    this.resource = resource;
  }
}
