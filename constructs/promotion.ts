/**
 * What the promotion variant (a detached link) adds to the standby stack:
 *  - the detach (`PATCH /config {"standby_cluster": null}`), a planned resource of its own whose
 *    provisioner runs the gate (runtime/gate.ts) first: a refusal fails it with nothing
 *    sent, and every attempt, a retry an hour later included, runs the gate again right before it;
 *  - the standby members' files (which only lose the standby_cluster block of bootstrap.dcs) are
 *    written, and Patroni reloaded, after the detach: a refused gate leaves every file as it was,
 *    and no reload runs just before the detach (measured: a Patroni 3.0 reload restarts its etcd
 *    watcher and delayed the promotion by about a second). The cluster's own patch follows them
 *    as always, and runs the gate too (it also carries `standby_cluster: null`); once the detach
 *    is applied the gate says so and passes at once.
 * The link slot on the source is released afterwards by the standby's link-slots step.
 */
import { Construct } from 'constructs';
import { DcsConfigPatch, PatchPreStep } from './dcs-config-patch';
import { linkHealthConfig } from './planners/link';
import { PatroniCluster } from './patroni-cluster';
import { ResolvedLink } from './resolve';

export interface PromotionProps {
  /** The source cluster. */
  readonly primary: PatroniCluster;
  /** The standby cluster (promoted); the promotion is created in its scope. */
  readonly standby: PatroniCluster;
  readonly link: ResolvedLink;
  /** How the gate names the two clusters. @default - each cluster's name */
  readonly names?: { readonly primary: string; readonly standby: string };
}

export class Promotion extends Construct {
  /** The detach patch, which runs the gate first; the standby members depend on it. */
  readonly detach: DcsConfigPatch;
  /** The gate's configuration (no password), as the plan shows it. */
  readonly gateConfig: string;
  /**
   * The gate, which also runs before the standby cluster's own patch (it carries standby_cluster: null
   * too). @internal
   */
  readonly gate: PatchPreStep;

  constructor(scope: Construct, id: string, props: PromotionProps) {
    super(scope, id);
    const { primary, standby, link } = props;
    const names = props.names ?? { primary: primary.name, standby: standby.name };
    this.gateConfig = JSON.stringify(linkHealthConfig(link, primary.resolved, standby.resolved, names));
    const gate: PatchPreStep = {
      program: 'health',
      args: 'gate',
      input: { key: 'gate_config', value: this.gateConfig },
    };
    this.detach = new DcsConfigPatch(this, 'detach', {
      cluster: standby.resolved,
      clusterName: names.standby,
      label: `detach ${standby.resolved.scope} (promotion)`,
      endpoints: standby.restEndpoints,
      sections: 'exact',
      renderJson: () => JSON.stringify({ standby_cluster: null }, null, 2),
    });
    this.detach.runFirst(gate);
    this.gate = gate;
  }
}
