/**
 * Composing the constructs into one environment stack (the README's example).
 * Synthesize with: npx tsc -p . && node dist/examples/compose.js
 */
import { App, TerraformOutput, TerraformStack } from 'cdktf';
import { PrimaryPatroniCluster, StandbyLink, StandbyPatroniCluster } from '../constructs';

const app = new App({ outdir: 'cdktf.out.compose' });
const env = new TerraformStack(app, 'payments-db');
const dc1 = new PrimaryPatroniCluster(env, 'dc1', {
  scope: 'payments',
  dcs: { type: 'etcd3', hosts: ['10.1.0.10:2379'] },
  nodes: [{ name: 'pay-a1', host: '10.1.0.11' }, { name: 'pay-a2', host: '10.1.0.12' }],
  postgresql: { version: 16, parameters: { wal_keep_size: '1GB', max_slot_wal_keep_size: '50GB', tcp_user_timeout: '10s' } },
});
const dc2 = new StandbyPatroniCluster(env, 'dc2', {
  scope: 'payments',
  dcs: { type: 'etcd3', hosts: ['10.2.0.10:2379'] },
  nodes: [{ name: 'pay-b1', host: '10.2.0.11' }, { name: 'pay-b2', host: '10.2.0.12' }],
  postgresql: { version: 16 },
});
const link = new StandbyLink(env, 'dr', { primary: dc1, standby: dc2, slotName: 'payments_dr' });
new TerraformOutput(env, 'standby_endpoints', { value: dc2.postgresEndpoints });
new TerraformOutput(env, 'link_slot', { value: link.slotName });
app.synth();
