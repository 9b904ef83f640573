/**
 * The benchmark's outputs: the e2e timings summary, the SVG chart and BENCHMARKS.md.
 * Pure functions of the measured figures.
 */
import * as fs from 'node:fs';

export interface SizeResult {
  pairs: number;
  nodes: number;
  stacks: number;
  resources: number;
  runs: number;
  ms: number;
  baselineMs: number;
  ratio: number;
  msPerNode: number;
  rssMb: number;
  baselineRssMb: number;
  phasesMs: { constructs: number; cdktfSynth: number; renderedFiles: number };
  baselinePhasesMs: { constructs: number; cdktfSynth: number };
  spreadMs: [number, number];
}

/** The default App (cdktf's validations on) at small sizes. */
export interface ValidatedResult {
  pairs: number;
  runs: number;
  ms: number;
  baselineMs: number;
  terraformVersionExecs: number;
  skipValidationMs: number;
}

export interface CliCost {
  inProcessMs: number;
  /** cdktf.json's app command (scripts/app.cjs), sources unchanged since its last run. */
  appCommandMs: number;
  buildMs: number;
  cdktfSynthMs: number;
  /** `npx cdktf synth` with the app command it replaced (tsc on every synth). */
  previousCdktfSynthMs: number;
  runs: number;
}

export interface MetricSummary {
  key: string;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
}

export interface E2eSummary {
  machine: string;
  /** The configuration of the newest run; `metrics` summarize the passing runs with it. */
  config: Record<string, string>;
  passedRuns: number;
  metrics: MetricSummary[];
  /** The streaming gap after a primary switchover, by walRetrieveRetryInterval, over all passing runs. */
  gapByRetryInterval: { interval: string; runs: number; medianMs: number; minMs: number; maxMs: number }[];
  /** The role change's figures per platform (Patroni, PostgreSQL), from the lifecycle suites on each. */
  roleChangeByPlatform: RoleChangeFigures[];
  /** The same across the fault suite's delay between the data centers, from its runs on each platform. */
  delayedByPlatform: RoleChangeFigures[];
}

/** One platform's role change figures: its lifecycle runs with its newest role-change program. */
export interface RoleChangeFigures {
  platform: string;
  program: string | undefined;
  runs: number;
  metrics: MetricSummary[];
  /** Counts summed over those runs: ROLE_CHANGE_COUNTS, for the reliability table. */
  totals: Record<string, number>;
}

/** The lifecycle's counts (writes acknowledged and lost, rewinds of the old source), summed per platform. */
export const ROLE_CHANGE_COUNTS = [
  'switchoverAcknowledgedWrites',
  'switchoverLostWrites',
  'switchoverOldSourceRewinds',
  'switchbackAcknowledgedWrites',
  'switchbackLostWrites',
  'switchbackOldSourceRewinds',
] as const;

/** The lifecycle figures shown per platform, in this order. */
export const ROLE_CHANGE_METRICS = [
  'switchoverWriteGapMs',
  'switchbackWriteGapMs',
  'switchoverDeployMs',
  'switchoverOldSourceStreamingMs',
] as const;

/** The fault suite's role changes across its delay, shown per platform, in this order. */
export const DELAYED_ROLE_CHANGE_METRICS = [
  'delayedSwitchoverWriteGapMs',
  'delayedSwitchbackWriteGapMs',
  'delayedSwitchoverFenceToPrimaryMs',
  'delayedSwitchoverDeployMs',
  'delayedSwitchoverOldSourceStreamingMs',
] as const;

/** The platform of the machine's own packages, as the suites name it (runs without `config.platform`). */
const HOST_PLATFORM = 'patroni 3.0.2, etcd 3.4, PostgreSQL 15';

