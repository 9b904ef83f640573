/**
 * The re-seed's pipeline program (runtime/reseed.ts) against a fake link: the gate refuses one
 * cause at a time with nothing touched, passes on a standby cluster whose stream is gone, and
 * renews an invalidated link slot through the source's DCS (removed, then declared again); the
 * wait phase returns once the cluster streams again and gives up after its timeout. The waits (the
 * slot's renewal, the wait phase) run on jest's fake clock, so that their seconds take none and
 * the log lines' times are exact. The real re-seed (members stopped, directories set aside,
 * cloned anew) is fault 6 of the two-DC suite.
 */
import { DEFAULT_REST_PASSWORD_ENV, ReseedConfig, RoleChangeCluster } from '../../runtime/contract';
import * as reseed from '../../runtime/reseed';
import type { ReseedIo } from '../../runtime/reseed';
import { fakeRest, freshWorld, healthNodes, HOSTS, linkConfig, Member, world, World } from '../support/fake-link';

jest.mock('pg', () => ({ Client: jest.requireActual('../support/fake-link').FakeClient }));
jest.mock('../../runtime/rest-client', () => jest.requireActual('../support/fake-link').fakeRest);

const SLOT = { type: 'physical' };
/** The link slot as the source reads it: invalidated, or holding WAL. */
const LOST = { active: false, wal_status: 'lost', safe_wal_size: null, retained_bytes: '0', consumer: null };
const RESERVED = { active: false, wal_status: 'reserved', safe_wal_size: null, retained_bytes: '0', consumer: null };
type SlotRead = World['slot'];

interface Patch {
  cluster: string;
  body: Record<string, unknown>;
  via: string;
}

/**
 * The REST side of the program (look at a cluster's DCS configuration, patch it), from the world;
 * a patch is logged in the world's log too (`dc1 via p1: link_slot removed|declared`). `reads`:
 * what the slot reads as after its removal, and after its declaration, read after read (the last
 * one stays); by default Patroni acts at once (gone, then reserved).
 */
function fakeIo(
  sourceConfig: unknown = { slots: { link_slot: SLOT } },
  reads: { removed?: SlotRead[]; declared?: SlotRead[] } = {},
) {
  const patches: Patch[] = [];
  let next: SlotRead[] = [];
  world.current.onSlotRead = (w) => {
    if (next.length > 0) w.slot = next.shift();
  };
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
      world.current.log.push(`${cluster.name} via ${via}: link_slot ${value === null ? 'removed' : 'declared'}`);
      // Patroni drops a slot removed from the configuration, and creates a declared one afresh
      next = [...((value === null ? reads.removed : reads.declared) ?? [value === null ? undefined : RESERVED])];
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
    from: 'source',
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
afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

/** The fake clock's start: the log lines' timestamps count from here. */
const T0 = Date.parse('2025-01-01T00:00:00.000Z');

/**
 * Runs a phase on jest's fake clock (started at T0): the returned function moves the clock on by
 * `ms` and says where the phase stands (pending, done, or the message it failed with).
 */
function onFakeClock(start: () => Promise<unknown>): (ms: number) => Promise<string> {
  jest.useFakeTimers({ now: T0, doNotFake: ['nextTick', 'queueMicrotask'] });
  let state = 'pending';
  start().then(
    () => (state = 'done'),
    (e: Error) => (state = e.message),
  );
  return async (ms) => {
    await jest.advanceTimersByTimeAsync(ms);
    return state;
  };
}

/** The printed lines (without their prefix), each with its second on the fake clock. */
const linesAt = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^\[re-seed\] (\S+) /, (_, at: string) => `${(Date.parse(at) - T0) / 1000} s: `));

/** What the world's log says of the link slot: its reads (by member) and its patches, in order. */
const slotLog = () => world.current.log.filter((l) => /slot/.test(l));

/** Source failed over: p1 down, p2 its leader. */
function sourceFailedOver(w: World): void {
  w.down.add('p1');
  w.readWrite = new Set(['p2']);
  w.roles.p1 = 'replica';
  w.roles.p2 = 'primary';
}

