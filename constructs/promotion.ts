/**
 * What the promotion variant (a detached link) adds to the standby stack:
 *  - the gate, a planned resource that runs scripts/link-health.cjs before anything else of the
 *    standby cluster changes, and fails the deploy when the promotion could lose a write;
 *  - the order gate -> detach patch -> members' files: the files only lose the standby_cluster
 *    block of bootstrap.dcs, and reloading Patroni just before the patch would delay the
 *    promotion (a reload restarts its DCS watcher, and the next cycle waits for the cache);
 *  - the release of the link slot on the source once the standby cluster is detached (unless the
 *    topology keeps it), skipped with a warning when the source cannot be reached.
 */
import { Construct } from 'constructs';
import { AssetType, TerraformAsset, TerraformResource } from 'cdktf';
import { DcsConfigPatch } from './dcs-config-patch';
import { contentHash, planResource } from './patroni-node';
import { linkHealthConfig, releasesSlot } from './planners/link';
import { PrimaryPatroniCluster, StandbyPatroniCluster } from './patroni-cluster';
import { ResolvedLink } from './resolve';
import { scriptPath } from './scripts';

export interface PromotionProps {
  readonly primary: PrimaryPatroniCluster;
  readonly standby: StandbyPatroniCluster;
  readonly link: ResolvedLink;
}

function addDependency(resource: TerraformResource, on: TerraformResource): void {
  const ref = `${on.terraformResourceType}.${on.friendlyUniqueId}`;
  resource.dependsOn = [...(resource.dependsOn ?? []), ref];
}

export class Promotion extends Construct {
  /** Runs the gate; every resource of the standby cluster runs after it. */
  readonly gate: TerraformResource;
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
    const patch = standby.patchResource as TerraformResource;
    patch.dependsOn = [];
    addDependency(patch, this.gate);
    for (const r of standby.nodeResources) addDependency(r, patch);

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
