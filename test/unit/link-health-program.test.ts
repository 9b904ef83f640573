/**
 * The promotion gate (runtime/gate.ts `gate`) against a fake link: each test changes one
 * thing from a caught-up, quiet link and expects exactly the check that guards it to fail, or the
 * gate to pass. The real clusters' refusals are in the end-to-end walkthrough.
 */
import type { LinkHealthConfig } from '../../runtime/contract';
import * as promotionGate from '../../runtime/gate';
import type { GateOutcome as Outcome } from '../../runtime/gate';
import { collect } from '../../runtime/link-health';
import type { NodeReport } from '../../runtime/link-health';
import { FakeClient, fakeRest, freshWorld, HOSTS, linkConfig, Member, START, text, world } from '../support/fake-link';

const health = { ...promotionGate, collect };

jest.mock('pg', () => ({ Client: jest.requireActual('../support/fake-link').FakeClient }));
jest.mock('../../runtime/rest-client', () => jest.requireActual('../support/fake-link').fakeRest);

const gate = (over: Partial<LinkHealthConfig> = {}, log?: (m: string) => void): Promise<Outcome> =>
  health.gate(linkConfig(over), log);
/** The checks that failed; the verdict must agree with them (ok exactly when none failed). */
const failed = (o: Outcome) => {
  const f = o.checks.filter((c) => !c.ok).map((c) => c.check);
  expect(o.ok).toBe(f.length === 0);
  return f;
};
const check = (o: Outcome, name: string) => o.checks.find((c) => c.check.startsWith(name));

const ALL_CHECKS = [
  'standby leader found',
  'Patroni not in maintenance mode (pause)',
  'same database system identifier',
  'standby leader on the source timeline',
  'replay not paused (pg_is_wal_replay_paused)',
  'received <= replayed (no WAL waiting)',
  'replayed up to the source position',
  'no write on the source for 0 s (next transaction id)',
  'no open write or prepared transaction on the source',
  'replayed up to the source position at the end',
];

beforeEach(() => {
  world.current = freshWorld();
});

test('the fakes are the ones loaded', () => {
  expect(jest.requireMock('pg').Client).toBe(FakeClient);
  expect(jest.requireMock('../../runtime/rest-client')).toBe(fakeRest);
});

