/**
 * The one contract between the constructs and the programs Terraform runs at apply time: each
 * program's configuration as a schema with its inferred type, the names of the environment
 * variables that carry it, the program table, and the constants both sides must agree on
 * (the marker key, the keys never removed implicitly, the hot-standby defaults, Patroni's role
 * names). The planners build these types; the programs parse them with these schemas and refuse
 * a configuration that does not match. No password is ever part of a configuration: the
 * programs read passwords from the environment variables the configuration names.
 */
import { z } from 'zod';

/** Where the patch program records, in a cluster's own dynamic configuration, what it wrote. */
export const MARKER = 'managed_by_patroni_standby_cdktf';

/**
 * What the role change records under MARKER in both clusters' dynamic configuration: its lease
 * while it runs (`lease.ts`: the patch program waits while another holds it), and the source
 * and generation it made (a role change or patch of an older generation is refused).
 */
export const LEASE_KEY = 'roleChange';
export const SOURCE_KEY = 'source';

/** A role change's hold on both clusters' configuration: who, until when (ms since the epoch). */
export const leaseSchema = z.object({ holder: z.string().min(1), until: z.number(), since: z.string() });
export type Lease = z.infer<typeof leaseSchema>;

/** The source a role change of `generation` made (link.roleChange.generation). */
export const sourceRecordSchema = z.object({ cluster: z.string().min(1), generation: z.number().int().min(0) });
export type SourceRecord = z.infer<typeof sourceRecordSchema>;

/** Keys of the dynamic configuration whose removal only ever happens through an explicit null. */
export const NEVER_IMPLICIT: readonly string[] = ['postgresql', 'slots', 'standby_cluster', MARKER];

/**
 * PostgreSQL's defaults of the parameters a hot standby must run at least as high as its source
 * (a standby below them refuses to start, or Patroni raises them and shows a pending restart).
 */
export const HOT_STANDBY_DEFAULTS: Readonly<Record<string, number>> = {
  max_connections: 100,
  max_worker_processes: 8,
  max_wal_senders: 10,
  max_prepared_transactions: 0,
  max_locks_per_transaction: 64,
};

/**
 * Patroni's role names: a leader is `master` in 3.0 and `primary` from 4.0 (`GET /patroni`),
 * `leader` in `GET /cluster`; a standby cluster's leader is `standby_leader`.
 */
export const PATRONI_ROLES = {
  leader: ['leader', 'master', 'primary'] as readonly string[],
  standbyLeader: 'standby_leader',
  replica: 'replica',
} as const;

/** Each program: its bundled file in the stack's asset, and the variable that carries its configuration. */
export const PROGRAMS = {
  patch: { file: 'apply-config-patch.cjs', configEnv: 'PATRONI_PATCH_CONFIG', bodyEnv: 'PATRONI_PATCH' },
  health: { file: 'link-health.cjs', configEnv: 'LINK_HEALTH_CONFIG' },
  roleChange: { file: 'role-change.cjs', configEnv: 'ROLE_CHANGE_CONFIG' },
  reseed: { file: 'reseed.cjs', configEnv: 'RESEED_CONFIG' },
} as const;

export type ProgramName = keyof typeof PROGRAMS;

/** The environment variable of a cluster's REST API password when the topology names none. */
export const DEFAULT_REST_PASSWORD_ENV = 'PATRONI_RESTAPI_PASSWORD';

/** The patch program's deadline when the configuration gives none (deploy.patchTimeoutSeconds). */
export const DEFAULT_PATCH_TIMEOUT_SECONDS = 300;

const name = z.string().min(1);
const seconds = z.number().int().min(1);

/** One member as the programs reach it: PostgreSQL at host:port, Patroni's REST API at `rest`. */
export const healthNodeSchema = z.strictObject({
  name,
  host: name,
  port: z.number().int().min(1).max(65535),
  rest: name,
});
export type HealthNode = z.infer<typeof healthNodeSchema>;

const healthClusterSchema = z.strictObject({
  name,
  /** Patroni's ttl: a member that has not reached its DCS for longer is a problem. */
  ttl: z.number().int().min(1),
  nodes: z.array(healthNodeSchema).min(1),
});

/** The configuration of status and the promotion gate (link-health). */
export const linkHealthConfigSchema = z.strictObject({
  state: z.enum(['following', 'detached']),
  slotName: z.string().min(1).optional(),
  keepSourceSlot: z.boolean(),
  /** The monitoring role status and the gate connect as. */
  user: name,
  disaster: z.boolean(),
  settleSeconds: seconds,
  catchUpTimeoutSeconds: seconds,
  source: healthClusterSchema,
  standby: healthClusterSchema,
  /**
   * The standby reads an archive (a restore command: backup on both clusters, or
   * link.restoreCommand): a lost slot then needs no copy. Absent otherwise, so that a link
   * without an archive keeps the configuration it had.
   */
  readsArchive: z.literal(true).optional(),
});
export type LinkHealthConfig = z.infer<typeof linkHealthConfigSchema>;

