/**
 * Where each data center's stack keeps its state and its lock: any of Terraform's backends, set
 * once for an environment (the topology file's `state:`, or `buildStandbyStacks`' `backend`
 * option). Every string of the backend's options may name `{stack}` and `{cluster}`; the key
 * that tells one state from another (the S3 key, the pg schema, the workspace, ...) must, so that
 * the two data centers never share a state or a lock. Credentials are never options: they would
 * be written into cdktf.out and every saved plan; each backend reads them from the runner's
 * environment (refused here with the variable to use instead).
 */
import {
  AzurermBackend,
  CloudBackend,
  ConsulBackend,
  GcsBackend,
  HttpBackend,
  LocalBackend,
  NamedCloudWorkspace,
  PgBackend,
  RemoteBackend,
  S3Backend,
  TerraformStack,
} from 'cdktf';
import { Problem, TopologyError } from '../constructs/errors';

/** A backend's options as Terraform names them (snake_case), with `{stack}` and `{cluster}` in strings. */
export type BackendOptions = { readonly [key: string]: BackendValue };
export type BackendValue = string | number | boolean | readonly string[] | BackendOptions;

/** The state backend of an environment's stacks (the topology file's `state:`). */
export interface StateBackendSpec {
  /** Terraform's backend type. @default 'local' */
  readonly backend: StateBackendType;
  /**
   * The backend's own arguments as Terraform names them (`bucket`, `region`, `conn_str`, ...);
   * `{stack}` and `{cluster}` in a string are each stack's name and its cluster's. Without the
   * key that tells the states apart, each stack gets its own (see STATE_BACKENDS). No credentials.
   */
  readonly options?: BackendOptions;
}

/** Where a stack's state goes, for the stack of `cluster` named `stack`. */
export type BackendFor = (stack: TerraformStack, names: { readonly cluster: string; readonly stack: string }) => void;

