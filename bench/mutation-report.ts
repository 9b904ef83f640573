/**
 * Mutation testing figures: `npm run test:mutation` (Stryker, one run per area) writes its reports
 * to the ignored bench/out/mutation/<area>.json; the report command reduces them to the tracked
 * bench/mutation-summary.json and writes TESTING.md from that.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The parts of Stryker's JSON report (mutation-testing-report-schema) read here. */
interface StrykerReport {
  files: Record<string, { source: string; mutants: StrykerMutant[] }>;
}
interface StrykerMutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}

export interface Survivor {
  file: string;
  line: number;
  mutator: string;
  replacement: string;
  original: string;
  status: 'Survived' | 'NoCoverage';
  /** The function the mutant is in, when it is a named one. */
  inFunction?: string;
}

export interface AreaScore {
  area: string;
  files: string[];
  killed: number;
  timedOut: number;
  survived: number;
  noCoverage: number;
  ignored: number;
  /** (killed + timed out) / (killed + timed out + survived + no coverage), in percent. */
  score: number;
  /** The day the area was measured (its files' code then), when it differs from the summary's. */
  ranAt?: string;
}

export interface MutationSummary {
  ranAt: string;
  minutes?: number;
  areas: AreaScore[];
  survivors: Survivor[];
}

export const AREAS: { area: string; match: (file: string) => boolean }[] = [
  { area: 'planners (constructs/planners)', match: (f) => f.startsWith('constructs/planners/') },
  { area: 'rules (constructs/rules.ts)', match: (f) => f === 'constructs/rules.ts' },
  { area: 'programs Terraform runs (runtime/)', match: (f) => f.startsWith('runtime/') },
];

/**
 * The promotion gate's files: runtime/gate.ts, and runtime/lsn.ts for the position comparison the
 * gate decides with. Every surviving mutant in GATE_FUNCTIONS there is explained.
 */
export const GATE_FILES = ['runtime/gate.ts', 'runtime/lsn.ts'];

/** The gate's functions in GATE_FILES. */
export const GATE_FUNCTIONS = [
  'gate',
  'allReplayed',
  'standbyConfig',
  'inFlightNote',
  'runGate',
  'formatGate',
  'lsnAtLeast',
  '(program entry)',
];

function enclosingFunction(source: string, line: number): string | undefined {
  const lines = source.split('\n').slice(0, line);
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i].startsWith('if (require.main === module)')) return '(program entry)';
    const m = /^(?:export )?(?:async )?function (\w+)[<(]/.exec(lines[i]);
    if (m) return m[1];
  }
  return undefined;
}

function originalText(source: string, m: StrykerMutant): string {
  const lines = source.split('\n');
  const { start, end } = m.location;
  if (start.line === end.line) return lines[start.line - 1].slice(start.column - 1, end.column - 1);
  return `${lines[start.line - 1].slice(start.column - 1)} ...`;
}

export function summarize(report: StrykerReport, root: string, ranAt: string, minutes?: number): MutationSummary {
  const areas: AreaScore[] = [];
  const survivors: Survivor[] = [];
  for (const { area, match } of AREAS) {
    const score: AreaScore = {
      area,
      files: [],
      killed: 0,
      timedOut: 0,
      survived: 0,
      noCoverage: 0,
      ignored: 0,
      score: 0,
    };
    for (const [file, entry] of Object.entries(report.files)) {
      const rel = path.relative(root, path.resolve(root, file)).split(path.sep).join('/');
      if (!match(rel)) continue;
      score.files.push(rel);
      for (const m of entry.mutants) {
        if (m.status === 'Killed') score.killed += 1;
        else if (m.status === 'Timeout') score.timedOut += 1;
        else if (m.status === 'Ignored') score.ignored += 1;
        else if (m.status === 'Survived' || m.status === 'NoCoverage') {
          if (m.status === 'Survived') score.survived += 1;
          else score.noCoverage += 1;
          survivors.push({
            file: rel,
            line: m.location.start.line,
            mutator: m.mutatorName,
            replacement: (m.replacement ?? '').split('\n')[0].slice(0, 100),
            original: originalText(entry.source, m).slice(0, 100),
            status: m.status,
            inFunction: enclosingFunction(entry.source, m.location.start.line),
          });
        }
      }
    }
    score.files.sort();
    const detected = score.killed + score.timedOut;
    const total = detected + score.survived + score.noCoverage;
    score.score = total === 0 ? 0 : Math.round((detected / total) * 1000) / 10;
    areas.push(score);
  }
  survivors.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { ranAt, minutes, areas, survivors };
}

/** The score every area must reach. */
export const TARGET = 85;

/** Area runs, then runs of single files (MUTATION_REPORT=gate), whose files replace the area's. */
const AREA_RUNS = ['programs', 'planners', 'rules', 'gate'];

/** `fresh` with each area it did not measure taken from `before` (its figures, survivors and day). */
export function carriedOver(fresh: MutationSummary, before: MutationSummary): MutationSummary {
  const kept = new Set<string>();
  const areas = fresh.areas.map((a) => {
    const old = before.areas.find((b) => b.area === a.area);
    if (a.files.length > 0 || !old || old.files.length === 0) return a;
    kept.add(a.area);
    return { ...old, ranAt: old.ranAt ?? before.ranAt };
  });
  const matchOf = (file: string) => AREAS.find((x) => x.match(file))?.area;
  const survivors = [...fresh.survivors, ...before.survivors.filter((s) => kept.has(matchOf(s.file) ?? ''))].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line,
  );
  return { ...fresh, areas, survivors };
}

/**
 * Reads the fresh Stryker reports (one per area run) when there are any, and keeps their summary
 * in the tracked file; without fresh reports, the tracked summary.
 */
