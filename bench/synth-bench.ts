/**
 * `npm run bench`: synth at fleet scale against a baseline, the CLI's fixed cost, and the
 * end-to-end suite's operational timings. Writes bench/results.json, bench/synth-chart.svg and
 * BENCHMARKS.md. A benchmark, not a test: it asserts nothing, it measures and reports.
 *
 * Every measurement runs in its own child process (`--child <kind> <pairs> <outdir> <validate>`),
 * so that each peak RSS belongs to one synth and no run warms the next one's JIT; the wall time
 * is taken inside the child around the synth alone (construct tree, app.synth(), rendered files).
 *
 * cdktf's own validations run `terraform version` once per terraform_data resource (a child
 * process each). The scale table therefore synthesizes with `new App({ skipValidation: true })`
 * for both ours and the baseline, and a second table measures what the default App costs.
 */
import { writeTesting } from './mutation-report';
import { writeReliability } from './reliability-report';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  App,
  AssetType,
  DataResource,
  TerraformResource,
  LocalBackend,
  TerraformAsset,
  TerraformOutput,
  TerraformStack,
} from 'cdktf';
import { programsDir } from '../constructs/scripts';
import { Topology } from '../constructs/types';
import { buildStandbyStacks } from '../stacks/standby-stacks';
import { loadTopologyFile } from '../stacks/topology-file';
import { renderedFilesOf, writeRenderedFiles } from '../stacks/rendered-files';
import {
  benchmarksMarkdown,
  chartSvg,
  CliCost,
  E2eSummary,
  median,
  SizeResult,
  summarizeE2e,
  ValidatedResult,
} from './report';

const ROOT = path.resolve(__dirname, '..', '..');
const SIZES = [1, 10, 50, 200];
const RUNS: Record<number, number> = { 1: 7, 10: 5, 50: 5, 200: 5 };
/** Sizes and runs for the default App (validations on): each terraform_data costs a process. */
const VALIDATED_SIZES = [1, 10];
const VALIDATED_RUNS = 3;
const NODES_PER_PAIR = 6;
/** cdktf.json's app command before the app was transpiled by esbuild: tsc, then the compiled app. */
const PREVIOUS_APP_COMMAND = 'npm run --silent build && node dist/main.js';
const QUIET_ENV = {
  CHECKPOINT_DISABLE: '1',
  DISABLE_VERSION_CHECK: 'true',
  CDKTF_DISABLE_PLUGIN_CACHE_ENV: 'true',
  TF_IN_AUTOMATION: '1',
};

type Kind = 'ours' | 'baseline' | 'default' | 'payload';

/**
 * What our stacks carry, for the baseline to carry too: each stack's backend, resources (their
 * whole configuration: the rendered patroni.yml, patch bodies, commands) and outputs, and the
 * rendered files. Taken from one synth of ours, before any timed run.
 */
interface Payload {
  stacks: {
    name: string;
    backendPath: string;
    resources: Record<string, Record<string, Record<string, unknown>>>;
    outputs: Record<string, { value: unknown }>;
  }[];
  files: { path: string; content: string }[];
}
interface ChildResult {
  ms: number;
  /** `terraform version` processes cdktf started during the synth. */
  terraformVersionExecs: number;
  constructMs: number;
  synthMs: number;
  renderMs: number;
  rssMb: number;
  resources: number;
}

/** Pair i of the fleet: the article's topology with its own names and addresses. */
function pairTopology(base: Topology, i: number): Topology {
  const a = (i >> 8) & 255;
  const b = i & 255;
  const cluster = (c: Topology['primary'], side: number, prefix: string) => ({
    ...c,
    scope: `pg${i}`,
    dcs: { type: 'etcd3' as const, hosts: [`10.${side}${a}.${b}.10:2379`] },
    nodes: c.nodes.map((n, k) => ({ name: `${prefix}${i}n${k + 1}`, host: `10.${side}${a}.${b}.${k + 1}` })),
  });
  return {
    primary: cluster(base.primary, 1, 'p'),
    standby: cluster(base.standby, 2, 's'),
    link: { ...base.link, slotName: `standby_slot_${i}` },
  };
}

