/**
 * Fills every documented default of the cluster model, so planners never guess.
 */
import { Token } from 'cdktf';
import { DEFAULT_PATCH_TIMEOUT_SECONDS, DEFAULT_REST_PASSWORD_ENV } from '../runtime/contract';
import {
  BackupRepositorySpec,
  BackupSpec,
  BackupTlsSpec,
  ClusterSpec,
  DcsSpec,
  DeploySpec,
  LinkSpec,
  MonitoringSpec,
  NodeSpec,
  PatroniSpec,
  PostgresSpec,
  PromotionSpec,
  ReseedSpec,
  RestApiTlsSpec,
  RoleChangeSpec,
  UsersSpec,
} from './types';

export interface ResolvedNode {
  readonly name: string;
  readonly host: string;
  readonly hbaAddress: string;
  readonly tags: Readonly<Record<string, string | number | boolean>>;
  readonly overrides: Readonly<Record<string, unknown>>;
  readonly sshHostKey?: string;
}

export interface ResolvedCluster {
  readonly mode: 'managed' | 'existing';
  readonly scope: string;
  readonly namespace: string;
  readonly dcs: DcsSpec;
  readonly nodes: readonly ResolvedNode[];
  readonly postgresql: {
    readonly version: number;
    readonly binDir: string;
    readonly dataDir: string;
    readonly configDir?: string;
    readonly port: number;
    readonly parameters: Readonly<Record<string, string | number | boolean>>;
    readonly pgHba: readonly string[];
    /** Whether the topology gave pgHba itself (an existing cluster must). */
    readonly pgHbaDeclared: boolean;
    readonly generatePgHba: boolean;
    readonly authMethod: string;
    readonly rejectLine: string;
    readonly pgIdent: readonly string[];
    readonly initdb: readonly (string | Readonly<Record<string, string>>)[];
    readonly pgpass: string;
    readonly useUnixSocket: boolean;
  };
  readonly patroni: {
    readonly restApiPort: number;
    readonly restApiUsername?: string;
    readonly restApiTls?: RestApiTlsSpec;
    readonly restApiPasswordEnv: string;
    readonly ttl: number;
    readonly loopWait: number;
    readonly retryTimeout: number;
    readonly maximumLagOnFailover: number;
    readonly useSlots: boolean;
    readonly usePgRewind: boolean;
    readonly permanentSlots: Readonly<Record<string, Readonly<Record<string, string>>>>;
    readonly bootstrapPgHba: boolean;
    readonly watchdog?: string;
    readonly dynamic: Readonly<Record<string, unknown>>;
  };
  readonly users: { readonly superuser: string; readonly replication: string; readonly rewind: string };
  readonly deploy: {
    readonly transport: 'ssh' | 'local';
    readonly sshUser: string;
    readonly sshPrivateKeyPath?: string;
    readonly sshBastionHost?: string;
    readonly sshBastionUser?: string;
    readonly sshPort?: number;
    readonly sshBastionPort?: number;
    readonly sshBastionHostKey?: string;
    readonly sshCertificateAuthority?: string;
    readonly configName: string;
    readonly configPath: string;
    readonly startCommand: string;
    readonly reloadCommand: string;
    readonly statusCommand: string;
    readonly stopOnDestroy: boolean;
    readonly stopCommand: string;
    readonly resourceKind: 'terraform_data' | 'null_resource';
    readonly patchTimeoutSeconds: number;
    readonly secrets?: { readonly envFile: string; readonly version: number };
  };
  readonly backup?: ResolvedBackup;
}

/** pgBackRest of a cluster, every default filled in (see BackupSpec). */
export interface ResolvedBackup {
  readonly stanza: string;
  readonly repository: {
    readonly host: string;
    readonly path: string;
    readonly name: string;
    readonly user: string;
    readonly sshHostKey?: string;
  };
  readonly tls: {
    readonly caFile: string;
    readonly certFile: string;
    readonly keyFile: string;
    readonly clients: readonly string[];
  };
  readonly configPath: string;
  readonly serverPort: number;
  readonly serverStartCommand: string;
  readonly serverRestartCommand: string;
  readonly serverStatusCommand: string;
  readonly options: Readonly<Record<string, string | number | boolean>>;
}

