/**
 * A platform team's app with two environments, each a pair of data centers from a topology file
 * (the clusters: layout): one stack per environment and data center, named by stackName, so a
 * switchover (link.source changed in one file) moves nothing between stacks.
 * Both environments read examples/two-dc.yaml here; yours has a file per environment.
 * Synthesize from the repository's root with: npx tsc -p . && node dist/examples/environments.js
 */
import { App, TerraformOutput } from 'cdktf';
import { buildStandbyStacks, loadTopologyFile } from '../index';

const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out.environments', skipValidation: true });
const topologies = { staging: 'examples/two-dc.yaml', production: 'examples/two-dc.yaml' };
for (const [env, file] of Object.entries(topologies)) {
  const { topology } = loadTopologyFile(file);
  const built = buildStandbyStacks(app, topology, { stackName: (dc) => `${env}-${dc}` });
  for (const [dc, stack] of Object.entries(built.stacks)) {
    new TerraformOutput(stack, 'app_hosts', { value: built.clusters[dc].hosts });
  }
}
app.synth();
