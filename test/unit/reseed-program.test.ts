/**
 * The re-seed's pipeline program (runtime/reseed.ts) against a fake link: the gate refuses one
 * cause at a time with nothing touched, passes on a standby cluster whose stream is gone, and
 * renews an invalidated link slot through the source's DCS (removed, then declared again); the
 * wait phase returns once the cluster streams again and gives up after its timeout. The real
 * re-seed (members stopped, directories set aside, cloned anew) is fault 6 of the two-DC suite.
 */
import { DEFAULT_REST_PASSWORD_ENV, ReseedConfig, RoleChangeCluster } from '../../runtime/contract';
import * as reseed from '../../runtime/reseed';
import type { ReseedIo } from '../../runtime/reseed';
import { fakeRest, freshWorld, healthNodes, linkConfig, Member, world } from '../support/fake-link';

jest.mock('pg', () => ({ Client: jest.requireActual('../support/fake-link').FakeClient }));
jest.mock('../../runtime/rest-client', () => jest.requireActual('../support/fake-link').fakeRest);

const SLOT = { type: 'physical' };

interface Patch {
  cluster: string;
  body: Record<string, unknown>;
  via: string;
}

/** The REST side of the program (look at a cluster's DCS configuration, patch it), from the world. */
function fakeIo(sourceConfig: Record<string, unknown> = { slots: { link_slot: SLOT } }) {
  const patches: Patch[] = [];
  const io: ReseedIo = {
    async look(cluster: RoleChangeCluster) {
      const w = world.current;
      if (cluster.name === 'dc2') {
        const reachable = !(['s1', 's2'] as const).every((m) => w.restDown.has(m));
        return { reachable, config: reachable ? w.standbyConfig : undefined };
      }
      return { reachable: true, config: sourceConfig };
    },
    async patch(cluster: RoleChangeCluster, body: { slots?: Record<string, unknown> }, via: string) {
      patches.push({ cluster: cluster.name, body, via });
      const value = body.slots?.link_slot;
      // Patroni drops a slot removed from the configuration, and creates a declared one afresh
      world.current.slot =
        value === null
          ? undefined
          : { active: false, wal_status: 'reserved', safe_wal_size: null, retained_bytes: '0', consumer: null };
    },
  };
  return { io, patches };
}

/** A cluster as the REST steps reach it (RESEED_CONFIG's standby and source). */
const cluster = (name: string, members: Member[]): RoleChangeCluster => ({
  name,
  scope: `${name}-scope`,
  restPasswordEnv: DEFAULT_REST_PASSWORD_ENV,
  nodes: healthNodes(members),
});

