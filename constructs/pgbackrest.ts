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
  /** The first backup, after the stanza (a full one when the repository has none). */
  firstBackup?: TerraformResource;
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
    // a changed repository (its path, its members) gets the stanza created there again
    this.stanza = this.repositoryStep('stanza', stanzaCommand(this.cluster), [
      this.repositoryResource,
      ...Object.values(this.nodeResources),
      ...after,
    ]);
    // the first backup: a member restores from it, and a re-seed from the backup needs one
    this.firstBackup = this.repositoryStep('first-backup', firstBackupCommand(this.cluster), [this.stanza]);
    return this.stanza;
  }

  /** A command on the repository host, run again when the repository (its file) changes. */
  private repositoryStep(id: string, text: string, dependsOn: TerraformResource[]): TerraformResource {
    const cluster = this.cluster;
    const b = cluster.backup!;
    // paths and names from the topology: nothing in them may reach Terraform as a template
    const command = escapeTemplate(text);
    return planResource(
      this,
      id,
      cluster.deploy.resourceKind,
      { host: b.repository.host, stanza: b.stanza, command },
      { stanza: b.stanza, host: b.repository.host, command, repository_sha256: this.repositorySha },
      stanzaProvisioners(cluster, this.attr),
      { connection: this.connection(repositoryNode(b)), dependsOn },
    ).resource;
  }

  /** Makes `resource` wait for this node's file (Patroni's archive_command calls pgBackRest). */
  before(member: string, resource: TerraformResource): void {
    const file = this.nodeResources[member];
    if (file) addDependency(resource, file);
  }
}

/** `pgbackrest --config=<file> --stanza=<stanza>` on the repository host, as the repository's user. */
function repositoryPgbackrest(cluster: ResolvedCluster): string {
  const b = cluster.backup!;
  const asOwner =
    cluster.deploy.transport === 'ssh' && cluster.deploy.sshUser === b.repository.user
      ? ''
      : `runuser -u ${b.repository.user} -- `;
  return `${asOwner}pgbackrest --config=${configPathOn(cluster, repositoryNode(b))} --stanza=${b.stanza}`;
}

/**
 * What the first backup step runs on the repository host: a full backup unless the repository
 * has one, copied from a standby of the repository's own data center when one answers
 * (`--backup-standby`: the primary, perhaps across the link, gives only the start and the stop),
 * from the primary when none does (pgBackRest's exit code 56, and only then: any other failure of
 * the standby's copy stops here rather than copy the database across the link). It starts at once
 * (`--start-fast`) and waits for its WAL in the repository (30 s). Two cases get no backup:
 *   - archive_mode is off (backup added to a running cluster; exit code 87): PostgreSQL needs a
 *     restart first; the step fails, saying so, and runs again at the next deploy;
 *   - the WAL does not reach the repository (exit code 82): on a first deploy the source archives
 *     into both repositories and waits for the other data center's, which the other stack
 *     deploys after this one. A backup without its WAL would restore to nothing, so none is kept;
 *     the step says so and passes, and the first backup of the user's schedule takes it.
 * A member that does not answer (the other data center not deployed yet) costs two io-timeouts
 * (5 s); the copy itself runs under pgBackRest's protocol-timeout.
 */
export function firstBackupCommand(cluster: ResolvedCluster): string {
  const b = cluster.backup!;
  const pb = repositoryPgbackrest(cluster);
  const repo = `${b.repository.name} (${b.repository.host})`;
  return [
    `if ${pb} --output=json info | grep -q '"backup":\\[{'; then`,
    `  echo "${repo}: ${b.stanza} has a backup; none taken (later backups are your schedule's)"`,
    '  exit 0',
    'fi',
    `echo "${repo}: no backup of ${b.stanza} yet: a full backup, from a standby of this data center"`,
    `full() { rc=0; ${pb} --type=full --start-fast --io-timeout=5 --archive-timeout=30 "$@" backup || rc=$?; }`,
    'full --backup-standby',
    'if [ "$rc" = 56 ]; then',
    `  echo "${repo}: no standby answers: a full backup from the primary"`,
    '  full',
    'fi',
    'case "$rc" in',
    `  0) echo "${repo}: first full backup of ${b.stanza} taken" ;;`,
    `  82) echo "${repo}: the backup's WAL did not reach this repository within 30 s (on a first deploy the source archives once the other data center's repository is deployed): no backup kept; your first scheduled backup takes it" ;;`,
    `  87) echo "${repo}: archive_mode is off on the primary: restart the members (patronictl restart ${cluster.scope}, the standby's first) and deploy again" >&2; exit 1 ;;`,
    '  *) exit "$rc" ;;',
    'esac',
  ].join('\n');
}

/** What the stanza step runs on the repository host. */
export function stanzaCommand(cluster: ResolvedCluster): string {
  // a member that does not answer (the other data center not deployed yet, a host down) costs
  // two io-timeouts: 10 s here, not pgBackRest's default 2 minutes
  // stanza-create needs the primary among the pg hosts and passes over the others with a warning;
  // `check` would fail on every member not up yet (the other data center on a first deploy)
  return `${repositoryPgbackrest(cluster)} --io-timeout=5 stanza-create`;
}

function stanzaProvisioners(cluster: ResolvedCluster, attr: SelfAttr): Provisioner[] {
  const command = `\${self.${attr}.command}`;
  if (cluster.deploy.transport === 'local')
    return [{ type: 'local-exec', interpreter: ['/bin/sh', '-c'], command: `set -eu\n${command}` }];
  return [{ type: 'remote-exec', inline: ['set -eu', command] }];
}