interface BackendKind {
  /** The option that tells one stack's state from another's, as a path into the options. */
  readonly key: readonly string[];
  /** Its value when the options do not give it. */
  readonly defaultKey: string;
  /** The options the backend needs besides the key. */
  readonly required?: readonly string[];
  /** The credentials' options, each with the environment variable (or file) the backend reads instead. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly make: (stack: TerraformStack, options: Record<string, unknown>) => void;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the options are Terraform's own names, passed through */
/** Each backend: its per-stack key and default, its credentials' environment variables, its construct. */
export const STATE_BACKENDS = {
  local: {
    key: ['path'],
    defaultKey: '../../../terraform.{stack}.tfstate',
    secrets: {},
    make: (stack, o) => new LocalBackend(stack, o as any),
  },
  s3: {
    key: ['key'],
    defaultKey: '{stack}/terraform.tfstate',
    required: ['bucket'],
    secrets: {
      access_key: 'AWS_ACCESS_KEY_ID (or a role: OIDC, an instance profile)',
      secret_key: 'AWS_SECRET_ACCESS_KEY',
      token: 'AWS_SESSION_TOKEN',
    },
    make: (stack, o) => new S3Backend(stack, o as any),
  },
  gcs: {
    key: ['prefix'],
    defaultKey: '{stack}',
    required: ['bucket'],
    secrets: {
      credentials: 'GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_CREDENTIALS)',
      access_token: 'GOOGLE_OAUTH_ACCESS_TOKEN',
      encryption_key: 'GOOGLE_ENCRYPTION_KEY',
    },
    make: (stack, o) => new GcsBackend(stack, o as any),
  },
  azurerm: {
    key: ['key'],
    defaultKey: '{stack}.tfstate',
    required: ['storage_account_name', 'container_name'],
    secrets: {
      access_key: 'ARM_ACCESS_KEY',
      sas_token: 'ARM_SAS_TOKEN',
      client_secret: 'ARM_CLIENT_SECRET (or OIDC: ARM_USE_OIDC)',
      client_certificate_password: 'ARM_CLIENT_CERTIFICATE_PASSWORD',
    },
    make: (stack, o) => new AzurermBackend(stack, o as any),
  },
  consul: {
    key: ['path'],
    defaultKey: 'patroni-standby/{stack}',
    secrets: { access_token: 'CONSUL_HTTP_TOKEN', http_auth: 'CONSUL_HTTP_AUTH' },
    make: (stack, o) => new ConsulBackend(stack, o as any),
  },
  pg: {
    key: ['schema_name'],
    defaultKey: '{stack}',
    secrets: { conn_str: "PG_CONN_STR (its password inside: PGPASSWORD is the monitoring role's at deploy time)" },
    make: (stack, o) => new PgBackend(stack, o as any),
  },
  http: {
    key: ['address'],
    defaultKey: '',
    required: ['address'],
    secrets: { password: 'TF_HTTP_PASSWORD' },
    make: (stack, o) => new HttpBackend(stack, o as any),
  },
  remote: {
    key: ['workspaces', 'name'],
    defaultKey: '{stack}',
    required: ['organization'],
    secrets: { token: 'TF_TOKEN_<host> (e.g. TF_TOKEN_app_terraform_io)' },
    make: (stack, o) => new RemoteBackend(stack, o as any),
  },
  cloud: {
    key: ['workspaces', 'name'],
    defaultKey: '{stack}',
    required: ['organization'],
    secrets: { token: 'TF_TOKEN_<host> (e.g. TF_TOKEN_app_terraform_io)' },
    make: (stack, o) => {
      const { workspaces, ...rest } = o as { workspaces: { name: string; project?: string } } & Record<string, unknown>;
      new CloudBackend(stack, {
        ...(rest as any),
        workspaces: new NamedCloudWorkspace(workspaces.name, workspaces.project),
      });
    },
  },
} as const satisfies Record<string, BackendKind>;
/* eslint-enable @typescript-eslint/no-explicit-any */

export type StateBackendType = keyof typeof STATE_BACKENDS;

const TYPES = Object.keys(STATE_BACKENDS) as StateBackendType[];

/** An option name that holds a credential whatever the backend. */
const SECRET_NAME =
  /password|secret|token|credential|access_key|sas_token|http_auth|encryption_key|private_key|customer_key/i;

/** Names that hold where a credential is, not the credential: a file, a path, a key's id in a KMS. */
const NOT_A_SECRET = /(_files?|_path|_file_path)$|^kms_|_arn$/i;

/** `postgres://user:password@host` or `password=...` in a connection string. */
const PASSWORD_IN_URL = /[a-z][a-z0-9+.-]*:\/\/[^/@\s:]+:[^/@\s]*@|(^|[\s?&;])(ssl)?password\s*=/i;

const isOptions = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function problem(path: string, message: string, received: unknown, allowed: string, fix: string): Problem {
  return { path, message, received, allowed, fix };
}

/** Every problem of a `state:` value, each naming its field; empty when it is usable. */
export function stateBackendProblems(value: unknown, path = 'state'): Problem[] {
  if (!isOptions(value))
    return [
      problem(
        path,
        'is not a mapping',
        value,
        '{ backend: <type>, options: {...} }',
        'write e.g. state: { backend: s3 }',
      ),
    ];
  const out: Problem[] = [];
  for (const k of Object.keys(value).filter((k) => k !== 'backend' && k !== 'options'))
    out.push(
      problem(
        `${path}.${k}`,
        'is not a field of state',
        value[k],
        'backend, options',
        `move ${k} under ${path}.options (the backend's own arguments)`,
      ),
    );
  const type = value.backend;
  if (typeof type !== 'string' || !(TYPES as string[]).includes(type)) {
    out.push(
      problem(
        `${path}.backend`,
        'is not a state backend this library sets up',
        type,
        TYPES.join(', '),
        'name one of them (for another backend, pass buildStandbyStacks a backend function)',
      ),
    );
    return out;
  }
  const kind: BackendKind = STATE_BACKENDS[type as StateBackendType];
  const options = value.options ?? {};
  if (!isOptions(options)) {
    out.push(
      problem(`${path}.options`, 'is not a mapping', options, "the backend's arguments", 'write options: { ... }'),
    );
    return out;
  }
  const walk = (v: unknown, at: string[]): void => {
    const where = `${path}.options.${at.join('.')}`;
    const name = at[at.length - 1];
    const listed = (kind.secrets as Record<string, string>)[name];
    // a connection string without a password, and a key file's path, are no credentials
    const secret =
      listed !== undefined && name === 'conn_str' && !PASSWORD_IN_URL.test(String(v))
        ? undefined
        : listed !== undefined && name === 'credentials' && typeof v === 'string' && !v.trim().startsWith('{')
          ? undefined
          : listed;
    if (typeof v === 'string' && listed === undefined && PASSWORD_IN_URL.test(v)) {
      out.push(
        problem(
          where,
          'holds a password (in a URL or as password=): it would be written into cdktf.out and every saved plan',
          '(hidden)',
          'no credentials in the topology',
          `take the password out of ${name} and give it to the runner through the variable the ${type} backend reads`,
        ),
      );
    } else if (at.length === 1 && secret !== undefined) {
      out.push(
        problem(
          where,
          `holds a credential: it would be written into cdktf.out and every saved plan`,
          name === 'conn_str' ? '(a connection string with a password)' : '(hidden)',
          'no credentials in the topology',
          name === 'conn_str'
            ? `leave ${name} out of the topology and give the runner PG_CONN_STR, the password in it (PGPASSWORD is the monitoring role's at deploy time)`
            : `remove ${name} and give the runner ${secret}`,
        ),
      );
    } else if (listed === undefined && SECRET_NAME.test(name) && !NOT_A_SECRET.test(name)) {
      out.push(
        problem(
          where,
          'looks like a credential: it would be written into cdktf.out and every saved plan',
          '(hidden)',
          'no credentials in the topology',
          `remove ${name} and give it to the runner through the environment variable the ${type} backend reads`,
        ),
      );
    } else if (isOptions(v)) {
      for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
    } else if (
      Array.isArray(v) ? !v.every((x) => typeof x === 'string') : !['string', 'number', 'boolean'].includes(typeof v)
    ) {
      out.push(
        problem(
          where,
          'is not a backend argument value',
          v,
          'a string, number, boolean, list of strings or mapping',
          'fix the value',
        ),
      );
    }
  };
  for (const [k, x] of Object.entries(options)) walk(x, [k]);
  for (const k of kind.required ?? [])
    if (!(k in options))
      out.push(
        problem(
          `${path}.options.${k}`,
          `is required by the ${type} backend`,
          undefined,
          'a value',
          `set ${path}.options.${k}`,
        ),
      );
  const key = keyOf(options, kind);
  const workspaces = options.workspaces;
  if (kind.key[0] === 'workspaces' && isOptions(workspaces) && ('tags' in workspaces || 'prefix' in workspaces))
    out.push(
      problem(
        `${path}.options.workspaces`,
        'selects several workspaces (tags or prefix): each stack needs a workspace of its own',
        workspaces,
        'workspaces: { name: "<name with {stack}>" } (and project, for cloud)',
        'give workspaces.name, e.g. "orders-{stack}"',
      ),
    );
  if (key !== undefined && typeof key !== 'string' && !Array.isArray(key))
    out.push(
      problem(
        `${path}.options.${kind.key.join('.')}`,
        'is not a string',
        key,
        'a string with {stack} (or {cluster})',
        `write it as a string, e.g. "${kind.defaultKey || 'https://state.example.com/{stack}'}"`,
      ),
    );
  if (key !== undefined && typeof key === 'string' && !/\{(stack|cluster)\}/.test(key))
    out.push(
      problem(
        `${path}.options.${kind.key.join('.')}`,
        "does not name {stack} or {cluster}: both data centers' stacks would share one state and one lock",
        key,
        'a value with {stack} (or {cluster}), e.g. ' + (kind.defaultKey || 'https://state.example.com/{stack}'),
        `write {stack} into it, e.g. ${kind.key.join('.')}: "${kind.defaultKey || `${key.replace(/\/$/, '')}/{stack}`}"`,
      ),
    );
  return out;
}

function keyOf(options: Record<string, unknown>, kind: BackendKind): unknown {
  let v: unknown = options;
  for (const k of kind.key) v = isOptions(v) ? v[k] : undefined;
  return v;
}

/** `options` with `{stack}` and `{cluster}` replaced in every string, and the key set when missing. */
export function backendOptions(
  spec: StateBackendSpec,
  names: { readonly cluster: string; readonly stack: string },
): Record<string, unknown> {
  const kind: BackendKind = STATE_BACKENDS[spec.backend];
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(/\{stack\}/g, names.stack).replace(/\{cluster\}/g, names.cluster);
    if (Array.isArray(v)) return v.map(fill);
    if (isOptions(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  const options = fill(spec.options ?? {}) as Record<string, unknown>;
  if (keyOf(options, kind) === undefined) {
    let at = options;
    for (const k of kind.key.slice(0, -1)) at = (at[k] = isOptions(at[k]) ? at[k] : {}) as Record<string, unknown>;
    at[kind.key[kind.key.length - 1]] = fill(kind.defaultKey);
  }
  return options;
}

/** The backend function of a checked `state:`; throws a TopologyError naming every problem. */
export function stateBackend(spec: StateBackendSpec, source = 'state'): BackendFor {
  const problems = stateBackendProblems(spec);
  if (problems.length > 0) throw new TopologyError(source, problems);
  return (stack, names) => STATE_BACKENDS[spec.backend].make(stack, backendOptions(spec, names));
}
