/**
 * Jest's global setup: the runtime's entry points bundled into dist/programs/, the folder a
 * synthesized stack ships as its asset (constructs/scripts.ts), as `npm run build` does.
 */
const path = require('node:path');

module.exports = async function setupPrograms() {
  const root = path.resolve(__dirname, '..');
  require(path.join(root, 'scripts', 'bundle-programs.cjs')).bundlePrograms(path.join(root, 'dist', 'programs'));
};