/** What each end-to-end figure measures, its target, and what bounds it. */
const E2E_METRICS: { key: string; what: string; targetMs?: number; bound: string }[] = [
  {
    key: 'primaryBootstrapMs',
    what: 'primary stack apply to a leader and two streaming replicas',
    bound: "Patroni's loop_wait (2 s) and initdb plus two pg_basebackups on 2 cores",
  },
  {
    key: 'standbyBootstrapToAllStreamingMs',
    what: 'standby stack apply to all three standby nodes streaming (cascading)',
    bound: 'pg_basebackup of the standby leader from the source, then two more from it; loop_wait between the steps',
  },
  {
    key: 'standbyStreamingGapAfterPrimarySwitchoverMs',
    what: "standby leader's stream down to streaming again from the new primary, after a primary switchover (sampled every 50 ms)",
    targetMs: 3000,
    bound:
      "the old primary's shutdown, then the new leader's first HA loop (loop_wait) that creates the permanent slot (Patroni 3.0 keeps no slot on replicas), then link.walRetrieveRetryInterval (500 ms by default) before the standby leader retries",
  },
  {
    key: 'switchoverGapUntilNewPrimaryWritableMs',
    what: 'within that gap: until the new primary accepts writes',
    bound: "the old leader's fast shutdown and the candidate's promotion (Patroni's switchover)",
  },
  {
    key: 'switchoverGapUntilSlotOnNewPrimaryMs',
    what: 'within that gap: until the link slot exists on the new primary',
    bound:
      "the new leader's next HA loop after its promotion (loop_wait 2 s): Patroni 3.0 creates permanent slots only on the leader (3.2+ keeps them on replicas)",
  },
  {
    key: 'primarySwitchoverToWritableMs',
    what: 'REST switchover request to the new primary accepting writes',
    bound: "Patroni's switchover: a fast shutdown of the old leader and the candidate's promotion",
  },
  {
    key: 'standbySwitchoverToHealthyMs',
    what: 'standby switchover to a new standby leader streaming, replicas following it',
    bound: 'loop_wait, and the replicas reconnecting after wal_retrieve_retry_interval',
  },
  {
    key: 'standbyLeaderKillToNewStandbyLeaderStreamingMs',
    what: 'kill -9 of the standby leader to a new standby leader streaming',
    bound: 'ttl (15 s): the leader key must expire before another node may take over',
  },
  {
    key: 'detachPatchToFirstWriteMs',
    what: 'detach PATCH /config sent to the first accepted write on the promoted cluster',
    targetMs: 1000,
    bound:
      "the standby leader's HA loop, woken by the PATCH (sent to the leader first, then to every node again 150 and 500 ms later, after its DCS cache has the change), then pg_promote. Reloads are deferred until after the patch: a reload just before it cost a second",
  },
  {
    key: 'promotionApplyToFirstWriteMs',
    what: 'promotion apply start to the first accepted write',
    bound: 'the gate (its settle time, 3 s by default), the three node files written, then the detach patch',
  },
  {
    key: 'promotionApplyTotalMs',
    what: 'the whole promotion apply (gate, reloads, detach, slot release)',
    bound: 'as above, plus the deferred reloads and the slot release on the source',
  },
  {
    key: 'switchoverWriteGapMs',
    what: 'planned switchover dc1 -> dc2 (lifecycle suite): last write acknowledged on the old primary to the first on the new one, a writer on each side',
    targetMs: 1000,
    bound:
      "here Patroni 3.0.2: the soft fence (writes stop), the fence, the old leader's restart in recovery to read its last position, the catch-up check, then the new side's woken HA loop and pg_promote; on 4.1 the synchronous handoff instead (below: the role change per Patroni version); not reachable that way on 3.0 and 4.0, whose immediate-stop demotion can leave the old source's replicas on a fork Patroni checks only when each is restarted ([docs/versions.md](docs/versions.md#patroni-30-40-and-41))",
  },
  {
    key: 'switchoverFenceToPrimaryMs',
    what: "within the switchover: the fence PATCH to the new primary read-write (the role change's own figure)",
    bound: 'as above',
  },
  { key: 'switchbackWriteGapMs', what: 'switchback dc2 -> dc1: the same write gap', targetMs: 1000, bound: 'as above' },
  {
    key: 'switchbackFenceToPrimaryMs',
    what: 'within the switchback: fence to the new primary read-write',
    bound: 'as above',
  },
  {
    key: 'switchoverOldSourceStreamingMs',
    what: 'switchover deploy start to the old source streaming from the new one',
    bound:
      "the whole `cdktf deploy '*'` (synth, both stacks' plans) and the old side's standby leader reconnecting through the slot",
  },
  {
    key: 'rejoinMs',
    what: 'rejoin deploy start (acceptDataLoss) to the diverged cluster streaming from the new primary',
    bound:
      "cdktf deploy, a switchover inside the diverged cluster to put its timeline above the new source's, the demotion and Patroni's pg_rewind of its leader, then the re-clone of its replicas from it",
  },
];