export interface ResolvedLink {
  readonly state: 'following' | 'detached';
  readonly slotName?: string;
  readonly sourceVip?: string;
  readonly port: number;
  readonly createReplicaMethods: readonly string[];
  readonly restoreCommand?: string;
  readonly archiveCleanupCommand?: string;
  readonly recoveryMinApplyDelay?: string;
  readonly walRetrieveRetryInterval: string;
  readonly promotion: {
    readonly disaster: boolean;
    readonly keepSourceSlot: boolean;
    readonly settleSeconds: number;
    readonly catchUpTimeoutSeconds: number;
    readonly user: string;
  };
  readonly monitoring: {
    readonly user: string;
    readonly addresses: readonly string[];
  };
  readonly reseed?: {
    readonly cluster: string;
    readonly generation: number;
    readonly timeoutSeconds: number;
    readonly from: 'source' | 'backup' | 'archive';
  };
  readonly roleChange: {
    readonly maxLagBytes: number;
    readonly catchUpTimeoutSeconds: number;
    readonly followTimeoutSeconds: number;
    readonly acceptDataLoss: boolean;
    /** Only when false (the role change's default is the handoff): plans of the default stay as they were. */
    readonly synchronousHandoff?: false;
    readonly generation?: number;
  };
}

/**
 * The model is written twice, as the spec the user gives (types.ts, checked by schema.ts) and as
 * the resolved model the planners read (above); these checks tie them together at compile time:
 * every key of the spec, at every level, has its key in the resolved model (a field added to the
 * spec and forgotten here does not compile), and `every` makes each resolving literal name every
 * key of its type, optional ones included (a field forgotten in resolveCluster is not silently
 * dropped). Left out on purpose: link.acknowledgeWarnings (the rules consume it).
 */
type Missing<Spec, Resolved> = Exclude<keyof Spec, keyof Resolved>;
type Covered<Spec, Resolved> = [Missing<Spec, Resolved>] extends [never]
  ? true
  : { readonly missing: Missing<Spec, Resolved> };
type Assert<T extends true> = T;
export type _SpecCovered = [
  Assert<Covered<ClusterSpec, ResolvedCluster>>,
  Assert<Covered<NodeSpec, ResolvedNode>>,
  Assert<Covered<PostgresSpec, ResolvedCluster['postgresql']>>,
  Assert<Covered<PatroniSpec, ResolvedCluster['patroni']>>,
  Assert<Covered<UsersSpec, ResolvedCluster['users']>>,
  Assert<Covered<DeploySpec, ResolvedCluster['deploy']>>,
  Assert<Covered<BackupSpec, ResolvedBackup>>,
  Assert<Covered<BackupRepositorySpec, ResolvedBackup['repository']>>,
  Assert<Covered<BackupTlsSpec, ResolvedBackup['tls']>>,
  Assert<Covered<Omit<LinkSpec, 'acknowledgeWarnings'>, ResolvedLink>>,
  Assert<Covered<PromotionSpec, ResolvedLink['promotion']>>,
  Assert<Covered<MonitoringSpec, ResolvedLink['monitoring']>>,
  Assert<Covered<ReseedSpec, NonNullable<ResolvedLink['reseed']>>>,
  Assert<Covered<RoleChangeSpec, ResolvedLink['roleChange']>>,
];

/** A literal of `T` that names every key of `T`, optional ones included (their value may be undefined). */
function every<T>() {
  return <V extends { [K in keyof Required<T>]: T[K] }>(value: V): T => value as unknown as T;
}

export const DEFAULT_TAGS = Object.freeze({ noloadbalance: false, clonefrom: false, nosync: false });

/**
 * pg_hba address of a node: /32 for IPv4 (and for a token, taken as IPv4), /128 for IPv6, the name
 * itself otherwise.
 */
export function defaultHbaAddress(host: string): string {
  if (Token.isUnresolved(host)) return `${host}/32`;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return `${host}/32`;
  if (host.includes(':')) return `${host}/128`;
  return host;
}

function resolveNode(node: NodeSpec): ResolvedNode {
  return every<ResolvedNode>()({
    name: node.name,
    host: node.host,
    hbaAddress: node.hbaAddress ?? defaultHbaAddress(node.host),
    tags: node.tags ?? DEFAULT_TAGS,
    overrides: node.overrides ?? {},
    sshHostKey: node.sshHostKey,
  });
}

