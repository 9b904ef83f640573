// The commands run the library built for the CDK core this install has: cdktf, or else CDK
// Terrain's cdktn (the package's `./cdktn` variant, dist/cdktn/).
'use strict';

const path = require('node:path');

function libraryFile(file) {
  for (const [core, tree] of [
    ['cdktf', 'dist'],
    ['cdktn', path.join('dist', 'cdktn')],
  ]) {
    try {
      require.resolve(core);
    } catch {
      continue;
    }
    return path.join(__dirname, '..', tree, file);
  }
  process.stderr.write(
    'patroni-standby-cdktf needs a CDK core next to it: npm install cdktf@0.21 (or cdktn@0.24 for CDK Terrain)\n',
  );
  process.exit(2);
}

module.exports = { libraryFile };
