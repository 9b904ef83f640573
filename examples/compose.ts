/**
 * Composing the constructs into stacks of your own: one stack (and state) per data center, each
 * with that data center's cluster, and the link naming the source. A switchover is a change of
 * `source` alone: each cluster keeps its resources in its own stack, only inputs change.
 * Synthesize with: npx tsc -p . && node dist/examples/compose.js [dc1|dc2]
 */
import { App, LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import { PatroniCluster, StandbyLink } from '../index';
import type { ClusterSpec } from '../index';

const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out.compose', skipValidation: true });

const retention = { wal_keep_size: '1GB', max_slot_wal_keep_size: '50GB', tcp_user_timeout: '10s' };
const dataCenters: Record<'dc1' | 'dc2', ClusterSpec> = {
  dc1: {
    scope: 'payments',
    dcs: { type: 'etcd3', hosts: ['10.1.0.10:2379'] },
    nodes: [
      { name: 'pay-a1', host: '10.1.0.11' },
      { name: 'pay-a2', host: '10.1.0.12' },
    ],
    postgresql: { version: 16, parameters: retention },
  },
  dc2: {
    scope: 'payments',
    dcs: { type: 'etcd3', hosts: ['10.2.0.10:2379'] },
    nodes: [
      { name: 'pay-b1', host: '10.2.0.11' },
      { name: 'pay-b2', host: '10.2.0.12' },
    ],
    postgresql: { version: 16, parameters: retention },
  },
};

const clusters = {} as Record<'dc1' | 'dc2', PatroniCluster>;
for (const dc of ['dc1', 'dc2'] as const) {
  const stack = new TerraformStack(app, `payments-${dc}`);
  new LocalBackend(stack, { path: `../../../terraform.payments-${dc}.tfstate` });
  clusters[dc] = new PatroniCluster(stack, 'cluster', { name: dc, ...dataCenters[dc] });
  new TerraformOutput(stack, 'postgres_endpoints', { value: clusters[dc].postgresEndpoints });
}

// the source: change it to switch over (and back)
const source = process.argv[2] === 'dc2' ? clusters.dc2 : clusters.dc1;
const link = new StandbyLink(app, 'payments-link', {
  clusters: [clusters.dc1, clusters.dc2],
  source,
  slotName: 'payments_dr',
  monitoring: { user: 'monitor', addresses: ['10.0.0.5/32'] },
});
new TerraformOutput(TerraformStack.of(link.standbyCluster), 'link_slot', { value: link.slotName });
app.synth();
