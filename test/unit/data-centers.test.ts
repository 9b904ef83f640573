/**
 * The clusters: layout: stacks and state files named after the data centers, a role change as
 * a change of link.source that keeps every cluster's resources in its own stack, and the way over
 * from the primary:/standby: layout.
 */
import { TerraformStack, Testing } from 'cdktf';
import { stringify } from 'yaml';
import { buildStandbyStacks } from '../../stacks/standby-stacks';
import { parseTopology } from '../../stacks/topology-file';
import { TopologyError } from '../../constructs/errors';
import { PatroniCluster, PrimaryPatroniCluster } from '../../constructs/patroni-cluster';
import { StandbyLink } from '../../constructs/standby-link';
import { articleTopology, byPath, mutate, resourcesOf, synthTopology, TfJson } from './helpers';

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

const clusterResources = (json: TfJson) =>
  Object.keys(resourcesOf(json))
    .filter((k) => k.startsWith('cluster_'))
    .sort();
const patchOf = (json: TfJson) =>
  JSON.parse(
    Object.entries(resourcesOf(json)).find(([k]) => k.startsWith('cluster_dcs-patch_apply'))![1].input.patch_json,
  );

describe('the clusters: layout', () => {
  test('stacks and state files are named after the clusters; the standby stack depends on the source stack', () => {
    const { stacks, byName } = synth(dcLayout('dc1'));
    expect([stacks.primaryStack.node.id, stacks.standbyStack.node.id]).toEqual(['dc1', 'dc2']);
    expect(byName.dc1.terraform.backend.local.path).toBe('../../../terraform.dc1.tfstate');
    expect(byName.dc2.terraform.backend.local.path).toBe('../../../terraform.dc2.tfstate');
    expect(stacks.standbyStack.dependencies.map((d) => d.node.id)).toEqual(['dc1']);
  });

  test('the way over from primary:/standby: — the same resources with the same inputs, only the stack and state names differ', () => {
    const before = synth({
      primary: articleTopology().primary,
      standby: articleTopology().standby,
      link: articleTopology().link,
    }).byName;
    const after = synth(dcLayout('dc1')).byName;
    for (const [old, dc] of [
      ['primary', 'dc1'],
      ['standby', 'dc2'],
    ] as const) {
      // the names only appear where the clusters are named (the role changes' output, the state path)
      const strip = (json: TfJson) => JSON.stringify(resourcesOf(json)).replace(/\b(primary|standby|dc1|dc2)\b/g, 'X');
      expect(Object.keys(resourcesOf(after[dc])).sort()).toEqual(Object.keys(resourcesOf(before[old])).sort());
      expect(strip(after[dc])).toEqual(strip(before[old]));
    }
  });

  test('link.roleChange.generation reaches both role resources (not a trigger: raising it alone runs nothing)', () => {
    const layout = dcLayout('dc2') as { link: Record<string, unknown> };
    const two = synth({ ...layout, link: { ...layout.link, roleChange: { generation: 7 } } }).byName;
    for (const dc of ['dc1', 'dc2']) {
      const [, role] = Object.entries(resourcesOf(two[dc])).find(([k]) => k.startsWith('cluster_role_apply'))!;
      expect({ dc, generation: JSON.parse(role.input.role_config).generation }).toEqual({ dc, generation: 7 });
      expect(role.triggers_replace).not.toHaveProperty('generation');
    }
    const none = synth(dcLayout('dc2')).byName;
    const [, role] = Object.entries(resourcesOf(none.dc2)).find(([k]) => k.startsWith('cluster_role_apply'))!;
    expect(JSON.parse(role.input.role_config)).not.toHaveProperty('generation');
    expect(() => synth({ ...layout, link: { ...layout.link, roleChange: { generation: -1 } } })).toThrow(
      /link\.roleChange\.generation/,
    );
  });

  test('link.roleChange.synchronousHandoff: false reaches the role change; the default leaves the configuration (and so the plans) as they were; no boolean is refused', () => {
    const layout = dcLayout('dc2') as { link: Record<string, unknown> };
    const roleConfig = (input: unknown) => {
      const [, role] = Object.entries(resourcesOf(synth(input).byName.dc2)).find(([k]) =>
        k.startsWith('cluster_role_apply'),
      )!;
      return JSON.parse(role.input.role_config);
    };
    expect(
      roleConfig({ ...layout, link: { ...layout.link, roleChange: { synchronousHandoff: false } } }),
    ).toMatchObject({
      synchronousHandoff: false,
    });
    for (const input of [layout, { ...layout, link: { ...layout.link, roleChange: { synchronousHandoff: true } } }])
      expect(roleConfig(input)).not.toHaveProperty('synchronousHandoff');
    expect(() => synth({ ...layout, link: { ...layout.link, roleChange: { synchronousHandoff: 'no' } } })).toThrow(
      /link\.roleChange\.synchronousHandoff/,
    );
  });

  test('a switchover is a change of link.source: each cluster keeps its resources in its own stack, the roles flip, pg_hba stays', () => {
    const one = synth(dcLayout('dc1')).byName;
    const two = synth(dcLayout('dc2'));
    expect([two.stacks.primaryStack.node.id, two.stacks.standbyStack.node.id]).toEqual(['dc2', 'dc1']);
    expect(two.stacks.standbyStack.dependencies.map((d) => d.node.id)).toEqual(['dc2']);
    for (const dc of ['dc1', 'dc2']) {
      expect({ dc, resources: clusterResources(two.byName[dc]) }).toEqual({ dc, resources: clusterResources(one[dc]) });
      expect({ dc, pgHba: patchOf(two.byName[dc]).postgresql.pg_hba }).toEqual({
        dc,
        pgHba: patchOf(one[dc]).postgresql.pg_hba,
      });
    }
    const role = (json: TfJson) =>
      Object.entries(resourcesOf(json)).find(([k]) => k.startsWith('cluster_role_apply'))![1];
    expect([role(one.dc1).input.role, role(one.dc2).input.role]).toEqual(['source', 'standby']);
    expect([role(two.byName.dc1).input.role, role(two.byName.dc2).input.role]).toEqual(['standby', 'source']);
    // only the role replaces the step
    expect(role(two.byName.dc2).triggers_replace).toEqual({ role: 'source' });
    // the new source's step knows how to make dc1 follow it, through the link slot
    const cfg = JSON.parse(role(two.byName.dc2).input.role_config);
    expect(cfg).toMatchObject({
      role: 'source',
      slotName: 'my_standby_cluster_slot',
      user: 'monitor',
      maxLagBytes: 16777216,
      catchUpTimeoutSeconds: 30,
      followTimeoutSeconds: 120,
      acceptDataLoss: false,
    });
    expect([cfg.me.name, cfg.other.name]).toEqual(['dc2', 'dc1']);
    expect(cfg.block).toEqual({
      host: '192.168.122.97,192.168.122.198,192.168.122.172',
      port: 5432,
      primary_slot_name: 'my_standby_cluster_slot',
      create_replica_methods: ['basebackup'],
    });
    // dc1 now carries the standby_cluster block towards dc2, and the link slot lives on dc2
    expect(patchOf(two.byName.dc1).standby_cluster.host).toBe('192.168.122.97,192.168.122.198,192.168.122.172');
    expect(patchOf(two.byName.dc1).slots).toBeUndefined();
    expect(patchOf(two.byName.dc2).slots).toEqual({ my_standby_cluster_slot: { type: 'physical' } });
    expect(patchOf(two.byName.dc2).standby_cluster).toBeUndefined();
    // the members and the patch wait for the role change
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
    [
      'three clusters',
      (t) => (t.clusters.dc3 = t.clusters.dc1),
      ['clusters: has 3 cluster(s): the layout is one source and its standby'],
    ],
    ['a source that is no cluster', (t) => (t.link.source = 'dc3'), ['link.source: names no cluster of clusters:']],
    [
      'a cluster name that cannot name a stack',
      (t) => {
        t.clusters.DC_1 = t.clusters.dc1;
        delete t.clusters.dc1;
        t.link.source = 'DC_1';
      },
      [
        'clusters.DC_1: a cluster name is lower-case letters, digits and -, starting with a letter (it names a stack and a state file)',
      ],
    ],
    [
      'a problem inside a cluster names its path in the layout',
      (t) => (t.clusters.dc2.nodes[0].host = '10.0.0.1:5432'),
      ['clusters.dc2.nodes[0].host: is not an IP address or host name'],
    ],
    ['a misspelled link key', (t) => (t.link.roleChnge = {}), ['link.roleChnge: unknown key "roleChnge"']],
  ])('%s', (_name, change, expected) => {
    const t = JSON.parse(JSON.stringify(dcLayout('dc1')));
    change(t);
    expect(problems(t).map((p) => p.replace(/ \(did you mean.*$/, ''))).toEqual(expected);
  });
  test('link.source belongs to the clusters: layout', () => {
    const t = articleTopology();
    expect(problems({ ...t, link: { ...t.link, source: 'primary' } })[0]).toMatch(
      /^link\.source: unknown key "source"/,
    );
  });
});

/** Every resource address of every stack, `<stack>: <type>.<name>`, sorted. */
function addresses(app: ReturnType<typeof Testing.app>, stacks: TerraformStack[]): string[] {
  void app;
  return stacks
    .flatMap((stack) => {
      const json = JSON.parse(Testing.synth(stack)) as { resource?: Record<string, Record<string, unknown>> };
      return Object.entries(json.resource ?? {}).flatMap(([type, byName]) =>
        Object.keys(byName).map((name) => `${stack.node.id}: ${type}.${name}`),
      );
    })
    .sort();
}

describe('composition: a switchover moves no resource between stacks', () => {
  const t = articleTopology();
  const spec = { dc1: t.primary, dc2: t.standby };
  const withStop = (c: any) => ({ ...c, deploy: { ...c.deploy, stopOnDestroy: true } });

  test.each([
    ['buildStandbyStacks, the stacks named after the clusters', undefined],
    ['buildStandbyStacks, two environments through stackName', (dc: string) => `staging-${dc}`],
  ])('%s: the same addresses in the same stacks for either source, only inputs differ', (_name, stackName) => {
    const build = (source: 'dc1' | 'dc2') => {
      const { topology } = parseTopology(
        stringify({ clusters: { dc1: withStop(spec.dc1), dc2: withStop(spec.dc2) }, link: { ...t.link, source } }),
        'dc.yaml',
      );
      const app = Testing.app();
      const built = buildStandbyStacks(app, topology, stackName ? { stackName } : {});
      return { built, addresses: addresses(app, Object.values(built.stacks)) };
    };
    const one = build('dc1');
    const two = build('dc2');
    expect(Object.keys(one.built.stacks)).toEqual(['dc1', 'dc2']);
    expect(Object.values(two.built.stacks).map((s) => s.node.id)).toEqual(
      stackName ? ['staging-dc1', 'staging-dc2'] : ['dc1', 'dc2'],
    );
    expect(two.addresses).toEqual(one.addresses);
    // each stack holds its own cluster's members, and the stop-on-destroy steps stay where they are
    const prefix = stackName ? 'staging-' : '';
    expect(
      two.addresses.filter((a) => /node-so\d_stop-on-destroy/.test(a)).every((a) => a.startsWith(`${prefix}dc1: `)),
    ).toBe(true);
    expect(two.addresses.filter((a) => /node-ta\d_config/.test(a)).every((a) => a.startsWith(`${prefix}dc2: `))).toBe(
      true,
    );
    expect(two.addresses.filter((a) => /_stop-on-destroy_/.test(a))).toHaveLength(6);
    expect([two.built.primary.name, two.built.standby.name, two.built.link.sourceCluster.name]).toEqual([
      'dc2',
      'dc1',
      'dc2',
    ]);
  });

  test('the constructs directly, one stack per data center: flipping `source` alone moves nothing', () => {
    const build = (source: 'dc1' | 'dc2') => {
      const app = Testing.app();
      const stacks = { dc1: new TerraformStack(app, 'payments-dc1'), dc2: new TerraformStack(app, 'payments-dc2') };
      const dc1 = new PatroniCluster(stacks.dc1, 'db', { name: 'dc1', ...withStop(spec.dc1) });
      const dc2 = new PatroniCluster(stacks.dc2, 'db', { name: 'dc2', ...withStop(spec.dc2) });
      // the link itself holds no resource: it may live anywhere, here at the app's root
      const link = new StandbyLink(app, 'payments-link', {
        clusters: [dc1, dc2],
        source: source === 'dc1' ? dc1 : dc2,
        ...t.link,
      });
      return {
        link,
        stacks,
        addresses: addresses(app, [stacks.dc1, stacks.dc2]),
        json: { dc1: JSON.parse(Testing.synth(stacks.dc1)), dc2: JSON.parse(Testing.synth(stacks.dc2)) },
      };
    };
    const one = build('dc1');
    const two = build('dc2');
    expect(two.addresses).toEqual(one.addresses);
    expect(one.addresses.filter((a) => a.includes('link-slots'))).toEqual([
      expect.stringMatching(/^payments-dc1: terraform_data\.db_link-slots_apply_/),
      expect.stringMatching(/^payments-dc2: terraform_data\.db_link-slots_apply_/),
    ]);
    // the inputs say the new roles: dc2's role change runs the switchover, dc1's link-slots step is the active one
    const role = (json: TfJson) => byPath(json, 'db/role/apply');
    expect([role(one.json.dc1).input.role, role(one.json.dc2).input.role]).toEqual(['source', 'standby']);
    expect([role(two.json.dc1).input.role, role(two.json.dc2).input.role]).toEqual(['standby', 'source']);
    expect(JSON.parse(role(two.json.dc2).input.role_config).other.name).toBe('dc1');
    const slots = (json: TfJson) => byPath(json, 'db/link-slots/apply');
    expect([slots(one.json.dc1).input.role, slots(one.json.dc2).input.cluster]).toEqual(['source', 'dc1']);
    expect([slots(two.json.dc1).input.cluster, slots(two.json.dc2).input.role]).toEqual(['dc2', 'source']);
    expect(slots(two.json.dc1).depends_on).toEqual([expect.stringMatching(/^terraform_data\.db_dcs-patch_apply_/)]);
    // the stack that runs the switchover goes first
    expect(two.stacks.dc1.dependencies.map((d) => d.node.id)).toEqual(['payments-dc2']);
    expect(two.stacks.dc2.dependencies).toEqual([]);
  });

  test('a promotion and a re-seed are created in the standby cluster, a warning is printed in its stack', () => {
    const app = Testing.app();
    const s1 = new TerraformStack(app, 'dc1');
    const s2 = new TerraformStack(app, 'dc2');
    const dc1 = new PatroniCluster(s1, 'db', { name: 'dc1', ...spec.dc1 });
    const dc2 = new PatroniCluster(s2, 'db', { name: 'dc2', ...spec.dc2 });
    const link = new StandbyLink(app, 'link', { clusters: [dc1, dc2], source: dc1, ...t.link, state: 'detached' });
    expect(link.promotion?.node.path).toBe('dc2/db/promotion');
    expect(JSON.parse(link.promotion!.gateConfig)).toMatchObject({ source: { name: 'dc1' }, standby: { name: 'dc2' } });
    const app2 = Testing.app();
    const r1 = new PatroniCluster(new TerraformStack(app2, 'dc1'), 'db', { name: 'dc1', ...spec.dc1 });
    const r2 = new PatroniCluster(new TerraformStack(app2, 'dc2'), 'db', { name: 'dc2', ...spec.dc2 });
    // the article's link without its acknowledgement: the [no-wal-retention] warning stays
    const { acknowledgeWarnings: _acknowledged, ...unacknowledged } = t.link;
    const reseeded = new StandbyLink(app2, 'link', {
      clusters: [r1, r2],
      source: r1,
      ...unacknowledged,
      reseed: { cluster: 'dc2', generation: 1 },
    });
    expect(reseeded.reseed?.node.path).toBe('dc2/db/reseed');
    // cdktf prints annotations of constructs inside stacks: a link outside them warns through the standby
    expect(r2.node.metadata.map((m) => m.type)).toContain('@cdktf/warn');
  });
});

describe('composition: what is refused, with the fix', () => {
  const t = articleTopology();
  const message = (f: () => unknown): string => {
    try {
      f();
    } catch (err) {
      if (err instanceof TopologyError) return err.message;
      throw err;
    }
    return '(nothing refused)';
  };

  test('role-keyed stack names with the clusters: layout: after a switchover they would hold the other data center', () => {
    const { topology } = parseTopology(stringify(dcLayout('dc1')), 'dc.yaml');
    expect(
      message(() =>
        buildStandbyStacks(Testing.app(), topology, { names: { primary: 'staging-dc1', standby: 'staging-dc2' } }),
      ),
    ).toBe(
      [
        'buildStandbyStacks options has 1 problem:',
        '  1. buildStandbyStacks options.names: keys the stacks by role, but the clusters: layout changes roles: after a switchover the stack "staging-dc1" would hold dc2\'s members, and the plan would destroy and re-create every member of both stacks',
        '    received: {"primary":"staging-dc1","standby":"staging-dc2"}',
        '    allowed:  stackName: (cluster) => string, which names each stack after its cluster',
        '    fix:      replace names with stackName: (cluster) => `staging-${cluster}`',
      ].join('\n'),
    );
    // the primary:/standby: layout never changes roles: its names keep working
    const legacy = buildStandbyStacks(Testing.app(), articleTopology(), {
      names: { primary: 'staging-a', standby: 'staging-b' },
    });
    expect([legacy.primaryStack.node.id, legacy.standbyStack.node.id]).toEqual(['staging-a', 'staging-b']);
  });

  test.each<[string, (dc: string) => string, RegExp]>([
    ['one stack for both', () => 'shared', /stackName: gives both clusters the same stack\n {4}received: "shared"/],
    [
      'a name that cannot name a stack',
      (dc) => `staging/${dc}`,
      /stackName: gives cluster dc1 a name that cannot name a stack and its state\n {4}received: "staging\/dc1"/,
    ],
  ])('stackName: %s', (_name, stackName, expected) => {
    const { topology } = parseTopology(stringify(dcLayout('dc1')), 'dc.yaml');
    expect(message(() => buildStandbyStacks(Testing.app(), topology, { stackName }))).toMatch(expected);
  });

  test('the symmetric link: a source outside the pair, a class that fixes the other role, both forms at once', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'env');
    const a = new PatroniCluster(stack, 'a', { name: 'dc1', ...t.primary });
    const b = new PatroniCluster(stack, 'b', { name: 'dc2', ...t.standby });
    const fixed = new PrimaryPatroniCluster(stack, 'fixed', {
      ...t.primary,
      scope: 'other',
      nodes: [{ name: 'x1', host: '192.168.122.50' }],
    });
    expect(message(() => new StandbyLink(stack, 'l1', { clusters: [a, b], source: fixed, ...t.link }))).toMatch(
      /env\/l1\.source: is not one of the link's clusters\n {4}received: "PrimaryPatroniCluster env\/fixed"\n {4}allowed: {2}dc1 or dc2/,
    );
    expect(message(() => new StandbyLink(stack, 'l2', { clusters: [fixed, b], source: b, ...t.link }))).toMatch(
      /env\/l2\.source: makes PrimaryPatroniCluster env\/fixed the standby, but its class fixes it as the source/,
    );
    expect(
      message(() => new StandbyLink(stack, 'l3', { clusters: [a, b], source: a, primary: fixed, ...t.link } as any)),
    ).toMatch(/env\/l3: mixes the two forms of the link/);
    expect(message(() => new StandbyLink(stack, 'l4', { clusters: [a, a], source: a, ...t.link }))).toMatch(
      /env\/l4\.clusters: is not two different clusters/,
    );
    expect(message(() => new PatroniCluster(stack, 'c', { name: ' ', ...t.primary }))).toMatch(
      /env\/c\.name: must be a non-empty name/,
    );
  });
});

