/**
 * The re-seed's pipeline program (programs/reseed.cjs) against a fake link: the gate refuses one
 * cause at a time with nothing touched, passes on a standby cluster whose stream is gone, and
 * renews an invalidated link slot through the source's DCS (removed, then declared again); the
 * wait phase returns once the cluster streams again and gives up after its timeout. The real
 * re-seed (members stopped, directories set aside, cloned anew) is fault 6 of the two-DC suite.
 */
import { fakeRest, freshWorld, HOSTS, linkConfig, world } from '../support/fake-link';

jest.mock('pg', () => ({ Client: jest.requireActual('../support/fake-link').FakeClient }));
jest.mock('../../programs/rest-client.cjs', () => jest.requireActual('../support/fake-link').fakeRest);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const reseed = require('../../programs/reseed.cjs');

const SLOT = { type: 'physical' };

interface Patch {
  cluster: string;
  body: Record<string, unknown>;
  via: string;
}

/** The REST side of the program (look at a cluster's DCS configuration, patch it), from the world. */
function fakeIo(sourceConfig: Record<string, unknown> = { slots: { link_slot: SLOT } }) {
  const patches: Patch[] = [];
  const io = {
    async look(cluster: { name: string }) {
      const w = world.current;
      if (cluster.name === 'dc2') {
        const reachable = !(['s1', 's2'] as const).every((m) => w.restDown.has(m));
        return { reachable, config: reachable ? w.standbyConfig : undefined };
      }
      return { reachable: true, config: sourceConfig };
    },
    async patch(cluster: { name: string }, body: { slots?: Record<string, unknown> }, via: string) {
      patches.push({ cluster: cluster.name, body, via });
      const value = body.slots?.link_slot;
      // Patroni drops a slot removed from the configuration, and creates a declared one afresh
      world.current.slot = value === null ? undefined : { active: false, wal_status: 'reserved', safe_wal_size: null, retained_bytes: '0', consumer: null };
    },
  };
  return { io, patches };
}

const cluster = (name: string, members: (keyof typeof HOSTS)[]) => ({ name, nodes: members.map((m) => ({ name: m, rest: `http://${HOSTS[m]}:8008` })) });

function config(over: Record<string, unknown> = {}) {
  return {
    generation: 3,
    timeoutSeconds: 2,
    slotName: 'link_slot',
    standby: cluster('dc2', ['s1', 's2']),
    source: cluster('dc1', ['p1', 'p2']),
    health: linkConfig(),
    setAside: { s1: '/data/s1.reseed-3', s2: '/data/s2.reseed-3' },
    ...over,
  };
}

let out: string[];
beforeEach(() => {
  world.current = freshWorld();
  out = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
});
afterEach(() => jest.restoreAllMocks());

/** The gate's refusal message; fails the test when the gate passes. */
async function refusal(io: ReturnType<typeof fakeIo>['io']): Promise<string> {
  const err = await reseed.gate(config(), io).then(
    () => undefined,
    (e: Error & { refused?: boolean }) => e,
  );
  expect(err).toBeDefined();
  expect(err.refused).toBe(true);
  return err.message;
}

test('the fakes are the ones loaded', () => {
  expect(jest.requireMock('../../programs/rest-client.cjs')).toBe(fakeRest);
});

