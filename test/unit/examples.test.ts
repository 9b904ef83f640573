/**
 * The examples run as written: each is bundled (the package's own entry inlined, cdktf from
 * node_modules) into the ignored dist/ and run from the repository's root into a temporary output folder. The composed
 * example synthesizes the same resource addresses in the same stacks whichever data center is
 * the source.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function runExample(name: string, args: string[] = []): { out: string; stacks: Record<string, string[]> } {
  // inside the checkout's ignored dist/, where the constructs find the programs they ship
  const bundle = path.join(ROOT, 'dist', 'test-examples', `${name}.cjs`);
  {
    buildSync({
      entryPoints: [path.join(ROOT, 'examples', `${name}.ts`)],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      packages: 'external',
      logLevel: 'error',
    });
  }
  const out = path.join(work, `${name}-${args.join('-') || 'default'}`);
  const res = spawnSync(process.execPath, [bundle, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CDKTF_OUTDIR: out, NODE_PATH: path.join(ROOT, 'node_modules') },
  });
  if (res.status !== 0) throw new Error(`examples/${name}.ts failed:\n${res.stdout}\n${res.stderr}`);
  const stacks: Record<string, string[]> = {};
  for (const stack of fs.readdirSync(path.join(out, 'stacks')).sort()) {
    const json = JSON.parse(fs.readFileSync(path.join(out, 'stacks', stack, 'cdk.tf.json'), 'utf8'));
    stacks[stack] = Object.entries(json.resource ?? {})
      .flatMap(([type, byName]) => Object.keys(byName as object).map((n) => `${type}.${n}`))
      .sort();
  }
  return { out: res.stdout + res.stderr, stacks };
}

test('examples/compose.ts: one stack per data center; flipping the source moves no resource', () => {
  const one = runExample('compose', ['dc1']);
  const two = runExample('compose', ['dc2']);
  expect(Object.keys(one.stacks)).toEqual(['payments-dc1', 'payments-dc2']);
  expect(one.stacks['payments-dc1'].filter((a) => a.includes('node-pay-a'))).toHaveLength(2);
  expect(two.stacks).toEqual(one.stacks);
}, 60_000);

test('examples/environments.ts: two environments from the clusters: topology, a stack per environment and data center', () => {
  const { stacks } = runExample('environments');
  expect(Object.keys(stacks)).toEqual(['production-dc1', 'production-dc2', 'staging-dc1', 'staging-dc2']);
  for (const resources of Object.values(stacks)) expect(resources.some((a) => a.includes('_role_apply_'))).toBe(true);
}, 60_000);
