/**
 * A DCS configuration patch as a planned resource: its input is the JSON body (so a plan shows
 * what changes in the cluster's dynamic configuration); it applies the body with Patroni's
 * REST API `PATCH /config`, trying each node, and verifies it with `GET /config`.
 */
import { Construct } from 'constructs';
import { AssetType, ITerraformDependable, TerraformAsset, TerraformResource } from 'cdktf';
import { contentHash, deferredString, escapeTemplate, planResource } from './patroni-node';
import { ResolvedCluster } from './resolve';
import { scriptPath } from './scripts';

export interface DcsConfigPatchProps {
  readonly cluster: ResolvedCluster;
  /** What the patch is for, printed by the apply step. */
  readonly label: string;
  /** REST API base URLs, tried in order. */
  readonly endpoints: readonly string[];
  /** Produces the pretty-printed JSON body at synth time. */
  readonly renderJson: () => string;
  readonly dependsOn?: ITerraformDependable[];
  /** A clean-up: when no node answers before the timeout, warn and succeed. @default false */
  readonly optional?: boolean;
  /** @default the cluster's deploy.patchTimeoutSeconds */
  readonly timeoutSeconds?: number;
}

export class DcsConfigPatch extends Construct {
  readonly resource: TerraformResource;

  constructor(scope: Construct, id: string, props: DcsConfigPatchProps) {
    super(scope, id);
    const asset = new TerraformAsset(this, 'script', { path: scriptPath('apply-config-patch.cjs'), type: AssetType.FILE });
    const kind = props.cluster.deploy.resourceKind;
    const attr = kind === 'null_resource' ? 'triggers' : 'input';
    const json = deferredString(() => escapeTemplate(props.renderJson()));
    const endpoints = props.endpoints.join(',');
    const { resource } = planResource(
      this,
      'apply',
      kind,
      { scope: props.cluster.scope, endpoints, patch_json: json },
      { patch_sha256: deferredString(() => contentHash(props.renderJson())), endpoints },
      [{
        type: 'local-exec',
        command: `node "${asset.path}"`,
        environment: {
          PATRONI_PATCH: `\${self.${attr}.patch_json}`,
          PATRONI_ENDPOINTS: `\${self.${attr}.endpoints}`,
          PATRONI_PATCH_LABEL: props.label,
          PATRONI_PATCH_TIMEOUT: String(props.timeoutSeconds ?? props.cluster.deploy.patchTimeoutSeconds),
          ...(props.optional ? { PATRONI_PATCH_OPTIONAL: '1' } : {}),
          ...(props.cluster.patroni.restApiUsername ? { PATRONI_RESTAPI_USERNAME: props.cluster.patroni.restApiUsername } : {}),
        },
      }],
      { dependsOn: props.dependsOn },
    );
    this.resource = resource;
  }
}
