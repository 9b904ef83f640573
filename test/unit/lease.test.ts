/**
 * The role change's lease and its record of the source (runtime/lease.ts, pure) and its steps with
 * them (runtime/holding.ts) on their own, against a fake of the role change's I/O: which cluster
 * takes the lease, which one lets it go, what a failing PATCH does, which clusters get the record
 * and when the run fails for it, and how long a lease holds.
 */
import type { ClusterLook, DynamicConfig, RoleIo } from '../../runtime/cluster-io';
import type { Lease, RoleChangeCluster, RoleChangeConfig } from '../../runtime/contract';
import { holding, leaseSeconds, type LeaseSteps, recordSource, refuseIfHeld } from '../../runtime/holding';
import { liveLease, newestRecord, sourceRecord } from '../../runtime/lease';

const MARKER = 'managed_by_patroni_standby_cdktf';

describe('lease.ts: the lease and the record a configuration shows', () => {
  const lease = (until: number): Lease => ({ holder: 'dc1/0badcafe', since: '2026-01-01T00:00:00.000Z', until });

  test('a lease holds until its `until`: at that very millisecond it has run out', () => {
    const config = { [MARKER]: { roleChange: lease(5000) } };
    expect(liveLease(config, 4999)).toEqual(lease(5000));
    expect(liveLease(config, 5000)).toBeUndefined();
  });

  test.each([
    ['null', null],
    ['a string', 'roleChange'],
    ['an array', [lease(5000)]],
    ['absent', undefined],
  ])('a marker that is %s holds no lease and records no source', (_what, marker) => {
    const config = { [MARKER]: marker };
    expect(liveLease(config, 0)).toBeUndefined();
    expect(sourceRecord(config)).toBeUndefined();
  });

  test('the newest record is the highest generation, wherever it shows; none when no cluster records one', () => {
    const rec = (cluster: string, generation: number) => ({ [MARKER]: { source: { cluster, generation } } });
    expect(newestRecord([rec('dc1', 3), rec('dc2', 1)])).toEqual({ cluster: 'dc1', generation: 3 });
    expect(newestRecord([rec('dc1', 1), undefined, rec('dc2', 3)])).toEqual({ cluster: 'dc2', generation: 3 });
    expect(newestRecord([{}, undefined])).toBeUndefined();
  });
});

const cluster = (name: string): RoleChangeCluster => ({
  name,
  scope: 'pg',
  restPasswordEnv: 'X',
  nodes: [{ name: `${name}a`, host: '10.0.0.1', port: 5432, rest: 'http://10.0.0.1:8008' }],
});
const cfg: RoleChangeConfig = {
  role: 'source',
  me: cluster('dc2'),
  other: cluster('dc1'),
  slotName: 'link',
  block: { host: '10.0.2.1', port: 5432, primary_slot_name: 'link' },
  user: 'monitor',
  maxLagBytes: 1024,
  catchUpTimeoutSeconds: 10,
  followTimeoutSeconds: 20,
  acceptDataLoss: false,
  generation: 4,
};
const look = (config: DynamicConfig = {}): ClusterLook => ({
  reachable: true,
  config,
  members: [],
  leader: undefined,
  standby: false,
  primary: true,
});
const UNREACHABLE: ClusterLook = { reachable: false };

/**
 * The role change's I/O as holding.ts uses it: `patch` merges the marker into the cluster's
 * configuration (`configs`) unless `failing` names the cluster and what its patch carries
 * ('lease', 'release' or 'record'); every patch is kept in `patches` as `<cluster> <kind>`.
 */
function fakeSteps(failing: string[] = []) {
  const configs: Record<string, DynamicConfig> = { dc1: {}, dc2: {} };
  const patches: string[] = [];
  const logs: string[] = [];
  const kind = (body: DynamicConfig) => {
    const m = (body[MARKER] ?? {}) as Record<string, unknown>;
    return 'source' in m ? 'record' : m.roleChange === null ? 'release' : 'lease';
  };
  const io = {
    patch: async (c: RoleChangeCluster, body: DynamicConfig) => {
      const what = `${c.name} ${kind(body)}`;
      patches.push(what);
      if (failing.includes(what)) throw new Error(`${what} failed`);
      const marker = { ...(configs[c.name][MARKER] as object), ...(body[MARKER] as object) };
      configs[c.name] = { ...configs[c.name], [MARKER]: marker };
    },
    look: async (c: RoleChangeCluster): Promise<ClusterLook> => look(configs[c.name]),
  } as unknown as RoleIo;
  const ctx: LeaseSteps = { io, log: (msg) => logs.push(msg), recoverySeconds: 30 };
  return { ctx, configs, patches, logs };
}

