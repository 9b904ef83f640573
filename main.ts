/**
 * The app: reads the topology file named by TOPOLOGY (default examples/article.yaml), applies
 * LINK_STATE (following | detached: the promotion variant), and synthesizes one stack per
 * cluster plus the rendered files under cdktf.out/rendered/. The environment is read here only.
 */
import * as path from 'node:path';
import { App } from 'cdktf';
import { TopologyError } from './constructs/errors';
import { buildStandbyStacks } from './stacks/standby-stacks';
import { loadTopologyFile } from './stacks/topology-file';
import { writeRenderedFiles } from './stacks/rendered-files';

const DEFAULT_TOPOLOGY = path.join('examples', 'article.yaml');

function main(): void {
  const file = process.env.TOPOLOGY || DEFAULT_TOPOLOGY;
  // its warnings reach the user once, through the link's cdktf annotations (synth, diff, deploy)
  const { topology, state } = loadTopologyFile(file, process.env.LINK_STATE);
  // cdktf's validations would start `terraform version` once per terraform_data resource; the
  // unit tests run them on the default topology instead, and Terraform checks its own version
  // when it plans (terraform_data needs 1.4; deploy.secrets needs 1.10)
  const app = new App({ skipValidation: true });
  buildStandbyStacks(app, topology, { backend: state });
  app.synth();
  writeRenderedFiles(app, app.outdir);
}

try {
  main();
} catch (err) {
  if (err instanceof TopologyError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