export function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function spread(values: number[]) {
  return {
    medianMs: Math.round(median(values)),
    minMs: Math.round(Math.min(...values)),
    maxMs: Math.round(Math.max(...values)),
  };
}

export function summarizeE2e(file: string): E2eSummary | undefined {
  if (!fs.existsSync(file)) return undefined;
  type Run = { suite?: string; config?: Record<string, string>; passed: boolean; timingsMs: Record<string, number> };
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { machine: string; runs: Run[] };
  if (data.runs.length === 0) return undefined;
  const key = (r: Run) => JSON.stringify(r.config ?? {});
  // each suite's figures come from its passing runs with the configuration of its newest run
  const suiteOf = (r: Run) => r.suite ?? 'walkthrough';
  const latest = new Map(data.runs.map((r) => [suiteOf(r), key(r)] as const));
  const config = [...data.runs].reverse().find((r) => suiteOf(r) === 'walkthrough')?.config ?? {};
  // the figures of this machine's platform through cdktf (the CDK Terrain and Patroni 4 suites record their own)
  const passed = data.runs.filter((r) => r.passed && ['walkthrough', 'lifecycle'].includes(suiteOf(r)));
  const runs = passed.filter((r) => latest.get(suiteOf(r)) === key(r));
  const metrics = E2E_METRICS.map(({ key: metric }) => {
    const values = runs.map((r) => r.timingsMs[metric]).filter((v): v is number => typeof v === 'number');
    return values.length === 0 ? undefined : { key: metric, runs: values.length, ...spread(values) };
  }).filter((m): m is MetricSummary => m !== undefined);
  const intervals = [
    ...new Set(passed.map((r) => r.config?.walRetrieveRetryInterval).filter((v): v is string => v !== undefined)),
  ];
  const gapByRetryInterval = intervals.map((interval) => {
    const values = passed
      .filter((r) => r.config?.walRetrieveRetryInterval === interval)
      .map((r) => r.timingsMs.standbyStreamingGapAfterPrimarySwitchoverMs)
      .filter((v) => typeof v === 'number');
    return { interval, runs: values.length, ...spread(values) };
  });
  return {
    machine: data.machine,
    config,
    passedRuns: runs.length,
    metrics,
    gapByRetryInterval,
    roleChangeByPlatform: byPlatform(
      data.runs,
      ['lifecycle', 'lifecycle-patroni4'],
      ROLE_CHANGE_METRICS,
      ROLE_CHANGE_COUNTS,
    ),
    delayedByPlatform: byPlatform(data.runs, ['fault-suite'], DELAYED_ROLE_CHANGE_METRICS, []),
  };
}

/**
 * The role change figures of some suites (the lifecycle suites: plain cdktf, an unsecured DCS; the
 * fault suite: across its delay) per platform: the passing runs with the role-change program of
 * the platform's newest run, so that a figure always names the program it was measured with.
 */
