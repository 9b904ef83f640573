/**
 * Adoption from outside this repository, offline: `npm pack` of this checkout gives a tarball
 * that a new TypeScript cdktf app in a temporary folder installs (from npm's cache, no network).
 * The app composes two environments (two pairs of clusters) in one app, reads the constructs'
 * attributes for its outputs, synthesizes, and Terraform plans each stack. The programs the
 * stacks ship run with nothing but node, copied to a folder with no node_modules anywhere above
 * it. Internals cannot be imported. Status runs from the package's command (against loopback
 * addresses where nothing listens: it reports, it does not reach anything).
 */
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..');
const QUIET = { CHECKPOINT_DISABLE: '1', DISABLE_VERSION_CHECK: 'true', TF_IN_AUTOMATION: '1', NODE_PATH: '' };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'adopt-'));
const appDir = path.join(work, 'platform-app');
/** The same app on CDK Terrain: imports from `cdktn` and the package's `./cdktn` variant; no cdktf installed. */
const cdktnAppDir = path.join(work, 'platform-app-cdktn');

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...QUIET, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
}

function ok(res: SpawnSyncReturns<string>, what: string): string {
  if (res.status !== 0) throw new Error(`${what} failed (exit ${res.status}):\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

const installed = (name: string): string =>
  JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;

/**
 * The platform team's app: two environments, composed the two ways the package offers. Staging
 * from a topology file (the clusters: layout) through buildStandbyStacks, a stack per data center
 * named by stackName; production from the constructs in stacks of the team's own, one per data
 * center, the link naming the source. Outputs from the constructs' attributes. The environment
 * variables are the app's own: which cluster is production's source.
 */
const APP = (
  core: 'cdktf' | 'cdktn',
): string => `import { App, LocalBackend, TerraformOutput, TerraformStack } from '${core}';
import { buildStandbyStacks, ClusterSpec, loadTopologyFile, PatroniCluster, StandbyLink } from 'patroni-standby-cdktf${core === 'cdktn' ? '/cdktn' : ''}';

const app = new App({ skipValidation: true });

// staging: a topology file, a stack per data center
const { topology } = loadTopologyFile('staging.yaml', process.env.LINK_STATE);
const staging = buildStandbyStacks(app, topology, { stackName: (dc) => \`staging-\${dc}\` });
new TerraformOutput(staging.stacks.dc2, 'env_source_rest_endpoints', { value: staging.clusters.dc1.restEndpoints });
new TerraformOutput(staging.stacks.dc2, 'env_link_slot', { value: staging.link.slotName ?? '' });

// production: the constructs directly, each data center's cluster in its own stack
const spec = (dc: number): ClusterSpec => ({
  scope: 'payments',
  dcs: { type: 'etcd3', hosts: [\`127.0.8.\${dc}0:2379\`] },
  nodes: [1, 2].map((n) => ({ name: \`pay-\${dc}\${n}\`, host: \`127.0.8.\${dc}\${n}\` })),
  postgresql: { version: 16, parameters: { wal_keep_size: '1GB', max_slot_wal_keep_size: '50GB', tcp_user_timeout: '10s' } },
  deploy: { transport: 'local', stopOnDestroy: true },
});
const production: Record<string, PatroniCluster> = {};
const stacks: Record<string, TerraformStack> = {};
for (const dc of [1, 2]) {
  const stack = (stacks[\`dc\${dc}\`] = new TerraformStack(app, \`production-dc\${dc}\`));
  new LocalBackend(stack, { path: \`../../../terraform.production-dc\${dc}.tfstate\` });
  production[\`dc\${dc}\`] = new PatroniCluster(stack, 'cluster', { name: \`dc\${dc}\`, ...spec(dc) });
  new TerraformOutput(stack, 'env_hosts', { value: production[\`dc\${dc}\`].hosts });
}
const source = production[process.env.PRODUCTION_SOURCE ?? 'dc1'];
// the link holds no resource of its own: what it adds to a cluster lives in that cluster
const link = new StandbyLink(app, 'production-link', { clusters: [production.dc1, production.dc2], source, slotName: 'payments_dr', monitoring: { user: 'monitor', addresses: ['127.0.8.100/32'] } });
new TerraformOutput(stacks.dc2, 'env_link_state', { value: link.state });
app.synth();
process.stdout.write(\`synthesized staging and production, production's source \${link.sourceCluster.name}\\n\`);
`;

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The article's topology in the clusters: layout, on loopback addresses, with `source` as the source. */
function stagingTopology(source: 'dc1' | 'dc2'): string {
  const article = fs.readFileSync(path.join(ROOT, 'examples', 'article.yaml'), 'utf8');
  const t = parse(
    article.replace(/192\.168\.122\.(\d+)/g, '127.0.9.$1').replace(/my_standby_cluster_slot/g, 'staging_slot'),
  );
  for (const c of [t.primary, t.standby]) c.deploy = { transport: 'local', stopOnDestroy: true };
  return stringify({ clusters: { dc1: t.primary, dc2: t.standby }, link: { ...t.link, source } });
}

type LockEntry = {
  version?: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  inBundle?: boolean;
  [k: string]: unknown;
};

/**
 * The app's package-lock.json, as a pipeline keeps one (npm ci): the package's tarball and, for
 * everything else, the entries this repository's lockfile already pins (the same versions and
 * integrities, so npm installs them from its cache without asking the registry).
 */
function appLockfile(roots: Record<string, string>, tarballEntry: LockEntry): unknown {
  const repo = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')).packages as Record<
    string,
    LockEntry
  >;
  const lib = 'node_modules/patroni-standby-cdktf';
  const all: Record<string, LockEntry> = { ...repo, [lib]: tarballEntry };
  const resolve = (from: string, dep: string): string | undefined => {
    for (let at = from; ; at = at.replace(/\/?node_modules\/(@[^/]+\/)?[^/]+$/, '')) {
      const candidate = `${at ? `${at}/` : ''}node_modules/${dep}`;
      if (all[candidate]) return candidate;
      if (!at) return undefined;
    }
  };
  const kept = new Map<string, LockEntry>();
  const visit = (at: string): void => {
    if (kept.has(at)) return;
    const entry = { ...all[at] };
    delete entry.dev;
    delete entry.devOptional;
    delete entry.peer;
    kept.set(at, entry);
    const deps = { ...entry.dependencies, ...entry.peerDependencies, ...entry.optionalDependencies };
    for (const dep of Object.keys(deps)) {
      const found = resolve(at, dep);
      if (found) visit(found);
    }
    // what a package bundles comes inside its tarball
    for (const inner of Object.keys(all))
      if (inner.startsWith(`${at}/node_modules/`) && all[inner].inBundle) visit(inner);
  };
  for (const dep of Object.keys(roots)) visit(resolve('', dep)!);
  const packages: Record<string, unknown> = { '': { name: 'platform-app', version: '1.0.0', dependencies: roots } };
  for (const key of [...kept.keys()].sort()) packages[key] = kept.get(key);
  return { name: 'platform-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

let tarball = '';
let integrity = '';
let outdir = '';

test('npm pack: the built library, its types and the bundled programs; no tests, benchmarks or sources', () => {
  const packed = ok(run('npm', ['pack', '--pack-destination', work, '--json'], ROOT), 'npm pack');
  const [info] = JSON.parse(packed) as { filename: string; integrity: string; files: { path: string }[] }[];
  tarball = path.join(work, info.filename);
  integrity = info.integrity;
  const files = info.files.map((f) => f.path);
  for (const want of [
    'dist/index.js',
    'dist/index.d.ts',
    'dist/constructs/standby-link.d.ts',
    'dist/stacks/standby-stacks.js',
    'dist/programs/apply-config-patch.cjs',
    'dist/runtime/contract.js',
    'dist/programs/link-health.cjs',
    'dist/programs/role-change.cjs',
    'dist/ops/status.js',
    'package.json',
    'README.md',
  ]) {
    expect(files).toContain(want);
  }
  expect(
    files.filter(
      (f) => /(^|\/)(test|bench|examples)\/|\.test\.|^programs\/|^main\.|\.ts$/.test(f) && !f.endsWith('.d.ts'),
    ),
  ).toEqual([]);
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['cdktf', 'cdktn', 'constructs']);
  expect(manifest.peerDependenciesMeta).toEqual({ cdktf: { optional: true }, cdktn: { optional: true } });
  expect(Object.keys(manifest.dependencies).filter((d) => /cdkt[fn]/.test(d))).toEqual([]);
  // the CDK Terrain variant: the same files, every core import naming cdktn
  const variant = files.filter((f) => f.startsWith('dist/cdktn/'));
  expect(variant).toEqual(
    expect.arrayContaining([
      'dist/cdktn/index.js',
      'dist/cdktn/index.d.ts',
      'dist/cdktn/constructs/standby-link.js',
      'dist/cdktn/constructs/standby-link.d.ts',
    ]),
  );
  const core = /(?:from |require\(|import\()\s*['"](cdkt[fn])['"]/g;
  const imports = (tree: string): string[] =>
    files
      .filter((f) => f.startsWith(tree) && !f.startsWith(`${tree}cdktn/`) && /\.(js|d\.ts)$/.test(f))
      .flatMap((f) => [...fs.readFileSync(path.join(ROOT, f), 'utf8').matchAll(core)].map((m) => m[1]));
  expect([...new Set(imports('dist/cdktn/'))]).toEqual(['cdktn']);
  expect([...new Set(imports('dist/'))]).toEqual(['cdktf']);
}, 180_000);

/**
 * Installs the tarball into a new app folder offline (npm ci), writes the app and its two topologies,
 * type-checks it.
 */
function makeApp(dir: string, core: 'cdktf' | 'cdktn'): void {
  fs.mkdirSync(dir, { recursive: true });
  const roots = {
    'patroni-standby-cdktf': `file:../${path.basename(tarball)}`,
    [core]: installed(core),
    constructs: installed('constructs'),
    '@types/node': installed('@types/node'),
  };
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'platform-app', version: '1.0.0', private: true, dependencies: roots }, null, 2),
  );
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const tarballEntry = {
    version: manifest.version,
    resolved: roots['patroni-standby-cdktf'],
    integrity,
    license: manifest.license,
    dependencies: manifest.dependencies,
    peerDependencies: manifest.peerDependencies,
    peerDependenciesMeta: manifest.peerDependenciesMeta,
    bin: manifest.bin,
    engines: manifest.engines,
  };
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(appLockfile(roots, tarballEntry), null, 2));
  ok(run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], dir), 'npm ci --offline');
  // the library brings no pg (the programs carry their own) and no second CDK core
  expect(fs.existsSync(path.join(dir, 'node_modules', 'pg'))).toBe(false);
  expect(fs.existsSync(path.join(dir, 'node_modules', core === 'cdktf' ? 'cdktn' : 'cdktf'))).toBe(false);

  // staging: the article's clusters as two data centers (the clusters: layout) on other addresses
  fs.writeFileSync(path.join(dir, 'staging.yaml'), stagingTopology('dc1'));
  fs.writeFileSync(path.join(dir, 'main.ts'), APP(core));
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'commonjs',
          strict: true,
          skipLibCheck: true,
          types: ['node'],
          outDir: 'build',
        },
        files: ['main.ts'],
      },
      null,
      2,
    ),
  );
  // the app type-checks against the package's declarations (the repository's compiler, the app's node_modules)
  ok(
    run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir),
    'tsc of the app',
  );
}

