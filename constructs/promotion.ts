/**
 * What the promotion variant (a detached link) adds to the standby stack:
 *  - the gate, a planned resource that runs scripts/link-health.cjs before anything else of the
 *    standby cluster changes, and fails the deploy when the promotion could lose a write;
 *  - the members' reloads deferred until after the detach patch: the files (which only lose the
 *    standby_cluster block of bootstrap.dcs) are written first, but a Patroni reload just before
 *    the patch would delay the promotion by about a second (measured: Patroni 3.0 on etcd3
 *    restarts its DCS watcher on reload, and the next cycle waits for the cache);
 *  - the release of the link slot on the source once the standby cluster is detached (unless the
 *    topology keeps it), skipped with a warning when the source cannot be reached.
 */
import { Construct } from 'constructs';
import { AssetType, TerraformAsset, TerraformResource } from 'cdktf';
import { DcsConfigPatch } from './dcs-config-patch';
import { addDependency, contentHash, planResource } from './patroni-node';
import { linkHealthConfig, releasesSlot } from './planners/link';
import { PrimaryPatroniCluster, StandbyPatroniCluster } from './patroni-cluster';
import { ResolvedLink } from './resolve';
import { scriptPath } from './scripts';

export interface PromotionProps {
  readonly primary: PrimaryPatroniCluster;
  readonly standby: StandbyPatroniCluster;
  readonly link: ResolvedLink;
}

export class Promotion extends Construct {
  /** Runs the gate; every resource of the standby cluster depends on it. */
  readonly gate: TerraformResource;
  /** Each standby member's reload, after the detach patch. */
  readonly reloads: TerraformResource[];
  /** Takes the link slot off the source, after the detach patch. */
  readonly slotRelease?: DcsConfigPatch;

  constructor(scope: Construct, id: string, props: PromotionProps) {
    super(scope, id);
    const { primary, standby, link } = props;
    const config = JSON.stringify(linkHealthConfig(link, primary.resolved, standby.resolved, { primary: primary.node.path, standby: standby.node.path }));
    const asset = new TerraformAsset(this, 'script', { path: scriptPath('link-health.cjs'), type: AssetType.FILE });
    const kind = standby.resolved.deploy.resourceKind;
    const attr = kind === 'null_resource' ? 'triggers' : 'input';
    this.gate = planResource(
      this,
      'gate',
      kind,
      { disaster: String(link.promotion.disaster), gate_config: config },
      { gate_sha256: contentHash(config) },
      [{
        type: 'local-exec',
        command: `node "${asset.path}" gate`,
        environment: { LINK_HEALTH_CONFIG: `\${self.${attr}.gate_config}` },
      }],
    ).resource;
    for (const r of standby.nodeResources) addDependency(r, this.gate);
    const patch = standby.patchResource as TerraformResource;
    addDependency(patch, this.gate);
    this.reloads = Object.values(standby.nodes).map((n) => n.reloadAfter(patch));

    if (releasesSlot(link)) {
      this.slotRelease = new DcsConfigPatch(this, 'release-source-slot', {
        cluster: primary.resolved,
        label: `release link slot ${link.slotName} on the source (${primary.resolved.scope})`,
        endpoints: primary.restEndpoints,
        renderJson: () => JSON.stringify({ slots: { [link.slotName!]: null } }, null, 2),
        dependsOn: [patch],
        optional: true,
        timeoutSeconds: 20,
      });
    }
  }
}