/** RESEED_CONFIG, as the contract types it. */
function config(over: Partial<ReseedConfig> = {}): ReseedConfig {
  return {
    generation: 3,
    timeoutSeconds: 2,
    slotName: 'link_slot',
    standby: cluster('dc2', ['s1', 's2']),
    source: cluster('dc1', ['p1', 'p2']),
    // the contract's minimum settle time (the fake's 0 s is the gate's own tests'; the re-seed does not settle)
    health: linkConfig({ settleSeconds: 1 }),
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
async function refusal(io: ReseedIo): Promise<string> {
  const err = await reseed.gate(config(), io).then(
    () => undefined,
    (e: Error & { refused?: boolean }) => e,
  );
  expect(err).toBeDefined();
  if (!err) throw new Error('the gate passed');
  expect(err.refused).toBe(true);
  return err.message;
}

test('the fakes are the ones loaded', () => {
  expect(jest.requireMock('../../runtime/rest-client')).toBe(fakeRest);
});

describe('the gate refuses, one cause at a time, with nothing touched', () => {
  test("a healthy link: nothing to re-seed, and the standby leader's stream is named", async () => {
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

  test("the slot is lost and not in the source's DCS configuration: deploy the source first", async () => {
    const w = world.current;
    w.streaming = false;
    w.slot = { active: false, wal_status: 'lost', safe_wal_size: null, retained_bytes: '0', consumer: null };
    const { io, patches } = fakeIo({ slots: {} });
    expect(await refusal(io)).toMatch(
      /^REFUSED: the link slot link_slot is lost on dc1 and is not in its DCS configuration/,
    );
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

  test("streaming through an invalidated slot: the slot is removed from the source's DCS, then declared again as it was", async () => {
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
    await expect(reseed.wait(config({ timeoutSeconds: 1 }))).rejects.toThrow(
      /dc2 is not streaming again after 1 s \(s1 not streaming from the source yet \(no wal receiver\)\)/,
    );
  });
});

describe('as a program (runReseed): exit code, output and the configuration', () => {
  /** Runs a phase with RESEED_CONFIG in its own environment; what it printed, apart, and its exit code. */
  async function run(phase: reseed.ReseedPhase, env: Record<string, string>, io: ReseedIo = fakeIo().io) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await reseed.runReseed(
      phase,
      env,
      { write: (t: string) => stdout.push(t) },
      { write: (t: string) => stderr.push(t) },
      io,
    );
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  }
  const env = (over: Partial<ReseedConfig> = {}) => ({ RESEED_CONFIG: JSON.stringify(config(over)) });
  /** RESEED_CONFIG as the stacks write it, changed by `edit` (a field removed, renamed, ...). */
  const edited = (edit: (c: Record<string, unknown> & { health: { source: Record<string, unknown> } }) => void) => {
    const c = JSON.parse(JSON.stringify(config()));
    edit(c);
    return { RESEED_CONFIG: JSON.stringify(c) };
  };
  const MISMATCH =
    "reseed: RESEED_CONFIG does not match this program's configuration (the stacks and the program are of different versions?): ";

  test("the wait done: 0, its lines on the given stdout (not the process's), nothing on stderr", async () => {
    const r = await run('wait', env());
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^\[re-seed\] \S+ re-seeded in \d+ s: s1 streams from 127\.0\.1\.1, s2 from it\n/);
    expect(out).toEqual([]);
  });

  test('a refusal: 1, the reason on stderr without FAILED', async () => {
    const { io, patches } = fakeIo();
    const r = await run('gate', env(), io);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^\[re-seed\] REFUSED: nothing to re-seed: dc2's standby leader s1 streams from 127\.0\.1\.1 .*Nothing was touched\n$/,
    );
    expect(patches).toEqual([]);
  });

  test('the wait timed out: 1, what is missing on stderr', async () => {
    world.current.streaming = false;
    const r = await run('wait', env({ timeoutSeconds: 1 }));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "[re-seed] dc2 is not streaming again after 1 s (s1 not streaming from the source yet (no wal receiver)): look at its members' Patroni logs; deploy again to wait again\n",
    );
  });

  test('an error that is no refusal: 1, FAILED and its message', async () => {
    world.current.streaming = false;
    const io: ReseedIo = {
      look: async () => {
        throw new Error('PATRONI_REST_CACERT=/nowhere cannot be read: ENOENT');
      },
      patch: async () => undefined,
    };
    const r = await run('gate', env(), io);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: '[re-seed] FAILED: PATRONI_REST_CACERT=/nowhere cannot be read: ENOENT\n',
    });
  });

  test('no configuration: 2, the variable named, nothing read or touched', async () => {
    const { io, patches } = fakeIo();
    for (const phase of ['gate', 'wait'] as const) {
      expect(await run(phase, {}, io)).toEqual({
        code: 2,
        stdout: '',
        stderr:
          "reseed: RESEED_CONFIG is not set: this program is run by the stacks' planned resources, which set it\n",
      });
    }
    expect(world.current.log).toEqual([]);
    expect(patches).toEqual([]);
  });

  test('a configuration without health.source.nodes: 2, the variable and the field named, nothing read', async () => {
    const r = await run(
      'gate',
      edited((c) => delete c.health.source.nodes),
    );
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: `${MISMATCH}health.source.nodes: Invalid input: expected array, received undefined\n`,
    });
    expect(world.current.log).toEqual([]);
  });

  test('a renamed field (timeoutSeconds as timeout): 2, the missing field and the unknown one named', async () => {
    const r = await run(
      'wait',
      edited((c) => {
        c.timeout = c.timeoutSeconds;
        delete c.timeoutSeconds;
      }),
    );
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: `${MISMATCH}timeoutSeconds: Invalid input: expected number, received undefined; (root): Unrecognized key: "timeout"\n`,
    });
    expect(world.current.log).toEqual([]);
  });
});
