/**
 * Where the stacks keep their state: the topology file's `state:` and buildStandbyStacks'
 * `backend`, for every backend this library sets up; each data center's stack its own state; no
 * credential ever written into a stack.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { S3Backend, Testing } from 'cdktf';
import { TopologyError } from '../../constructs/errors';
import { buildStandbyStacks } from '../../stacks/standby-stacks';
import { STATE_BACKENDS, StateBackendSpec } from '../../stacks/state-backend';
import { parseTopology } from '../../stacks/topology-file';

const TWO_DC = fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'two-dc.yaml'), 'utf8');

/** The two-dc topology with a `state:` section (YAML). */
const withState = (state: string) => `${TWO_DC}\nstate:\n${state.replace(/^/gm, '  ')}\n`;

/** Each stack's `terraform.backend`, by stack name. */
function backends(text: string, options: Parameters<typeof buildStandbyStacks>[2] = {}) {
  const loaded = parseTopology(text, 'topology.yaml');
  const app = Testing.app();
  const built = buildStandbyStacks(app, loaded.topology, { backend: loaded.state, ...options });
  return Object.fromEntries(
    Object.entries(built.stacks).map(([cluster, stack]) => {
      // Terraform Cloud is a block of its own, `terraform.cloud`
      const { backend, cloud } = JSON.parse(Testing.synth(stack)).terraform;
      return [cluster, backend ?? { cloud }];
    }),
  );
}

/** The problems of a topology text, as `path: message` lines. */
function problemsOf(text: string): string[] {
  try {
    parseTopology(text, 'topology.yaml');
  } catch (err) {
    if (err instanceof TopologyError) return err.problems.map((p) => `${p.path}: ${p.message} | fix: ${p.fix}`);
    throw err;
  }
  throw new Error('no problem found');
}

test('without state: a local state file per stack in the project root, as before', () => {
  expect(backends(TWO_DC)).toEqual({
    dc1: { local: { path: '../../../terraform.dc1.tfstate' } },
    dc2: { local: { path: '../../../terraform.dc2.tfstate' } },
  });
});

test("pg: one schema per data center's stack (each its own state and advisory lock), no password", () => {
  expect(
    backends(withState('backend: pg\noptions:\n  conn_str: postgres://tfstate@127.0.0.1:5433/tfstate?sslmode=disable')),
  ).toEqual({
    dc1: { pg: { conn_str: 'postgres://tfstate@127.0.0.1:5433/tfstate?sslmode=disable', schema_name: 'dc1' } },
    dc2: { pg: { conn_str: 'postgres://tfstate@127.0.0.1:5433/tfstate?sslmode=disable', schema_name: 'dc2' } },
  });
});

test('s3 with its own key: {cluster} and {stack} filled in each stack, the other options passed through', () => {
  const got = backends(
    withState(
      'backend: s3\noptions:\n  bucket: acme-tfstate\n  key: "patroni/{cluster}/{stack}.tfstate"\n  region: eu-central-1\n  use_lockfile: true',
    ),
    { stackName: (dc) => `prod-${dc}` },
  );
  expect(got.dc1).toEqual({
    s3: { bucket: 'acme-tfstate', key: 'patroni/dc1/prod-dc1.tfstate', region: 'eu-central-1', use_lockfile: true },
  });
  expect(got.dc2.s3.key).toBe('patroni/dc2/prod-dc2.tfstate');
});

test.each([
  ['gcs', 'bucket: b', { prefix: 'dc1' }],
  ['azurerm', 'storage_account_name: a\n  container_name: c', { key: 'dc1.tfstate' }],
  ['consul', 'address: 127.0.0.1:8500', { path: 'patroni-standby/dc1' }],
  ['remote', 'organization: acme', { workspaces: { name: 'dc1' } }],
  ['cloud', 'organization: acme', { workspaces: { name: 'dc1' } }],
  ['http', 'address: "https://state.example.com/{stack}"', { address: 'https://state.example.com/dc1' }],
])('%s: the per-stack key defaults to the stack', (backend, options, key) => {
  const got = backends(withState(`backend: ${backend}\noptions:\n  ${options}`));
  expect(got.dc1[backend]).toMatchObject(key);
  expect(JSON.stringify(got.dc2)).not.toBe(JSON.stringify(got.dc1));
});