/** s2 is the standby leader, s1 its replica. */
function s2Leads(w: World): void {
  w.standbyLeader = 's2';
  w.roles.s1 = 'replica';
  w.roles.s2 = 'standby_leader';
}

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
    expect(msg).toMatch(
      /^REFUSED: nothing to re-seed: dc2's standby leader s1 streams from 127\.0\.1\.1 \(lag 0 bytes\)/,
    );
    expect(msg).toContain('Remove link.reseed');
    expect(patches).toEqual([]);
  });

  test('a healthy link whose standby leader has no replay position: its lag is unknown', async () => {
    world.current.replay = null;
    expect(await refusal(fakeIo().io)).toMatch(
      /^REFUSED: nothing to re-seed: dc2's standby leader s1 streams from 127\.0\.1\.1 \(lag unknown\)/,
    );
  });

  test('a healthy link whose standby leader is s2 (not the first member): s2 and its stream are named', async () => {
    s2Leads(world.current);
    expect(await refusal(fakeIo().io)).toMatch(
      /^REFUSED: nothing to re-seed: dc2's standby leader s2 streams from 127\.0\.1\.1 /,
    );
  });

  test("a healthy link after the source failed over (p1 down, p2 leads): the standby is on p2's system", async () => {
    sourceFailedOver(world.current);
    const { io, patches } = fakeIo();
    expect(await refusal(io)).toMatch(
      /^REFUSED: nothing to re-seed: dc2's standby leader s1 streams from 127\.0\.1\.2 /,
    );
    expect(patches).toEqual([]);
  });

  test('a healthy link without a link slot (slotName unset): nothing to re-seed', async () => {
    const err = await reseed
      .gate(config({ slotName: undefined, health: linkConfig({ settleSeconds: 1, slotName: undefined }) }), fakeIo().io)
      .then(
        () => undefined,
        (e: Error & { refused?: boolean }) => e,
      );
    expect(err).toMatchObject({ refused: true, message: expect.stringMatching(/^REFUSED: nothing to re-seed: /) });
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

  test('the cluster answers on its REST API without a DCS configuration: not a standby cluster', async () => {
    const w = world.current;
    w.streaming = false;
    w.standbyConfig = undefined;
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

  test('the slot is lost and the source answers without a DCS configuration: deploy the source first', async () => {
    const w = world.current;
    w.streaming = false;
    w.slot = LOST;
    const { io, patches } = fakeIo(null);
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
    expect(text).toContain(
      're-seeding dc2 (generation 3) from dc1 (leader p1, at 0/3000060): standby leader s1: wal receiver none, ' +
        'received up to 0/3000060, replayed up to 0/3000060; link slot link_slot: wal_status reserved\n',
    );
    expect(text).toContain('s1: its data directory will be set aside as /data/s1.reseed-3 (not deleted)');
    expect(text).toContain('s2: its data directory will be set aside as /data/s2.reseed-3 (not deleted)');
    expect(text).toContain('gate passed');
    expect(patches).toEqual([]);
  });

  test('from the backup: the same plan, the restore from its own repository named (the source the fallback)', async () => {
    world.current.streaming = false;
    const { io, patches } = fakeIo();
    await reseed.gate(config({ from: 'backup' }), io);
    const text = out.join('');
    expect(text).toContain(
      "re-seeding dc2 (generation 3) from the backup in its own data center's repository (pgBackRest restore, then the archive and the stream from dc1; a base backup from dc1 where the repository has none) (leader p1, at 0/3000060): standby leader s1: wal receiver none,",
    );
    expect(text).toContain('s1: its data directory will be set aside as /data/s1.reseed-3 (not deleted)');
    expect(patches).toEqual([]);
  });

  test("a standby leader without positions and a link without a slot: '-' for each, no slot in the plan", async () => {
    const w = world.current;
    w.streaming = false;
    w.receive = null;
    w.replay = null;
    await reseed.gate(
      config({ slotName: undefined, health: linkConfig({ settleSeconds: 1, slotName: undefined }) }),
      fakeIo().io,
    );
    expect(out.join('')).toMatch(
      / from dc1 \(leader p1, at 0\/3000060\): standby leader s1: wal receiver none, received up to -, replayed up to -\n/,
    );
  });

  test('the standby leader streams from the source, but on another system (the source was rebuilt)', async () => {
    world.current.standbySystemId = '7999';
    const { io, patches } = fakeIo();
    await reseed.gate(config(), io);
    expect(out.join('')).toContain('standby leader s1: wal receiver streaming');
    expect(out.join('')).toContain('gate passed');
    expect(patches).toEqual([]);
  });

  test('no standby leader (its members are down and Patroni names none): the plan says so', async () => {
    const w = world.current;
    w.down = new Set(['s1', 's2']);
    w.roles.s1 = 'replica';
    w.roles.s2 = 'replica';
    await reseed.gate(config(), fakeIo().io);
    expect(out.join('')).toContain(
      ' (leader p1, at 0/3000060): no standby leader; link slot link_slot: wal_status reserved\n',
    );
    expect(out.join('')).toContain('gate passed');
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

describe('from the archive: no member is cloned, only the invalidated slot renewed', () => {
  const archive = { from: 'archive' as const, setAside: {} };
  test('the standby leader caught up from the archive, the slot lost: renewed, no directory set aside', async () => {
    const w = world.current;
    w.streaming = false;
    w.slot = { active: false, wal_status: 'lost', safe_wal_size: null, retained_bytes: '0', consumer: null };
    const { io, patches } = fakeIo();
    await reseed.gate(config(archive), io);
    expect(patches).toEqual([
      { cluster: 'dc1', body: { slots: { link_slot: null } }, via: 'p1' },
      { cluster: 'dc1', body: { slots: { link_slot: SLOT } }, via: 'p1' },
    ]);
    const text = out.join('');
    expect(text).toContain(
      're-seeding dc2 (generation 3) from the archive: no member is cloned; standby leader s1 replayed up to 0/3000060, dc1 is at 0/3000060\n',
    );
    expect(text).not.toContain('set aside');
    expect(text).toContain("gate passed: dc2's standby leader streams through the renewed slot");
  });

  test('a slot that is not lost, or none: refused with nothing touched, the clone named as the other way', async () => {
    world.current.streaming = false;
    const { io, patches } = fakeIo();
    const refusedWith = async (over: Partial<ReseedConfig>) => {
      const err = await reseed.gate(config({ ...archive, ...over }), io).then(
        () => undefined,
        (e: Error & { refused?: boolean }) => e,
      );
      expect(err?.refused).toBe(true);
      return err!.message;
    };
    expect(await refusedWith({})).toBe(
      'REFUSED: a re-seed from the archive renews an invalidated link slot, and the link slot link_slot on dc1 is not invalidated (wal_status reserved): nothing to renew. If the standby leader cannot stream for another reason, its Patroni log says why; to clone the members anew: link.reseed.from: source. Nothing was touched',
    );
    expect(
      await refusedWith({ slotName: undefined, health: linkConfig({ settleSeconds: 1, slotName: undefined }) }),
    ).toContain('and the link has no slot: nothing to renew');
    world.current.slot = undefined;
    expect(await refusedWith({})).toContain('the link slot link_slot on dc1 is missing: nothing to renew');
    expect(patches).toEqual([]);
  });

  test('the wait: not back while the standby leader does not stream; back in 5 s once it does', async () => {
    const w = world.current;
    w.streaming = false;
    const at = onFakeClock(() => reseed.wait(config({ ...archive, timeoutSeconds: 10 })));
    expect(await at(4500)).toBe('pending');
    w.streaming = true;
    expect(await at(1000)).toBe('done');
    expect(linesAt(out.join(''))[1]).toBe(
      '5 s: back in 5 s without a clone: s1 caught up from the archive and streams from 127.0.1.1, s2 from it',
    );
  });

  test('the wait: back without a clone once the standby leader streams and its replica from it', async () => {
    expect(await onFakeClock(() => reseed.wait(config(archive)))(500)).toBe('done');
    expect(out.join('')).toMatch(
      /back in 0 s without a clone: s1 caught up from the archive and streams from 127\.0\.1\.1, s2 from it\n/,
    );
    expect(out.join('')).not.toContain('set aside');
  });
});

describe('the gate renews an invalidated slot on the source leader', () => {
  test('a removal and a creation that take a few reads: declared again only once gone, then waited for', async () => {
    world.current.slot = LOST;
    const { io } = fakeIo(undefined, { removed: [LOST, LOST, undefined], declared: [undefined, undefined, RESERVED] });
    const at = onFakeClock(() => reseed.gate(config(), io));
    expect(await at(5000)).toBe('done');
    expect(slotLog()).toEqual([
      'p1: slot link_slot',
      'dc1 via p1: link_slot removed',
      ...Array(3).fill('p1: slot link_slot'),
      'dc1 via p1: link_slot declared',
      ...Array(3).fill('p1: slot link_slot'),
    ]);
    expect(out.join('')).toContain('the link slot link_slot is back on p1 (wal_status reserved)');
  });

  test('a declared slot still read as lost is not taken for the new one', async () => {
    world.current.slot = LOST;
    const { io } = fakeIo(undefined, { declared: [LOST, RESERVED] });
    const at = onFakeClock(() => reseed.gate(config(), io));
    expect(await at(5000)).toBe('done');
    expect(slotLog().slice(-3)).toEqual(['dc1 via p1: link_slot declared', 'p1: slot link_slot', 'p1: slot link_slot']);
    expect(out.join('')).toContain('the link slot link_slot is back on p1 (wal_status reserved)');
  });

  test('the source failed over (p2 leads): the slot is read on p2 and patched through p2', async () => {
    const w = world.current;
    sourceFailedOver(w);
    w.streaming = false;
    w.slot = LOST;
    const { io, patches } = fakeIo();
    await reseed.gate(config(), io);
    expect(slotLog()).toEqual([
      'p2: slot link_slot',
      'dc1 via p2: link_slot removed',
      'p2: slot link_slot',
      'dc1 via p2: link_slot declared',
      'p2: slot link_slot',
    ]);
    expect(patches.map((p) => p.via)).toEqual(['p2', 'p2']);
    expect(out.join('')).toContain('the link slot link_slot is back on p2 (wal_status reserved)');
  });

  test('a removal that never shows: refused once 60 s have passed, the slot not declared again', async () => {
    world.current.slot = LOST;
    const { io, patches } = fakeIo(undefined, { removed: [LOST] });
    const at = onFakeClock(() => reseed.gate(config(), io));
    expect(await at(59500)).toBe('pending');
    expect(await at(500)).toBe('the removal of link_slot on p1 did not happen within 60 s');
    expect(patches).toEqual([{ cluster: 'dc1', body: { slots: { link_slot: null } }, via: 'p1' }]);
  });
});

describe('the wait', () => {
  /** The wait (its timeout 2 s) on the fake clock: done at its first read, before a second has passed. */
  async function doneAtOnce(): Promise<void> {
    expect(await onFakeClock(() => reseed.wait(config()))(500)).toBe('done');
  }

  test('returns once the standby leader streams from the source and its replica from it', async () => {
    await doneAtOnce();
    expect(out.join('')).toMatch(/re-seeded in 0 s: s1 streams from 127\.0\.1\.1, s2 from it/);
  });

  test('gives up after its timeout, naming what is missing', async () => {
    world.current.streaming = false;
    const at = onFakeClock(() => reseed.wait(config({ timeoutSeconds: 1 })));
    expect(await at(2000)).toMatch(
      /dc2 is not streaming again after 1 s \(s1 not streaming from the source yet \(no wal receiver\)\)/,
    );
  });

  /** What the wait gave up with after its timeout (10 s on the fake clock): what is missing. */
  async function missing(): Promise<string> {
    const at = onFakeClock(() => reseed.wait(config({ timeoutSeconds: 10 })));
    const failure = await at(11000);
    expect(failure).toMatch(/^dc2 is not streaming again after 10 s \(.*\): look at its members' Patroni logs/);
    return failure.replace(/^dc2 is not streaming again after 10 s \((.*)\): look at .*$/, '$1');
  }

  test('the standby leader is s2 after the re-seed: s2 streams from the source, s1 from it', async () => {
    s2Leads(world.current);
    await doneAtOnce();
    expect(out.join('')).toMatch(/re-seeded in 0 s: s2 streams from 127\.0\.1\.1, s1 from it\n/);
  });

  test("the source failed over (p1 down, p2 leads): the standby leader is on p2's system, done", async () => {
    sourceFailedOver(world.current);
    await doneAtOnce();
    expect(out.join('')).toMatch(/re-seeded in 0 s: s1 streams from 127\.0\.1\.2, s2 from it\n/);
  });

  test("a standby leader on another system than the source's: not done, both system ids named", async () => {
    world.current.standbySystemId = '7999';
    expect(await missing()).toBe('s1 has system 7999, the source 7301');
  });

  test('a standby leader streaming from another standby member, not the source: not done', async () => {
    world.current.rowOverride = { s1: { sender_host: HOSTS.s2 } };
    expect(await missing()).toBe('s1 not streaming from the source yet (streaming)');
  });

  test('no standby leader yet (the members still cloning, down): said so, and each member with its state', async () => {
    const w = world.current;
    w.down = new Set(['s1', 's2']);
    w.roles.s1 = 'replica';
    w.roles.s2 = 'replica';
    expect(await missing()).toBe(
      'no standby leader yet; s1 not streaming from the standby leader yet (stopped); ' +
        's2 not streaming from the standby leader yet (stopped)',
    );
  });

  test('a replica that is down: not done, the replica named', async () => {
    world.current.down.add('s2');
    expect(await missing()).toBe('s2 not streaming from the standby leader yet (stopped)');
  });

  test('a replica whose wal receiver is still starting: not done, the replica named', async () => {
    world.current.rowOverride = { s2: { receiver_status: 'starting' } };
    expect(await missing()).toBe('s2 not streaming from the standby leader yet (running)');
  });

  test('a replica streaming from the source instead of the standby leader: not done, the replica named', async () => {
    world.current.rowOverride = { s2: { sender_host: HOSTS.p1 } };
    expect(await missing()).toBe('s2 not streaming from the standby leader yet (running)');
  });

  test('a stream that comes back after 5 s of a 10 s timeout: re-seeded in 5 s', async () => {
    const w = world.current;
    w.streaming = false;
    const at = onFakeClock(() => reseed.wait(config({ timeoutSeconds: 10 })));
    expect(await at(4500)).toBe('pending');
    w.streaming = true;
    expect(await at(1000)).toBe('done');
    expect(linesAt(out.join(''))[1]).toBe('5 s: re-seeded in 5 s: s1 streams from 127.0.1.1, s2 from it');
  });

  test('gives up only once more than its timeout has passed: still waiting at 10 s, given up at 11 s', async () => {
    world.current.streaming = false;
    const at = onFakeClock(() => reseed.wait(config({ timeoutSeconds: 10 })));
    expect(await at(10000)).toBe('pending');
    expect(await at(1000)).toMatch(/^dc2 is not streaming again after 10 s /);
  });

  test('says what it waits for at once, then every 30 s (not at each read)', async () => {
    world.current.streaming = false;
    const at = onFakeClock(() => reseed.wait(config({ timeoutSeconds: 65 })));
    expect(await at(66000)).toMatch(/^dc2 is not streaming again after 65 s /);
    const waiting = 'waiting for dc2: s1 not streaming from the source yet (no wal receiver)';
    expect(linesAt(out.join(''))).toEqual([`0 s: ${waiting}`, `31 s: ${waiting}`, `62 s: ${waiting}`]);
  });

  test('a read of the link that fails (a REST API throws): said so, and waited on until it reads again', async () => {
    const w = world.current;
    w.onRest = () => {
      throw new Error('socket hang up');
    };
    const at = onFakeClock(() => reseed.wait(config({ timeoutSeconds: 10 })));
    expect(await at(2500)).toBe('pending');
    w.onRest = undefined;
    expect(await at(1000)).toBe('done');
    expect(linesAt(out.join('')).slice(0, 2)).toEqual([
      '0 s: waiting for dc2: socket hang up',
      '3 s: re-seeded in 3 s: s1 streams from 127.0.1.1, s2 from it',
    ]);
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

  /** Runs the wait as a program on the fake clock, for `ms` of it. */
  async function runWait(config: Record<string, string>, ms: number) {
    let r: Awaited<ReturnType<typeof run>> | undefined;
    const at = onFakeClock(async () => (r = await run('wait', config)));
    expect(await at(ms)).toBe('done');
    return r!;
  }

  test("the wait done: 0, its lines on the given stdout (not the process's), nothing on stderr", async () => {
    const r = await runWait(env(), 500);
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
    const r = await runWait(env({ timeoutSeconds: 1 }), 2000);
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

  test('an unknown phase: 1, FAILED and the usage, nothing read', async () => {
    const r = await run('check' as reseed.ReseedPhase, env());
    expect(r).toEqual({ code: 1, stdout: '', stderr: '[re-seed] FAILED: usage: reseed.cjs gate|wait (got check)\n' });
    expect(world.current.log).toEqual([]);
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
