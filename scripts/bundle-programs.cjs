#!/usr/bin/env node
// The programs Terraform runs (runtime/entries/*.ts, the typed runtime), each bundled with what it
// needs (the contract, the pg client, the REST client) into one self-contained file under
// dist/programs/ (apply-config-patch.cjs, link-health.cjs, role-change.cjs, reseed.cjs): a stack
// ships that folder as its asset, so a pipeline runs the programs with nothing but node, without
// this package's node_modules or NODE_PATH. Deterministic: the same sources and lockfile give the same bytes
// (the asset hash in a plan changes only when a program does).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');

function bundlePrograms(outdir = path.join(root, 'dist', 'programs')) {
  const source = path.join(root, 'runtime', 'entries');
  const entries = fs
    .readdirSync(source)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const outputs = esbuild.buildSync({
    entryPoints: entries.map((f) => path.join(source, f)),
    write: false,
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    // pg's optional native binding and its Cloudflare socket are never used by the programs
    external: ['pg-native', 'pg-cloudflare', 'cloudflare:sockets'],
    legalComments: 'eof',
    logLevel: 'error',
  }).outputFiles;
  // only what changed is written (a deploy reading the folder meanwhile sees whole files), and
  // nothing else stays in it
  fs.mkdirSync(outdir, { recursive: true });
  const wanted = new Set(outputs.map((o) => path.basename(o.path)));
  for (const f of fs.readdirSync(outdir))
    if (!wanted.has(f)) fs.rmSync(path.join(outdir, f), { recursive: true, force: true });
  for (const o of outputs) {
    const old = fs.existsSync(o.path) ? fs.readFileSync(o.path) : undefined;
    if (old && Buffer.compare(old, Buffer.from(o.contents)) === 0) {
      // unchanged: only its time moves, so that the app command sees it as built after its sources
      const now = new Date();
      fs.utimesSync(o.path, now, now);
      continue;
    }
    const tmp = `${o.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, o.contents, { mode: 0o755 });
    fs.renameSync(tmp, o.path);
  }
  return outdir;
}

module.exports = { bundlePrograms };

if (require.main === module) bundlePrograms();