function byPlatform(
  runs: readonly {
    suite?: string;
    config?: Record<string, string>;
    passed: boolean;
    timingsMs: Record<string, number>;
  }[],
  suites: readonly string[],
  metricKeys: readonly string[],
  countKeys: readonly string[],
): RoleChangeFigures[] {
  const lifecycle = runs.filter((r) => r.suite !== undefined && suites.includes(r.suite));
  const platformOf = (r: (typeof lifecycle)[number]) => r.config?.platform ?? HOST_PLATFORM;
  const platforms = [...new Set(lifecycle.map(platformOf))].sort();
  return platforms.map((platform) => {
    const mine = lifecycle.filter((r) => platformOf(r) === platform);
    const program = mine[mine.length - 1].config?.switchoverProgram;
    const counted = mine.filter((r) => r.passed && r.config?.switchoverProgram === program);
    const metrics = metricKeys
      .map((key): MetricSummary | undefined => {
        const values = counted.map((r) => r.timingsMs[key]).filter((v): v is number => typeof v === 'number');
        return values.length === 0 ? undefined : { key, runs: values.length, ...spread(values) };
      })
      .filter((m): m is MetricSummary => m !== undefined);
    const totals: Record<string, number> = {};
    for (const key of countKeys) {
      const values = counted.map((r) => r.timingsMs[key]).filter((v): v is number => typeof v === 'number');
      if (values.length > 0) totals[key] = values.reduce((a, b) => a + b, 0);
    }
    return { platform, program, runs: counted.length, metrics, totals };
  });
}

/** Synth time against cluster pairs, ours and baseline, as a small standalone SVG. */
export function chartSvg(results: SizeResult[]): string {
  const W = 640;
  const H = 400;
  const m = { l: 70, r: 20, t: 40, b: 50 };
  const maxX = Math.max(...results.map((r) => r.pairs));
  const maxY = Math.max(...results.map((r) => Math.max(r.ms, r.baselineMs))) * 1.1;
  const x = (v: number) => m.l + (v / maxX) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - (v / maxY) * (H - m.t - m.b);
  const line = (key: 'ms' | 'baselineMs', color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${results.map((r) => `${x(r.pairs).toFixed(1)},${y(r[key]).toFixed(1)}`).join(' ')}"/>` +
    results
      .map(
        (r) =>
          `<circle cx="${x(r.pairs).toFixed(1)}" cy="${y(r[key]).toFixed(1)}" r="4" fill="${color}"><title>${r.pairs} pairs: ${r[key]} ms</title></circle>`,
      )
      .join('');
  const yTicks = Array.from({ length: 6 }, (_, i) => (maxY / 5) * i);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">Synth time against cluster pairs (median, in-process)</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    ...yTicks.map(
      (v) =>
        `<line x1="${m.l - 4}" y1="${y(v).toFixed(1)}" x2="${W - m.r}" y2="${y(v).toFixed(1)}" stroke="#ddd"/><text x="${m.l - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Math.round(v)}</text>`,
    ),
    ...results.map(
      (r) => `<text x="${x(r.pairs).toFixed(1)}" y="${H - m.b + 18}" text-anchor="middle">${r.pairs}</text>`,
    ),
    `<text x="${W / 2}" y="${H - 10}" text-anchor="middle">cluster pairs (3 + 3 nodes each)</text>`,
    `<text x="18" y="${H / 2}" text-anchor="middle" transform="rotate(-90 18 ${H / 2})">milliseconds</text>`,
    line('ms', '#1f77b4'),
    line('baselineMs', '#ff7f0e'),
    `<rect x="${m.l + 15}" y="${m.t + 5}" width="12" height="12" fill="#1f77b4"/><text x="${m.l + 32}" y="${m.t + 15}">this library (constructs, synth, rendered files)</text>`,
    `<rect x="${m.l + 15}" y="${m.t + 25}" width="12" height="12" fill="#ff7f0e"/><text x="${m.l + 32}" y="${m.t + 35}">baseline: same stacks, plain terraform_data, no logic</text>`,
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}