test('every backend this library sets up is tested above', () => {
  expect(Object.keys(STATE_BACKENDS).sort()).toEqual(
    ['azurerm', 'cloud', 'consul', 'gcs', 'http', 'local', 'pg', 'remote', 's3'].sort(),
  );
});

test('a backend function adds any cdktf backend to each stack; backend and localStatePath together are refused', () => {
  const loaded = parseTopology(TWO_DC, 'topology.yaml');
  const app = Testing.app();
  const built = buildStandbyStacks(app, loaded.topology, {
    backend: (stack, { cluster }) => new S3Backend(stack, { bucket: 'b', key: `own/${cluster}`, region: 'r' }),
  });
  expect(JSON.parse(Testing.synth(built.stacks.dc2)).terraform.backend.s3.key).toBe('own/dc2');
  expect(() =>
    buildStandbyStacks(Testing.app(), loaded.topology, {
      backend: { backend: 'local' },
      localStatePath: (s) => `${s}.tfstate`,
    }),
  ).toThrow(/localStatePath: is given together with backend/);
  // the spec through the option is checked as the file's is
  expect(() =>
    buildStandbyStacks(Testing.app(), loaded.topology, {
      backend: { backend: 's3', options: { bucket: 'b', key: 'one.tfstate' } } as StateBackendSpec,
    }),
  ).toThrow(/state\.options\.key: does not name \{stack\} or \{cluster\}/);
});

