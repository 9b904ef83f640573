/**
 * A re-seed of the standby cluster (link.reseed): the rules that keep it off a source or a
 * promoted cluster, its steps in the standby's stack and their order in the graph, the commands
 * its hosts run (set aside, never deleted), and what the plan review says about it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { TopologyError } from '../../constructs/errors';
import { dataDir, dcsResetCommand, setAsideCommand } from '../../constructs/planners/reseed';
import { resolveCluster } from '../../constructs/resolve';
import { reviewPlan } from '../../ops/plan-review';
import { parseTopology } from '../../stacks/topology-file';
import { articleTopology, mutate, resourcesOf, synthTopology } from './helpers';

const base = articleTopology();
const standbyWith = (change: (c: any) => void) => mutate(base, (t) => change(t.standby)).standby;
const withReseed = (generation = 1, cluster = 'standby') =>
  mutate(base, (t) => (t.link.reseed = { cluster, generation }));

function problems(input: unknown, linkState?: string): string[] {
  try {
    parseTopology(stringify(input), 'r.yaml', linkState);
    return [];
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    for (const p of err.problems) expect(p.fix.length).toBeGreaterThan(0);
    return err.problems.map((p) => `${p.path}: ${p.message} (${JSON.stringify(p.received)})`);
  }
}

describe('which cluster a re-seed may name', () => {
  test('the standby cluster, following: accepted', () => {
    expect(problems(withReseed())).toEqual([]);
  });

  test('the source, a cluster of neither name, a promotion, an existing cluster, generation 0: refused, each named', () => {
    expect(problems(withReseed(1, 'primary'))).toEqual([
      'link.reseed.cluster: is the source of the link: a re-seed throws a cluster\'s data away and clones it from the source ("primary")',
    ]);
    expect(problems(withReseed(1, 'stanby'))).toEqual([
      'link.reseed.cluster: is not the standby cluster of this link ("stanby")',
    ]);
    expect(problems(withReseed(1), 'detached')).toEqual([
      'link.reseed: re-seeds standby, which the detached link promotes: its own writes would be thrown away ("state: detached, reseed.generation: 1")',
    ]);
    expect(
      problems(
        mutate(withReseed(1), (t) => {
          t.standby.mode = 'existing';
          t.standby.postgresql.pgHba = ['host all all 10.0.0.0/8 scram-sha-256'];
        }),
      ),
    ).toContain(
      'link.reseed.cluster: is a cluster of mode existing: the stacks do not run its members, so they cannot stop and clone them ("standby")',
    );
    expect(problems(withReseed(0))).toEqual(['link.reseed.generation: is too small (0)']);
  });

  test('clusters: layout: after a switchover a forgotten re-seed of the old standby is refused, not run on the new one', () => {
    const layout = (source: string) => ({
      clusters: { dc1: base.primary, dc2: base.standby },
      link: { ...base.link, source, reseed: { cluster: 'dc2', generation: 3 } },
    });
    expect(problems(layout('dc1'))).toEqual([]);
    expect(problems(layout('dc2'))).toEqual([
      'link.reseed.cluster: is the source of the link: a re-seed throws a cluster\'s data away and clones it from the source ("dc2")',
    ]);
  });
});

describe('the steps in the standby stack', () => {
  const { standby, primary } = synthTopology(parseTopology(stringify(withReseed(2)), 'r.yaml').topology);
  const res = resourcesOf(standby);
  const id = (prefix: string) => Object.keys(res).find((k) => k.startsWith(prefix))!;
  const deps = (prefix: string) =>
    (res[id(prefix)].depends_on ?? [])
      .map((d: string) => d.replace(/^terraform_data\./, '').replace(/_[0-9A-F]{8}$/, ''))
      .sort();

  test('gate, set-aside per member, one DCS reset, start per member, wait: in that order, after the members and the role change', () => {
    const steps = Object.keys(res)
      .filter((k) => k.startsWith('cluster_reseed_'))
      .map((k) => k.replace(/_[0-9A-F]{8}$/, ''))
      .sort();
    expect(steps).toEqual([
      'cluster_reseed_dcs-reset',
      'cluster_reseed_gate',
      'cluster_reseed_ta1-set-aside',
      'cluster_reseed_ta1-start',
      'cluster_reseed_ta2-set-aside',
      'cluster_reseed_ta2-start',
      'cluster_reseed_ta3-set-aside',
      'cluster_reseed_ta3-start',
      'cluster_reseed_wait',
    ]);
    expect(deps('cluster_reseed_gate')).toEqual([
      'cluster_node-ta1_config',
      'cluster_node-ta2_config',
      'cluster_node-ta3_config',
      'cluster_role_apply',
    ]);
    expect(deps('cluster_reseed_ta2-set-aside')).toEqual(['cluster_reseed_gate']);
    expect(deps('cluster_reseed_dcs-reset')).toEqual([
      'cluster_reseed_ta1-set-aside',
      'cluster_reseed_ta2-set-aside',
      'cluster_reseed_ta3-set-aside',
    ]);
    expect(deps('cluster_reseed_ta3-start')).toEqual(['cluster_reseed_dcs-reset']);
    expect(deps('cluster_reseed_wait')).toEqual([
      'cluster_reseed_ta1-start',
      'cluster_reseed_ta2-start',
      'cluster_reseed_ta3-start',
    ]);
    // the cluster's configuration, reset with its DCS state, is patched again afterwards
    expect(deps('cluster_dcs-patch_apply')).toContain('cluster_reseed_wait');
    expect(res[id('cluster_dcs-patch_apply')].triggers_replace.reseed_generation).toBe('2');
    // nothing of it on the source
    expect(Object.keys(resourcesOf(primary)).filter((k) => k.includes('reseed'))).toEqual([]);
  });

  test('each step is replaced by a new generation only; the plan carries no password', () => {
    for (const k of Object.keys(res).filter((x) => x.startsWith('cluster_reseed_')))
      expect(res[k].triggers_replace).toEqual({ generation: '2' });
    const gate = JSON.parse(res[id('cluster_reseed_gate')].input.reseed_config);
    expect(gate).toMatchObject({
      generation: 2,
      slotName: 'my_standby_cluster_slot',
      standby: { name: 'standby' },
      source: { name: 'primary' },
      setAside: { ta1: '/var/lib/pgsql/16/pgcluster.reseed-2' },
    });
    expect(JSON.stringify(standby)).not.toMatch(/password"\s*:\s*"[^$]/i);
  });

  test('without link.reseed: no step, and the DCS patch has no generation', () => {
    const plain = resourcesOf(synthTopology(base).standby);
    expect(Object.keys(plain).filter((k) => k.includes('reseed'))).toEqual([]);
    expect(
      plain[Object.keys(plain).find((k) => k.startsWith('cluster_dcs-patch_apply'))!].triggers_replace
        .reseed_generation,
    ).toBeUndefined();
  });
});

describe('what the hosts run', () => {
  const cluster = resolveCluster(
    standbyWith((c) => {
      c.nodes[1].overrides = { postgresql: { data_dir: "/srv/pg/it's" } };
      c.deploy = { transport: 'local', stopCommand: 'true', statusCommand: 'false' };
    }),
  );

  test('the data directory is moved aside (per-member overrides followed), and a retry moves nothing twice', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reseed-'));
    const c = resolveCluster(
      standbyWith((x) => {
        x.postgresql.dataDir = path.join(dir, 'data');
        x.deploy = { transport: 'local', stopCommand: `touch ${dir}/stopped`, statusCommand: 'false' };
      }),
    );
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(path.join(dir, 'data', 'PG_VERSION'), '16');
    const run = () => spawnSync('/bin/sh', ['-c', setAsideCommand(c, c.nodes[0], 4)], { encoding: 'utf8' });
    const first = run();
    expect(first.status).toBe(0);
    expect(first.stdout).toContain(`ta1: data directory ${dir}/data set aside as ${dir}/data.reseed-4`);
    expect(fs.readFileSync(path.join(dir, 'data.reseed-4', 'PG_VERSION'), 'utf8')).toBe('16');
    expect(fs.existsSync(path.join(dir, 'stopped'))).toBe(true);
    const again = run();
    expect(again.stdout).toContain('the data directory was set aside already');
    expect(fs.readFileSync(path.join(dir, 'data.reseed-4', 'PG_VERSION'), 'utf8')).toBe('16');
    fs.rmSync(dir, { recursive: true, force: true });
    expect(dataDir(cluster, cluster.nodes[1])).toBe("/srv/pg/it's");
    expect(setAsideCommand(cluster, cluster.nodes[1], 1)).toContain(`d='/srv/pg/it'\\''s'`);
  });

  test('a Patroni that still runs after the stop command: nothing is moved, the step fails', () => {
    const c = resolveCluster(
      standbyWith((x) => (x.deploy = { transport: 'local', stopCommand: 'true', statusCommand: 'true' })),
    );
    const r = spawnSync('/bin/sh', ['-c', setAsideCommand(c, c.nodes[0], 1)], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ta1: Patroni still runs after its stop command; nothing was moved');
  });

  test("the DCS reset answers patronictl remove, with the node's env file loaded, and gives up after ttl", () => {
    const c = resolveCluster(standbyWith((x) => (x.deploy = { secrets: { envFile: '/etc/patroni/{name}.env' } })));
    const cmd = dcsResetCommand(c, c.nodes[0]);
    expect(cmd).toContain(". '/etc/patroni/ta1.env'");
    expect(cmd).toContain(
      "printf '%s\\nYes I am aware\\n' 'pgcluster' | patronictl -c '/etc/patroni/16-pgcluster.yml' remove 'pgcluster'",
    );
    expect(cmd).toMatch(/-ge 21 \]/);
  });
});

describe('the plan review', () => {
  test('the gate is marked for attention with what is set aside; the host steps say what they do', () => {
    const { standby } = synthTopology(parseTopology(stringify(withReseed(1)), 'r.yaml').topology);
    const res = resourcesOf(standby);
    const plan = {
      resource_changes: Object.entries(res).map(([name, r]) => ({
        address: `terraform_data.${name}`,
        type: 'terraform_data',
        name,
        change: {
          actions: name.startsWith('cluster_reseed_') ? ['create'] : ['no-op'],
          before: null,
          after: { input: r.input },
        },
      })),
    };
    const review = reviewPlan('standby', plan);
    const texts = review.resources.map(
      (r) => `${r.subject}: ${r.findings.map((f) => `${f.attention ? 'ATTENTION ' : ''}${f.text}`).join(' | ')}`,
    );
    expect(texts).toContainEqual(
      expect.stringMatching(
        /^re-seed gate: ATTENTION RE-SEED of standby from primary \(generation 1\): .*ta1 -> \/var\/lib\/pgsql\/16\/pgcluster\.reseed-1.*nothing deleted/,
      ),
    );
    expect(texts).toContain(
      're-seed ta1-set-aside: ATTENTION member ta1: Patroni stopped, its data directory set aside',
    );
    expect(texts).toContain(
      "re-seed dcs-reset: ATTENTION the cluster's state in its DCS removed (patronictl remove, on ta1)",
    );
    expect(texts).toContain('re-seed ta3-start: member ta3: Patroni started, it clones anew');
  });
});
