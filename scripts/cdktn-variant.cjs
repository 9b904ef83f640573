#!/usr/bin/env node
// The library for CDK Terrain apps: a copy of the compiled library (dist/index, constructs,
// stacks, ops, the runtime's contract) under dist/cdktn/ whose every import of the CDK core names `cdktn` instead of
// `cdktf`, JavaScript and declarations alike. The package exports it as
// `patroni-standby-cdktf/cdktn`: a cdktn app loads one core, and its types line up with the
// library's. The code is the same; only the module the core is loaded from differs.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const CORE = /((?:from |require\(|import\()\s*)(['"])cdktf\2/g;

function writeCdktnVariant(dist = path.join(root, 'dist')) {
  const out = path.join(dist, 'cdktn');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  let rewritten = 0;
  const copy = (from, to) => {
    const st = fs.statSync(from);
    if (st.isDirectory()) {
      fs.mkdirSync(to, { recursive: true });
      for (const f of fs.readdirSync(from).sort()) copy(path.join(from, f), path.join(to, f));
      return;
    }
    if (!/\.(js|d\.ts)$/.test(from)) return;
    const text = fs.readFileSync(from, 'utf8');
    const variant = text.replace(CORE, (_m, lead, q) => `${lead}${q}cdktn${q}`);
    if (variant !== text) rewritten++;
    fs.writeFileSync(to, variant);
  };
  for (const f of ['index.js', 'index.d.ts']) copy(path.join(dist, f), path.join(out, f));
  for (const d of ['constructs', 'stacks', 'ops']) copy(path.join(dist, d), path.join(out, d));
  // the contract the constructs share with the programs (the programs themselves ship bundled)
  fs.mkdirSync(path.join(out, 'runtime'), { recursive: true });
  for (const f of ['contract.js', 'contract.d.ts']) copy(path.join(dist, 'runtime', f), path.join(out, 'runtime', f));
  return { out, rewritten };
}

module.exports = { writeCdktnVariant, CORE };

if (require.main === module) {
  const { rewritten } = writeCdktnVariant();
  if (rewritten === 0) throw new Error('no compiled file imports cdktf: run tsc first');
}
