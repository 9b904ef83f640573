/**
 * Strict schema of the topology at the file boundary (and of construct props): a misspelled
 * key is an error, not a silently ignored setting.
 */
import { z } from 'zod';
import { ClusterSpec, LinkSpec, Topology } from './types';

const nonEmpty = z.string().trim().min(1, 'must not be empty');
const port = z.number().int().min(1).max(65535);
const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** `host:port`, `[v6]:port`: Patroni's DCS clients need the port. */
const hostPort = nonEmpty.regex(/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$/, 'must be host:port');
const hostList = z.array(hostPort).min(1, 'needs at least one host:port');

export const dcsSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('etcd3'), hosts: hostList, protocol: z.enum(['http', 'https']).optional() }),
  z.strictObject({ type: z.literal('etcd'), hosts: hostList, protocol: z.enum(['http', 'https']).optional() }),
  z.strictObject({ type: z.literal('consul'), host: nonEmpty, scheme: z.enum(['http', 'https']).optional() }),
  z.strictObject({ type: z.literal('zookeeper'), hosts: hostList }),
  z.strictObject({
    type: z.literal('kubernetes'),
    namespace: nonEmpty.optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
]);

const absolutePath = z.string().regex(/^\/\S*$/, 'must be an absolute path on the nodes, like /etc/patroni/tls/node.pem');

/** An OpenSSH public key line (`ssh-ed25519 AAAA...`), as in known_hosts without the host name. */
const sshPublicKey = z
  .string()
  .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( \S.*)?$/, 'must be an OpenSSH public key like "ssh-ed25519 AAAAC3Nz..." (ssh-keyscan -t ed25519 HOST, without the host name)');

export const nodeSchema = z.strictObject({
  name: nonEmpty,
  host: nonEmpty,
  hbaAddress: nonEmpty.optional(),
  tags: z.record(z.string(), scalar).optional(),
  overrides: z.record(z.string(), z.unknown()).optional(),
  sshHostKey: sshPublicKey.optional(),
});

const postgresSchema = z.strictObject({
  version: z.number().int().min(9).max(99).optional(),
  binDir: nonEmpty.optional(),
  dataDir: nonEmpty.optional(),
  configDir: nonEmpty.optional(),
  port: port.optional(),
  parameters: z.record(z.string(), scalar).optional(),
  pgHba: z.array(z.string()).optional(),
  generatePgHba: z.boolean().optional(),
  authMethod: z.enum(['scram-sha-256', 'md5', 'cert', 'trust']).optional(),
  rejectLine: nonEmpty.optional(),
  pgIdent: z.array(nonEmpty).optional(),
  initdb: z.array(z.union([nonEmpty, z.record(z.string(), z.string())])).optional(),
  pgpass: nonEmpty.optional(),
  useUnixSocket: z.boolean().optional(),
});

const slotSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('physical') }),
  z.strictObject({ type: z.literal('logical'), database: nonEmpty, plugin: nonEmpty }),
]);

const patroniSchema = z.strictObject({
  restApiPort: port.optional(),
  restApiUsername: nonEmpty.optional(),
  restApiTls: z
    .strictObject({
      certFile: absolutePath,
      keyFile: absolutePath.optional(),
      caFile: absolutePath.optional(),
      verifyClient: z.enum(['none', 'optional', 'required']).optional(),
    })
    .optional(),
  restApiPasswordEnv: nonEmpty.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
  // Patroni's own minimums: below them Patroni 4 (and late 3.x) raises the value by itself, so the
  // plan would not show what runs
  ttl: z.number().int().min(20, "is below Patroni's minimum ttl (20 s): Patroni raises it to 20 by itself, so the plan would not show what runs").optional(),
  loopWait: z.number().int().min(1).optional(),
  retryTimeout: z.number().int().min(3, "is below Patroni's minimum retry_timeout (3 s): Patroni raises it to 3 by itself, so the plan would not show what runs").optional(),
  maximumLagOnFailover: z.number().int().min(0).optional(),
  useSlots: z.boolean().optional(),
  usePgRewind: z.boolean().optional(),
  permanentSlots: z.record(z.string(), slotSchema).optional(),
  bootstrapPgHba: z.boolean().optional(),
  watchdog: z.enum(['off', 'automatic', 'required']).optional(),
  dynamic: z.record(z.string(), z.unknown()).optional(),
});

const usersSchema = z.strictObject({
  superuser: nonEmpty.optional(),
  replication: nonEmpty.optional(),
  rewind: nonEmpty.optional(),
});