describe('passes', () => {
  test('every server goes away right after each answer (its client then emits an error no call waits for): the gate still reads and passes', async () => {
    for (const m of Object.keys(HOSTS) as Member[]) world.current.goingAway.add(m);
    const o = await gate();
    expect(failed(o)).toEqual([]);
    // the late errors arrive after the answers: the program is still running when they do
    await new Promise((resolve) => setImmediate(resolve));
  });

  test('a caught-up, quiet link: every check runs and passes, in order', async () => {
    const o = await gate();
    expect(o.checks.map((c) => c.check)).toEqual(ALL_CHECKS);
    expect(failed(o)).toEqual([]);
    expect(o).toMatchObject({ ok: true, notes: [] });
    expect(check(o, 'same database system identifier')).toMatchObject({ standby: '7301', source: '7301' });
    expect(check(o, 'replayed up to the source position at the end')).toMatchObject({
      standby: text(START),
      source: text(START),
    });
    expect(check(o, 'no open write or prepared transaction on the source')!.source).toBe('none');
    expect(check(o, 'no write on the source')!.source).toBe('750 -> 750');
  });

  test('the leaders are not the first members: the standby leader s2 and the source leader p2 are the ones read', async () => {
    const w = world.current;
    w.standbyLeader = 's2';
    w.roles = { p1: 'replica', p2: 'primary', s1: 'replica', s2: 'standby_leader' };
    w.readWrite = new Set(['p2']);
    w.replay = START - 0x4000n;
    w.receive = START - 0x4000n;
    w.replayStep = 0x400n;
    const o = await gate({ catchUpTimeoutSeconds: 5 });
    expect(failed(o)).toEqual([]);
    expect(check(o, 'standby leader found')!.standby).toBe('s2');
    expect(w.log.filter((l) => l.endsWith('source position')).every((l) => l.startsWith('p2'))).toBe(true);
  });

  test("the standby leader s2 behind, its replica s1 not: the leader's figures decide", async () => {
    const w = world.current;
    w.standbyLeader = 's2';
    w.roles = { ...w.roles, s1: 'replica', s2: 'standby_leader' };
    w.streaming = false;
    w.replay = START - 0x4000n;
    w.receive = START - 0x4000n;
    const o = await gate();
    expect(failed(o)).toEqual(['replayed up to the source position']);
    expect(check(o, 'replayed up to the source position')!.standby).toBe(text(START - 0x4000n));
  });

  test('a stream that resumes during the wait: nothing received is not "caught up" while the source is ahead', async () => {
    const w = world.current;
    w.streaming = false;
    w.receive = START - 0x1000n;
    w.replay = START - 0x1000n;
    let reads = 0;
    w.onSourceRead = () => {
      reads += 1;
      if (reads === 3) w.streaming = true;
    };
    const o = await gate({ catchUpTimeoutSeconds: 5 });
    expect(failed(o)).toEqual([]);
    expect(reads).toBeGreaterThan(3);
  });

  test('a standby that catches up only after many reads, within catchUpTimeoutSeconds', async () => {
    world.current.replay = START - 0x40000n;
    world.current.receive = START - 0x40000n;
    world.current.replayStep = 0x4000n; // 16 reads, 250 ms apart
    const o = await gate({ catchUpTimeoutSeconds: 8 });
    expect(failed(o)).toEqual([]);
  }, 15_000);

  test('the first standby node without a REST answer: the configuration comes from the next', async () => {
    world.current.restDown.add('s1');
    world.current.standbyConfig = { ttl: 30 };
    const o = await gate();
    expect(o).toEqual({ ok: true, checks: [], notes: [expect.stringContaining('has no standby_cluster')] });
  });

  test("a standby that catches up across a digit-count boundary (0/9000000 to the source's 0/10000000) while the gate waits: passes", async () => {
    // everything received is replayed at 0/9000000 while the source is at 0/10000000: the gate
    // waits (as text, 0/9000000 would already count as caught up); the stream resumes meanwhile
    const w = world.current;
    w.sourceLsn = 0x10000000n;
    w.streaming = false;
    w.receive = 0x9000000n;
    w.replay = 0x9000000n;
    w.replayStep = 0x2000000n;
    let reads = 0;
    w.onSourceRead = () => {
      reads += 1;
      if (reads === 3) w.streaming = true;
    };
    const o = await gate({ catchUpTimeoutSeconds: 5 });
    expect(failed(o)).toEqual([]);
    expect(reads).toBeGreaterThan(3);
    expect(check(o, 'replayed up to the source position')).toMatchObject({
      standby: '0/10000000',
      source: '0/10000000 (gap 0 bytes)',
    });
  });

  test('a standby that lags and catches up within catchUpTimeoutSeconds', async () => {
    world.current.replay = START - 0x30000n;
    world.current.receive = START - 0x30000n;
    world.current.replayStep = 0x10000n;
    const o = await gate({ catchUpTimeoutSeconds: 5 });
    expect(failed(o)).toEqual([]);
    expect(o.ok).toBe(true);
  });

  test('replay past the receive position (after a restart without a stream) counts as replayed', async () => {
    world.current.streaming = false;
    world.current.receive = START - 0x60n; // the segment start
    const o = await gate();
    expect(failed(o)).toEqual([]);
  });

  test('a write before the settle time that the standby replays is no reason to refuse', async () => {
    world.current.replayStep = 0x100n;
    world.current.sourceLsn = START + 0x180n;
    world.current.nextXid += 1;
    const o = await gate({ catchUpTimeoutSeconds: 5 });
    expect(failed(o)).toEqual([]);
  });

  test('the detach was applied already (no standby_cluster in GET /config): nothing is read', async () => {
    world.current.standbyConfig = { ttl: 30 };
    const o = await gate();
    expect(o).toEqual({
      ok: true,
      checks: [],
      notes: [expect.stringContaining('has no standby_cluster: the detach was applied already')],
    });
    expect(world.current.log).toEqual([]);
  });

  test('a standby member already read-write: promoted, nothing to check', async () => {
    world.current.readWrite.add('s2');
    const o = await gate();
    expect(o).toEqual({
      ok: true,
      checks: [],
      notes: ['s2 already runs read-write: the standby cluster is promoted, nothing to check'],
    });
  });

  test('GET /config answers null or no object (no configuration to judge): the checks run, not an early pass', async () => {
    for (const answer of [null, 'maintenance', 7]) {
      world.current.standbyConfig = answer as unknown as Record<string, unknown>;
      const o = await gate();
      expect({ answer, checks: o.checks.map((c) => c.check) }).toEqual({ answer, checks: ALL_CHECKS });
      expect(o.notes.join()).not.toContain('has no standby_cluster');
    }
  });

  test('no standby node answers GET /config: the checks run', async () => {
    world.current.standbyConfig = undefined;
    const o = await gate();
    expect(o.checks.map((c) => c.check)).toEqual(ALL_CHECKS);
    expect(o.ok).toBe(true);
  });
});

