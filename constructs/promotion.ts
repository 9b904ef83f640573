/**
 * What the promotion variant (a detached link) changes in the standby stack:
 *  - the gate (scripts/link-health.cjs) runs first in the provisioner of the standby cluster's
 *    detach patch: a refusal fails the patch with nothing sent, and every attempt of the detach,
 *    a retry an hour later included, runs the gate again right before it;
 *  - the standby members' files (which only lose the standby_cluster block of bootstrap.dcs) are
 *    written, and Patroni reloaded, after the detach: a refused gate leaves every file as it was,
 *    and no reload runs just before the detach (measured: a Patroni 3.0 reload restarts its etcd
 *    watcher and delayed the promotion by about a second).
 * The link slot on the source is released afterwards by the link's source-slots step.
 */
import { Construct } from 'constructs';
import { DcsConfigPatch } from './dcs-config-patch';
import { addDependency } from './patroni-node';
import { linkHealthConfig } from './planners/link';
import { PrimaryPatroniCluster, StandbyPatroniCluster } from './patroni-cluster';
import { ResolvedLink } from './resolve';
import { scriptPath } from './scripts';

export interface PromotionProps {
  readonly primary: PrimaryPatroniCluster;
  readonly standby: StandbyPatroniCluster;
  readonly link: ResolvedLink;
}

export class Promotion extends Construct {
  /** The detach patch, which runs the gate first. */
  readonly detach: DcsConfigPatch;
  /** The gate's configuration (no password), as the plan shows it. */
  readonly gateConfig: string;

  constructor(scope: Construct, id: string, props: PromotionProps) {
    super(scope, id);
    const { primary, standby, link } = props;
    this.gateConfig = JSON.stringify(linkHealthConfig(link, primary.resolved, standby.resolved, { primary: primary.node.path, standby: standby.node.path }));
    this.detach = standby.dcsPatch!;
    this.detach.runFirst({ script: scriptPath('link-health.cjs'), args: 'gate', input: { key: 'gate_config', env: 'LINK_HEALTH_CONFIG', value: this.gateConfig } });
    this.detach.resource.dependsOn = [];
    for (const r of standby.nodeResources) addDependency(r, this.detach.resource);
  }
}