const deploySchema = z.strictObject({
  transport: z.enum(['ssh', 'local']).optional(),
  sshUser: nonEmpty.optional(),
  sshPrivateKeyPath: nonEmpty.optional(),
  sshBastionHost: nonEmpty.optional(),
  sshBastionUser: nonEmpty.optional(),
  sshPort: port.optional(),
  sshBastionPort: port.optional(),
  sshBastionHostKey: sshPublicKey.optional(),
  sshCertificateAuthority: sshPublicKey.optional(),
  configName: nonEmpty.optional(),
  configPath: nonEmpty.optional(),
  startCommand: nonEmpty.optional(),
  reloadCommand: nonEmpty.optional(),
  statusCommand: nonEmpty.optional(),
  stopOnDestroy: z.boolean().optional(),
  stopCommand: nonEmpty.optional(),
  resourceKind: z.enum(['terraform_data', 'null_resource']).optional(),
  patchTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
  secrets: z.strictObject({ envFile: nonEmpty.regex(/^\/\S*$/, 'must be an absolute path on the nodes, like /etc/patroni/{configName}.env'), version: z.number().int().min(1).optional() }).optional(),
});

export const clusterSchema = z.strictObject({
  mode: z.enum(['managed', 'existing']).optional(),
  scope: nonEmpty,
  namespace: nonEmpty.optional(),
  dcs: dcsSchema,
  nodes: z.array(nodeSchema).min(1, 'needs at least one node'),
  postgresql: postgresSchema.optional(),
  patroni: patroniSchema.optional(),
  users: usersSchema.optional(),
  deploy: deploySchema.optional(),
});

export const linkSchema = z.strictObject({
  state: z.enum(['following', 'detached']).optional(),
  slotName: z.string().optional(),
  sourceVip: nonEmpty.optional(),
  port: port.optional(),
  createReplicaMethods: z.array(nonEmpty).min(1).optional(),
  restoreCommand: nonEmpty.optional(),
  archiveCleanupCommand: nonEmpty.optional(),
  recoveryMinApplyDelay: nonEmpty.optional(),
  walRetrieveRetryInterval: nonEmpty.regex(/^[0-9]+ ?(ms|s|min)?$/, 'must be a PostgreSQL time like 1s or 500ms').optional(),
  promotion: z
    .strictObject({
      disaster: z.boolean().optional(),
      keepSourceSlot: z.boolean().optional(),
      settleSeconds: z.number().int().min(1).max(600).optional(),
      catchUpTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
      user: nonEmpty.optional(),
    })
    .optional(),
  roleChange: z
    .strictObject({
      maxLagBytes: z.number().int().min(0).optional(),
      catchUpTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
      followTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
      acceptDataLoss: z.boolean().optional(),
    })
    .optional(),
  reseed: z
    .strictObject({
      cluster: nonEmpty,
      generation: z.number().int().min(1),
      timeoutSeconds: z.number().int().min(10).max(86400).optional(),
    })
    .optional(),
  monitoring: z
    .strictObject({
      user: nonEmpty.regex(/^[A-Za-z_][A-Za-z0-9_$-]*$/, 'must be a plain role name (letters, digits, _)').optional(),
      addresses: z.array(nonEmpty).optional(),
    })
    .optional(),
  acknowledgeWarnings: z.array(z.strictObject({ id: nonEmpty, reason: nonEmpty })).optional(),
});

export const topologySchema = z.strictObject({
  primary: clusterSchema,
  standby: clusterSchema,
  link: linkSchema,
});

/** A cluster's name in the `clusters:` layout: its stack and state file are named after it. */
export const CLUSTER_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** The `clusters:` layout, before each cluster and the link are checked on their own. */
export const dataCenterLayoutSchema = z.strictObject({
  clusters: z.record(z.string(), z.unknown()),
  link: z.looseObject({ source: nonEmpty }),
});

/**
 * The keys a strict object allows at a path of the input (zod's unrecognized_keys issue does not
 * carry them). Discriminated unions are resolved with the input's own discriminator value.
 */
export function allowedKeysAt(root: z.ZodType, input: unknown, path: readonly PropertyKey[]): string[] | undefined {
  let schema: z.ZodType | undefined = root;
  let value: unknown = input;
  const unwrap = (s: z.ZodType): z.ZodType => {
    let cur = s;
    while (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable) cur = cur.unwrap() as z.ZodType;
    if (cur instanceof z.ZodDiscriminatedUnion) {
      const disc = (cur as unknown as { def: { discriminator: string } }).def.discriminator;
      const wanted = (value as Record<string, unknown> | undefined)?.[disc];
      const match = (cur.options as z.ZodType[]).find(
        (o) => o instanceof z.ZodObject && (o.shape[disc] as z.ZodLiteral).values.has(wanted as never),
      );
      if (match) return match;
    }
    return cur;
  };
  for (const part of path) {
    if (!schema) return undefined;
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject) schema = schema.shape[part as string] as z.ZodType | undefined;
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else return undefined;
    value = (value as Record<PropertyKey, unknown> | undefined)?.[part as string];
  }
  if (!schema) return undefined;
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined;
}

// Compile-time checks that the schema and the documented interfaces describe the same model.
type Assignable<A, B extends A> = B;
export type _ClusterMatches = Assignable<ClusterSpec, z.infer<typeof clusterSchema>>;
export type _LinkMatches = Assignable<LinkSpec, z.infer<typeof linkSchema>>;
export type _TopologyMatches = Assignable<Topology, z.infer<typeof topologySchema>>;