export function resolveCluster(spec: ClusterSpec): ResolvedCluster {
  const pg = spec.postgresql ?? {};
  const pa = spec.patroni ?? {};
  const users = {
    superuser: spec.users?.superuser ?? 'postgres',
    replication: spec.users?.replication ?? 'replicator',
    rewind: spec.users?.rewind ?? 'rewinder',
  };
  const version = pg.version ?? 16;
  const d = spec.deploy ?? {};
  const configName = d.configName ?? `${version}-${spec.scope}`;
  const authMethod = pg.authMethod ?? 'scram-sha-256';
  return every<ResolvedCluster>()({
    mode: spec.mode ?? 'managed',
    scope: spec.scope,
    namespace: spec.namespace ?? '/service/',
    dcs: spec.dcs,
    nodes: spec.nodes.map(resolveNode),
    postgresql: every<ResolvedCluster['postgresql']>()({
      version,
      binDir: pg.binDir ?? `/usr/pgsql-${version}/bin`,
      dataDir: pg.dataDir ?? `/var/lib/pgsql/${version}/${spec.scope}`,
      configDir: pg.configDir,
      port: pg.port ?? 5432,
      parameters: pg.parameters ?? {},
      pgHba: pg.pgHba ?? [
        'local all postgres peer',
        `local replication ${users.replication} peer map=replicamap`,
        `local postgres ${users.rewind} peer map=rewindmap`,
      ],
      pgHbaDeclared: pg.pgHba !== undefined,
      generatePgHba: pg.generatePgHba ?? (spec.mode ?? 'managed') === 'managed',
      authMethod,
      rejectLine: pg.rejectLine ?? 'host all postgres all reject',
      pgIdent: pg.pgIdent ?? [`rewindmap postgres ${users.rewind}`, `replicamap postgres ${users.replication}`],
      initdb: pg.initdb ?? [{ encoding: 'UTF8' }, 'data-checksums', { 'auth-host': 'scram-sha-256' }],
      pgpass: pg.pgpass ?? `/etc/patroni/${spec.scope}.pgpass`,
      useUnixSocket: pg.useUnixSocket ?? true,
    }),
    patroni: every<ResolvedCluster['patroni']>()({
      restApiPort: pa.restApiPort ?? 8008,
      restApiUsername: pa.restApiUsername,
      restApiTls: pa.restApiTls,
      restApiPasswordEnv: pa.restApiPasswordEnv ?? DEFAULT_REST_PASSWORD_ENV,
      ttl: pa.ttl ?? 30,
      loopWait: pa.loopWait ?? 10,
      retryTimeout: pa.retryTimeout ?? 10,
      maximumLagOnFailover: pa.maximumLagOnFailover ?? 1048576,
      useSlots: pa.useSlots ?? true,
      usePgRewind: pa.usePgRewind ?? true,
      permanentSlots: pa.permanentSlots ?? {},
      bootstrapPgHba: pa.bootstrapPgHba ?? true,
      watchdog: pa.watchdog,
      dynamic: pa.dynamic ?? {},
    }),
    users,
    deploy: every<ResolvedCluster['deploy']>()({
      transport: d.transport ?? 'ssh',
      sshUser: d.sshUser ?? 'root',
      sshPrivateKeyPath: d.sshPrivateKeyPath,
      sshBastionHost: d.sshBastionHost,
      sshBastionUser: d.sshBastionUser,
      sshPort: d.sshPort,
      sshBastionPort: d.sshBastionPort,
      sshBastionHostKey: d.sshBastionHostKey,
      sshCertificateAuthority: d.sshCertificateAuthority,
      configName,
      configPath: d.configPath ?? '/etc/patroni/{configName}.yml',
      startCommand: d.startCommand ?? 'systemctl start patroni@{configName}.service',
      reloadCommand: d.reloadCommand ?? 'systemctl reload patroni@{configName}.service',
      statusCommand: d.statusCommand ?? 'systemctl is-active --quiet patroni@{configName}.service',
      stopOnDestroy: d.stopOnDestroy ?? false,
      stopCommand: d.stopCommand ?? 'systemctl stop patroni@{configName}.service',
      resourceKind: d.resourceKind ?? 'terraform_data',
      patchTimeoutSeconds: d.patchTimeoutSeconds ?? DEFAULT_PATCH_TIMEOUT_SECONDS,
      secrets: d.secrets ? { envFile: d.secrets.envFile, version: d.secrets.version ?? 1 } : undefined,
    }),
    backup: spec.backup ? resolveBackup(spec.backup) : undefined,
  });
}