test('a new app outside the repository installs it offline and composes two environments', () => {
  makeApp(appDir, 'cdktf');
  outdir = path.join(appDir, 'cdktf.out');
  const out = ok(run(process.execPath, ['build/main.js'], appDir, { CDKTF_OUTDIR: outdir }), 'the app');
  expect(out).toContain("synthesized staging and production, production's source dc1");
  const stacks = fs.readdirSync(path.join(outdir, 'stacks')).sort();
  expect(stacks).toEqual(['production-dc1', 'production-dc2', 'staging-dc1', 'staging-dc2']);
}, 240_000);

test('a CDK Terrain app (cdktn, no cdktf installed) composes the same environments into the same stacks', () => {
  makeApp(cdktnAppDir, 'cdktn');
  const cdktnOut = path.join(cdktnAppDir, 'cdktf.out');
  const out = ok(run(process.execPath, ['build/main.js'], cdktnAppDir, { CDKTF_OUTDIR: cdktnOut }), 'the cdktn app');
  expect(out).toContain("synthesized staging and production, production's source dc1");
  expect(JSON.parse(fs.readFileSync(path.join(cdktnOut, 'manifest.json'), 'utf8')).version).toBe(installed('cdktn'));
  // resource for resource what the cdktf app wrote (only the core's name and version differ)
  for (const stack of ['production-dc1', 'production-dc2', 'staging-dc1', 'staging-dc2']) {
    const read = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'stacks', stack, 'cdk.tf.json'), 'utf8'));
    const [a, b] = [read(outdir), read(cdktnOut)];
    delete a['//'].metadata.version;
    delete b['//'].metadata.version;
    expect({ stack, json: b }).toEqual({ stack, json: a });
  }
  // the status command picks the variant of the core it finds
  const res = run(path.join(cdktnAppDir, 'node_modules', '.bin', 'patroni-standby-status'), ['--json'], cdktnAppDir, {
    TOPOLOGY: 'staging.yaml',
    PGPASSWORD: 'unused',
  });
  expect({ status: res.status, healthy: JSON.parse(res.stdout || '{}').healthy }).toEqual({
    status: 1,
    healthy: false,
  });
}, 240_000);