describe('holding.ts: how long a lease holds, and whose lease refuses', () => {
  test('a lease holds 2 x catch-up + recovery + 2 x follow + 1200 s', () => {
    expect(leaseSeconds(fakeSteps().ctx, cfg)).toBe(2 * 10 + 30 + 2 * 20 + 1200);
  });

  test("a run reading its lease back: another lease there is refused, even one of its own stack's", () => {
    const f = fakeSteps();
    const other = { holder: 'dc2/feedface', since: '2026-01-01T00:00:00.000Z', until: Date.now() + 60_000 };
    const looks = [look({ [MARKER]: { roleChange: other } })];
    expect(() => refuseIfHeld(f.ctx, looks, 'dc2', 'dc2/0badcafe')).toThrow(
      "REFUSED: another role change (dc2/feedface, since 2026-01-01T00:00:00.000Z) holds both clusters' configuration",
    );
    // its own lease read back is no hold
    expect(() => refuseIfHeld(f.ctx, looks, 'dc2', 'dc2/feedface')).not.toThrow();
  });
});

describe('holding.ts: the lease taken, the record written, the lease let go', () => {
  test('the lease on the clusters that answer only; `until` as long as leaseSeconds; let go afterwards', async () => {
    const f = fakeSteps();
    const t0 = Date.now();
    let held: Lease | undefined;
    await holding(f.ctx, cfg, [look(), UNREACHABLE], 'dc2', async () => {
      held = liveLease(f.configs.dc2, Date.now());
    });
    expect(f.patches).toEqual(['dc2 lease', 'dc2 release']);
    expect(held?.until).toBeGreaterThanOrEqual(t0 + 1290_000);
    expect(held?.until).toBeLessThanOrEqual(Date.now() + 1290_000);
    expect(f.logs).toContainEqual(expect.stringMatching(/^lease dc2\/[0-9a-f]{8} taken on dc2$/));
  });

  test.each(['dc2', 'dc1'])(
    'the lease not taken on %s: refused before any work; let go only where it was taken',
    async (failing) => {
      const f = fakeSteps([`${failing} lease`]);
      const work = jest.fn(async () => undefined);
      await expect(holding(f.ctx, cfg, [look(), look()], 'dc2', work)).rejects.toThrow(
        `REFUSED: the lease could not be taken on ${failing} (${failing} lease failed); nothing was changed`,
      );
      expect(work).not.toHaveBeenCalled();
      const taken = failing === 'dc2' ? 'dc1' : 'dc2';
      expect(f.patches.filter((p) => p.endsWith('release'))).toEqual([`${taken} release`]);
    },
  );

  test('a lease that cannot be let go: a warning naming when it runs out; the run itself succeeds', async () => {
    const f = fakeSteps(['dc1 release']);
    await holding(f.ctx, cfg, [look(), look()], 'dc2', async () => undefined);
    expect(f.patches).toEqual(['dc2 lease', 'dc1 lease', 'dc2 release', 'dc1 release']);
    const warning = f.logs.find((l) => l.startsWith('WARNING'));
    expect(warning).toMatch(/^WARNING: the lease on dc1 could not be let go \(dc1 release failed\); it runs out at /);
    expect(warning).toMatch(/ at \d{4}-\d\d-\d\dT[\d:.]+Z, or this stack's next deploy takes it over$/);
  });

  test('made(): the record on both clusters; one the other cluster does not take is left out of the log', async () => {
    const f = fakeSteps(['dc1 record']);
    await holding(f.ctx, cfg, [look(), look()], 'dc2', (made) => made());
    expect(f.patches.filter((p) => p.endsWith('record'))).toEqual(['dc2 record', 'dc1 record']);
    expect(f.logs).toContain('recorded on dc2: source dc2, link.roleChange.generation 4');
  });

  test("made(): this cluster's DCS does not take the record: the run fails (and lets the lease go)", async () => {
    const f = fakeSteps(['dc2 record']);
    await expect(holding(f.ctx, cfg, [look(), look()], 'dc2', (made) => made())).rejects.toThrow(
      'dc2 is the source now, but its DCS did not take the record of link.roleChange.generation 4: deploy again',
    );
    expect(f.patches.slice(-2)).toEqual(['dc2 release', 'dc1 release']);
  });
});

describe('holding.ts: the roles already as the topology says: the record where it is missing or older', () => {
  const rec = (generation: number) => look({ [MARKER]: { source: { cluster: 'dc2', generation } } });

  test('recorded where there is none, or an older one; a cluster that does not answer is skipped', async () => {
    const f = fakeSteps();
    await recordSource(f.ctx, cfg, [look(), rec(3)]);
    expect(f.patches).toEqual(['dc2 record', 'dc1 record']);
    expect(f.logs).toEqual(['recorded on dc2 and dc1: source dc2, link.roleChange.generation 4']);
    const g = fakeSteps();
    await recordSource(g.ctx, cfg, [UNREACHABLE, look()]);
    expect(g.patches).toEqual(['dc1 record']);
  });

  test('both record this generation or a newer one: nothing written, nothing logged', async () => {
    const f = fakeSteps();
    await recordSource(f.ctx, cfg, [rec(4), rec(5)]);
    expect(f.patches).toEqual([]);
    expect(f.logs).toEqual([]);
  });
});