/** One cluster as the role change and the re-seed reach it: its members and its REST credentials' names. */
export const roleChangeClusterSchema = z.strictObject({
  name,
  scope: name,
  restUser: z.string().min(1).optional(),
  restPasswordEnv: name,
  nodes: z.array(healthNodeSchema).min(1),
});
export type RoleChangeCluster = z.infer<typeof roleChangeClusterSchema>;

/** The configuration of a cluster's role change (switchover, rejoin). */
export const roleChangeConfigSchema = z.strictObject({
  role: z.enum(['source', 'standby']),
  /**
   * The standby's only: the link's state (detached, the step does nothing; its return to
   * following runs the step again, which rejoins a promoted standby). The source's step leaves it
   * out, so a promotion changes nothing in the source's stack.
   */
  state: z.enum(['following', 'detached']).optional(),
  me: roleChangeClusterSchema,
  other: roleChangeClusterSchema,
  slotName: z.string().min(1).optional(),
  /** The standby_cluster block that makes the other cluster follow this one. */
  block: z.record(z.string(), z.unknown()),
  user: name,
  maxLagBytes: z.number().int().min(0),
  catchUpTimeoutSeconds: seconds,
  followTimeoutSeconds: seconds,
  acceptDataLoss: z.boolean(),
  /**
   * link.roleChange.synchronousHandoff: false, the soft fence always; absent: the synchronous
   * handoff where it applies.
   */
  synchronousHandoff: z.literal(false).optional(),
  /**
   * link.roleChange.generation, raised with every change of link.source: a role change whose generation is
   * below the one the clusters record (a stale pipeline) is refused. Absent: not checked.
   */
  generation: z.number().int().min(0).optional(),
});
export type RoleChangeConfig = z.infer<typeof roleChangeConfigSchema>;

/** The configuration of the re-seed's pipeline steps (its gate and its wait). */
export const reseedConfigSchema = z.strictObject({
  generation: z.number().int().min(1),
  timeoutSeconds: seconds,
  slotName: z.string().min(1).optional(),
  /** The re-seeded cluster and its source, as the REST steps reach them. */
  standby: roleChangeClusterSchema,
  source: roleChangeClusterSchema,
  /** Both clusters as status reads them (the gate's and the wait's view of the link). */
  health: linkHealthConfigSchema,
  /** Where each member's data directory goes, as the gate prints it (none from the archive). */
  setAside: z.record(z.string(), z.string()),
  /**
   * `source`: the members are cloned anew from the source; `backup`: restored from their own data
   * center's repository (the source as the fallback); `archive`: only the link slot is renewed
   * (see ReseedSpec).
   */
  from: z.enum(['source', 'backup', 'archive']),
});
export type ReseedConfig = z.infer<typeof reseedConfigSchema>;

/**
 * The configuration of one DCS patch (its body travels apart, in PROGRAMS.patch.bodyEnv from the
 * resource's input, so that a plan shows the body's diff).
 */
export const patchConfigSchema = z.strictObject({
  /** What the patch is for, printed before each line of its output. */
  label: name,
  /** REST API base URLs, tried in order. */
  endpoints: z.array(name).min(1),
  /** How long to keep trying. */
  timeoutSeconds: seconds,
  /**
   * Which part of the configuration the body owns: all of it, only `slots`, or exactly the body's keys
   * (nothing removed).
   */
  sections: z.enum(['all', 'slots', 'exact']),
  /** A managed cluster: every parameter and slot the body does not name is removed. */
  strict: z.boolean(),
  /** A clean-up: when no node answers before the deadline, warn and succeed. */
  optional: z.boolean(),
  /** Each standby cluster's REST endpoints: a slot one of them still names is never removed. */
  guardStandby: z.array(z.array(name).min(1)),
  /** A standby's patch: the source's REST endpoints, to warn about hot-standby parameters below the source's. */
  hotStandbySource: z.array(name),
  /** The REST API's basic-authentication user, when it has one. */
  restUser: z.string().min(1).optional(),
  /** The variable of the deploying environment that holds the REST API password. */
  restPasswordEnv: name,
});
export type PatchConfig = z.infer<typeof patchConfigSchema>;

export const CONFIG_SCHEMAS = {
  patch: patchConfigSchema,
  health: linkHealthConfigSchema,
  roleChange: roleChangeConfigSchema,
  reseed: reseedConfigSchema,
} as const;

export type ProgramConfig<P extends ProgramName> = z.infer<(typeof CONFIG_SCHEMAS)[P]>;

/** A configuration that does not match its program's schema: what is wrong, where. */
export class ConfigError extends Error {}

/**
 * Parses a program's configuration (the JSON text of its environment variable); throws a
 * ConfigError that names the variable and every mismatch, path by path.
 */
export function parseConfig<P extends ProgramName>(program: P, text: string | undefined): ProgramConfig<P> {
  const env = PROGRAMS[program].configEnv;
  if (text === undefined || text.trim() === '') {
    throw new ConfigError(`${env} is not set: this program is run by the stacks' planned resources, which set it`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${env} is not JSON: ${(err as Error).message}`);
  }
  const result = CONFIG_SCHEMAS[program].safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new ConfigError(
      `${env} does not match this program's configuration (the stacks and the program are of different versions?): ${issues.join('; ')}`,
    );
  }
  return result.data as ProgramConfig<P>;
}