test('internals stay internal: only the package root can be imported', () => {
  const res = run(process.execPath, ['-e', "require('patroni-standby-cdktf/dist/constructs/rules')"], appDir);
  expect(res.status).not.toBe(0);
  expect(res.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  const api = ok(
    run(
      process.execPath,
      ['-e', "console.log(Object.keys(require('patroni-standby-cdktf')).sort().join(' '))"],
      appDir,
    ),
    'require',
  ).trim();
  for (const name of [
    'PatroniCluster',
    'PrimaryPatroniCluster',
    'StandbyPatroniCluster',
    'StandbyLink',
    'buildStandbyStacks',
    'loadTopologyFile',
    'parseTopology',
    'writeRenderedFiles',
    'TopologyError',
  ]) {
    expect(api.split(' ')).toContain(name);
  }
});

test("Terraform plans every stack; the outputs carry the constructs' attributes", () => {
  const tfEnv = { TF_CLI_CONFIG_FILE: path.join(work, 'terraformrc') };
  fs.writeFileSync(tfEnv.TF_CLI_CONFIG_FILE, '');
  const outputs: Record<string, Record<string, { value: unknown }>> = {};
  for (const stack of ['staging-dc1', 'staging-dc2', 'production-dc1', 'production-dc2']) {
    const dir = path.join(outdir, 'stacks', stack);
    ok(run('terraform', ['init', '-input=false', '-no-color'], dir, tfEnv), `terraform init ${stack}`);
    ok(
      run('terraform', ['plan', '-input=false', '-no-color', '-out=plan.tfplan'], dir, tfEnv),
      `terraform plan ${stack}`,
    );
    const plan = JSON.parse(
      ok(run('terraform', ['show', '-json', 'plan.tfplan'], dir, tfEnv), `terraform show ${stack}`),
    );
    expect(
      plan.resource_changes.filter((c: { change: { actions: string[] } }) => c.change.actions.includes('create'))
        .length,
    ).toBeGreaterThan(0);
    outputs[stack] = plan.planned_values.outputs ?? {};
  }
  expect(outputs['staging-dc2'].env_source_rest_endpoints.value).toEqual([
    'http://127.0.9.237:8008',
    'http://127.0.9.93:8008',
    'http://127.0.9.128:8008',
  ]);
  expect(outputs['staging-dc2'].env_link_slot.value).toBe('staging_slot');
  expect(outputs['production-dc2'].env_hosts.value).toEqual(['127.0.8.21', '127.0.8.22']);
  expect(outputs['production-dc2'].env_link_state.value).toBe('following');
}, 240_000);

type PlannedChange = { address: string; change: { actions: string[] } };

/**
 * The switchover from outside the repository, in both environments at once: the first deploy is
 * applied with the commands stubbed (every resource and its inputs recorded in the state, no
 * provisioner run), then the app flips staging's link.source and production's source to dc2, and
 * Terraform plans each stack against that state. A resource that moved between stacks would show
 * as a destroy in one stack and a create in the other; with stopOnDestroy the destroy would stop
 * the members.
 */
test('a switchover in either environment moves no resource between stacks: each plan against the applied state only replaces steps in place', () => {
  const tfEnv = { TF_CLI_CONFIG_FILE: path.join(work, 'terraformrc') };
  const stacks = ['staging-dc1', 'staging-dc2', 'production-dc1', 'production-dc2'];
  for (const stack of stacks) {
    const dir = path.join(outdir, 'stacks', stack);
    const file = path.join(dir, 'cdk.tf.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const byName of Object.values(json.resource ?? {}) as Record<string, Record<string, unknown>>[])
      for (const r of Object.values(byName)) delete r.provisioner;
    fs.writeFileSync(file, JSON.stringify(json));
    ok(run('terraform', ['init', '-input=false', '-no-color'], dir, tfEnv), `terraform init ${stack}`);
    ok(
      run('terraform', ['apply', '-input=false', '-no-color', '-auto-approve'], dir, tfEnv),
      `terraform apply (commands stubbed) ${stack}`,
    );
  }
  fs.writeFileSync(path.join(appDir, 'staging.yaml'), stagingTopology('dc2'));
  const out = ok(
    run(process.execPath, ['build/main.js'], appDir, { CDKTF_OUTDIR: outdir, PRODUCTION_SOURCE: 'dc2' }),
    'the app after the switchover',
  );
  expect(out).toContain("production's source dc2");
  const replaced: string[] = [];
  for (const stack of stacks) {
    const dir = path.join(outdir, 'stacks', stack);
    ok(run('terraform', ['init', '-input=false', '-no-color'], dir, tfEnv), `terraform init ${stack}`);
    ok(
      run('terraform', ['plan', '-input=false', '-no-color', '-out=switchover.tfplan'], dir, tfEnv),
      `terraform plan ${stack}`,
    );
    const plan = JSON.parse(
      ok(run('terraform', ['show', '-json', 'switchover.tfplan'], dir, tfEnv), `terraform show ${stack}`),
    );
    fs.writeFileSync(path.join(work, `${stack}.switchover.json`), JSON.stringify(plan));
    const changes = (plan.resource_changes ?? []) as PlannedChange[];
    expect(changes.length).toBeGreaterThan(5);
    // nothing created or destroyed alone: every change is in place or a replacement of the same address
    const moved = changes.filter((c) => c.change.actions.join() === 'create' || c.change.actions.join() === 'delete');
    expect({ stack, moved: moved.map((c) => `${c.change.actions.join()} ${c.address}`) }).toEqual({ stack, moved: [] });
    // the members' stop steps are untouched: no member is stopped by a switchover
    const stops = changes.filter((c) => c.address.includes('_stop-on-destroy_'));
    expect(stops.length).toBeGreaterThan(0);
    expect({ stack, stops: stops.filter((c) => c.change.actions.join() !== 'no-op').map((c) => c.address) }).toEqual({
      stack,
      stops: [],
    });
    for (const c of changes.filter((x) => x.change.actions.includes('delete')))
      replaced.push(`${stack}: ${c.address.replace(/_[0-9A-F]{8}$/, '')}`);
  }
  // what is replaced: each cluster's role change and link-slots step, its DCS patch and its members' files
  expect(
    replaced.filter((r) => !/\.cluster_(role_apply|link-slots_apply|dcs-patch_apply|node-[^_]+_config)$/.test(r)),
  ).toEqual([]);
  for (const stack of stacks) {
    expect(replaced).toEqual(
      expect.arrayContaining([
        `${stack}: terraform_data.cluster_role_apply`,
        `${stack}: terraform_data.cluster_link-slots_apply`,
      ]),
    );
  }
  // the package's plan review says it in one line per environment (both name their data centers dc1 and dc2)
  const review = run(
    path.join(appDir, 'node_modules', '.bin', 'patroni-standby-plan-review'),
    stacks.map((s) => `${s}=${path.join(work, `${s}.switchover.json`)}`),
    appDir,
  );
  expect({ status: review.status, stderr: review.stderr }).toEqual({ status: 2, stderr: '' });
  expect(review.stdout).toContain('- **dc1 and dc2** (stacks `staging-dc1`, `staging-dc2`): SWITCHOVER dc1 -> dc2\n');
  expect(review.stdout).toContain(
    '- **dc1 and dc2** (stacks `production-dc1`, `production-dc2`): SWITCHOVER dc1 -> dc2\n',
  );
}, 300_000);

test("the stacks' programs run with nothing but node, outside any node_modules", () => {
  const assets = path.join(outdir, 'stacks', 'staging-dc1', 'assets', 'programs');
  const [hash] = fs.readdirSync(assets);
  const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'bare-'));
  try {
    for (const f of fs.readdirSync(path.join(assets, hash)))
      fs.copyFileSync(path.join(assets, hash, f), path.join(bare, f));
    let dir = bare;
    while (dir !== path.dirname(dir)) {
      expect(fs.existsSync(path.join(dir, 'node_modules'))).toBe(false);
      dir = path.dirname(dir);
    }
    // the patch program: an optional clean-up against a REST API that is not there
    const config = {
      label: 'clean-up',
      endpoints: ['http://127.0.9.1:9'],
      timeoutSeconds: 1,
      sections: 'slots',
      strict: false,
      optional: true,
      guardStandby: [],
      hotStandbySource: [],
      restPasswordEnv: 'PATRONI_RESTAPI_PASSWORD',
    };
    const patch = run(process.execPath, ['apply-config-patch.cjs'], bare, {
      PATRONI_PATCH: '{"slots":{}}',
      PATRONI_PATCH_CONFIG: JSON.stringify(config),
    });
    expect({ status: patch.status, stderr: patch.stderr }).toEqual({ status: 0, stderr: '' });
    expect(patch.stdout).toContain('WARNING: no node answered in 1s');
    // the gate's PostgreSQL client is in its bundle: a connection attempt, refused, not a missing module
    const sql = run(
      process.execPath,
      [
        '-e',
        "require('./link-health.cjs').query({ host: '127.0.9.1', port: 9 }, { user: 'monitor' }, 'select 1').catch((e) => { console.log(e.code); })",
      ],
      bare,
    );
    expect(sql.stdout.trim()).toBe('ECONNREFUSED');
    // each program carries what it needs (the role change the gate's code too)
    const role = run(process.execPath, ['-e', "console.log(typeof require('./role-change.cjs').run)"], bare);
    expect(role.stdout.trim()).toBe('function');
  } finally {
    fs.rmSync(bare, { recursive: true, force: true });
  }
});

test("the package's status command reads the app's topology (loopback addresses where nothing listens)", () => {
  const res = run(path.join(appDir, 'node_modules', '.bin', 'patroni-standby-status'), ['--json'], appDir, {
    TOPOLOGY: 'staging.yaml',
    PGPASSWORD: 'unused',
  });
  expect(res.status).toBe(1);
  const report = JSON.parse(res.stdout);
  expect(report.healthy).toBe(false);
  expect(JSON.stringify(report)).toContain('127.0.9.');
}, 120_000);
