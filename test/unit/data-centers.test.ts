/**
 * The clusters: layout: stacks and state files named after the data centers, a role change as
 * a change of link.source that keeps every cluster's resources in its own stack, and the way over
 * from the primary:/standby: layout.
 */
import { Testing } from 'cdktf';
import { stringify } from 'yaml';
import { buildStandbyStacks } from '../../stacks/standby-stacks';
import { parseTopology } from '../../stacks/topology-file';
import { TopologyError } from '../../constructs/errors';
import { articleTopology, resourcesOf, TfJson } from './helpers';

function dcLayout(source: 'dc1' | 'dc2'): Record<string, unknown> {
  const t = articleTopology();
  return { clusters: { dc1: t.primary, dc2: t.standby }, link: { ...t.link, source } };
}

function synth(layout: unknown) {
  const { topology } = parseTopology(stringify(layout), 'dc.yaml');
  const app = Testing.app();
  const stacks = buildStandbyStacks(app, topology);
  return {
    stacks,
    byName: {
      [stacks.primaryStack.node.id]: JSON.parse(Testing.synth(stacks.primaryStack)) as TfJson & Record<string, any>,
      [stacks.standbyStack.node.id]: JSON.parse(Testing.synth(stacks.standbyStack)) as TfJson & Record<string, any>,
    },
  };
}

const clusterResources = (json: TfJson) => Object.keys(resourcesOf(json)).filter((k) => k.startsWith('cluster_')).sort();
const patchOf = (json: TfJson) => JSON.parse(Object.entries(resourcesOf(json)).find(([k]) => k.startsWith('cluster_dcs-patch_apply'))![1].input.patch_json);

describe('the clusters: layout', () => {
  test('stacks and state files are named after the clusters; the standby stack depends on the source stack', () => {
    const { stacks, byName } = synth(dcLayout('dc1'));
    expect([stacks.primaryStack.node.id, stacks.standbyStack.node.id]).toEqual(['dc1', 'dc2']);
    expect(byName.dc1.terraform.backend.local.path).toBe('../../../terraform.dc1.tfstate');
    expect(byName.dc2.terraform.backend.local.path).toBe('../../../terraform.dc2.tfstate');
    expect(stacks.standbyStack.dependencies.map((d) => d.node.id)).toEqual(['dc1']);
  });

  test('the way over from primary:/standby: — the same resources with the same inputs, only the stack and state names differ', () => {
    const before = synth({ primary: articleTopology().primary, standby: articleTopology().standby, link: articleTopology().link }).byName;
    const after = synth(dcLayout('dc1')).byName;
    for (const [old, dc] of [['primary', 'dc1'], ['standby', 'dc2']] as const) {
      // the names only appear where the clusters are named (the role steps' output, the state path)
      const strip = (json: TfJson) => JSON.stringify(resourcesOf(json)).replace(/\b(primary|standby|dc1|dc2)\b/g, 'X');
      expect(Object.keys(resourcesOf(after[dc])).sort()).toEqual(Object.keys(resourcesOf(before[old])).sort());
      expect(strip(after[dc])).toEqual(strip(before[old]));
    }
  });

  test('a switchover is a change of link.source: each cluster keeps its resources in its own stack, the roles flip, pg_hba stays', () => {
    const one = synth(dcLayout('dc1')).byName;
    const two = synth(dcLayout('dc2'));
    expect([two.stacks.primaryStack.node.id, two.stacks.standbyStack.node.id]).toEqual(['dc2', 'dc1']);
    expect(two.stacks.standbyStack.dependencies.map((d) => d.node.id)).toEqual(['dc2']);
    for (const dc of ['dc1', 'dc2']) {
      expect({ dc, resources: clusterResources(two.byName[dc]) }).toEqual({ dc, resources: clusterResources(one[dc]) });
      expect({ dc, pgHba: patchOf(two.byName[dc]).postgresql.pg_hba }).toEqual({ dc, pgHba: patchOf(one[dc]).postgresql.pg_hba });
    }
    const role = (json: TfJson) => Object.entries(resourcesOf(json)).find(([k]) => k.startsWith('cluster_role_apply'))![1];
    expect([role(one.dc1).input.role, role(one.dc2).input.role]).toEqual(['source', 'standby']);
    expect([role(two.byName.dc1).input.role, role(two.byName.dc2).input.role]).toEqual(['standby', 'source']);
    // only the role replaces the step
    expect(role(two.byName.dc2).triggers_replace).toEqual({ role: 'source' });
    // the new source's step knows how to make dc1 follow it, through the link slot
    const cfg = JSON.parse(role(two.byName.dc2).input.role_config);
    expect(cfg).toMatchObject({ role: 'source', slotName: 'my_standby_cluster_slot', user: 'monitor', maxLagBytes: 16777216, catchUpTimeoutSeconds: 30, followTimeoutSeconds: 120, acceptDataLoss: false });
    expect([cfg.me.name, cfg.other.name]).toEqual(['dc2', 'dc1']);
    expect(cfg.block).toEqual({ host: '192.168.122.97,192.168.122.198,192.168.122.172', port: 5432, primary_slot_name: 'my_standby_cluster_slot', create_replica_methods: ['basebackup'] });
    // dc1 now carries the standby_cluster block towards dc2, and the link slot lives on dc2
    expect(patchOf(two.byName.dc1).standby_cluster.host).toBe('192.168.122.97,192.168.122.198,192.168.122.172');
    expect(patchOf(two.byName.dc1).slots).toBeUndefined();
    expect(patchOf(two.byName.dc2).slots).toEqual({ my_standby_cluster_slot: { type: 'physical' } });
    expect(patchOf(two.byName.dc2).standby_cluster).toBeUndefined();
    // the members and the patch wait for the role step
    const node = Object.entries(resourcesOf(two.byName.dc2)).find(([k]) => k.startsWith('cluster_node-ta1_config'))![1];
    expect(node.depends_on).toEqual([expect.stringMatching(/^terraform_data\.cluster_role_apply_/)]);
  });
});

