/**
 * The import graph: the runtime (the programs Terraform runs) sits under the constructs. Nothing
 * in runtime/ imports the constructs, the stacks or the operations; the constructs, stacks and
 * planners reach the runtime only through its contract (runtime/contract.ts), which imports
 * nothing of this repository.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Every relative import of the TypeScript files under `dir`, as repository paths without extension. */
function importsUnder(dir: string): { file: string; target: string }[] {
  const out: { file: string; target: string }[] = [];
  const walk = (d: string): void => {
    for (const f of fs.readdirSync(path.join(ROOT, d))) {
      const rel = path.join(d, f);
      if (fs.statSync(path.join(ROOT, rel)).isDirectory()) walk(rel);
      else if (f.endsWith('.ts')) {
        const text = fs.readFileSync(path.join(ROOT, rel), 'utf8');
        for (const m of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
          out.push({ file: rel, target: path.normalize(path.join(path.dirname(rel), m[1])) });
        }
      }
    }
  };
  walk(dir);
  return out;
}

test('runtime/ imports nothing of the constructs, the stacks or the operations', () => {
  const imports = importsUnder('runtime');
  expect(imports.length).toBeGreaterThan(10);
  expect(imports.filter((i) => !i.target.startsWith('runtime/'))).toEqual([]);
});

test('the contract imports nothing of this repository', () => {
  expect(importsUnder('runtime').filter((i) => i.file === 'runtime/contract.ts')).toEqual([]);
});

test('the constructs, stacks and planners reach the runtime only through its contract', () => {
  const reaching = ['constructs', 'stacks'].flatMap(importsUnder).filter((i) => i.target.startsWith('runtime/'));
  expect(reaching.length).toBeGreaterThan(3);
  expect(reaching.filter((i) => i.target !== 'runtime/contract')).toEqual([]);
});

test('no module imports itself through others (no cycle), type-only imports included', () => {
  const edges = new Map<string, string[]>();
  for (const { file, target } of ['runtime', 'constructs', 'stacks', 'ops'].flatMap(importsUnder)) {
    const from = file.replace(/\.ts$/, '');
    const to = fs.existsSync(path.join(ROOT, `${target}.ts`)) ? target : path.join(target, 'index');
    edges.set(from, [...(edges.get(from) ?? []), to]);
  }
  expect(edges.size).toBeGreaterThan(40);
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string, trail: string[]): void => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(node)), node].join(' -> '));
      return;
    }
    state.set(node, 'open');
    for (const next of edges.get(node) ?? []) visit(next, [...trail, node]);
    state.set(node, 'done');
  };
  for (const node of edges.keys()) visit(node, []);
  expect(cycles).toEqual([]);
});
