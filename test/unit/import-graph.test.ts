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
