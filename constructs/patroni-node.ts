/**
 * One Patroni member as a planned resource: its input is the rendered patroni.yml (so a plan
 * shows a line-by-line diff), and its provisioners deliver the file and start Patroni, or
 * reload it when it already runs. Replacing this resource never touches the data directory.
 */
import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { DataResource, Fn, IResolvable, TerraformResource, TerraformStack, TerraformVariable, Token } from 'cdktf';
import { NullProvider, NullResource } from './null-resource';
import {
  deliverProvisioners,
  nodeCommands,
  Provisioner,
  rawDestroyRemoteExec,
  secretsProvisioners,
  SelfAttr,
  sshConnection,
  stopProvisioners,
} from './planners/provisioners';
import { dcsCredentials } from './planners/patroni-yaml';
import { expandPlaceholders, ResolvedCluster, ResolvedNode } from './resolve';

export interface PatroniNodeProps {
  readonly cluster: ResolvedCluster;
  readonly node: ResolvedNode;
  /** Produces the node's YAML at synth time, after every link has contributed. */
  readonly renderYaml: () => string;
  /** The same without the bootstrap section: what a running Patroni reads (its hash decides a reload). */
  readonly renderRuntimeYaml: () => string;
}

/** terraform_data or null_resource with the same values, read by provisioners through `self`. */
export function planResource(
  scope: Construct,
  id: string,
  kind: ResolvedCluster['deploy']['resourceKind'],
  values: Record<string, unknown>,
  trigger: Record<string, unknown>,
  provisioners: Provisioner[],
  extra: {
    connection?: ReturnType<typeof sshConnection>;
    dependsOn?: TerraformResource[];
    precondition?: { condition: unknown; errorMessage: string }[];
  } = {},
): { resource: TerraformResource; attr: SelfAttr } {
  const lifecycle = extra.precondition?.length ? { precondition: extra.precondition } : undefined;
  // Terraform refuses an empty provisioner list: a resource that runs nothing has none
  const steps = provisioners.length > 0 ? provisioners : undefined;
  if (kind === 'null_resource') {
    const stack = TerraformStack.of(scope);
    if (!stack.node.tryFindChild('null-provider')) new NullProvider(stack, 'null-provider');
    const resource = new NullResource(scope, id, {
      triggers: { ...values, ...trigger } as Record<string, string>,
      provisioners: steps,
      connection: extra.connection,
      lifecycle,
    });
    for (const on of extra.dependsOn ?? []) addDependency(resource, on);
    return { resource, attr: 'triggers' };
  }
  const resource = new DataResource(scope, id, {
    input: values,
    triggersReplace: trigger,
    provisioners: steps,
    connection: extra.connection,
    lifecycle,
  });
  for (const on of extra.dependsOn ?? []) addDependency(resource, on);
  return { resource, attr: 'input' };
}

/**
 * Makes a planned resource wait for another one (`depends_on`), by its address as a plain string:
 * the same JSON as cdktf's `dependsOn: [resource]`, without the reference token (and the stack
 * trace it captures) that cdktf creates for each one at synth.
 */
export function addDependency(resource: TerraformResource, on: TerraformResource): void {
  resource.dependsOn = [...(resource.dependsOn ?? []), `${on.terraformResourceType}.${on.friendlyUniqueId}`];
}

/**
 * A string known only at synth, after every link has contributed. Like cdktf's Lazy, without
 * capturing a full stack trace per value (a fifth of synth time for a fleet: BENCHMARKS.md).
 */
class Deferred implements IResolvable {
  readonly creationStack: string[] = [];
  constructor(private readonly produce: () => string) {}
  resolve(): string {
    return this.produce();
  }
  toString(): string {
    return Token.asString(this);
  }
}

export function deferredString(produce: () => string): string {
  return Token.asString(new Deferred(produce));
}

/**
 * Escapes Terraform template sequences (`${`, `%{`) in rendered text, so a `${VAR}` in a shell
 * command of the topology reaches the node unchanged. cdktf tokens (`${TfToken[...]}`) stay.
 */
