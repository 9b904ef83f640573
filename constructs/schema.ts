/**
 * Strict schema of the topology at the file boundary (and of construct props): a misspelled
 * key is an error, not a silently ignored setting.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { ANY_ITEM, AllowedKeys, Elsewhere, formatPath, WHOLE_NUMBER } from './errors';
import { ClusterSpec, LinkSpec, Topology } from './types';

const nonEmpty = z.string().trim().min(1, 'must not be empty');
/** A whole number: its type error says so (zod's says "expected number" for '5432'). */
const wholeNumber = () => z.int({ error: (issue) => (issue.code === 'invalid_type' ? WHOLE_NUMBER : undefined) });
const port = wholeNumber().min(1).max(65535);
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const HOST_PORT_ALLOWED = 'host:port, e.g. 10.0.0.1:2379, or [2001:db8::10]:2379 for an IPv6 address';

/** What is wrong with a DCS endpoint, and how to write it; undefined when it is host:port. */
function hostPortProblem(value: string): { message: string; fix: string } | undefined {
  if (value === '') return undefined; // nonEmpty reports it
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/]*)/.exec(value);
  if (scheme) {
    return {
      message: 'must be host:port, without a scheme',
      fix: `write ${scheme[1] || 'host:port'} (dcs.protocol or dcs.scheme sets http or https)`,
    };
  }
  const portProblem = (host: string, port: string) =>
    Number(port) >= 1 && Number(port) <= 65535
      ? undefined
      : {
          message: 'must be host:port with a port from 1 to 65535',
          fix: `write the port the DCS listens on, e.g. ${host}:2379`,
        };
  const bracketed = /^\[([^\]]*)\](?::([0-9]*))?$/.exec(value);
  if (bracketed) {
    const [, ip, p] = bracketed;
    if (isIP(ip) !== 6)
      return {
        message: 'must be host:port; brackets hold an IPv6 address',
        fix:
          isIP(ip) === 4
            ? `write ${ip}:${p || 2379} without brackets`
            : 'write an IPv6 address in the brackets, e.g. [2001:db8::10]:2379',
      };
    if (!p) return { message: 'must be host:port', fix: `add the port the DCS listens on, e.g. [${ip}]:2379` };
    return portProblem(`[${ip}]`, p);
  }
  if (value.split(':').length > 2) {
    // an IPv6 address without brackets: its last group may be meant as the port
    const cut = value.lastIndexOf(':');
    const [head, tail] = [value.slice(0, cut), value.slice(cut + 1)];
    const written =
      isIP(head) === 6 && /^[0-9]{1,5}$/.test(tail)
        ? `[${head}]:${tail}`
        : isIP(value) === 6
          ? `[${value}]:2379`
          : undefined;
    return written
      ? {
          message: `must be host:port; an IPv6 address is written in brackets, ${written}`,
          fix: `write ${written}${written.endsWith(`]:${tail}`) ? '' : ' (with the port the DCS listens on)'}`,
        }
      : {
          message: 'must be host:port; an IPv6 address is written in brackets, [2001:db8::10]:2379',
          fix: 'write the address in brackets, then the port',
        };
  }
  const m = /^([A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(value);
  if (!m) return { message: 'must be host:port', fix: 'add the port the DCS listens on' };
  return portProblem(m[1], m[2]);
}

/** `host:port`, `[v6]:port`: Patroni's DCS clients need the port. */
const hostPort = nonEmpty.superRefine((value, ctx) => {
  const problem = hostPortProblem(value);
  if (problem)
    ctx.addIssue({
      code: 'custom',
      message: problem.message,
      params: { allowed: HOST_PORT_ALLOWED, fix: problem.fix },
    });
});
const hostList = z.array(hostPort).min(1, 'needs at least one host:port');

const absolutePath = z
  .string()
  .regex(/^\/\S*$/, 'must be an absolute path on the nodes, like /etc/patroni/tls/node.pem');

/** The name of an environment variable of the deploying pipeline (never its value). */
const envName = nonEmpty.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

/**
 * A secret written into a DCS section (`password`, `token`). The key is in the schema only to be
 * refused by `dcsProblems` without its value ever being printed: zod's unknown-key problem would
 * show the value. It is no allowed key in any problem, nor a place a misplaced key belongs.
 */
const refusedSecret = z.unknown().optional();
const REFUSED_KEYS: ReadonlySet<z.ZodType> = new Set<z.ZodType>([refusedSecret]);
const SECRET_KEYS = { password: refusedSecret, token: refusedSecret };

/** The TLS files of a node's DCS client (Patroni's cacert, cert, key). */
const DCS_TLS = { cacert: absolutePath.optional(), cert: absolutePath.optional(), key: absolutePath.optional() };

/** The variables of the members' own passwords: a DCS credential in one of them would be that password. */
const MEMBER_PASSWORD_ENVS = ['PATRONI_SUPERUSER_PASSWORD', 'PATRONI_REPLICATION_PASSWORD', 'PATRONI_REWIND_PASSWORD'];

/** One DCS section as the schema has read it, for the checks across its fields. */
interface DcsFields {
  readonly type: string;
  readonly protocol?: string;
  readonly scheme?: string;
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly username?: string;
  readonly passwordEnv?: string;
  readonly tokenEnv?: string;
  readonly password?: unknown;
  readonly token?: unknown;
}

/**
 * What is wrong across the fields of one DCS section, one problem per bad combination: a secret
 * written into it, TLS or etcd authentication without https, a certificate without its key (or
 * the reverse), a user without its password's variable (or the reverse). Paths are relative to it.
 */
export function dcsProblems(dcs: DcsFields): { path: string; message: string; allowed: string; fix: string }[] {
  const out: { path: string; message: string; allowed: string; fix: string }[] = [];
  const etcd = dcs.type === 'etcd3' || dcs.type === 'etcd';
  const consul = dcs.type === 'consul';
  const word = etcd ? 'password' : 'token';
  const envField = etcd ? 'passwordEnv' : consul ? 'tokenEnv' : undefined;
  const envValue = etcd ? dcs.passwordEnv : dcs.tokenEnv;
  const line = etcd ? `PATRONI_${dcs.type.toUpperCase()}_PASSWORD` : 'PATRONI_CONSUL_TOKEN';
  const example = etcd ? `${dcs.type.toUpperCase()}_PASSWORD` : 'CONSUL_TOKEN';
  const literal = (['password', 'token'] as const).filter((k) => dcs[k] !== undefined);
  if (literal.length > 0) {
    const keys = literal.join(' and ');
    const why = `a secret written into the topology would land in the plan, the state and the rendered files (${literal.length > 1 ? 'their values are' : 'its value is'} not shown here)`;
    out.push(
      envField
        ? {
            path: envField,
            message: `replaces ${literal.map((k) => `"${k}"`).join(' and ')}: ${why}`,
            allowed: `the name of the pipeline's environment variable that holds the ${word}, never the ${word}`,
            fix: envValue
              ? `remove ${keys}: ${envField} (${envValue}) names the variable that holds the ${word}`
              : `remove ${keys}, set ${envField}: ${example} and export the ${word} there (TF_VAR_${example.toLowerCase()} for deploy.secrets, which writes it into each node's env file as ${line})`,
          }
        : {
            path: 'type',
            message: `takes no ${keys} from the topology: ${why}`,
            allowed: 'no secret in the DCS section',
            fix: `remove ${keys}; give Patroni the DCS credentials through the env file its service reads`,
          },
    );
  }
  const protoKey = etcd ? 'protocol' : consul ? 'scheme' : undefined;
  const proto = etcd ? dcs.protocol : dcs.scheme;
  if (protoKey && proto !== 'https') {
    const tls = (['cacert', 'cert', 'key'] as const).filter((k) => dcs[k] !== undefined);
    const auth = etcd ? (['username', 'passwordEnv'] as const).filter((k) => dcs[k] !== undefined) : [];
    const reasons = [
      ...(tls.length > 0 ? ['Patroni would talk plain http to the DCS and never use the TLS files'] : []),
      ...(auth.length > 0 ? ["etcd's password authentication over http sends the password in clear text"] : []),
    ];
    if (reasons.length > 0)
      out.push({
        path: protoKey,
        message: `must be https with ${[...tls, ...auth].join(', ')}: ${reasons.join('; ')}`,
        allowed: 'https',
        fix: `set ${protoKey}: https`,
      });
  }
  if (dcs.cert !== undefined && dcs.key === undefined)
    out.push({
      path: 'key',
      message: 'is required with cert: the client certificate goes with its private key',
      allowed: 'an absolute path on the nodes, like /etc/patroni/tls/dcs-client.key',
      fix: "add key: <the client certificate's key on the nodes>, or remove cert",
    });
  if (dcs.key !== undefined && dcs.cert === undefined)
    out.push({
      path: 'cert',
      message: 'is required with key: the private key goes with its client certificate',
      allowed: 'an absolute path on the nodes, like /etc/patroni/tls/dcs-client.pem',
      fix: 'add cert: <the client certificate on the nodes>, or remove key',
    });
  if (etcd && dcs.username !== undefined && dcs.passwordEnv === undefined && literal.length === 0)
    out.push({
      path: 'passwordEnv',
      message: `is required with username: etcd authenticates ${dcs.username} with a password, which comes from the pipeline's variable named here`,
      allowed: "the name of the pipeline's environment variable that holds the password",
      fix: `add passwordEnv: ${example} (TF_VAR_${example.toLowerCase()} for deploy.secrets), or remove username`,
    });
  if (etcd && dcs.passwordEnv !== undefined && dcs.username === undefined)
    out.push({
      path: 'username',
      message: 'is required with passwordEnv: etcd authenticates a user by name and password',
      allowed: "the etcd user of the cluster's members, e.g. patroni",
      fix: 'add username: <the etcd user>, or remove passwordEnv',
    });
  if (envField && envValue !== undefined && MEMBER_PASSWORD_ENVS.includes(envValue))
    out.push({
      path: envField,
      message: `is the variable of a PostgreSQL user's password: the DCS ${word} would be that password`,
      allowed: `a variable of its own, like ${example}`,
      fix: `set ${envField}: ${example}`,
    });
  return out;
}

/** The checks across a DCS section's fields, as zod issues with what is allowed and the fix. */
function checkDcs(dcs: DcsFields, ctx: z.RefinementCtx): void {
  for (const p of dcsProblems(dcs))
    ctx.addIssue({ code: 'custom', path: [p.path], message: p.message, params: { allowed: p.allowed, fix: p.fix } });
}

const etcdFields = {
  hosts: hostList,
  protocol: z.enum(['http', 'https']).optional(),
  ...DCS_TLS,
  username: nonEmpty.optional(),
  passwordEnv: envName.optional(),
  ...SECRET_KEYS,
};

export const dcsSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('etcd3'), ...etcdFields }).superRefine(checkDcs),
  z.strictObject({ type: z.literal('etcd'), ...etcdFields }).superRefine(checkDcs),
  z
    .strictObject({
      type: z.literal('consul'),
      host: nonEmpty,
      scheme: z.enum(['http', 'https']).optional(),
      ...DCS_TLS,
      tokenEnv: envName.optional(),
      ...SECRET_KEYS,
    })
    .superRefine(checkDcs),
  z.strictObject({ type: z.literal('zookeeper'), hosts: hostList, ...SECRET_KEYS }).superRefine(checkDcs),
  z
    .strictObject({
      type: z.literal('kubernetes'),
      namespace: nonEmpty.optional(),
      labels: z.record(z.string(), z.string()).optional(),
      ...SECRET_KEYS,
    })
    .superRefine(checkDcs),
]);