export function mutationSummary(root: string): MutationSummary | undefined {
  const dir = path.join(root, 'bench', 'out', 'mutation');
  const tracked = path.join(root, 'bench', 'mutation-summary.json');
  const runs = AREA_RUNS.filter((a) => fs.existsSync(path.join(dir, `${a}.json`)));
  if (runs.length > 0) {
    const files: StrykerReport['files'] = {};
    let minutes = 0;
    let newest = 0;
    for (const a of runs) {
      const file = path.join(dir, `${a}.json`);
      Object.assign(files, (JSON.parse(fs.readFileSync(file, 'utf8')) as StrykerReport).files);
      newest = Math.max(newest, fs.statSync(file).mtimeMs);
      const m = path.join(dir, `${a}.minutes`);
      if (fs.existsSync(m)) minutes += Number(fs.readFileSync(m, 'utf8'));
    }
    const fresh = summarize({ files }, root, new Date(newest).toISOString().slice(0, 10), minutes || undefined);
    // an area not run this time keeps its last figures, with the day they were measured
    const before = fs.existsSync(tracked)
      ? (JSON.parse(fs.readFileSync(tracked, 'utf8')) as MutationSummary)
      : undefined;
    const summary = before ? carriedOver(fresh, before) : fresh;
    fs.writeFileSync(tracked, `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  }
  return fs.existsSync(tracked) ? (JSON.parse(fs.readFileSync(tracked, 'utf8')) as MutationSummary) : undefined;
}

/** Why a surviving gate mutant cannot be killed by a test, keyed by "line:mutator:original". */
export type Explanations = Record<string, string>;

export function testingMarkdown(summary: MutationSummary, explanations: Explanations): string {
  const out: string[] = [];
  out.push('# Testing', '');
  out.push('What the tests run and how well they catch faults. Generated by `npm run bench:report` from the last');
  out.push('`npm run test:mutation` run; do not edit by hand.', '');
  out.push('## Mutation testing', '');
  out.push(
    `Stryker (\`npm run test:mutation\`, ${summary.minutes ? `${summary.minutes} minutes of runs` : 'runs'} up to ${summary.ranAt}) changes the code one fault at a`,
  );
  out.push(
    'time (a comparison turned around, a condition forced true or false, a statement removed, an operator swapped)',
  );
  out.push(
    'and runs the unit tests that cover it; a mutant is killed when a test fails. Left out: module-level constants',
  );
  out.push(
    '(`ignoreStatic`: their mutants would need every test for each, and the functions that read them are mutated',
  );
  out.push('themselves) and emptied strings (texts users act on are asserted word for word by the tests).', '');
  out.push('| area | measured | killed | timed out | survived | no coverage | score | target |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const a of summary.areas) {
    if (a.files.length === 0) {
      out.push(`| ${a.area} | | | | | | not measured yet | ${TARGET}% |`);
      continue;
    }
    const met = a.score >= TARGET ? `met (${TARGET}%)` : `**not met** (${TARGET}%)`;
    out.push(
      `| ${a.area} | ${a.ranAt ?? summary.ranAt} | ${a.killed} | ${a.timedOut} | ${a.survived} | ${a.noCoverage} | ${a.score}% | ${met} |`,
    );
  }
  if (summary.areas.some((a) => a.ranAt && a.ranAt !== summary.ranAt))
    out.push(
      '',
      'An area measured on an earlier day was not run again since: its figures are of its code on that day.',
    );
  out.push(
    '',
    'The score counts a timed-out mutant as caught (the fault made a test hang until Stryker stopped it).',
    '',
  );
  const gate = summary.survivors.filter(
    (s) => GATE_FILES.includes(s.file) && s.inFunction && GATE_FUNCTIONS.includes(s.inFunction),
  );
  out.push('## Surviving mutants in the promotion gate', '');
  if (gate.length === 0) {
    out.push('None: every mutant of the gate (`gate`, `allReplayed`, `standbyConfig`, `inFlightNote`, `runGate` and');
    out.push('`formatGate` in runtime/gate.ts, `lsnAtLeast` in runtime/lsn.ts) is killed by a unit test.');
  } else {
    out.push('| line | function | mutant | original | why no test kills it |');
    out.push('| ---: | --- | --- | --- | --- |');
    for (const s of gate) {
      const why =
        explanations[`${s.line}:${s.mutator}:${s.original}`] ?? explanations[`${s.inFunction}:*`] ?? '**unexplained**';
      out.push(
        `| ${s.line} | ${s.inFunction} | ${s.mutator} \`${s.replacement.replace(/\|/g, '\\|')}\` | \`${s.original.replace(/\|/g, '\\|')}\` | ${why} |`,
      );
    }
  }
  out.push('', '## Surviving mutants elsewhere, per file', '');
  const byFile = new Map<string, number>();
  for (const s of summary.survivors) byFile.set(s.file, (byFile.get(s.file) ?? 0) + 1);
  out.push('| file | survived or not covered |', '| --- | ---: |');
  for (const [file, n] of [...byFile.entries()].sort()) out.push(`| ${file} | ${n} |`);
  out.push(
    '',
    'The full list, with each mutant, is in `bench/mutation-summary.json`; the HTML report of the last run is in',
  );
  out.push('the ignored `bench/out/mutation/<area>.html`.', '');
  return `${out.join('\n')}\n`;
}

export function writeTesting(root: string): boolean {
  const summary = mutationSummary(root);
  if (!summary) return false;
  const explained = path.join(root, 'test', 'mutation', 'explained.json');
  const explanations = fs.existsSync(explained) ? (JSON.parse(fs.readFileSync(explained, 'utf8')) as Explanations) : {};
  fs.writeFileSync(path.join(root, 'TESTING.md'), testingMarkdown(summary, explanations));
  return true;
}