describe('refuses for exactly one cause', () => {
  test('no standby leader (Patroni names none)', async () => {
    world.current.roles.s1 = 'replica';
    const o = await gate();
    expect(failed(o)).toEqual(['standby leader found']);
    expect(o.checks).toHaveLength(1);
    expect(o.ok).toBe(false);
  });

  test('the standby leader does not answer SQL', async () => {
    world.current.down.add('s1');
    const o = await gate();
    expect(failed(o)).toEqual(['standby leader found']);
    expect(check(o, 'standby leader found')!.standby).toBe('none');
  });

  test('the standby cluster in maintenance mode', async () => {
    world.current.patroniPaused = true;
    const o = await gate();
    expect(failed(o)).toEqual(['Patroni not in maintenance mode (pause)']);
    // a failed check before the settle time ends the gate there: it does not wait for nothing
    expect(o.checks.map((c) => c.check)).toEqual(ALL_CHECKS.slice(0, 7));
  });

  test('the standby leader without a REST answer (maintenance mode unknown)', async () => {
    world.current.restDown.add('s1');
    const o = await gate();
    // without Patroni's word the node is not known to be the standby leader
    expect(failed(o)).toEqual(['standby leader found']);
  });

  test('another database (system identifier)', async () => {
    world.current.standbySystemId = '9999';
    const o = await gate();
    expect(failed(o)).toEqual(['same database system identifier']);
    expect(o.checks.at(-1)!.check).toBe('standby leader on the source timeline');
    expect(check(o, 'same database system identifier')).toMatchObject({ standby: '9999', source: '7301' });
  });

  test('another timeline', async () => {
    world.current.sourceTimeline = 2;
    const o = await gate();
    expect(failed(o)).toEqual(['standby leader on the source timeline']);
    expect(check(o, 'standby leader on the source timeline')).toMatchObject({ standby: '1', source: '2' });
    expect(o.checks).toHaveLength(4);
  });

  test('replay paused, with everything replayed', async () => {
    world.current.replayPaused = true;
    const o = await gate();
    expect(failed(o)).toEqual(['replay not paused (pg_is_wal_replay_paused)']);
    expect(o.checks).toHaveLength(7);
  });

  test('replay paused with WAL waiting: the wait ends at once', async () => {
    world.current.replayPaused = true;
    world.current.replay = START - 0x100n;
    const began = Date.now();
    const o = await gate({ catchUpTimeoutSeconds: 30 });
    expect(Date.now() - began).toBeLessThan(5000);
    expect(failed(o)).toEqual([
      'replay not paused (pg_is_wal_replay_paused)',
      'received <= replayed (no WAL waiting)',
      'replayed up to the source position',
    ]);
  });

  test('received WAL not replayed (recovery_min_apply_delay): the lag, named with the delay', async () => {
    world.current.applyDelayMs = 60000;
    world.current.replay = START - 0x100n;
    const o = await gate();
    expect(failed(o)).toEqual([
      'received <= replayed (no WAL waiting, recovery_min_apply_delay 60000 ms)',
      'replayed up to the source position',
    ]);
    expect(check(o, 'replayed up to the source position')!.source).toBe(`${text(START)} (gap 256 bytes)`);
    // behind on purpose: the gate says how to promote it, and what a promotion of it replays
    expect(o.notes).toEqual([
      's1 replays 60 s behind on purpose (recovery_min_apply_delay, link.recoveryMinApplyDelay): the gate waits for its replay; stop the writes on the source and give promotion.catchUpTimeoutSeconds more than the delay, or remove the delay and deploy first. A promotion replays what it held back at once, the change the delay was kept for included',
    ]);
  });

  test('a standby behind the source with nothing received (the stream is cut)', async () => {
    world.current.streaming = false;
    world.current.receive = START - 0x1000n;
    world.current.replay = START - 0x1000n;
    const o = await gate();
    expect(failed(o)).toEqual(['replayed up to the source position']);
    expect(o.notes).toEqual([]);
    // delayed, but with everything received replayed: the delay holds nothing back, no word of it
    world.current.applyDelayMs = 60000;
    expect((await gate()).notes).toEqual([]);
  });

  test('received WAL held back by a paused replay, no delay: refused, and no word of a delay', async () => {
    world.current.applyDelayMs = 0;
    world.current.replayPaused = true;
    world.current.replay = START - 0x100n;
    const o = await gate();
    expect(failed(o)).toContain('received <= replayed (no WAL waiting)');
    expect(o.notes.filter((n) => n.includes('on purpose'))).toEqual([]);
  });

  test('a standby 117 MB behind across a digit-count boundary (replayed 0/9000000, the source at 0/10000000): refused, the gap in bytes', async () => {
    const w = world.current;
    // the stream cut at 0/9000000, everything received replayed
    w.sourceLsn = 0x10000000n;
    w.streaming = false;
    w.receive = 0x9000000n;
    w.replay = 0x9000000n;
    const cut = await gate();
    expect(failed(cut)).toEqual(['replayed up to the source position']);
    expect(check(cut, 'replayed up to the source position')).toMatchObject({
      standby: '0/9000000',
      source: '0/10000000 (gap 117440512 bytes)',
    });
    // received up to the source's 0/10000000, replay held back at 0/9000000
    world.current = {
      ...freshWorld(),
      sourceLsn: 0x10000000n,
      receive: 0x10000000n,
      replay: 0x9000000n,
      applyDelayMs: 60000,
    };
    const held = await gate();
    expect(failed(held)).toEqual([
      'received <= replayed (no WAL waiting, recovery_min_apply_delay 60000 ms)',
      'replayed up to the source position',
    ]);
  });

  test('the source writing while the gate waits: named, with how much it moved', async () => {
    world.current.streaming = false;
    world.current.onSourceRead = (w) => {
      w.sourceLsn += 0x200n;
      w.nextXid += 1;
    };
    const o = await gate();
    expect(failed(o)).toEqual(['replayed up to the source position']);
    expect(o.notes).toEqual([
      expect.stringMatching(
        /^the source's WAL position moved [1-9]\d* bytes while the gate waited: stop the writes on the source first$/,
      ),
    ]);
  });

  test('a write during a settle time of 1 s, 300 ms into it', async () => {
    const o = await gate({ settleSeconds: 1 }, (m) => {
      if (m.includes('checking for 1 s that writes have stopped')) {
        setTimeout(() => {
          world.current.sourceLsn += 0x100n;
          world.current.nextXid += 1;
        }, 300);
      }
    });
    expect(failed(o)).toEqual(['no write on the source for 1 s (next transaction id)']);
  });

  test('a write during the settle time alone (the standby replays it)', async () => {
    const o = await gate({}, (m) => {
      if (m.includes('checking for 0 s that writes have stopped')) {
        world.current.sourceLsn += 0x100n;
        world.current.nextXid += 1;
      }
    });
    expect(failed(o)).toEqual(['no write on the source for 0 s (next transaction id)']);
    expect(check(o, 'no write on the source')!.source).toBe('750 -> 751');
  });

  test('WAL without a transaction after the settle (a checkpoint) that the standby has not replayed', async () => {
    const o = await gate({}, (m) => {
      if (m.startsWith('caught up')) {
        world.current.streaming = false;
        world.current.sourceLsn += 0x80n;
      }
    });
    expect(failed(o)).toEqual(['replayed up to the source position at the end']);
  });

  test('WAL after the settle that crosses a digit-count boundary (0/FFFFFF0 to 0/10000010), not replayed: refused at the end', async () => {
    world.current = { ...freshWorld(), sourceLsn: 0xffffff0n, receive: 0xffffff0n, replay: 0xffffff0n };
    const o = await gate({}, (m) => {
      if (m.startsWith('caught up')) {
        world.current.streaming = false;
        world.current.sourceLsn = 0x10000010n;
      }
    });
    expect(failed(o)).toEqual(['replayed up to the source position at the end']);
    expect(check(o, 'replayed up to the source position at the end')).toMatchObject({
      standby: '0/FFFFFF0',
      source: '0/10000010',
    });
  });

  test('an open write transaction on the source, named in a note', async () => {
    world.current.openWrites = [
      {
        pid: '4242',
        user_name: 'app',
        application_name: 'billing',
        client: '10.1.2.3',
        xid: '801',
        age_s: 12.5,
        state: 'idle in transaction',
      },
    ];
    const o = await gate();
    expect(failed(o)).toEqual(['no open write or prepared transaction on the source']);
    expect(o.notes).toEqual([
      'transaction 801 of pid 4242 by app from 10.1.2.3 (billing): open for 12.5 s, idle in transaction; it could commit after the detach: end it on the source first',
    ]);
  });

  test('only a prepared transaction on the source (no session holds it): refused, named in a note', async () => {
    world.current.prepared = [{ gid: 'tx-7', owner: 'app', xid: '802', age_s: 3 }];
    const o = await gate();
    expect(failed(o)).toEqual(['no open write or prepared transaction on the source']);
    expect(check(o, 'no open write')!.source).toBe('1 open');
    expect(o.notes).toEqual([
      'prepared transaction tx-7 (xid 802) by app: prepared 3 s ago; it could commit after the detach: COMMIT PREPARED or ROLLBACK PREPARED it on the source first',
    ]);
  });

  test('an open write and a prepared transaction: both counted and named, the oldest first', async () => {
    world.current.openWrites = [
      {
        pid: '4242',
        user_name: 'app',
        application_name: 'billing',
        client: '10.1.2.3',
        xid: '801',
        age_s: 1.5,
        state: 'idle in transaction',
      },
    ];
    world.current.prepared = [{ gid: 'tx-7', owner: 'app', xid: '802', age_s: 3 }];
    const o = await gate();
    expect(failed(o)).toEqual(['no open write or prepared transaction on the source']);
    expect(check(o, 'no open write')!.source).toBe('2 open');
    expect(o.notes.map((n) => n.split(':')[0])).toEqual([
      'prepared transaction tx-7 (xid 802) by app',
      'transaction 801 of pid 4242 by app from 10.1.2.3 (billing)',
    ]);
  });

  test('the source out of reach, no disaster declared', async () => {
    world.current.down.add('p1');
    world.current.down.add('p2');
    const o = await gate();
    expect(failed(o)).toEqual(['source cluster reachable']);
    expect(check(o, 'source cluster reachable')!.source).toMatch(
      /^no read-write leader \(p1: connection refused; p2: connection refused\)$/,
    );
    expect(o.notes).toEqual([expect.stringContaining('set link.promotion.disaster: true')]);
  });

  test('a source without a read-write leader (both members in recovery)', async () => {
    world.current.readWrite.delete('p1');
    const o = await gate();
    expect(failed(o)).toEqual(['source cluster reachable']);
    expect(check(o, 'source cluster reachable')!.source).toContain('p1: Leader, in recovery');
  });
});

