#!/usr/bin/env node
// The cdktf app command (cdktf.json): main.ts and what it imports transpiled by esbuild into one
// file (no type checking here: `npm run build` and the tests check types), the programs bundled
// beside it, then run. A synth thus pays for no TypeScript compilation.
'use strict';

const path = require('node:path');
const esbuild = require('esbuild');
const { bundlePrograms } = require('./bundle-programs.cjs');

const root = path.resolve(__dirname, '..');
const outfile = path.join(root, 'dist', 'app', 'main.cjs');
esbuild.buildSync({
  entryPoints: [path.join(root, 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // cdktf, constructs, yaml, zod... load from node_modules as they are
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'error',
});
bundlePrograms();
require(outfile);
