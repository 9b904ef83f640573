/**
 * pgBackRest of a cluster, as text: each node's pgbackrest.conf and the repository host's, the
 * archive and restore commands Patroni hands to PostgreSQL, and the stanza step's command. A node
 * reaches its data center's repository as repo1 and the other cluster's as repo2 (when that one
 * has backup too), both through pgBackRest's TLS server; every node runs that server as well, so
 * that the repository host can reach PostgreSQL for the stanza and for backups. Pure functions:
 * the constructs decide where the files go.
 */
import { dataDir, expandPlaceholders, ResolvedBackup, ResolvedCluster, ResolvedNode } from '../resolve';

/** The repository host as a node, for placeholders in paths and commands. */
export function repositoryNode(backup: ResolvedBackup): ResolvedNode {
  return {
    name: backup.repository.name,
    host: backup.repository.host,
    hbaAddress: '',
    tags: {},
    overrides: {},
    sshHostKey: backup.repository.sshHostKey,
  };
}

/** Whether the archive and restore commands can name the file (the same path on every node). */
function sharedConfigPath(backup: ResolvedBackup): string | undefined {
  if (/\{(name|host|scope|configName)\}/.test(backup.configPath)) return undefined;
  return backup.configPath === '/etc/pgbackrest/pgbackrest.conf' ? undefined : backup.configPath;
}

/** `pgbackrest [--config=...] --stanza=<stanza>`: the start of every command the nodes run. */
export function pgbackrestBase(backup: ResolvedBackup): string {
  const config = sharedConfigPath(backup);
  return `pgbackrest${config ? ` --config=${config}` : ''} --stanza=${backup.stanza}`;
}

/** PostgreSQL's archive_command: into every repository the node's file names. */
export function archiveCommand(backup: ResolvedBackup): string {
  return `${pgbackrestBase(backup)} archive-push "%p"`;
}

/** A restore_command: from the node's own repository first, then the other data center's. */
export function restoreCommand(backup: ResolvedBackup): string {
  return `${pgbackrestBase(backup)} archive-get %f "%p"`;
}

/**
 * Patroni's replica method that restores a member from its own data center's repository (repo1):
 * the newest backup there, into the member's empty data directory (Patroni empties it first;
 * `--delta` would reuse files a user's own call finds there), as a standby. pgBackRest writes its
 * restore_command into postgresql.auto.conf; Patroni takes the recovery settings out of that file
 * and writes its own.
 */
export function restoreBackupCommand(backup: ResolvedBackup): string {
  return `${pgbackrestBase(backup)} --repo=1 --delta --type=standby restore`;
}

/** The replica methods a member of a cluster with backup lists: its repository first, then a base backup. */
export const BACKUP_REPLICA_METHODS = ['pgbackrest', 'basebackup'] as const;

/**
 * What backup adds to a member's `postgresql` section: the replica methods (the repository
 * first, pg_basebackup from a member when the repository has no backup), the pgbackrest method,
 * and the restore_command a replica falls back to when its stream breaks.
 */
export function replicaMethodSection(cluster: ResolvedCluster): Record<string, unknown> {
  if (!cluster.backup) return {};
  return {
    create_replica_methods: [...BACKUP_REPLICA_METHODS],
    pgbackrest: { command: restoreBackupCommand(cluster.backup), keep_data: true, no_params: true },
    recovery_conf: { restore_command: restoreCommand(cluster.backup) },
  };
}

/** The parameters backup sets in the cluster's dynamic configuration. */
export function backupParameters(cluster: ResolvedCluster): Record<string, string> {
  if (!cluster.backup) return {};
  return { archive_mode: 'on', archive_command: archiveCommand(cluster.backup) };
}

/** Parameters that backup owns: a cluster with backup must not set them itself. */
export const BACKUP_PARAMETERS = ['archive_mode', 'archive_command'] as const;

type Line = readonly [string, string | number | boolean];

function iniValue(key: string, value: string | number | boolean): string {
  const text = typeof value === 'boolean' ? (value ? 'y' : 'n') : String(value);
  if (/[\r\n]/.test(text)) throw new Error(`pgBackRest option ${key} holds a line break`);
  return text;
}

function section(name: string, lines: readonly Line[]): string {
  return [`[${name}]`, ...lines.map(([k, v]) => `${k}=${iniValue(k, v)}`)].join('\n');
}

/** A remote repository (repoN) reached through its host's TLS server, with this host's client files. */
function remoteRepository(index: number, repo: ResolvedBackup, client: ResolvedBackup): Line[] {
  const r = `repo${index}`;
  return [
    [`${r}-host`, repo.repository.host],
    [`${r}-host-type`, 'tls'],
    [`${r}-host-port`, repo.serverPort],
    [`${r}-host-ca-file`, client.tls.caFile],
    [`${r}-host-cert-file`, client.tls.certFile],
    [`${r}-host-key-file`, client.tls.keyFile],
    [`${r}-path`, repo.repository.path],
  ];
}