describe('the gate refuses, one cause at a time, with nothing touched', () => {
  test('a healthy link: nothing to re-seed, and the standby leader\'s stream is named', async () => {
    const { io, patches } = fakeIo();
    const msg = await refusal(io);
    expect(msg).toMatch(/^REFUSED: nothing to re-seed: dc2's standby leader s1 streams from 127\.0\.1\.1/);
    expect(msg).toContain('Remove link.reseed');
    expect(patches).toEqual([]);
  });

  test('a read-write member in the cluster (it was promoted): its writes would be thrown away', async () => {
    const w = world.current;
    w.streaming = false;
    w.readWrite.add('s2');
    const { io, patches } = fakeIo();
    expect(await refusal(io)).toMatch(/^REFUSED: s2 of dc2 is read-write: dc2 is a primary, not a standby cluster/);
    expect(patches).toEqual([]);
  });

  test('no member answers on its REST API', async () => {
    const w = world.current;
    w.streaming = false;
    w.restDown = new Set(['s1', 's2']);
    const { io, patches } = fakeIo();
    expect(await refusal(io)).toMatch(/^REFUSED: no member of dc2 answers on its REST API/);
    expect(patches).toEqual([]);
  });

  test('no standby_cluster block in the DCS: not a standby cluster', async () => {
    const w = world.current;
    w.streaming = false;
    w.standbyConfig = { ttl: 30 };
    const { io, patches } = fakeIo();
    expect(await refusal(io)).toMatch(/^REFUSED: dc2's DCS configuration has no standby_cluster block/);
    expect(patches).toEqual([]);
  });

  test('the source has no reachable leader to clone from', async () => {
    const w = world.current;
    w.streaming = false;
    w.down = new Set(['p1', 'p2']);
    const { io, patches } = fakeIo();
    expect(await refusal(io)).toMatch(/^REFUSED: the source dc1 has no reachable read-write leader to clone from/);
    expect(patches).toEqual([]);
  });

  test('the slot is lost and not in the source\'s DCS configuration: deploy the source first', async () => {
    const w = world.current;
    w.streaming = false;
    w.slot = { active: false, wal_status: 'lost', safe_wal_size: null, retained_bytes: '0', consumer: null };
    const { io, patches } = fakeIo({ slots: {} });
    expect(await refusal(io)).toMatch(/^REFUSED: the link slot link_slot is lost on dc1 and is not in its DCS configuration/);
    expect(patches).toEqual([]);
  });
});

describe('the gate passes', () => {
  test('the standby leader does not stream: the plan is printed (where each directory goes), the slot is left alone', async () => {
    world.current.streaming = false;
    const { io, patches } = fakeIo();
    await reseed.gate(config(), io);
    const text = out.join('');
    expect(text).toContain('re-seeding dc2 (generation 3) from dc1 (leader p1');
    expect(text).toContain('standby leader s1: wal receiver none');
    expect(text).toContain('s1: its data directory will be set aside as /data/s1.reseed-3 (not deleted)');
    expect(text).toContain('s2: its data directory will be set aside as /data/s2.reseed-3 (not deleted)');
    expect(text).toContain('gate passed');
    expect(patches).toEqual([]);
  });

  test('streaming through an invalidated slot: the slot is removed from the source\'s DCS, then declared again as it was', async () => {
    const w = world.current;
    w.slot = { active: true, wal_status: 'lost', safe_wal_size: null, retained_bytes: '0', consumer: 's1' };
    const { io, patches } = fakeIo();
    await reseed.gate(config(), io);
    expect(patches).toEqual([
      { cluster: 'dc1', body: { slots: { link_slot: null } }, via: 'p1' },
      { cluster: 'dc1', body: { slots: { link_slot: SLOT } }, via: 'p1' },
    ]);
    expect(w.slot).toMatchObject({ wal_status: 'reserved' });
    expect(out.join('')).toContain('the link slot link_slot is back on p1 (wal_status reserved)');
  });
});

describe('the wait', () => {
  test('returns once the standby leader streams from the source and its replica from it', async () => {
    await reseed.wait(config());
    expect(out.join('')).toMatch(/re-seeded in \d+ s: s1 streams from 127\.0\.1\.1, s2 from it/);
  });

  test('gives up after its timeout, naming what is missing', async () => {
    world.current.streaming = false;
    await expect(reseed.wait(config({ timeoutSeconds: 1 }))).rejects.toThrow(/dc2 is not streaming again after 1 s \(s1 not streaming from the source yet \(no wal receiver\)\)/);
  });
});
