/**
 * One node's patroni.yml, in the article's layout. Holds user names only: passwords reach
 * Patroni through its environment (PATRONI_SUPERUSER_PASSWORD, PATRONI_REPLICATION_PASSWORD,
 * PATRONI_REWIND_PASSWORD, PATRONI_RESTAPI_PASSWORD, and the DCS's PATRONI_ETCD3_PASSWORD or
 * PATRONI_CONSUL_TOKEN).
 */
import { toYaml } from './yaml-emit';
import { hostPort, ResolvedCluster, ResolvedNode } from '../resolve';
import { bootstrapDcs, JsonObject, LinkContribution, sortedRecord } from './dynamic-config';
import { replicaMethodSection } from './pgbackrest';

/** The TLS files of the DCS client, under Patroni's names, only those given. */
function dcsTls(dcs: { cacert?: string; cert?: string; key?: string }): JsonObject {
  const out: JsonObject = {};
  if (dcs.cacert !== undefined) out.cacert = dcs.cacert;
  if (dcs.cert !== undefined) out.cert = dcs.cert;
  if (dcs.key !== undefined) out.key = dcs.key;
  return out;
}

/**
 * The DCS section of patroni.yml: hosts, protocol, TLS files and the etcd user's name. Never a
 * password or a token: those are in the node's env file (`dcsCredentials`).
 */
export function dcsSection(cluster: ResolvedCluster): JsonObject {
  const dcs = cluster.dcs;
  switch (dcs.type) {
    case 'etcd3':
    case 'etcd':
      return {
        [dcs.type]: {
          hosts: [...dcs.hosts],
          protocol: dcs.protocol ?? 'http',
          ...dcsTls(dcs),
          ...(dcs.username !== undefined ? { username: dcs.username } : {}),
        },
      };
    case 'consul':
      return { consul: { host: dcs.host, scheme: dcs.scheme ?? 'http', ...dcsTls(dcs) } };
    case 'zookeeper':
      return { zookeeper: { hosts: [...dcs.hosts] } };
    case 'kubernetes':
      return {
        kubernetes: {
          namespace: dcs.namespace ?? 'default',
          labels: sortedRecord(dcs.labels ?? { application: 'patroni' }),
        },
      };
  }
}

/**
 * The DCS credential a node's env file carries, when the cluster's DCS has one: the Patroni
 * variable (`line`), the pipeline's variable that holds the value (`env`; the deploy reads it as
 * the ephemeral TF_VAR_<env in lower case>), and the plain lines that go with it (`plain`).
 * Patroni (3.0 and 4.0) takes PATRONI_ETCD3_PASSWORD as etcd's only next to another
 * PATRONI_ETCD3_ setting; alone, Patroni 3.0 makes it the password of a new database user ETCD3
 * and Patroni 4.0 ignores it. So the protocol goes with it, as the topology has it (https, which
 * etcd authentication requires).
 */
export function dcsCredentials(
  cluster: ResolvedCluster,
): { line: string; env: string; plain: Readonly<Record<string, string>> } | undefined {
  const dcs = cluster.dcs;
  if ((dcs.type === 'etcd3' || dcs.type === 'etcd') && dcs.passwordEnv !== undefined) {
    const prefix = `PATRONI_${dcs.type.toUpperCase()}`;
    return {
      line: `${prefix}_PASSWORD`,
      env: dcs.passwordEnv,
      plain: { [`${prefix}_PROTOCOL`]: dcs.protocol ?? 'http' },
    };
  }
  if (dcs.type === 'consul' && dcs.tokenEnv !== undefined)
    return { line: 'PATRONI_CONSUL_TOKEN', env: dcs.tokenEnv, plain: {} };
  return undefined;
}

/** Deep merge for per-node overrides: objects merge, everything else replaces. */
export function deepMerge(base: JsonObject, patch: Readonly<Record<string, unknown>>): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    if (isPlainObject(value) && isPlainObject(current)) {
      out[key] = deepMerge(current as JsonObject, value);
    } else {
      out[key] = value as JsonObject[string];
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function nodeConfig(
  cluster: ResolvedCluster,
  node: ResolvedNode,
  contributions: readonly LinkContribution[],
): JsonObject {
  const pg = cluster.postgresql;
  const restapi: JsonObject = {
    listen: hostPort(node.host, cluster.patroni.restApiPort),
    connect_address: hostPort(node.host, cluster.patroni.restApiPort),
  };
  if (cluster.patroni.restApiUsername) restapi.authentication = { username: cluster.patroni.restApiUsername };
  const tls = cluster.patroni.restApiTls;
  if (tls) {
    restapi.certfile = tls.certFile;
    if (tls.keyFile) restapi.keyfile = tls.keyFile;
    if (tls.caFile) restapi.cafile = tls.caFile;
    if (tls.verifyClient && tls.verifyClient !== 'none') restapi.verify_client = tls.verifyClient;
  }
  const postgresql: JsonObject = {
    listen: hostPort(node.host, pg.port),
    connect_address: hostPort(node.host, pg.port),
    data_dir: pg.dataDir,
  };
  if (pg.configDir !== undefined) postgresql.config_dir = pg.configDir;
  Object.assign(postgresql, {
    bin_dir: pg.binDir,
    pgpass: pg.pgpass,
    use_unix_socket: pg.useUnixSocket,
    use_unix_socket_repl: pg.useUnixSocket,
    parameters: pg.authMethod === 'scram-sha-256' ? { password_encryption: 'scram-sha-256' } : {},
    authentication: {
      replication: { username: cluster.users.replication },
      superuser: { username: cluster.users.superuser },
      rewind: { username: cluster.users.rewind },
    },
    ...(replicaMethodSection(cluster) as JsonObject),
  });
  const dcs = bootstrapDcs(cluster, contributions);
  const bootstrap: JsonObject = {
    dcs,
    initdb: pg.initdb.map((o) => (typeof o === 'string' ? o : { ...o })),
  };
  if (cluster.patroni.bootstrapPgHba) bootstrap.pg_hba = [...((dcs.postgresql as JsonObject).pg_hba as string[])];
  const config: JsonObject = {
    scope: cluster.scope,
    namespace: cluster.namespace,
    name: node.name,
    restapi,
    ...dcsSection(cluster),
    bootstrap,
    postgresql,
  };
  if (cluster.patroni.watchdog) config.watchdog = { mode: cluster.patroni.watchdog };
  config.tags = sortedRecord(node.tags) as JsonObject;
  return deepMerge(config, node.overrides);
}

/** YAML text of a node's configuration; the same input always gives the same bytes. */
export function renderNodeYaml(
  cluster: ResolvedCluster,
  node: ResolvedNode,
  contributions: readonly LinkContribution[],
  opts: { runtimeOnly?: boolean } = {},
): string {
  const config = nodeConfig(cluster, node, contributions);
  // what a running Patroni reads: bootstrap is used only when a new cluster is initialised
  if (opts.runtimeOnly) delete config.bootstrap;
  // YAML 1.1 rules, as Patroni's PyYAML reads them: 'on', 'off', 'yes', 'no' stay quoted strings.
  return toYaml(config);
}