function resolveBackup(b: BackupSpec): ResolvedBackup {
  return every<ResolvedBackup>()({
    stanza: b.stanza,
    repository: every<ResolvedBackup['repository']>()({
      host: b.repository.host,
      path: b.repository.path ?? '/var/lib/pgbackrest',
      name: b.repository.name ?? 'repository',
      user: b.repository.user ?? 'postgres',
      sshHostKey: b.repository.sshHostKey,
    }),
    tls: every<ResolvedBackup['tls']>()({ ...b.tls }),
    configPath: b.configPath ?? '/etc/pgbackrest/pgbackrest.conf',
    serverPort: b.serverPort ?? 8432,
    serverStartCommand: b.serverStartCommand ?? 'systemctl enable --now pgbackrest.service',
    serverRestartCommand: b.serverRestartCommand ?? 'systemctl restart pgbackrest.service',
    serverStatusCommand: b.serverStatusCommand ?? 'systemctl is-active --quiet pgbackrest.service',
    options: b.options ?? {},
  });
}

/**
 * The link with its defaults. With backup on the standby cluster (`standby`, when known) its
 * standby leader is cloned from its own data center's repository first, and a re-seed restores
 * from there.
 */
export function resolveLink(link: LinkSpec, primary: ResolvedCluster, standby?: ResolvedCluster): ResolvedLink {
  const backup = standby?.backup !== undefined;
  return every<ResolvedLink>()({
    state: link.state ?? 'following',
    slotName: link.slotName,
    sourceVip: link.sourceVip,
    port: link.port ?? primary.postgresql.port,
    createReplicaMethods: link.createReplicaMethods ?? (backup ? ['pgbackrest', 'basebackup'] : ['basebackup']),
    restoreCommand: link.restoreCommand,
    archiveCleanupCommand: link.archiveCleanupCommand,
    recoveryMinApplyDelay: link.recoveryMinApplyDelay,
    walRetrieveRetryInterval: link.walRetrieveRetryInterval ?? '500ms',
    promotion: {
      disaster: link.promotion?.disaster ?? false,
      keepSourceSlot: link.promotion?.keepSourceSlot ?? false,
      settleSeconds: link.promotion?.settleSeconds ?? 3,
      catchUpTimeoutSeconds: link.promotion?.catchUpTimeoutSeconds ?? 30,
      user: link.promotion?.user ?? link.monitoring?.user ?? primary.users.superuser,
    },
    monitoring: {
      user: link.monitoring?.user ?? link.promotion?.user ?? primary.users.superuser,
      addresses: (link.monitoring?.addresses ?? []).map(defaultHbaAddress),
    },
    reseed: link.reseed
      ? {
          cluster: link.reseed.cluster,
          generation: link.reseed.generation,
          timeoutSeconds: link.reseed.timeoutSeconds ?? 1800,
          from: link.reseed.from ?? (backup ? 'backup' : 'source'),
        }
      : undefined,
    roleChange: {
      maxLagBytes: link.roleChange?.maxLagBytes ?? 16 * 1024 * 1024,
      catchUpTimeoutSeconds: link.roleChange?.catchUpTimeoutSeconds ?? 30,
      followTimeoutSeconds: link.roleChange?.followTimeoutSeconds ?? 120,
      acceptDataLoss: link.roleChange?.acceptDataLoss ?? false,
      ...(link.roleChange?.synchronousHandoff === false ? { synchronousHandoff: false as const } : {}),
      ...(link.roleChange?.generation !== undefined ? { generation: link.roleChange.generation } : {}),
    },
  });
}

/** `host:port`, with the host in brackets when it is an IPv6 address (as URLs and Patroni want it). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The REST API base URL of a node: https when the cluster's REST API has TLS. */
export function restUrl(cluster: ResolvedCluster, host: string): string {
  return `${cluster.patroni.restApiTls ? 'https' : 'http'}://${hostPort(host, cluster.patroni.restApiPort)}`;
}

/** A member's data directory, per-member overrides included. */
export function dataDir(cluster: ResolvedCluster, node: ResolvedNode): string {
  const pg = (node.overrides.postgresql ?? {}) as { data_dir?: unknown };
  return typeof pg.data_dir === 'string' ? pg.data_dir : cluster.postgresql.dataDir;
}

/** Replaces `{name}`, `{host}`, `{scope}`, `{configName}` in a deploy path or command. */
export function expandPlaceholders(template: string, cluster: ResolvedCluster, node: ResolvedNode): string {
  const values: Record<string, string> = {
    name: node.name,
    host: node.host,
    scope: cluster.scope,
    configName: cluster.deploy.configName,
  };
  return template.replace(/\{(name|host|scope|configName)\}/g, (_m, key: string) => values[key]);
}