describe('disaster promotion (the source is lost)', () => {
  beforeEach(() => {
    world.current.down.add('p1');
    world.current.down.add('p2');
    world.current.streaming = false;
  });

  test('passes when everything received is replayed, and prints the last known position', async () => {
    world.current.receive = START - 0x20n;
    world.current.replay = START - 0x20n;
    world.current.replayAgeSeconds = 41.6;
    const o = await gate({ disaster: true });
    expect(o.ok).toBe(true);
    expect(o.checks.map((c) => [c.check, c.ok])).toEqual([
      ['standby leader found', true],
      ['Patroni not in maintenance mode (pause)', true],
      ['source cluster reachable', true],
      ['replay not paused', true],
      ['everything received is replayed (replay >= receive)', true],
    ]);
    expect(o.ok).toBe(true);
    expect(o.notes).toEqual([
      `last known gap: the standby leader received up to ${text(START - 0x20n)} and replayed its last transaction 42 s ago; writes the source made after that are lost`,
    ]);
  });

  test('the last replay time unknown', async () => {
    world.current.replayAgeSeconds = null;
    const o = await gate({ disaster: true });
    expect(o.notes).toEqual([
      `last known gap: the standby leader received up to ${text(START)} and replayed its last transaction at an unknown time; writes the source made after that are lost`,
    ]);
  });

  test('waits for received WAL to be replayed', async () => {
    world.current.replay = START - 0x300n;
    world.current.replayStep = 0x100n;
    const o = await gate({ disaster: true, catchUpTimeoutSeconds: 5 });
    expect(failed(o)).toEqual([]);
    expect(world.current.replay).toBe(START);
  });

  test('refuses a paused replay', async () => {
    world.current.replayPaused = true;
    const o = await gate({ disaster: true });
    expect(failed(o)).toEqual(['replay not paused']);
    expect(o.ok).toBe(false);
  });

  test('refuses received WAL that is not replayed within the timeout', async () => {
    world.current.applyDelayMs = 3_600_000;
    world.current.replay = START - 0x100n;
    const o = await gate({ disaster: true, catchUpTimeoutSeconds: 0.3 });
    expect(failed(o)).toEqual(['everything received is replayed (replay >= receive)']);
  });

  test('refuses Patroni in maintenance mode', async () => {
    world.current.patroniPaused = true;
    const o = await gate({ disaster: true });
    expect(failed(o)).toEqual(['Patroni not in maintenance mode (pause)']);
  });

  test('a source that answers does not need the disaster path: the normal checks run', async () => {
    world.current.down.clear();
    world.current.streaming = true;
    const o = await gate({ disaster: true });
    expect(o.checks.map((c) => c.check)).toEqual(ALL_CHECKS);
  });
});

