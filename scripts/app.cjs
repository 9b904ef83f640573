#!/usr/bin/env node
// The cdktf app command (cdktf.json): main.ts and what it imports transpiled by esbuild into one
// file (no type checking here: `npm run build` and the tests check types), the programs (the
// runtime's entry points) bundled beside it, then run. A synth thus pays for no TypeScript
// compilation, and for no bundling either when no source changed since the last one.
//   node scripts/app.cjs            the app on cdktf (cdktf.json's command)
//   node scripts/app.cjs --cdktn    the same app on CDK Terrain's core (`cdktn synth --app ...`)
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const core = process.argv.includes('--cdktn') ? 'cdktn' : 'cdktf';
const outfile = path.join(root, 'dist', 'app', core === 'cdktn' ? 'main-cdktn.cjs' : 'main.cjs');
const programsOut = path.join(root, 'dist', 'programs');

/** The newest modification time of the files under `dirs` that `keep` selects. */
function newest(dirs, keep) {
  let latest = 0;
  const walk = (p) => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) for (const f of fs.readdirSync(p)) walk(path.join(p, f));
    else if (keep(p)) latest = Math.max(latest, st.mtimeMs);
  };
  dirs.forEach((d) => walk(path.join(root, d)));
  return latest;
}

/** Whether every output exists and is newer than every input (and than this script and the lockfile). */
function fresh(outputs, inputs) {
  const built = Math.min(...outputs.map((o) => fs.statSync(o, { throwIfNoEntry: false })?.mtimeMs ?? 0));
  return (
    built >
    Math.max(
      inputs,
      newest(['package-lock.json', 'scripts'], () => true),
    )
  );
}

const appSources = newest(['main.ts', 'index.ts', 'constructs', 'stacks', 'runtime'], (f) => f.endsWith('.ts'));
if (!fresh([outfile], appSources)) {
  require('esbuild').buildSync({
    entryPoints: [path.join(root, 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // cdktf, constructs, yaml, zod... load from node_modules as they are
    packages: 'external',
    // every import of the core names the one this app runs on
    alias: core === 'cdktn' ? { cdktf: 'cdktn' } : {},
    logLevel: 'error',
  });
}
const programSources = newest(['runtime'], (f) => f.endsWith('.ts'));
const bundled = fs.existsSync(programsOut) ? fs.readdirSync(programsOut).map((f) => path.join(programsOut, f)) : [];
if (bundled.length === 0 || !fresh(bundled, programSources))
  require('./bundle-programs.cjs').bundlePrograms(programsOut);
require(outfile);
