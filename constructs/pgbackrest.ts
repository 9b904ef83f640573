/**
 * pgBackRest of one cluster as planned resources: each node's pgbackrest.conf (diffable in the
 * plan like patroni.yml) with its TLS server started or reloaded, the repository host's file and
 * server, and the stanza step on the repository host, once the cluster is linked: `stanza-create`
 * (a no-op once the stanza exists), which finds the primary among the members of both clusters.
 * The texts come from planners/pgbackrest.ts.
 */
import { Construct } from 'constructs';
import { TerraformResource } from 'cdktf';
import { addDependency, contentHash, deferredString, escapeTemplate, planResource } from './patroni-node';
import { configPathOn, nodeConfig, repositoryConfig, repositoryNode } from './planners/pgbackrest';
import { deliverFileProvisioners, Provisioner, SelfAttr, sshConnection, startOrReload } from './planners/provisioners';
import { expandPlaceholders, ResolvedCluster, ResolvedNode } from './resolve';

export interface PgBackRestProps {
  readonly cluster: ResolvedCluster;
  /** The other cluster of the link, once joined (its repository is the nodes' repo2). */
  readonly peer: () => ResolvedCluster | undefined;
}

/** The server reads its whole file only when it starts: a changed file restarts it. */
const SERVER_WORDS = {
  what: 'pgBackRest server',
  unchanged: 'its file unchanged: no restart',
  reloading: 'restarting',
};

export class PgBackRest extends Construct {
  /** The resource that writes each node's file, by member name. */
  readonly nodeResources: Readonly<Record<string, TerraformResource>>;
  /** The repository host's file and server. */
  readonly repositoryResource: TerraformResource;
  private stanza?: TerraformResource;
  /** The sha256 of the repository host's file: a changed repository creates the stanza again. */
  private repositorySha = '';
  private readonly cluster: ResolvedCluster;
  private readonly attr: SelfAttr;

  constructor(scope: Construct, id: string, props: PgBackRestProps) {
    super(scope, id);
    const { cluster } = props;
    this.cluster = cluster;
    this.attr = cluster.deploy.resourceKind === 'null_resource' ? 'triggers' : 'input';
    const nodes: Record<string, TerraformResource> = {};
    for (const node of cluster.nodes) {
      nodes[node.name] = this.file(`node-${node.name}`, node, () => nodeConfig(cluster, node, props.peer()));
    }
    this.nodeResources = nodes;
    const repositoryFile = () => repositoryConfig(cluster, props.peer());
    this.repositoryResource = this.file('repository', repositoryNode(cluster.backup!), repositoryFile);
    this.repositorySha = deferredString(() => contentHash(repositoryFile()));
  }

  /** A host's pgbackrest.conf, delivered, then its TLS server started or reloaded. */
  private file(id: string, host: ResolvedNode, render: () => string): TerraformResource {
    const cluster = this.cluster;
    const b = cluster.backup!;
    const path = configPathOn(cluster, host);
    const commands = {
      configPath: path,
      start: expandPlaceholders(b.serverStartCommand, cluster, host),
      reload: expandPlaceholders(b.serverRestartCommand, cluster, host),
      status: expandPlaceholders(b.serverStatusCommand, cluster, host),
      stop: '',
    };
    const sha = deferredString(() => contentHash(render()));
    return planResource(
      this,
      id,
      cluster.deploy.resourceKind,
      {
        host: host.host,
        config_path: path,
        runtime_sha256: sha,
        pgbackrest_conf: deferredString(() => escapeTemplate(render())),
      },
      { config_sha256: sha, host: host.host },
      deliverFileProvisioners(cluster, this.attr, 'pgbackrest_conf', path, (p, runtime) =>
        startOrReload(commands, runtime, p, SERVER_WORDS),
      ),
      { connection: this.connection(host) },
    ).resource;
  }

  private connection(host: ResolvedNode) {
    return this.cluster.deploy.transport === 'ssh'
      ? sshConnection(this.cluster, `\${self.${this.attr}.host}`, host)
      : undefined;
  }

  /**
   * The stanza step on the repository host, after the files, the servers and `after` (the
   * cluster's members and its DCS patch). Created once, whatever the cluster's role: a switchover
   * moves nothing between stacks.
   */
  stanzaStep(after: readonly TerraformResource[]): TerraformResource {
    if (this.stanza) return this.stanza;
    const cluster = this.cluster;
    const b = cluster.backup!;
    const repo = repositoryNode(b);
    const command = stanzaCommand(cluster);
    const { resource } = planResource(
      this,
      'stanza',
      cluster.deploy.resourceKind,
      { host: b.repository.host, stanza: b.stanza, command },
      // a changed repository (its path, its members) gets the stanza created there again
      { stanza: b.stanza, host: b.repository.host, command, repository_sha256: this.repositorySha },
      stanzaProvisioners(cluster, this.attr),
      {
        connection: this.connection(repo),
        dependsOn: [this.repositoryResource, ...Object.values(this.nodeResources), ...after],
      },
    );
    this.stanza = resource;
    return resource;
  }

  /** Makes `resource` wait for this node's file (Patroni's archive_command calls pgBackRest). */
  before(member: string, resource: TerraformResource): void {
    const file = this.nodeResources[member];
    if (file) addDependency(resource, file);
  }
}

/** What the stanza step runs on the repository host. */
export function stanzaCommand(cluster: ResolvedCluster): string {
  const b = cluster.backup!;
  const asOwner =
    cluster.deploy.transport === 'ssh' && cluster.deploy.sshUser === b.repository.user
      ? ''
      : `runuser -u ${b.repository.user} -- `;
  // a member that does not answer (the other data center not deployed yet, a host down) costs
  // two io-timeouts: 10 s here, not pgBackRest's default 2 minutes
  // stanza-create needs the primary among the pg hosts and passes over the others with a warning;
  // `check` would fail on every member not up yet (the other data center on a first deploy)
  return `${asOwner}pgbackrest --config=${configPathOn(cluster, repositoryNode(b))} --stanza=${b.stanza} --io-timeout=5 stanza-create`;
}

function stanzaProvisioners(cluster: ResolvedCluster, attr: SelfAttr): Provisioner[] {
  const command = `\${self.${attr}.command}`;
  if (cluster.deploy.transport === 'local')
    return [{ type: 'local-exec', interpreter: ['/bin/sh', '-c'], command: `set -eu\n${command}` }];
  return [{ type: 'remote-exec', inline: ['set -eu', command] }];
}