function runChild(kind: Kind, pairs: number, validate = false, payloadFile = ''): ChildResult {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  try {
    const res = spawnSync(
      process.execPath,
      [__filename, '--child', kind, String(pairs), outdir, String(validate), payloadFile],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...QUIET_ENV } },
    );
    if (res.status !== 0) throw new Error(`bench child ${kind} ${pairs} failed: ${res.stderr}`);
    return JSON.parse(res.stdout.trim().split('\n').pop()!) as ChildResult;
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** Our stacks of `pairs` pairs, synthesized once in a child of their own, as the baseline's payload (a JSON file). */
function preparePayload(pairs: number): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-payload-')), 'payload.json');
  runChild('payload', pairs, false, file);
  return file;
}

/** The baseline: the payload's stacks, resources, outputs, asset and files, with no logic of ours. */
function baselineApp(app: App, payload: Payload): number {
  let resources = 0;
  for (const st of payload.stacks) {
    const stack = new TerraformStack(app, st.name);
    new LocalBackend(stack, { path: st.backendPath });
    new TerraformAsset(stack, 'programs', { path: programsDir(), type: AssetType.DIRECTORY });
    for (const [type, byId] of Object.entries(st.resources)) {
      for (const [id, config] of Object.entries(byId)) {
        if (type !== 'terraform_data') throw new Error(`the baseline has plain terraform_data only, not ${type}`);
        const r = new DataResource(stack, id, {});
        for (const [key, value] of Object.entries(config)) if (key !== '//') r.addOverride(key, value);
        resources++;
      }
    }
    for (const [name, output] of Object.entries(st.outputs)) new TerraformOutput(stack, name, { value: output.value });
  }
  return resources;
}

/** In the child: one synth, timed in phases. */
function child(kind: Kind, pairs: number, outdir: string, validate: boolean, payloadFile: string): ChildResult {
  // count the `terraform version` processes of cdktf's validations
  let terraformVersionExecs = 0;
  // the module object itself (an `import *` would be a copy), as cdktf's validation calls it
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const childProcess = require('child_process') as { execSync: typeof import('node:child_process').execSync };
  const execSync = childProcess.execSync;
  childProcess.execSync = ((cmd: string, opts: never) => {
    if (/terraform.* version/.test(cmd)) terraformVersionExecs++;
    return execSync(cmd, opts);
  }) as typeof execSync;
  const article = loadTopologyFile(path.join(ROOT, 'examples', 'article.yaml')).topology;
  const topologies = kind === 'default' ? [article] : Array.from({ length: pairs }, (_, i) => pairTopology(article, i));
  const payload = kind === 'baseline' ? (JSON.parse(fs.readFileSync(payloadFile, 'utf8')) as Payload) : undefined;
  const t0 = performance.now();
  const app = new App({ outdir, skipValidation: !validate });
  let resources = 0;
  if (payload) {
    resources = baselineApp(app, payload);
  } else {
    topologies.forEach((t, i) => {
      const names = kind === 'default' ? undefined : { primary: `primary-${i}`, standby: `standby-${i}` };
      buildStandbyStacks(app, t, { names });
    });
    resources = app.node.findAll().filter((c) => c instanceof TerraformResource).length;
  }
  const t1 = performance.now();
  app.synth();
  const t2 = performance.now();
  if (payload) {
    for (const f of payload.files) {
      fs.mkdirSync(path.dirname(path.join(outdir, f.path)), { recursive: true });
      fs.writeFileSync(path.join(outdir, f.path), f.content);
    }
  } else {
    writeRenderedFiles(app, outdir);
  }
  const t3 = performance.now();
  if (kind === 'payload') {
    const stacks = fs
      .readdirSync(path.join(outdir, 'stacks'))
      .sort()
      .map((name) => {
        const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', name, 'cdk.tf.json'), 'utf8'));
        return {
          name,
          backendPath: json.terraform.backend.local.path,
          resources: json.resource ?? {},
          outputs: json.output ?? {},
        };
      });
    const files = renderedFilesOf(app).map((f) => ({ path: path.join('rendered', f.path), content: f.content }));
    fs.writeFileSync(payloadFile, JSON.stringify({ stacks, files } satisfies Payload));
  }
  return {
    ms: t3 - t0,
    terraformVersionExecs,
    constructMs: t1 - t0,
    synthMs: t2 - t1,
    renderMs: t3 - t2,
    rssMb: process.resourceUsage().maxRSS / 1024,
    resources,
  };
}