describe('bad input in the clusters: layout', () => {
  const problems = (input: unknown) => {
    try {
      parseTopology(stringify(input), 'dc.yaml');
      return [];
    } catch (err) {
      if (!(err instanceof TopologyError)) throw err;
      return err.problems.map((p) => `${p.path}: ${p.message}`);
    }
  };
  test.each<[string, (t: any) => void, string[]]>([
    ['three clusters', (t) => (t.clusters.dc3 = t.clusters.dc1), ['clusters: has 3 cluster(s): the layout is one source and its standby']],
    ['a source that is no cluster', (t) => (t.link.source = 'dc3'), ['link.source: names no cluster of clusters:']],
    ['a cluster name that cannot name a stack', (t) => { t.clusters.DC_1 = t.clusters.dc1; delete t.clusters.dc1; t.link.source = 'DC_1'; }, ['clusters.DC_1: a cluster name is lower-case letters, digits and -, starting with a letter (it names a stack and a state file)']],
    ['a problem inside a cluster names its path in the layout', (t) => (t.clusters.dc2.nodes[0].host = '10.0.0.1:5432'), ['clusters.dc2.nodes[0].host: is not an IP address or host name']],
    ['a misspelled link key', (t) => (t.link.roleChnge = {}), ['link.roleChnge: unknown key "roleChnge"']],
  ])('%s', (_name, change, expected) => {
    const t = JSON.parse(JSON.stringify(dcLayout('dc1')));
    change(t);
    expect(problems(t).map((p) => p.replace(/ \(did you mean.*$/, ''))).toEqual(expected);
  });
  test('link.source belongs to the clusters: layout', () => {
    const t = articleTopology();
    expect(problems({ ...t, link: { ...t.link, source: 'primary' } })[0]).toMatch(/^link\.source: unknown key "source"/);
  });
});