/** Figures per platform as a table: a column per metric, median (min–max) ms. */
function platformTable(figures: readonly RoleChangeFigures[], keys: readonly string[]): string[] {
  const cols = keys.map((k) => `\`${k}\``);
  return [
    `| platform | program | runs | ${cols.join(' | ')} |`,
    `| --- | --- | ---: | ${cols.map(() => '---:').join(' | ')} |`,
    ...figures.map((p) => {
      const cells = keys.map((k) => {
        const m = p.metrics.find((x) => x.key === k);
        return m ? `${m.medianMs} (${m.minMs}–${m.maxMs})` : '';
      });
      return `| ${p.platform} | ${p.program ?? 'unnamed'} | ${p.runs} | ${cells.join(' | ')} |`;
    }),
  ];
}

function verdict(ok: boolean): string {
  return ok ? 'met' : '**not met**';
}

export function benchmarksMarkdown(input: {
  machine: string;
  results: SizeResult[];
  validated: ValidatedResult[];
  cliCost: CliCost;
  e2e?: E2eSummary;
  /** The fault suite's last run: its switchover across the delay between the data centers. */
}): string {
  const { machine, results, validated, cliCost, e2e } = input;
  const at = (pairs: number) => results.find((r) => r.pairs === pairs)!;
  const largest = at(200);
  const growth = largest.ms / at(50).ms;
  const maxRatio = Math.max(...results.map((r) => r.ratio));
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push('Produced by `npm run bench` (bench/synth-bench.ts), which rewrites this file, `bench/results.json`,');
  out.push('`bench/validated.json`, `bench/cli-cost.json` and `bench/synth-chart.svg`. The operational timings');
  out.push(
    'come from the end-to-end suite, which appends each run to `bench/out/e2e-timings.json` (copied into `bench/e2e-timings.json` by the report);',
  );
  out.push('`npm run bench:report` rewrites this file from the stored figures without measuring again.', '');
  out.push(`Machine: ${machine}.`, '');
  out.push('## Synth at scale', '');
  out.push('Each size is synthesized in-process (what the app does: constructs, `app.synth()`, the rendered');
  out.push('files), every run in a fresh child process; figures are medians. One pair is 2 stacks, 6 Patroni');
  out.push('nodes and 11 planned resources. The baseline carries the same payload with no logic: one synth of ours');
  out.push("(before the timed runs) gives each stack's backend, resources with their whole configuration (the");
  out.push('rendered patroni.yml, patch bodies, commands), outputs and programs asset, and the rendered files;');
  out.push('the baseline puts exactly those on plain `terraform_data` resources and writes the same files. The');
  out.push("ratio is therefore this library's own overhead: validating the topology, planning and rendering.");
  out.push('Both use `new App({ skipValidation: true })`: see "cdktf\'s validations" below for why.', '');
  out.push(
    '| pairs | nodes | runs | ours ms (min–max) | ms / node | baseline ms | ratio | peak RSS MB (ours / baseline) |',
  );
  out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    out.push(
      `| ${r.pairs} | ${r.nodes} | ${r.runs} | ${r.ms} (${r.spreadMs[0]}–${r.spreadMs[1]}) | ${r.msPerNode} | ${r.baselineMs} | ${r.ratio} | ${r.rssMb} / ${r.baselineRssMb} |`,
    );
  }
  out.push('', '![synth time against cluster pairs](bench/synth-chart.svg)', '');
  out.push('| target | measured | verdict |', '| --- | --- | --- |');
  out.push(`| 200 pairs in at most 5 s | ${largest.ms} ms | ${verdict(largest.ms <= 5000)} |`);
  out.push(
    `| ratio to the same-payload baseline at most 1.5 at every size | highest ${maxRatio} | ${verdict(maxRatio <= 1.5)} |`,
  );
  out.push(
    `| linear growth: 200 pairs at most 4.5 × 50 pairs | ${growth.toFixed(2)} × | ${verdict(growth <= 4.5)} |`,
    '',
  );
  out.push('### Where the time goes (medians, ms)', '');
  out.push(
    '| pairs | our constructs | cdktf synth (ours) | rendered files | baseline constructs | baseline cdktf synth |',
  );
  out.push('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    out.push(
      `| ${r.pairs} | ${r.phasesMs.constructs} | ${r.phasesMs.cdktfSynth} | ${r.phasesMs.renderedFiles} | ${r.baselinePhasesMs.constructs} | ${r.baselinePhasesMs.cdktfSynth} |`,
    );
  }
  const share = Math.round((largest.phasesMs.cdktfSynth / largest.ms) * 100);
  out.push(
    '',
    `At 200 pairs, ${share} % of our time is cdktf's own \`app.synth()\` (token resolution, JSON, one asset copy per`,
  );
  out.push('patch script); building the construct tree (validation, YAML rendering, hashing) and writing the');
  out.push('rendered files are the rest.', '');
  out.push("### cdktf's validations: one `terraform version` process per terraform_data", '');
  out.push('With a default `App`, cdktf validates every `terraform_data` resource by running `terraform version`');
  out.push('(a child process each, counted below). That, not this library, is what a default App spends its');
  out.push('time on at scale, for ours and the baseline alike:', '');
  out.push(
    '| pairs | runs | ours ms (default App) | baseline ms (default App) | `terraform version` processes | ours ms with skipValidation |',
  );
  out.push('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const v of validated)
    out.push(
      `| ${v.pairs} | ${v.runs} | ${v.ms} | ${v.baselineMs} | ${v.terraformVersionExecs} | ${v.skipValidationMs} |`,
    );
  const big = validated[validated.length - 1];
  const perExec = (big.ms - big.skipValidationMs) / big.terraformVersionExecs;
  out.push(
    '',
    `That is about ${perExec.toFixed(0)} ms per terraform_data resource: 200 pairs (1,600 resources) would spend about`,
  );
  out.push(
    `${Math.round((perExec * 1600) / 1000)} s in \`terraform version\` alone. The topology checks of this library run in the constructors`,
  );
  out.push('and do not depend on these validations, so at fleet scale create the App with');
  out.push(
    "`new App({ skipValidation: true })`, as the app of this project (`main.ts`) does; its unit tests run cdktf's",
  );
  out.push('validations on the default topology instead.', '');
  out.push("## The CLI's fixed cost (default topology)", '');
  out.push("cdktf.json's app command is `node scripts/app.cjs`: esbuild transpiles `main.ts` and what it imports into");
  out.push('one file and bundles the programs, only when a source changed since the last synth, then runs it');
  out.push('(type checking stays in `npm run build` and the tests). Before, the command compiled the whole project');
  out.push(`with tsc on every synth. Both CLI rows are medians of ${cliCost.runs} interleaved runs.`, '');
  out.push('| how | median ms |', '| --- | ---: |');
  out.push(`| in-process synth (constructs, app.synth(), rendered files) | ${cliCost.inProcessMs} |`);
  out.push(
    `| the app command, sources unchanged (a Node process, module loading, the same synth) | ${cliCost.appCommandMs} |`,
  );
  out.push(
    `| \`npm run build\` (tsc and the program bundles; the previous app command ran it on every synth) | ${cliCost.buildMs} |`,
  );
  out.push(`| \`npx cdktf synth\` (the app command plus the CLI) | ${cliCost.cdktfSynthMs} |`);
  out.push(
    `| \`npx cdktf synth\` with the previous app command (\`npm run --silent build && node dist/main.js\`) | ${cliCost.previousCdktfSynthMs} |`,
    '',
  );
  const speedup = cliCost.previousCdktfSynthMs / cliCost.cdktfSynthMs;
  out.push('| target | measured | verdict |', '| --- | --- | --- |');
  out.push(
    `| \`npx cdktf synth\` of the default topology in at most 4 s | ${cliCost.cdktfSynthMs} ms (${speedup.toFixed(1)} × faster than before) | ${verdict(cliCost.cdktfSynthMs <= 4000)} |`,
    '',
  );
  out.push(
    `The CLI adds about ${Math.round(cliCost.cdktfSynthMs - cliCost.appCommandMs)} ms of its own on top of the app command (its start-up, and`,
  );
  out.push('`terraform version` three times).', '');
  out.push('## Operational timings (end-to-end suite)', '');
  if (!e2e || e2e.metrics.length === 0) {
    out.push('No end-to-end run recorded yet: run `npm run test:e2e`, then `npm run bench`.');
  } else {
    const cfg = Object.entries(e2e.config)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    out.push(
      `From the passing runs of \`npm run test:e2e\` (${e2e.passedRuns} in all), each suite's with its current configuration: the`,
    );
    out.push(
      `walkthrough's (${cfg}; ttl 15, retry_timeout 5) and the lifecycle suite's (the same timings, one role-change program), on ${e2e.machine}.`,
      '',
    );
    out.push(
      '| figure | runs | median ms | min–max ms | target | bounded by |',
      '| --- | ---: | ---: | ---: | --- | --- |',
    );
    for (const m of e2e.metrics) {
      const def = E2E_METRICS.find((d) => d.key === m.key)!;
      const target = def.targetMs === undefined ? '' : `≤ ${def.targetMs} ms: ${verdict(m.medianMs <= def.targetMs)}`;
      out.push(
        `| ${def.what} (\`${m.key}\`) | ${m.runs} | ${m.medianMs} | ${m.minMs}–${m.maxMs} | ${target} | ${def.bound} |`,
      );
    }
    if (e2e.gapByRetryInterval.length > 1) {
      out.push('', "The standby's streaming gap after a primary switchover against `link.walRetrieveRetryInterval`");
      out.push("(all passing runs; the default is the newest run's):", '');
      out.push('| walRetrieveRetryInterval | runs | median ms | min–max ms |', '| --- | ---: | ---: | ---: |');
      for (const g of e2e.gapByRetryInterval)
        out.push(`| ${g.interval} | ${g.runs} | ${g.medianMs} | ${g.minMs}–${g.maxMs} |`);
      const slot = e2e.metrics.find((m) => m.key === 'switchoverGapUntilSlotOnNewPrimaryMs');
      if (slot) {
        out.push(
          '',
          `${(slot.medianMs / 1000).toFixed(1)} s of the gap (median) is Patroni 3.0 itself: the switchover, then the new leader`,
        );
        out.push('creating the permanent slot in its next HA loop (3.2+ keeps permanent slots on replicas). The rest');
        out.push('is the standby waiting for its next reconnect, which `walRetrieveRetryInterval` bounds.');
      }
    }
    if (e2e.roleChangeByPlatform.length > 0) {
      out.push('', '### The role change per Patroni version', '');
      out.push(
        'The lifecycle suite on each platform of the [version matrix](docs/versions.md) (a writer on each side; median',
        'and min–max ms over its passing runs with the role-change program of its newest run, named by the hash of its sources):',
        '',
      );
      out.push(...platformTable(e2e.roleChangeByPlatform, ROLE_CHANGE_METRICS));
    }
    if (e2e.delayedByPlatform.length > 0) {
      out.push(
        '',
        "Across the fault suite's 20 ms delay between the data centers (two network namespaces; a writer on each side;",
        'a switchover dc1 -> dc2 then the switchback per run; median and min–max ms over its passing runs with the',
        'newest role-change program, [RELIABILITY.md](RELIABILITY.md)):',
        '',
      );
      out.push(...platformTable(e2e.delayedByPlatform, DELAYED_ROLE_CHANGE_METRICS));
    }
  }
  out.push('');
  return out.join('\n');
}