function timeCommand(cmd: string, args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const res = spawnSync(cmd, args, {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ...QUIET_ENV, TOPOLOGY: '', LINK_STATE: '' },
    });
    if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${res.stderr}`);
    times.push(performance.now() - t0);
  }
  return median(times);
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function main(): void {
  const results: SizeResult[] = [];
  for (const pairs of SIZES) {
    const ours: ChildResult[] = [];
    const base: ChildResult[] = [];
    const payload = preparePayload(pairs);
    for (let r = 0; r < RUNS[pairs]; r++) {
      // interleaved, so that machine noise hits both alike
      ours.push(runChild('ours', pairs));
      base.push(runChild('baseline', pairs, false, payload));
    }
    fs.rmSync(path.dirname(payload), { recursive: true, force: true });
    const ms = median(ours.map((x) => x.ms));
    const baselineMs = median(base.map((x) => x.ms));
    const row: SizeResult = {
      pairs,
      nodes: pairs * NODES_PER_PAIR,
      stacks: pairs * 2,
      resources: ours[0].resources,
      runs: RUNS[pairs],
      ms: round(ms),
      baselineMs: round(baselineMs),
      ratio: round(ms / baselineMs, 2),
      msPerNode: round(ms / (pairs * NODES_PER_PAIR), 2),
      rssMb: round(median(ours.map((x) => x.rssMb))),
      baselineRssMb: round(median(base.map((x) => x.rssMb))),
      phasesMs: {
        constructs: round(median(ours.map((x) => x.constructMs))),
        cdktfSynth: round(median(ours.map((x) => x.synthMs))),
        renderedFiles: round(median(ours.map((x) => x.renderMs))),
      },
      baselinePhasesMs: {
        constructs: round(median(base.map((x) => x.constructMs))),
        cdktfSynth: round(median(base.map((x) => x.synthMs))),
      },
      spreadMs: [round(Math.min(...ours.map((x) => x.ms))), round(Math.max(...ours.map((x) => x.ms)))],
    };
    results.push(row);
    process.stdout.write(
      `${pairs} pairs: ${row.ms} ms (baseline ${row.baselineMs} ms, ratio ${row.ratio}), ${row.rssMb} MB\n`,
    );
  }

  const validated: ValidatedResult[] = VALIDATED_SIZES.map((pairs) => {
    const ours = Array.from({ length: VALIDATED_RUNS }, () => runChild('ours', pairs, true));
    const payload = preparePayload(pairs);
    const base = Array.from({ length: VALIDATED_RUNS }, () => runChild('baseline', pairs, true, payload));
    fs.rmSync(path.dirname(payload), { recursive: true, force: true });
    const row = {
      pairs,
      runs: VALIDATED_RUNS,
      ms: round(median(ours.map((x) => x.ms))),
      baselineMs: round(median(base.map((x) => x.ms))),
      terraformVersionExecs: ours[0].terraformVersionExecs,
      skipValidationMs: results.find((r) => r.pairs === pairs)!.ms,
    };
    process.stdout.write(
      `${pairs} pairs, default App (validations): ${row.ms} ms (baseline ${row.baselineMs} ms), ${row.terraformVersionExecs} terraform version processes\n`,
    );
    return row;
  });

  process.stdout.write(
    'default topology: in-process synth, the app command, npx cdktf synth now and with the previous app command\n',
  );
  const inProcess = median(Array.from({ length: 5 }, () => runChild('default', 1).ms));
  const build = timeCommand('npm', ['run', '--silent', 'build'], 3);
  const appCommand = timeCommand(process.execPath, ['scripts/app.cjs'], 5);
  // the CLI with this project's app command, and with the one it replaced (tsc on every synth), interleaved
  const cli: number[] = [];
  const previous: number[] = [];
  for (let r = 0; r < 5; r++) {
    cli.push(timeCommand('npx', ['cdktf', 'synth'], 1));
    previous.push(timeCommand('npx', ['cdktf', 'synth', '--app', PREVIOUS_APP_COMMAND], 1));
  }
  const cliCost: CliCost = {
    inProcessMs: round(inProcess),
    appCommandMs: round(appCommand),
    buildMs: round(build),
    cdktfSynthMs: round(median(cli)),
    previousCdktfSynthMs: round(median(previous)),
    runs: cli.length,
  };

  const e2e = e2eRuns();
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown'}), ${round(os.totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`;
  fs.writeFileSync(path.join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(ROOT, 'bench', 'machine.json'), `${JSON.stringify({ machine }, null, 2)}\n`);
  fs.writeFileSync(path.join(ROOT, 'bench', 'cli-cost.json'), `${JSON.stringify(cliCost, null, 2)}\n`);
  fs.writeFileSync(path.join(ROOT, 'bench', 'synth-chart.svg'), chartSvg(results));
  fs.writeFileSync(path.join(ROOT, 'bench', 'validated.json'), `${JSON.stringify(validated, null, 2)}\n`);
  fs.writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), benchmarksMarkdown({ machine, results, validated, cliCost, e2e }));
  process.stdout.write(
    'wrote bench/results.json, bench/validated.json, bench/cli-cost.json, bench/synth-chart.svg, BENCHMARKS.md\n',
  );
}