/** An OpenSSH public key line (`ssh-ed25519 AAAA...`), as in known_hosts without the host name. */
const sshPublicKey = z
  .string()
  .regex(
    /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( \S.*)?$/,
    'must be an OpenSSH public key like "ssh-ed25519 AAAAC3Nz..." (ssh-keyscan -t ed25519 HOST, without the host name)',
  );

export const nodeSchema = z.strictObject({
  name: nonEmpty,
  host: nonEmpty,
  hbaAddress: nonEmpty.optional(),
  tags: z.record(z.string(), scalar).optional(),
  overrides: z.record(z.string(), z.unknown()).optional(),
  sshHostKey: sshPublicKey.optional(),
});

const postgresSchema = z.strictObject({
  version: wholeNumber().min(9).max(99).optional(),
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
  ttl: wholeNumber()
    .min(
      20,
      "is below Patroni's minimum ttl (20 s): Patroni raises it to 20 by itself, so the plan would not show what runs",
    )
    .optional(),
  loopWait: wholeNumber().min(1).optional(),
  retryTimeout: wholeNumber()
    .min(
      3,
      "is below Patroni's minimum retry_timeout (3 s): Patroni raises it to 3 by itself, so the plan would not show what runs",
    )
    .optional(),
  maximumLagOnFailover: wholeNumber().min(0).optional(),
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
  patchTimeoutSeconds: wholeNumber().min(1).max(3600).optional(),
  secrets: z
    .strictObject({
      envFile: nonEmpty.regex(/^\/\S*$/, 'must be an absolute path on the nodes, like /etc/patroni/{configName}.env'),
      version: wholeNumber().min(1).optional(),
    })
    .optional(),
});

