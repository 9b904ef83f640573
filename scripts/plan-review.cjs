#!/usr/bin/env node
// `npm run plan-review -- <stack>=<plan.json> ...`: ops/plan-review.ts, what it imports and its
// dependencies bundled by esbuild into one file under dist/ (no type checking here: `npm run
// build` and the tests check types), then run. The bundle is made again only when a file it was
// made from, the lockfile or this script changed since; else a review costs what node takes to
// start and read the plans. The package's own bin, dist/ops/plan-review.js, is tsc's output
// (`npm run build`).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const outfile = path.join(root, 'dist', 'plan-review', 'plan-review.cjs');
// the sources esbuild read for it, relative to the package root
const inputsFile = path.join(root, 'dist', 'plan-review', 'inputs.json');

function fresh() {
  const built = fs.statSync(outfile, { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return false;
  let inputs;
  try {
    inputs = JSON.parse(fs.readFileSync(inputsFile, 'utf8'));
  } catch {
    return false;
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return false;
  for (const f of [...inputs, 'package-lock.json', path.relative(root, __filename)]) {
    const st = fs.statSync(path.join(root, f), { throwIfNoEntry: false });
    if (!st || st.mtimeMs >= built) return false;
  }
  return true;
}

if (!fresh()) {
  const started = Date.now();
  const result = require('esbuild').buildSync({
    absWorkingDir: root,
    entryPoints: ['ops/plan-review.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // diff and yaml inside too: one file to load is faster than their many
    metafile: true,
    logLevel: 'error',
  });
  fs.writeFileSync(inputsFile, `${JSON.stringify(Object.keys(result.metafile.inputs).sort(), null, 2)}\n`);
  // dated from the build's start: a source saved while it ran is newer, and is built next time
  fs.utimesSync(outfile, new Date(started), new Date(started));
}
process.exitCode = require(outfile).main(process.argv.slice(2));
