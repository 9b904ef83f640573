/**
 * The documentation against the repository: README.md is one screen whose topology is
 * examples/two-dc.yaml (and parses without a warning), every relative link of README.md and
 * docs/*.md reaches a file (and a heading, when it names one), every `npm run` it mentions is a
 * script, the test command is the one CI runs, and every rule id is explained in
 * docs/troubleshooting.md. Reads files only; writes none.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERROR_RULES, WARNING_RULES } from '../../constructs/rules';
import { parseTopology } from '../../stacks/topology-file';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');

const README = 'README.md';
const DOCS = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
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
        if (anchor && resolved.endsWith('.md') && !anchorsOf(read(resolved)).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor} in ${resolved})`);
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
      [...read(page).matchAll(/npm run(?:\s+(?:--silent|-s))?\s+([A-Za-z0-9:_.-]+)/g)].map((m) => m[1]).filter((s) => !scripts.includes(s)).map((s) => `${page}: npm run ${s}`),
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

  test('docs/troubleshooting.md explains every synth rule, by its id', () => {
    const page = read('docs/troubleshooting.md');
    const ids = [...ERROR_RULES, ...WARNING_RULES].map((r) => r.id);
    expect(ids.filter((id) => !page.includes(`\`${id}\``))).toEqual([]);
  });
});