/** pgBackRest options the model writes itself: one place for each setting. */
const BACKUP_MODEL_OPTION = /^(repo[0-9]*-(host|path)|pg[0-9]*-|tls-server-|stanza$|config)/;
/** pgBackRest options that hold a secret: never in a topology, a plan or the state. */
const BACKUP_SECRET_OPTION = /(cipher-pass|-key-secret|-key$|-token$|passphrase|sas)/;

const backupSchema = z.strictObject({
  stanza: nonEmpty.regex(/^[A-Za-z0-9_.-]+$/, 'must be a stanza name (letters, digits, _ . -)'),
  repository: z.strictObject({
    host: nonEmpty,
    path: absolutePath.optional(),
    name: nonEmpty.regex(/^[A-Za-z0-9_.-]+$/, 'must be a plain name (letters, digits, _ . -)').optional(),
    user: nonEmpty.regex(/^[a-z_][a-z0-9_-]*$/, 'must be a user name (lower case letters, digits, _ -)').optional(),
    sshHostKey: sshPublicKey.optional(),
  }),
  tls: z.strictObject({
    caFile: absolutePath,
    certFile: absolutePath,
    keyFile: absolutePath,
    clients: z
      .array(nonEmpty.regex(/^[^=,\s]+$/, 'must be a certificate common name (no =, comma or space)'))
      .min(1, 'needs at least one client common name'),
  }),
  configPath: absolutePath.optional(),
  serverPort: port.optional(),
  serverStartCommand: nonEmpty.optional(),
  serverRestartCommand: nonEmpty.optional(),
  serverStatusCommand: nonEmpty.optional(),
  options: z
    .record(z.string(), scalar)
    .superRefine((options, ctx) => {
      for (const key of Object.keys(options)) {
        // pgBackRest reads keys trimmed and case-blind: anything but a plain name could pass a
        // secret or a section of its own past the checks below
        if (!/^[a-z0-9-]+$/.test(key))
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'is not a pgBackRest option name (lower-case letters, digits and dashes, like archive-async)',
            params: {
              secret: true,
              allowed: 'an option name as pgBackRest documents it, e.g. process-max',
              fix: `write the option's name in lower case, without spaces or line breaks`,
            },
          });
        else if (BACKUP_SECRET_OPTION.test(key))
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message:
              'holds a secret: it would land in the plan, the state and every pgbackrest.conf (its value is not shown here)',
            params: {
              secret: true,
              allowed: 'options without a secret (archive-async, process-max, repo1-retention-full, ...)',
              fix: `remove ${key}; set PGBACKREST_${key.toUpperCase().replace(/-/g, '_')} in the environment of pgBackRest on the hosts`,
            },
          });
        else if (BACKUP_MODEL_OPTION.test(key))
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'is written by the model (repositories, nodes, TLS server)',
            params: {
              allowed: 'options the model does not write',
              fix: `remove ${key}; set it through backup.repository, backup.tls, backup.serverPort or the nodes`,
            },
          });
      }
    })
    .optional(),
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
  backup: backupSchema.optional(),
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
  walRetrieveRetryInterval: nonEmpty
    .regex(/^[0-9]+ ?(ms|s|min)?$/, 'must be a PostgreSQL time like 1s or 500ms')
    .optional(),
  promotion: z
    .strictObject({
      disaster: z.boolean().optional(),
      keepSourceSlot: z.boolean().optional(),
      settleSeconds: wholeNumber().min(1).max(600).optional(),
      catchUpTimeoutSeconds: wholeNumber().min(1).max(3600).optional(),
      user: nonEmpty.optional(),
    })
    .optional(),
  roleChange: z
    .strictObject({
      maxLagBytes: wholeNumber().min(0).optional(),
      catchUpTimeoutSeconds: wholeNumber().min(1).max(3600).optional(),
      followTimeoutSeconds: wholeNumber().min(1).max(3600).optional(),
      synchronousHandoff: z.boolean().optional(),
      acceptDataLoss: z.boolean().optional(),
      generation: wholeNumber().min(0).optional(),
    })
    .optional(),
  reseed: z
    .strictObject({
      cluster: nonEmpty,
      generation: wholeNumber().min(1),
      timeoutSeconds: wholeNumber().min(10).max(86400).optional(),
      from: z.enum(['source', 'backup', 'archive']).optional(),
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

/** Optional and nullable wrappers off. */
function bare(schema: z.ZodType): z.ZodType {
  let cur = schema;
  while (cur instanceof z.ZodOptional || cur instanceof z.ZodNullable) cur = cur.unwrap() as z.ZodType;
  return cur;
}

/**
 * Every path below `schema` to an object field named `key`, lists as ANY_ITEM. The values of a
 * record are not searched: their keys are the user's own (parameters, tags, slots).
 */
function fieldsNamed(schema: z.ZodType, key: string): PropertyKey[][] {
  const s = bare(schema);
  if (s instanceof z.ZodObject) {
    return Object.entries(s.shape as Record<string, z.ZodType>).flatMap(([name, child]) => [
      ...(name === key && !REFUSED_KEYS.has(child) ? [[name]] : []),
      ...fieldsNamed(child, key).map((p) => [name, ...p]),
    ]);
  }
  if (s instanceof z.ZodArray) return fieldsNamed(s.element as z.ZodType, key).map((p) => [ANY_ITEM, ...p]);
  if (s instanceof z.ZodUnion) return (s.options as z.ZodType[]).flatMap((o) => fieldsNamed(o, key));
  return [];
}

/** The units a misplaced key is looked for in: a cluster and the link, then (`Across`) each other. */
const SEARCH_UNITS: ReadonlySet<z.ZodType> = new Set<z.ZodType>([clusterSchema, linkSchema]);

/**
 * For a unit (a cluster, the link), the other units of the topology and where they are in the
 * input: a key that is nowhere in its own unit is looked for there (the link's `slotName` written
 * under a cluster points to `link.slotName`).
 */
export type Across = ReadonlyMap<
  z.ZodType,
  readonly { readonly schema: z.ZodType; readonly at: readonly PropertyKey[] }[]
>;

/**
 * The keys a strict object allows at a path of the input (zod's unrecognized_keys issue does not
 * carry them). Discriminated unions are resolved with the input's own discriminator value.
 * `elsewhere(key)` names where a field of that name is: in the object itself, then in each object
 * around it up to the cluster (or the link), the nearest and shallowest first, relative to that
 * object, with the input's own list indices where the path runs through them; then, when the
 * unit has none, in the other units `across` names (whole paths).
 */
export function allowedKeysAt(
  root: z.ZodType,
  input: unknown,
  path: readonly PropertyKey[],
  across: Across = new Map(),
): AllowedKeys | undefined {
  let schema: z.ZodType | undefined = root;
  let value: unknown = input;
  const unwrap = (s: z.ZodType): z.ZodType => {
    const cur = bare(s);
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
  // the schema at each prefix of the path, for elsewhere()
  const steps: z.ZodType[] = [];
  for (const part of path) {
    if (!schema) return undefined;
    schema = unwrap(schema);
    steps.push(schema);
    if (schema instanceof z.ZodObject) schema = schema.shape[part as string] as z.ZodType | undefined;
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else return undefined;
    value = (value as Record<PropertyKey, unknown> | undefined)?.[part as string];
  }
  if (!schema) return undefined;
  schema = unwrap(schema);
  steps.push(schema);
  if (!(schema instanceof z.ZodObject)) return undefined;
  // the fewest keys away (a list's items count as no step)
  const nearest = <T extends { absolute: readonly PropertyKey[] }>(found: readonly T[]): T[] => {
    const keys = (a: readonly PropertyKey[]) => a.filter((p) => typeof p === 'string').length;
    const fewest = Math.min(...found.map((f) => keys(f.absolute)));
    return found.filter((f) => keys(f.absolute) === fewest);
  };
  // the other units, where `unit` has no field of that name
  const elsewhereAcross = (unit: z.ZodType, key: string): Elsewhere[] => {
    const found = (across.get(unit) ?? []).flatMap(({ schema: other, at }) =>
      fieldsNamed(other, key).map((rel) => ({
        relative: formatPath([...at, ...rel]),
        absolute: [...at, ...rel],
        across: true as const,
      })),
    );
    return found.length > 0 ? nearest(found) : [];
  };
  const elsewhere = (key: string): Elsewhere[] => {
    const here = formatPath([...path, key]);
    for (let depth = path.length; depth >= 0; depth--) {
      const around = steps[depth];
      if (!(around instanceof z.ZodObject)) continue;
      const found = new Map<string, PropertyKey[]>();
      for (const rel of fieldsNamed(around, key)) {
        // a list on the input's own path keeps the input's index
        const aligned = rel.map((part, i) =>
          part === ANY_ITEM &&
          typeof path[depth + i] === 'number' &&
          rel.slice(0, i).every((q, j) => q === path[depth + j] || q === ANY_ITEM)
            ? path[depth + i]
            : part,
        );
        const absolute = [...path.slice(0, depth), ...aligned];
        if (formatPath(absolute) !== here) found.set(formatPath(aligned), absolute);
      }
      if (found.size > 0) return nearest([...found].map(([relative, absolute]) => ({ relative, absolute })));
      if (SEARCH_UNITS.has(around)) return elsewhereAcross(around, key);
      // a record's values are the user's own entries (slots): nothing around them is meant
      if (steps[depth - 1] instanceof z.ZodRecord) break;
    }
    return [];
  };
  const shape = schema.shape as Record<string, z.ZodType>;
  return Object.assign(
    Object.keys(shape).filter((k) => !REFUSED_KEYS.has(shape[k])),
    { elsewhere },
  );
}

// Compile-time checks that the schema and the documented interfaces describe the same model.
type Assignable<A, B extends A> = B;
export type _ClusterMatches = Assignable<ClusterSpec, z.infer<typeof clusterSchema>>;
export type _LinkMatches = Assignable<LinkSpec, z.infer<typeof linkSchema>>;
export type _TopologyMatches = Assignable<Topology, z.infer<typeof topologySchema>>;