describe('a state of the previous version, where the link steps lived under the link', () => {
  test('moved blocks carry link/source-slots, link/promotion and link/reseed over to the cluster (the addresses that version wrote)', () => {
    const detached = synthTopology(mutate(articleTopology('detached'), () => undefined));
    const moved = (json: any) =>
      Object.fromEntries(
        (json.moved ?? []).map((m: { from: string; to: string }) => [m.from, m.to.replace(/_[0-9A-F]{8}$/, '')]),
      );
    // link_source-slots_apply_A76C0515 and link_promotion_detach_apply_F51CB0B1: the previous version's snapshot
    expect(moved(detached.standby)).toEqual({
      'terraform_data.link_source-slots_apply_A76C0515': 'terraform_data.cluster_link-slots_apply',
      'terraform_data.link_promotion_detach_apply_F51CB0B1': 'terraform_data.cluster_promotion_detach_apply',
    });
    expect(moved(detached.primary)).toEqual({
      'terraform_data.link_source-slots_apply_A76C0515': 'terraform_data.cluster_link-slots_apply',
    });
    const reseeded = synthTopology(
      mutate(articleTopology(), (t) => (t.link.reseed = { cluster: 'standby', generation: 1 })),
    );
    expect(Object.keys(moved(reseeded.standby)).filter((k) => k.includes('link_reseed_'))).toHaveLength(9);
  });
});