describe('bad state: one clear problem each, with the topology problems, nothing synthesized', () => {
  test('an unknown backend names the ones there are', () => {
    expect(problemsOf(withState('backend: s4'))).toEqual([
      'state.backend: is not a state backend this library sets up | fix: name one of them (for another backend, pass buildStandbyStacks a backend function)',
    ]);
  });

  test('a key without {stack} would share one state and lock between the data centers', () => {
    expect(problemsOf(withState('backend: s3\noptions:\n  bucket: b\n  key: patroni.tfstate'))).toEqual([
      'state.options.key: does not name {stack} or {cluster}: both data centers\' stacks would share one state and one lock | fix: write {stack} into it, e.g. key: "{stack}/terraform.tfstate"',
    ]);
  });

  test('credentials are refused with the variable the backend reads instead, and never echoed', () => {
    const text = withState(
      'backend: s3\noptions:\n  bucket: b\n  access_key: AKIAEXAMPLE\n  secret_key: hunter2-secret\n  sts_token_x: abc',
    );
    expect(problemsOf(text)).toEqual([
      'state.options.access_key: holds a credential: it would be written into cdktf.out and every saved plan | fix: remove access_key and give the runner AWS_ACCESS_KEY_ID (or a role: OIDC, an instance profile)',
      'state.options.secret_key: holds a credential: it would be written into cdktf.out and every saved plan | fix: remove secret_key and give the runner AWS_SECRET_ACCESS_KEY',
      'state.options.sts_token_x: looks like a credential: it would be written into cdktf.out and every saved plan | fix: remove sts_token_x and give it to the runner through the environment variable the s3 backend reads',
    ]);
    let message = '';
    try {
      parseTopology(text, 'topology.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toMatch(/AKIAEXAMPLE|hunter2/);
  });

  test('a pg connection string with a password is refused; one without is taken', () => {
    expect(problemsOf(withState('backend: pg\noptions:\n  conn_str: postgres://tf:pw@db/tfstate'))).toEqual([
      "state.options.conn_str: holds a credential: it would be written into cdktf.out and every saved plan | fix: leave conn_str out of the topology and give the runner PG_CONN_STR, the password in it (PGPASSWORD is the monitoring role's at deploy time)",
    ]);
    expect(
      problemsOf(withState("backend: pg\noptions:\n  conn_str: 'host=db password=pw dbname=tfstate'")),
    ).toHaveLength(1);
    expect(backends(withState('backend: pg\noptions:\n  conn_str: postgres://tf@db/tfstate')).dc1.pg.conn_str).toBe(
      'postgres://tf@db/tfstate',
    );
  });

  test('a required option missing, a field that is not one of state, and a topology problem: all in one error', () => {
    const text = withState('backend: s3\nbucket: b').replace('source: dc1', 'source: dc9');
    const problems = problemsOf(text);
    expect(problems).toContain(
      "state.bucket: is not a field of state | fix: move bucket under state.options (the backend's own arguments)",
    );
    expect(problems).toContain('state.options.bucket: is required by the s3 backend | fix: set state.options.bucket');
    expect(problems.some((p) => p.startsWith('link.source'))).toBe(true);
  });

  test('a value that is no backend argument', () => {
    expect(problemsOf(withState('backend: local\noptions:\n  path: [1, 2]'))).toEqual([
      'state.options.path: is not a backend argument value | fix: fix the value',
    ]);
    expect(problemsOf(withState('backend: local\noptions:\n  path: shared.tfstate'))).toEqual([
      'state.options.path: does not name {stack} or {cluster}: both data centers\' stacks would share one state and one lock | fix: write {stack} into it, e.g. path: "../../../terraform.{stack}.tfstate"',
    ]);
  });
});

test('credentials anywhere in the options: a URL with a password, password= in a connection string, a private key; key files and KMS keys are no credentials', () => {
  const refused = [
    'backend: pg\noptions:\n  conn_str: "postgres://tf@db/tfstate?password=pw"',
    'backend: pg\noptions:\n  conn_str: "postgres://tf@db/tfstate?sslpassword=pw"',
    'backend: http\noptions:\n  address: "https://tf:pw@state.example.com/{stack}"',
    'backend: http\noptions:\n  address: "https://state.example.com/{stack}"\n  client_private_key_pem: "-----BEGIN"',
    'backend: s3\noptions:\n  bucket: b\n  sse_customer_key: c2VjcmV0',
    'backend: gcs\noptions:\n  bucket: b\n  credentials: \'{"type": "service_account"}\'',
  ];
  for (const state of refused) {
    const problems = problemsOf(withState(state));
    expect({ state, problems: problems.length, text: problems.join() }).toMatchObject({ state, problems: 1 });
    expect(problems[0]).toMatch(/holds a (credential|password)|looks like a credential/);
    expect(problems.join()).not.toMatch(/pw|c2VjcmV0|BEGIN|service_account/);
  }
  const taken = [
    'backend: s3\noptions:\n  bucket: b\n  shared_credentials_files: [/etc/aws/credentials]\n  web_identity_token_file: /var/run/token',
    'backend: gcs\noptions:\n  bucket: b\n  credentials: /etc/gcp/key.json\n  kms_encryption_key: projects/p/locations/l/keyRings/r/cryptoKeys/k',
    'backend: cloud\noptions:\n  organization: acme\n  workspaces: { name: "orders-{stack}", project: dr }',
  ];
  for (const state of taken)
    expect({ state, got: backends(withState(state)).dc1 !== undefined }).toEqual({ state, got: true });
  expect(backends(withState(taken[2])).dc2).toEqual({
    cloud: { organization: 'acme', workspaces: { name: 'orders-dc2', project: 'dr' } },
  });
  expect(
    problemsOf(withState('backend: remote\noptions:\n  organization: acme\n  workspaces: { prefix: orders- }')),
  ).toEqual([
    'state.options.workspaces: selects several workspaces (tags or prefix): each stack needs a workspace of its own | fix: give workspaces.name, e.g. "orders-{stack}"',
  ]);
  expect(problemsOf(withState('backend: s3\noptions:\n  bucket: b\n  key: 7'))).toEqual([
    'state.options.key: is not a string | fix: write it as a string, e.g. "{stack}/terraform.tfstate"',
  ]);
});