/**
 * The end-to-end runs: the suite writes them to the ignored bench/out/e2e-timings.json; a report
 * copies them into the tracked bench/e2e-timings.json first.
 */
function e2eRuns(): E2eSummary | undefined {
  const fresh = path.join(ROOT, 'bench', 'out', 'e2e-timings.json');
  const tracked = path.join(ROOT, 'bench', 'e2e-timings.json');
  if (fs.existsSync(fresh)) fs.copyFileSync(fresh, tracked);
  return summarizeE2e(tracked);
}

/** `--report`: rewrite BENCHMARKS.md and the chart from the stored results, without measuring. */
function reportOnly(): void {
  const read = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(ROOT, 'bench', name), 'utf8')) as T;
  const results = read<SizeResult[]>('results.json');
  const machine = read<{ machine: string }>('machine.json').machine;
  fs.writeFileSync(path.join(ROOT, 'bench', 'synth-chart.svg'), chartSvg(results));
  const e2e = e2eRuns();
  fs.writeFileSync(
    path.join(ROOT, 'BENCHMARKS.md'),
    benchmarksMarkdown({
      machine,
      results,
      validated: read('validated.json'),
      cliCost: read('cli-cost.json'),
      e2e,
    }),
  );
  if (writeTesting(ROOT)) process.stdout.write('wrote bench/mutation-summary.json, TESTING.md\n');
  if (writeReliability(ROOT, e2e ? e2e.roleChangeByPlatform : []))
    process.stdout.write('wrote bench/reliability.json, RELIABILITY.md\n');
}

if (process.argv[2] === '--report') {
  reportOnly();
} else if (process.argv[2] === '--child') {
  const result = child(
    process.argv[3] as Kind,
    Number(process.argv[4]),
    process.argv[5],
    process.argv[6] === 'true',
    process.argv[7] ?? '',
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  main();
}