test('formatGate prints every figure and the notes', () => {
  const text = health.formatGate({
    ok: false,
    checks: [
      { check: 'same database system identifier', standby: '1', source: '2', ok: false },
      { check: 'standby leader found', standby: 's1', source: '', ok: true },
    ],
    notes: ['stop the writes'],
  });
  expect(text.split('\n').slice(0, 3)).toEqual([
    '+---------------------------------+----------------+---------------+--------+',
    '| check                           | standby leader | source leader | result |',
    '+---------------------------------+----------------+---------------+--------+',
  ]);
  expect(text).toMatch(/\| same database system identifier \| 1 +\| 2 +\| FAILED \|/);
  expect(text).toMatch(/\| standby leader found +\| s1 +\| +\| ok +\|/);
  expect(text.split('\n').at(-1)).toBe('note: stop the writes');
});

describe('collect (the figures behind status)', () => {
  const collect = (over: Partial<LinkHealthConfig> = {}) => health.collect(linkConfig(over));
  const named = (r: { nodes: NodeReport[] }, member: string): NodeReport => {
    const n = r.nodes.find((x) => x.member === member);
    if (!n) throw new Error(`no ${member} in the report`);
    return n;
  };

  test('a streaming link: healthy, every lag measured against the source leader, read last', async () => {
    const r = await collect();
    expect(r.healthy).toBe(true);
    expect(r.problems).toEqual([]);
    expect(r.source).toEqual({ cluster: 'dc1', leader: 'p1', currentLsn: text(START), timeline: 1 });
    expect(r.standby).toEqual({ cluster: 'dc2', leader: 's1' });
    expect(r.nodes.map((n) => [n.member, n.role, n.lagBytes, n.lagSeconds])).toEqual([
      ['p1', 'Leader', 0, 0],
      ['p2', 'Replica', 0, 0],
      ['s1', 'Standby Leader', 0, 0],
      ['s2', 'Replica', 0, 0],
    ]);
    expect(r.slot).toEqual({
      name: 'link_slot',
      present: true,
      active: true,
      walStatus: 'reserved',
      retainedBytes: 0,
      safeWalSize: null,
      consumer: 's1',
    });
    // the source position and the slot come after every node was read
    expect(world.current.log.slice(-2)).toEqual(['p1: source position', 'p1: slot link_slot']);
  });

  test('a lagging standby leader: bytes behind the source, seconds since its last replayed transaction', async () => {
    world.current.streaming = false;
    world.current.receive = START - 0x400n;
    world.current.replay = START - 0x400n;
    world.current.replayAgeSeconds = 7.26;
    const r = await collect();
    const s1 = named(r, 's1');
    expect([s1.lagBytes, s1.lagSeconds]).toEqual([1024, 7.3]);
    expect(r.problems).toEqual(['standby leader s1 is not streaming from the source (wal receiver: none)']);
  });

  test('unreachable members and a missing slot are named', async () => {
    world.current.down.add('s2');
    world.current.slot = undefined;
    const r = await collect();
    expect(r.healthy).toBe(false);
    expect(r.problems).toEqual([
      's2 (127.0.2.2:5432) is unreachable: connection refused',
      'the link slot link_slot does not exist on the source leader',
    ]);
    expect(r.nodes.find((n) => n.member === 's2')).toMatchObject({ role: 'Replica', reachable: false, lagBytes: null });
  });

  test('a slot about to lose WAL, with its safe size', async () => {
    world.current.slot = {
      active: true,
      wal_status: 'unreserved',
      safe_wal_size: '-1024',
      retained_bytes: '1073741824',
      consumer: 's1',
    };
    const r = await collect();
    expect(r.slot).toMatchObject({ walStatus: 'unreserved', retainedBytes: 1073741824, safeWalSize: -1024 });
    expect(r.problems).toEqual([
      'the link slot link_slot has wal_status unreserved: the source is about to remove WAL the standby needs (max_slot_wal_keep_size); if it does, the standby must be re-seeded',
    ]);
  });

  test('members that have not reached their DCS for longer than ttl: one line per cluster, the oldest contact', async () => {
    world.current.dcsSilence = { s1: 35, s2: 25, p2: 5 };
    const r = await collect();
    expect(named(r, 's1').dcsAgeSeconds).toBeGreaterThanOrEqual(35);
    expect(r.problems).toEqual([
      expect.stringMatching(
        /^s1, s2 of dc2 have not reached dc2's DCS for 3[5-7] s \(more than ttl, 20 s\): dc2 cannot fail over or take a configuration change until its DCS answers$/,
      ),
    ]);
    world.current.dcsSilence = { p1: 21 };
    expect((await collect()).problems).toEqual([
      expect.stringMatching(/^p1 of dc1 has not reached dc1's DCS for 2[1-3] s/),
    ]);
  });

  test("the DCS silence is measured on the member's clock: a deploying machine 5 minutes behind (or ahead) sees no silence that is not there", async () => {
    world.current.memberClockAhead = 300;
    const ahead = await collect();
    expect(ahead.problems).toEqual([]);
    expect(ahead.nodes.map((n) => n.dcsAgeSeconds)).toEqual([1, 1, 1, 1]);
    world.current.memberClockAhead = -300;
    world.current.dcsSilence = { s2: 40 };
    const behind = await collect();
    expect(behind.problems).toEqual([expect.stringMatching(/^s2 of dc2 has not reached dc2's DCS for 40 s/)]);
  });

  test('the source out of reach: no leader, no slot figures', async () => {
    world.current.down.add('p1');
    world.current.down.add('p2');
    const r = await collect();
    expect(r.source.leader).toBeNull();
    expect(r.slot).toBeNull();
    expect(r.problems).toContain('the source cluster dc1 has no reachable read-write leader');
  });

  test('detached: the promoted cluster is measured against its own leader', async () => {
    world.current.readWrite.add('s1');
    world.current.roles.s1 = 'primary';
    world.current.slot = undefined;
    const r = await collect({ state: 'detached' });
    expect(r.standby.leader).toBe('s1');
    expect(r.problems).toEqual([]);
    expect(named(r, 's2').lagBytes).toBe(0);
  });
});

describe('the gate as a program (runGate): exit code, output and the table', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      streams: [{ write: (t: string) => out.push(t) }, { write: (t: string) => err.push(t) }] as const,
    };
  };
  beforeEach(() => {
    world.current = freshWorld();
  });
  // LINK_HEALTH_CONFIG as the stacks write it: the fake's settle time of 0 s (which keeps the gate's
  // own tests fast) is below the contract's minimum, 1 s
  const programConfig = () => JSON.stringify(linkConfig({ settleSeconds: 1 }));

  test('passes: 0, the table and "passed" on stdout, nothing on stderr', async () => {
    const { out, err, streams } = io();
    expect(await health.runGate({ LINK_HEALTH_CONFIG: programConfig() }, ...streams)).toBe(0);
    expect(out.join('')).toMatch(
      /^\[promotion gate\] checking that promoting dc2 loses no write of dc1\n\[promotion gate\] caught up at 0\/3000060; checking for 1 s that writes have stopped on the source\n\+-+/,
    );
    expect(out.join('')).toMatch(/\[promotion gate\] passed: the detach may proceed\n$/);
    expect(err).toEqual([]);
  });

  test('refuses: 1, the failed checks named on stderr', async () => {
    world.current.patroniPaused = true;
    world.current.standbySystemId = '9';
    const { out, err, streams } = io();
    expect(await health.runGate({ LINK_HEALTH_CONFIG: programConfig() }, ...streams)).toBe(1);
    expect(err.join('')).toMatch(
      /\[promotion gate\] REFUSED \(Patroni not in maintenance mode \(pause\); same database system identifier\): the standby cluster was left as it is\n$/,
    );
    expect(out.join('')).not.toContain('passed');
  });

  /** LINK_HEALTH_CONFIG as the stacks write it, changed by `edit` (a field removed, renamed, ...). */
  const edited = (edit: (c: Record<string, unknown> & { source: Record<string, unknown> }) => void): string => {
    const c = JSON.parse(programConfig());
    edit(c);
    return JSON.stringify(c);
  };
  /** Runs the gate on `env`: it must refuse with exit 2, print nothing on stdout and read nothing. */
  const refusedConfig = async (env: Record<string, string>): Promise<string> => {
    const { out, err, streams } = io();
    expect(await health.runGate(env, ...streams)).toBe(2);
    expect(out).toEqual([]);
    expect(world.current.log).toEqual([]);
    return err.join('');
  };
  const MISMATCH =
    "link-health: LINK_HEALTH_CONFIG does not match this program's configuration (the stacks and the program are of different versions?): ";

  test('no configuration: exit 2, the variable named', async () => {
    expect(await refusedConfig({})).toBe(
      "link-health: LINK_HEALTH_CONFIG is not set: this program is run by the stacks' planned resources, which set it\n",
    );
    expect(await refusedConfig({ LINK_HEALTH_CONFIG: ' ' })).toContain('LINK_HEALTH_CONFIG is not set');
  });

  test('a configuration that is not JSON: exit 2, the variable named', async () => {
    expect(await refusedConfig({ LINK_HEALTH_CONFIG: '{state: following' })).toMatch(
      /^link-health: LINK_HEALTH_CONFIG is not JSON: .+\n$/,
    );
  });

  test('a configuration without source.nodes: exit 2, the variable and the field named', async () => {
    const text = edited((c) => delete c.source.nodes);
    expect(await refusedConfig({ LINK_HEALTH_CONFIG: text })).toBe(
      `${MISMATCH}source.nodes: Invalid input: expected array, received undefined\n`,
    );
  });

  test('a renamed field (settleSeconds as settleSecs): exit 2, the missing field and the unknown one named', async () => {
    const text = edited((c) => {
      c.settleSecs = c.settleSeconds;
      delete c.settleSeconds;
    });
    expect(await refusedConfig({ LINK_HEALTH_CONFIG: text })).toBe(
      `${MISMATCH}settleSeconds: Invalid input: expected number, received undefined; (root): Unrecognized key: "settleSecs"\n`,
    );
  });

  test('a value the contract does not know (state: promoted): exit 2, the field named', async () => {
    const text = edited((c) => (c.state = 'promoted'));
    expect(await refusedConfig({ LINK_HEALTH_CONFIG: text })).toMatch(
      /^link-health: LINK_HEALTH_CONFIG does not match .*: state: .+\n$/,
    );
  });
});