/** This host's TLS server: its address, files, and the clients it admits for the stanza. */
function tlsServer(backup: ResolvedBackup, address: string): Line[] {
  return [
    ['tls-server-address', address],
    ['tls-server-port', backup.serverPort],
    ['tls-server-ca-file', backup.tls.caFile],
    ['tls-server-cert-file', backup.tls.certFile],
    ['tls-server-key-file', backup.tls.keyFile],
    ...backup.tls.clients.map((cn): Line => ['tls-server-auth', `${cn}=${backup.stanza}`]),
  ];
}

/** The topology's extra options, sorted; placeholders in their values expanded for `host`. */
function options(cluster: ResolvedCluster, host: ResolvedNode): Line[] {
  const o = cluster.backup!.options;
  return Object.keys(o)
    .sort()
    .map((k): Line => [k, typeof o[k] === 'string' ? expandPlaceholders(o[k], cluster, host) : o[k]]);
}

/** A node's data directory and socket directory as Patroni knows them (its overrides first). */
export function nodePaths(cluster: ResolvedCluster, node: ResolvedNode): { dataDir: string; socketDir?: string } {
  const pg = (node.overrides.postgresql ?? {}) as { parameters?: Record<string, unknown> };
  const sockets = pg.parameters?.unix_socket_directories ?? cluster.postgresql.parameters.unix_socket_directories;
  const socketDir = typeof sockets === 'string' ? sockets.split(',')[0].trim() || undefined : undefined;
  return { dataDir: dataDir(cluster, node), socketDir };
}

function pgLines(index: number, cluster: ResolvedCluster, node: ResolvedNode): Line[] {
  const { dataDir, socketDir } = nodePaths(cluster, node);
  const p = `pg${index}`;
  return [
    [`${p}-path`, dataDir],
    [`${p}-port`, cluster.postgresql.port],
    [`${p}-user`, cluster.users.superuser],
    ...(socketDir ? [[`${p}-socket-path`, socketDir] as Line] : []),
  ];
}

const HEADER = '# pgBackRest, rendered by the stacks: edit the topology, not this file';

/**
 * A node's pgbackrest.conf: repo1 its data center's repository, repo2 the other's (while linked to
 * a cluster with backup), its own TLS server, and its PostgreSQL as pg1.
 */
export function nodeConfig(cluster: ResolvedCluster, node: ResolvedNode, peer?: ResolvedCluster): string {
  const b = cluster.backup!;
  const global: Line[] = [
    ...remoteRepository(1, b, b),
    ...(peer?.backup ? remoteRepository(2, peer.backup, b) : []),
    ...tlsServer(b, node.host),
    ...options(cluster, node),
  ];
  return [
    HEADER,
    section('global', global),
    '',
    // PostgreSQL waits on these: a repository that refuses costs two io-timeouts (2 minutes by
    // default), one that hangs (a cut link) two protocol-timeouts (an hour by default); archive-get
    // falls back to the other repository only after that
    section('global:archive-push', commandTimeouts(10, b)),
    '',
    section('global:archive-get', commandTimeouts(5, b)),
    '',
    section(b.stanza, pgLines(1, cluster, node)),
    '',
  ].join('\n');
}

/**
 * A command's io-timeout and protocol-timeout (30 s, or 30 s above a db-timeout of the topology's
 * options: pgBackRest refuses a protocol-timeout that is not above db-timeout).
 */
function commandTimeouts(io: number, b: ResolvedBackup): Line[] {
  const db = Number(b.options['db-timeout']);
  return [
    ['io-timeout', io],
    ['protocol-timeout', Number.isFinite(db) && db > 0 ? Math.max(30, Math.ceil(db) + 30) : 30],
  ];
}

/**
 * The repository host's pgbackrest.conf: its repository (the only one: pgBackRest refuses remote
 * repositories next to remote databases), its TLS server, and every node of both clusters as pgN
 * over TLS, its own data center's first: wherever the primary runs (after a switchover too), the
 * stanza and backups find it, and a backup can copy from a standby of its own data center.
 */
export function repositoryConfig(cluster: ResolvedCluster, peer?: ResolvedCluster): string {
  const b = cluster.backup!;
  const global: Line[] = [
    ['repo1-path', b.repository.path],
    ...tlsServer(b, b.repository.host),
    ...options(cluster, repositoryNode(b)),
  ];
  const members: [ResolvedCluster, ResolvedNode][] = [
    ...cluster.nodes.map((n): [ResolvedCluster, ResolvedNode] => [cluster, n]),
    ...(peer?.backup ? peer.nodes.map((n): [ResolvedCluster, ResolvedNode] => [peer, n]) : []),
  ];
  const pgs = members.flatMap(([c, node], i): Line[] => {
    const p = `pg${i + 1}`;
    return [
      [`${p}-host`, node.host],
      [`${p}-host-type`, 'tls'],
      [`${p}-host-port`, c.backup!.serverPort],
      [`${p}-host-ca-file`, b.tls.caFile],
      [`${p}-host-cert-file`, b.tls.certFile],
      [`${p}-host-key-file`, b.tls.keyFile],
      ...pgLines(i + 1, c, node),
    ];
  });
  return `${HEADER}\n${section('global', global)}\n\n${section(b.stanza, pgs)}\n`;
}

/** The config path on a node or on the repository host. */
export function configPathOn(cluster: ResolvedCluster, host: ResolvedNode): string {
  return expandPlaceholders(cluster.backup!.configPath, cluster, host);
}
