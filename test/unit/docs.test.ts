/**
 * The documentation against the repository: README.md is one screen whose topology is
 * examples/two-dc.yaml (and parses without a warning), every relative link of README.md and
 * docs/*.md reaches a file (and a heading, when it names one), every `npm run` it mentions is a
 * script, the test command is the one CI runs, and every rule id is explained in
 * docs/troubleshooting.md. Also: the pages that run `npx cdktf` keep it offline, the files the
 * README's commands write are ignored by git, the attributes docs/composition.md lists are the
 * constructs', and the app of docs/getting-started.md (cdktf.json, tsconfig.json, main.ts)
 * type-checks against the package's API. Reads files only; writes none.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { ERROR_RULES, WARNING_RULES } from '../../constructs/rules';
import { parseTopology } from '../../stacks/topology-file';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');

const README = 'README.md';
const DOCS = fs
  .readdirSync(path.join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => `docs/${f}`);
const PAGES = [README, ...DOCS];

/** The text outside fenced code blocks (links in code are code). */
function prose(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** Fenced code blocks of a language, without their fences. */
function codeBlocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]);
}

/** Link targets: [text](target), ![alt](target), <img src="target">, <a href="target">. */
function linkTargets(text: string): string[] {
  const body = prose(text).replace(/`[^`\n]*`/g, '');
  return [
    ...[...body.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
    ...[...body.matchAll(/<(?:img|a)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]),
  ];
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/<[^>]+>/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe('the documentation', () => {
  test('README.md is one screen that links every page of docs/', () => {
    const readme = read(README);
    expect(readme.split('\n').length).toBeLessThanOrEqual(110);
    const linked = new Set(linkTargets(readme).map((t) => path.posix.normalize(t.split('#')[0])));
    expect(DOCS.filter((d) => !linked.has(d))).toEqual([]);
  });

  test('every relative link of README.md and docs/*.md reaches a file, and a heading when it names one', () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      for (const target of linkTargets(read(page))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [file, anchor] = target.split('#');
        const resolved = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
        if (resolved.startsWith('..') || !fs.existsSync(path.join(ROOT, resolved))) {
          broken.push(`${page}: ${target} (no file ${resolved})`);
          continue;
        }
        if (anchor && resolved.endsWith('.md') && !anchorsOf(read(resolved)).has(anchor))
          broken.push(`${page}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
    expect(broken).toEqual([]);
  });

  test("the README's topology is examples/two-dc.yaml, which parses with no warning", () => {
    const example = read('examples/two-dc.yaml');
    const blocks = codeBlocks(read(README), 'yaml');
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toBe(example);
    const { warnings } = parseTopology(example, 'examples/two-dc.yaml');
    expect(warnings).toEqual([]);
  });

  test('every `npm run <script>` in README.md and docs/*.md is a script of package.json', () => {
    const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);
    const missing = PAGES.flatMap((page) =>
      [...read(page).matchAll(/npm run(?:\s+(?:--silent|-s))?\s+([A-Za-z0-9:_.-]+)/g)]
        .map((m) => m[1])
        .filter((s) => !scripts.includes(s))
        .map((s) => `${page}: npm run ${s}`),
    );
    expect(missing).toEqual([]);
  });

  test("the README's test command is the one CI runs (.ci/run, npm run test:ci), once", () => {
    const commands = read('.ci/run')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#') && !/^(set|cd)\s/.test(l));
    expect(commands).toHaveLength(1);
    const command = commands[0];
    expect((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['test:ci']).toBe(command);
    const readme = read(README);
    expect(readme.split(command).length - 1).toBe(1);
    expect(readme.split('\n').map((l) => l.trim())).toContain(command);
  });

  test('every page whose commands run `npx cdktf` exports the variables that keep its CLI offline; the npm scripts that run it set them', () => {
    const EXPORT = 'export CHECKPOINT_DISABLE=1 DISABLE_VERSION_CHECK=true';
    const running = PAGES.filter((page) => codeBlocks(read(page), 'sh').some((b) => /^npx cdktf /m.test(b)));
    expect(running.filter((page) => !read(page).includes(EXPORT))).toEqual([]);
    // the README runs the CLI through npm run synth, diff and deploy, which set both themselves
    const readme = codeBlocks(read(README), 'sh').join('\n');
    expect(readme).not.toMatch(/^npx cdktf /m);
    for (const script of ['synth', 'diff', 'deploy']) expect(readme).toContain(`npm run ${script}`);
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const script of ['synth', 'diff', 'deploy', 'synth:cdktn'])
      expect({
        script,
        offline: /^CHECKPOINT_DISABLE=1 DISABLE_VERSION_CHECK=true cdkt[fn] /.test(scripts[script]),
      }).toEqual({
        script,
        offline: true,
      });
  });

  test("what the README's commands write in the checkout (saved plans, the review) is ignored by git", () => {
    const ignored = read('.gitignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    // a root-level pattern (/x) or a name pattern, * for any characters but /
    const matches = (file: string) =>
      ignored.some((p) =>
        new RegExp(
          `^${p
            .replace(/^\//, '')
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')}$`,
        ).test(p.startsWith('/') ? file : path.posix.basename(file)),
      );
    // each command's redirections, its comment left out
    const written = codeBlocks(read(README), 'sh').flatMap((b) =>
      b
        .split('\n')
        .flatMap((l) => [...l.replace(/\s#.*$/, '').matchAll(/(?<![-=])>\s*([^\s>|&;]+)/g)].map((m) => m[1])),
    );
    expect(written).toEqual(expect.arrayContaining(['plan-dc1.json', 'review.md']));
    expect(written.filter((f) => !matches(f))).toEqual([]);
    expect(['plan-dc2.json', 'x.tfplan'].filter((f) => !matches(f))).toEqual([]);
  });

  test('docs/composition.md names every attribute of StandbyLink and every key buildStandbyStacks returns', () => {
    /** The `readonly` members declared at the top level of a class or interface body. */
    const members = (file: string, opening: string) => {
      const text = read(file);
      const start = text.indexOf(opening);
      expect(start).toBeGreaterThanOrEqual(0);
      const body = text.slice(start, text.indexOf('\n}', start));
      return [...body.matchAll(/^ {2}readonly (\w+)\??:/gm)].map((m) => m[1]);
    };
    const link = members('constructs/standby-link.ts', 'export class StandbyLink ');
    const built = members('stacks/standby-stacks.ts', 'export interface StandbyStacks ');
    expect(link).toEqual(
      expect.arrayContaining([
        'sourceCluster',
        'standbyCluster',
        'slotName',
        'sourceHosts',
        'state',
        'promotion',
        'roles',
        'linkSlots',
        'reseed',
        'resolved',
      ]),
    );
    expect(built).toEqual(['stacks', 'clusters', 'link', 'primaryStack', 'standbyStack', 'primary', 'standby']);
    const page = read('docs/composition.md');
    expect([...link, ...built].filter((name) => !page.includes(`\`${name}\``))).toEqual([]);
  });

  describe("docs/getting-started.md's own app", () => {
    const page = read('docs/getting-started.md');
    const json = codeBlocks(page, 'json').map((b) => JSON.parse(b) as Record<string, any>);

    test("cdktf.json: the keys of this repository's, an app command that compiles and runs main.ts", () => {
      const cdktf = json.find((j) => 'app' in j)!;
      const ours = JSON.parse(read('cdktf.json')) as Record<string, unknown>;
      expect(Object.keys(cdktf).filter((k) => !(k in ours))).toEqual([]);
      expect(cdktf).toMatchObject({
        language: 'typescript',
        app: 'npx tsc && node main.js',
        sendCrashReports: 'false',
      });
      const tsconfig = json.find((j) => 'compilerOptions' in j)!;
      expect(tsconfig).toMatchObject({ compilerOptions: { module: 'commonjs' }, include: ['main.ts'] });
      expect(tsconfig.compilerOptions.outDir).toBeUndefined(); // main.js beside main.ts, as the app command runs it
    });

    test('main.ts: type-checks against the package, prints a TopologyError, writes the rendered files after the synth, reads the roles from the link', () => {
      const main = codeBlocks(page, 'ts').find((b) => b.includes('writeRenderedFiles('))!;
      expect(main).toContain("from 'patroni-standby-cdktf'");
      expect(main).toMatch(/err instanceof TopologyError/);
      expect(main).toMatch(/process\.exitCode = 1/);
      expect(main.indexOf('app.synth()')).toBeLessThan(main.indexOf('writeRenderedFiles(app, app.outdir)'));
      expect(main).toMatch(/link\.sourceCluster/);
      expect(main).not.toMatch(/\.dc[12]\b|\['dc[12]'\]/);
      // compiled in memory, the package's name standing for this repository's entry (index.ts)
      const tsconfig = json.find((j) => 'compilerOptions' in j)!;
      const { options, errors } = ts.convertCompilerOptionsFromJson(
        { ...tsconfig.compilerOptions, noEmit: true },
        ROOT,
      );
      expect(errors).toEqual([]);
      const file = path.join(ROOT, 'getting-started-main.ts');
      const source = main.replace("from 'patroni-standby-cdktf'", `from ${JSON.stringify(path.join(ROOT, 'index'))}`);
      const host = ts.createCompilerHost(options);
      const { getSourceFile, fileExists, readFile } = host;
      host.getSourceFile = (name, version, ...rest) =>
        name === file ? ts.createSourceFile(name, source, version) : getSourceFile.call(host, name, version, ...rest);
      host.fileExists = (name) => name === file || fileExists.call(host, name);
      host.readFile = (name) => (name === file ? source : readFile.call(host, name));
      const program = ts.createProgram([file], options, host);
      const problems = ts
        .getPreEmitDiagnostics(program)
        .map(
          (d) =>
            `${d.file ? path.relative(ROOT, d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
        );
      expect(problems).toEqual([]);
    }, 60_000);
  });

  test('docs/troubleshooting.md explains every synth rule, by its id', () => {
    const page = read('docs/troubleshooting.md');
    const ids = [...ERROR_RULES, ...WARNING_RULES].map((r) => r.id);
    expect(ids.filter((id) => !page.includes(`\`${id}\``))).toEqual([]);
  });
});