export function escapeTemplate(text: string): string {
  return text.replace(/\$\{(?!TfToken\[)/g, '$$${').replace(/%\{/g, '%%{');
}

/**
 * Replacement trigger for a rendered text: its sha256, or, when it holds Terraform tokens (known
 * only at apply), the text itself.
 */
export function contentHash(text: string): string {
  return Token.isUnresolved(text) ? escapeTemplate(text) : createHash('sha256').update(text).digest('hex');
}

/**
 * A Terraform ephemeral, sensitive variable of the stack (declared once): its value reaches
 * provisioners and is kept out of the state and saved plans. Quotes and newlines are refused,
 * as the env file holds each value single-quoted on one line.
 */
function ephemeralVariable(scope: Construct, name: string, description: string): string {
  const stack = TerraformStack.of(scope);
  let variable = stack.node.tryFindChild(name) as TerraformVariable | undefined;
  if (!variable) {
    variable = new TerraformVariable(stack, name, {
      type: 'string',
      sensitive: true,
      nullable: false,
      description,
      validation: [
        {
          condition: `\${length(var.${name}) > 0 && !can(regex("['\\n\\r]", var.${name}))}`,
          errorMessage: `${name} must be set (TF_VAR_${name}) and hold no single quote or newline`,
        },
      ],
    });
    variable.addOverride('ephemeral', true);
  }
  return variable.stringValue;
}

/** The env file's lines: what Patroni reads on the host, from the pipeline's ephemeral variables. */
export function secretValues(scope: Construct, cluster: ResolvedCluster): Record<string, string> {
  const values: Record<string, string> = {
    PATRONI_SUPERUSER_PASSWORD: ephemeralVariable(
      scope,
      'patroni_superuser_password',
      'Password of the PostgreSQL superuser (both clusters)',
    ),
    PATRONI_REPLICATION_PASSWORD: ephemeralVariable(
      scope,
      'patroni_replication_password',
      'Password of the replication user (both clusters)',
    ),
    PATRONI_REWIND_PASSWORD: ephemeralVariable(
      scope,
      'patroni_rewind_password',
      'Password of the rewind user (both clusters)',
    ),
  };
  if (cluster.patroni.restApiUsername) {
    const name = cluster.patroni.restApiPasswordEnv.toLowerCase();
    values.PATRONI_RESTAPI_PASSWORD = ephemeralVariable(
      scope,
      name,
      `REST API password of cluster ${cluster.scope} (${cluster.patroni.restApiPasswordEnv} of the pipeline)`,
    );
  }
  // the DCS's password (etcd) or ACL token (Consul), with the plain lines Patroni needs next to it
  const dcs = dcsCredentials(cluster);
  if (dcs) {
    Object.assign(values, dcs.plain);
    values[dcs.line] = ephemeralVariable(
      scope,
      dcs.env.toLowerCase(),
      `${cluster.dcs.type === 'consul' ? 'Consul ACL token' : 'etcd password'} of cluster ${cluster.scope} (${dcs.env} of the pipeline)`,
    );
  }
  return values;
}

export class PatroniNode extends Construct {
  /** The resource that deploys this member. */
  readonly resource: TerraformResource;
  readonly memberName: string;
  readonly host: string;
  readonly configPath: string;

  constructor(scope: Construct, id: string, props: PatroniNodeProps) {
    super(scope, id);
    const { cluster, node } = props;
    const commands = nodeCommands(cluster, node);
    this.memberName = node.name;
    this.host = node.host;
    this.configPath = commands.configPath;
    const kind = cluster.deploy.resourceKind;
    const attr: SelfAttr = kind === 'null_resource' ? 'triggers' : 'input';
    const yaml = deferredString(() => escapeTemplate(props.renderYaml()));
    const sha = deferredString(() => contentHash(props.renderYaml()));
    const runtimeSha = deferredString(() => contentHash(props.renderRuntimeYaml()));
    const hostIsToken = Token.isUnresolved(node.host);
    const connection =
      cluster.deploy.transport === 'ssh' ? sshConnection(cluster, `\${self.${attr}.host}`, node) : undefined;
    const secrets = cluster.deploy.secrets;
    const secretsStep = secrets
      ? planResource(
          this,
          'secrets',
          kind,
          {
            member: node.name,
            host: node.host,
            env_file: expandPlaceholders(secrets.envFile, cluster, node),
            version: String(secrets.version),
          },
          {
            version: String(secrets.version),
            host: node.host,
            env_file: expandPlaceholders(secrets.envFile, cluster, node),
          },
          secretsProvisioners(
            cluster,
            expandPlaceholders(secrets.envFile, cluster, node),
            secretValues(this, cluster),
            attr,
          ),
          { connection },
        ).resource
      : undefined;
    const { resource } = planResource(
      this,
      'config',
      kind,
      {
        member: node.name,
        host: node.host,
        config_path: commands.configPath,
        runtime_sha256: runtimeSha,
        patroni_yml: yaml,
      },
      { config_sha256: sha, host: node.host },
      deliverProvisioners(cluster, commands, attr),
      {
        connection,
        dependsOn: secretsStep ? [secretsStep] : undefined,
        precondition: hostIsToken
          ? [
              {
                condition: Fn.can(Fn.regex('^[A-Za-z0-9.:_-]+$', node.host)),
                errorMessage: `host of member ${node.name} must be a bare address or host name (no port, scheme or comma)`,
              },
            ]
          : undefined,
      },
    );
    this.resource = resource;
    if (cluster.deploy.stopOnDestroy) {
      const stop = planResource(
        this,
        'stop-on-destroy',
        kind,
        { member: node.name, host: node.host, stop_command: commands.stop },
        {},
        stopProvisioners(cluster, attr),
        {
          connection,
          dependsOn: [resource],
        },
      );
      if (cluster.deploy.transport === 'ssh') stop.resource.addOverride('provisioner', rawDestroyRemoteExec(attr));
    }
  }
}
