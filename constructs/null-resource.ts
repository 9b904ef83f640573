/**
 * hashicorp/null's provider and `null_resource`, for `deploy.resourceKind: null_resource`: two
 * plain definitions on the CDK core, so this library needs no provider package (whose core
 * import would tie it to cdktf: a CDK Terrain app must not load a second core).
 */
import { Construct } from 'constructs';
import { TerraformProvider, TerraformResource, TerraformResourceLifecycle, ITerraformDependable } from 'cdktf';
import type { Provisioner, sshConnection } from './planners/provisioners';

/** The provider block and its requirement (hashicorp/null ~> 3.0). */
export class NullProvider extends TerraformProvider {
  constructor(scope: Construct, id: string) {
    super(scope, id, {
      terraformResourceType: 'null',
      terraformGeneratorMetadata: {
        providerName: 'null',
        providerVersion: '3.2.4',
        providerVersionConstraint: '~> 3.0',
      },
      terraformProviderSource: 'null',
    });
  }

  protected synthesizeAttributes(): Record<string, unknown> {
    return {};
  }
}

export interface NullResourceConfig {
  readonly triggers: Record<string, string>;
  readonly provisioners?: Provisioner[];
  readonly connection?: ReturnType<typeof sshConnection>;
  readonly lifecycle?: TerraformResourceLifecycle;
  readonly dependsOn?: ITerraformDependable[];
}

/** `null_resource` with its one argument, `triggers`. */
export class NullResource extends TerraformResource {
  private readonly triggers: Record<string, string>;

  constructor(scope: Construct, id: string, config: NullResourceConfig) {
    super(scope, id, {
      terraformResourceType: 'null_resource',
      terraformGeneratorMetadata: {
        providerName: 'null',
        providerVersion: '3.2.4',
        providerVersionConstraint: '~> 3.0',
      },
      provisioners: config.provisioners,
      connection: config.connection,
      lifecycle: config.lifecycle,
      dependsOn: config.dependsOn,
    });
    this.triggers = config.triggers;
  }

  protected synthesizeAttributes(): Record<string, unknown> {
    return { triggers: this.triggers };
  }
}
