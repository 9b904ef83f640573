/**
 * How link-health.ts reads a link (query, readNode, collect, errorText) against a `pg` Client and a
 * Patroni REST API made up here, per host, so that each test can give one member exactly the
 * answer (or the failure) it needs: a REST answer without a state or a date, a source position
 * query that fails after the member was read, a standby leader Patroni does not name.
 */
import type { HealthNode } from '../../runtime/contract';
import { collect, errorText, fieldsOf, nodeNamed, query, readNode } from '../../runtime/link-health';
import type { LinkView, NodeReport } from '../../runtime/link-health';

type Row = Record<string, unknown>;
/** What one host answers; an Error is what the call rejects with. */
interface MockHost {
  refuse?: Error;
  node?: Row | Error;
  position?: Row | Error;
  slot?: Row[];
  rest?: { body: unknown; at: number | undefined };
  /** GET /history. */
  history?: unknown;
}
/** One client the code made: its options, the queries it ran, whether it was ended. */
interface MockClientLog {
  opts: { host: string; port: number; user: string; database: string; connectionTimeoutMillis: number };
  queries: string[];
  ended: boolean;
}
const mockDb = { hosts: new Map<string, MockHost>(), clients: [] as MockClientLog[] };
const mockHost = (host: string): MockHost => mockDb.hosts.get(host) ?? {};

jest.mock('pg', () => {
  const { EventEmitter } = jest.requireActual<typeof import('node:events')>('node:events');
  class Client extends EventEmitter {
    private readonly log: MockClientLog;
    constructor(opts: MockClientLog['opts']) {
      super();
      this.log = { opts, queries: [], ended: false };
      mockDb.clients.push(this.log);
    }
    async connect(): Promise<void> {
      const refuse = mockHost(this.log.opts.host).refuse;
      if (refuse) throw refuse;
    }
    async query(sql: string): Promise<{ rows: Row[] }> {
      const h = mockHost(this.log.opts.host);
      const kind = sql.includes('pg_snapshot_xmax')
        ? 'position'
        : sql.includes('pg_replication_slots')
          ? 'slot'
          : sql.includes('as in_recovery')
            ? 'node'
            : 'other';
      this.log.queries.push(kind);
      const answer = kind === 'other' ? [{ one: 1 }] : kind === 'slot' ? h.slot : h[kind];
      if (answer instanceof Error) throw answer;
      if (answer === undefined) throw new Error(`${this.log.opts.host} has no ${kind} answer`);
      return { rows: Array.isArray(answer) ? answer : [answer] };
    }
    async end(): Promise<void> {
      this.log.ended = true;
    }
  }
  return { Client };
});
const restCalls: string[] = [];
jest.mock('../../runtime/rest-client', () => ({
  getJsonAt: async (url: string) => {
    const u = new URL(url);
    restCalls.push(`${u.hostname}${u.pathname}`);
    const h = mockHost(u.hostname);
    if (u.pathname === '/history') return { body: h.history, at: undefined };
    return h.rest ?? { body: undefined, at: undefined };
  },
}));

const HOST = { p1: '127.0.1.1', p2: '127.0.1.2', s1: '127.0.2.1', s2: '127.0.2.2' } as const;
type Member = keyof typeof HOST;
const member = (name: Member): HealthNode => ({
  name,
  host: HOST[name],
  port: 5432,
  rest: `http://${HOST[name]}:8008`,
});
const NOW = 1_700_000_000;

const leaderRow = (lsn: string): Row => ({
  in_recovery: false,
  system_id: '7301',
  current_lsn: lsn,
  receive_lsn: null,
  replay_lsn: null,
  replay_paused: false,
  replay_age_s: null,
  apply_delay_ms: 0,
  timeline: 3,
  receiver_status: null,
  receiver_silence_s: null,
  sender_host: null,
});
const replicaRow = (sender: Member, lsn: string, ageSeconds: number | null = 0.2): Row => ({
  in_recovery: true,
  system_id: '7301',
  current_lsn: null,
  receive_lsn: lsn,
  replay_lsn: lsn,
  replay_paused: false,
  replay_age_s: ageSeconds,
  apply_delay_ms: 0,
  timeline: 3,
  receiver_status: 'streaming',
  receiver_silence_s: 0.3,
  sender_host: HOST[sender],
});
const patroni = (role: string, over: Row = {}): MockHost['rest'] => ({
  body: { role, state: 'running', pause: false, dcs_last_seen: NOW - 2, ...over },
  at: NOW,
});

/** A streaming link: p1 leads dc1 at 0/3000800 (its node row is older: 0/3000400), s1 leads dc2. */
beforeEach(() => {
  mockDb.clients = [];
  restCalls.length = 0;
  mockDb.hosts = new Map<string, MockHost>([
    [
      HOST.p1,
      {
        node: leaderRow('0/3000400'),
        position: { current_lsn: '0/3000800', next_xid: '750', timeline: 3, system_id: '7301' },
        slot: [{ active: true, wal_status: 'reserved', safe_wal_size: null, retained_bytes: '0', consumer: 's1' }],
        rest: patroni('primary'),
      },
    ],
    [HOST.p2, { node: replicaRow('p1', '0/3000800'), rest: patroni('replica') }],
    [HOST.s1, { node: replicaRow('p1', '0/3000000', 1.26), rest: patroni('standby_leader') }],
    [HOST.s2, { node: replicaRow('s1', '0/3000000'), rest: patroni('replica') }],
  ]);
});
const host = (m: Member): MockHost => mockDb.hosts.get(HOST[m])!;

const view = (over: Partial<LinkView> = {}): LinkView => ({
  user: 'monitor',
  state: 'following',
  slotName: 'link_slot',
  source: { name: 'dc1', ttl: 20, nodes: [member('p1'), member('p2')] },
  standby: { name: 'dc2', ttl: 20, nodes: [member('s1'), member('s2')] },
  ...over,
});
const named = (r: { nodes: NodeReport[] }, m: Member): NodeReport => r.nodes.find((n) => n.member === m)!;

describe('query: one connection per query', () => {
  test('connects to postgres as the configured user, in 3 s unless the caller gives a timeout', async () => {
    expect(await query(member('p1'), { user: 'monitor' }, 'select 1 as one')).toEqual([{ one: 1 }]);
    await query(member('p1'), { user: 'monitor', connectTimeoutMs: 1000 }, 'select 1 as one');
    expect(mockDb.clients.map((c) => c.opts)).toMatchObject([
      { host: HOST.p1, port: 5432, user: 'monitor', database: 'postgres', connectionTimeoutMillis: 3000 },
      { connectionTimeoutMillis: 1000 },
    ]);
  });

  test('closes its connection after the answer, and after a query that fails', async () => {
    await query(member('p1'), { user: 'monitor' }, 'select 1 as one');
    host('p1').node = new Error('canceling statement due to statement timeout');
    await expect(query(member('p1'), { user: 'monitor' }, 'select pg_is_in_recovery() as in_recovery')).rejects.toThrow(
      'canceling statement due to statement timeout',
    );
    expect(mockDb.clients.map((c) => c.ended)).toEqual([true, true]);
  });
});

describe('errorText: the first line of why a member cannot be read', () => {
  test('a refused connection reads "connection refused"; an error otherwise gives its message, first line only', () => {
    expect(errorText(Object.assign(new Error('connect ECONNREFUSED 127.0.1.1:5432'), { code: 'ECONNREFUSED' }))).toBe(
      'connection refused',
    );
    expect(errorText(new Error('password authentication failed for user "monitor"\nDETAIL: x'))).toBe(
      'password authentication failed for user "monitor"',
    );
  });

  test("an error without a message of its own: its cause's code, else its cause's message", () => {
    expect(errorText(new Error('', { cause: Object.assign(new Error('x'), { code: 'ETIMEDOUT' }) }))).toBe('ETIMEDOUT');
    expect(errorText(new Error('', { cause: { code: 'ENOTFOUND' } }))).toBe('ENOTFOUND');
    expect(errorText(new Error('', { cause: new Error('socket hang up\nat ...') }))).toBe('socket hang up');
    expect(errorText(new Error('fetch failed', { cause: { code: 'ECONNRESET' } }))).toBe('fetch failed');
  });

  test('a rejection that is not an Error: the value itself, first line only', () => {
    expect(errorText('the server closed the connection\nunexpectedly')).toBe('the server closed the connection');
    expect(errorText(undefined)).toBe('undefined');
    expect(errorText(null)).toBe('null');
  });
});

test('fieldsOf: a JSON object, and nothing for null, a string or a number', () => {
  expect(fieldsOf({ role: 'replica' })).toEqual({ role: 'replica' });
  expect([fieldsOf(null), fieldsOf('Bad Gateway'), fieldsOf(42)]).toEqual([undefined, undefined, undefined]);
});

test('nodeNamed: the member of that name; a name not in the configuration is an error that names it', () => {
  expect(nodeNamed([member('s1'), member('s2')], 's2')).toEqual(member('s2'));
  expect(() => nodeNamed([member('s1')], 's9')).toThrow('no member named s9 in the configuration');
});

describe('readNode: Patroni and PostgreSQL of one member', () => {
  test('every figure of a streaming replica, in patronictl words', async () => {
    expect(await readNode(member('s1'), { user: 'monitor' }, 'dc2')).toEqual({
      cluster: 'dc2',
      member: 's1',
      host: HOST.s1,
      port: 5432,
      role: 'Standby Leader',
      state: 'running',
      patroniPaused: false,
      reachable: true,
      error: undefined,
      inRecovery: true,
      systemId: '7301',
      timeline: 3,
      currentLsn: null,
      receiveLsn: '0/3000000',
      replayLsn: '0/3000000',
      replayPaused: false,
      replayAgeSeconds: 1.26,
      applyDelayMs: 0,
      receiverStatus: 'streaming',
      receiverSilenceSeconds: 0.3,
      senderHost: HOST.p1,
      dcsAgeSeconds: 2,
    });
  });

  test('a Patroni state that is not a string is no state', async () => {
    host('s2').rest = patroni('replica', { state: 5 });
    expect((await readNode(member('s2'), { user: 'monitor' }, 'dc2')).state).toBeUndefined();
  });

  test('REST down, PostgreSQL up: "no REST answer", role from recovery, pause and DCS contact unknown', async () => {
    host('s2').rest = undefined;
    host('p1').rest = undefined;
    expect(await readNode(member('s2'), { user: 'monitor' }, 'dc2')).toMatchObject({
      role: 'Replica',
      state: 'no REST answer',
      patroniPaused: null,
      reachable: true,
      dcsAgeSeconds: null,
    });
    expect(await readNode(member('p1'), { user: 'monitor' }, 'dc1')).toMatchObject({ role: 'Leader' });
  });

  test('a REST answer that is not an object (a proxy\'s "Bad Gateway"): as no REST answer', async () => {
    host('s2').rest = { body: 'Bad Gateway', at: NOW };
    expect(await readNode(member('s2'), { user: 'monitor' }, 'dc2')).toMatchObject({
      role: 'Replica',
      state: 'no REST answer',
      patroniPaused: null,
    });
  });

  test('neither answers: "unreachable", role unknown, the error, every figure unknown', async () => {
    host('s2').rest = undefined;
    host('s2').refuse = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(await readNode(member('s2'), { user: 'monitor' }, 'dc2')).toMatchObject({
      role: 'unknown',
      state: 'unreachable',
      reachable: false,
      error: 'connection refused',
      inRecovery: null,
      replayLsn: null,
      senderHost: null,
    });
  });

  test("PostgreSQL down, Patroni up: Patroni's role and state, the error", async () => {
    host('s2').rest = patroni('replica', { state: 'starting' });
    host('s2').node = new Error('the database system is starting up');
    expect(await readNode(member('s2'), { user: 'monitor' }, 'dc2')).toMatchObject({
      role: 'Replica',
      state: 'starting',
      reachable: false,
      error: 'the database system is starting up',
      inRecovery: null,
    });
  });

  test('the DCS contact: unknown when dcs_last_seen is 0, negative or not a number', async () => {
    for (const seen of [0, -5, String(NOW - 2)]) {
      host('s2').rest = patroni('replica', { dcs_last_seen: seen });
      expect((await readNode(member('s2'), { user: 'monitor' }, 'dc2')).dcsAgeSeconds).toBeNull();
    }
    host('s2').rest = patroni('replica', { dcs_last_seen: NOW - 1 });
    expect((await readNode(member('s2'), { user: 'monitor' }, 'dc2')).dcsAgeSeconds).toBe(1);
  });

  test("an answer without a Date: the DCS contact measured on this machine's clock", async () => {
    host('s2').rest = { body: { role: 'replica', dcs_last_seen: Date.now() / 1000 - 30 }, at: undefined };
    const age = (await readNode(member('s2'), { user: 'monitor' }, 'dc2')).dcsAgeSeconds;
    expect(age).toBeGreaterThanOrEqual(30);
    expect(age).toBeLessThanOrEqual(31);
  });
});

describe('collect: the whole link', () => {
  test('lags against the source position read last, seconds from the replay age to 0.1 s, the slot', async () => {
    const r = await collect(view());
    expect(r.source).toEqual({ cluster: 'dc1', leader: 'p1', currentLsn: '0/3000800', timeline: 3 });
    expect(r.standby).toEqual({ cluster: 'dc2', leader: 's1' });
    expect(r.nodes.map((n) => [n.member, n.lagBytes, n.lagSeconds])).toEqual([
      ['p1', 0, 0],
      ['p2', 0, 0],
      ['s1', 2048, 1.3],
      ['s2', 2048, 0.2],
    ]);
    expect(r.slot).toMatchObject({ name: 'link_slot', present: true, active: true });
    expect(mockDb.clients.filter((c) => c.opts.host === HOST.p1).map((c) => c.queries)).toEqual([
      ['node'],
      ['position'],
      ['slot'],
    ]);
  });

  test('source position failing after the node read: the leader unreachable with the error, no slot', async () => {
    host('p1').position = new Error('terminating connection due to administrator command\nDETAIL: fenced');
    const r = await collect(view());
    expect(named(r, 'p1')).toMatchObject({
      reachable: false,
      error: 'terminating connection due to administrator command',
    });
    expect(r.slot).toBeNull();
    expect(r.healthy).toBe(false);
    expect(r.problems).toContain(
      'p1 (127.0.1.1:5432) is unreachable: terminating connection due to administrator command',
    );
    expect(mockDb.clients.flatMap((c) => c.queries)).not.toContain('slot');
  });

  test("a standby replica replaying an older timeline: where that timeline ended on the source, from the source leader's GET /history", async () => {
    // the source on timeline 3; s2 replays timeline 1 (Patroni's word; SQL reads the restartpoint's 2)
    // up to 0/3000000, past where timeline 1 ended (0/2000000), before where timeline 2 did
    host('s2').node = { ...replicaRow('s1', '0/3000000'), timeline: 2, receiver_status: 'waiting' };
    host('s2').rest = patroni('replica', { timeline: 1 });
    host('p1').history = [
      [1, 33554432, 'no recovery target specified', '2026-12-06T08:00:00+00:00', 'p2'],
      [2, 50331904, 'no recovery target specified', '2026-12-06T08:10:00+00:00', 'p1'],
    ];
    const r = await collect(view());
    expect(restCalls.filter((c) => c.endsWith('/history'))).toEqual([`${HOST.p1}/history`]);
    expect(named(r, 's2')).toMatchObject({ timeline: 2, patroniTimeline: 1, timelineEndLsn: '0/2000000' });
    expect(r.problems).toEqual([
      expect.stringMatching(
        /^s2 is on timeline 1, its standby leader s1 on 3 \(wal receiver: waiting\): it replayed WAL up to 0\/3000000, past 0\/2000000 where timeline 1 ended on the source/,
      ),
    ]);
    // no history (the REST API does not answer): nothing said of a fork
    host('p1').history = undefined;
    expect((await collect(view())).problems).toEqual(['s2 is not streaming (wal receiver: waiting)']);
    // a detached link, or a source leader that does not answer its position: no history read
    restCalls.length = 0;
    await collect(view({ state: 'detached', slotName: undefined }));
    host('p1').position = new Error('gone');
    await collect(view());
    expect(restCalls.filter((c) => c.endsWith('/history'))).toEqual([]);
  });

  test('a streaming link reads no history', async () => {
    await collect(view());
    expect(restCalls.filter((c) => c.endsWith('/history'))).toEqual([]);
    expect(named(await collect(view()), 's2').timelineEndLsn).toBeUndefined();
  });

  test('no slot name (the role change reads the link without one): no slot read, no slot figures', async () => {
    const r = await collect(view({ slotName: undefined }));
    expect(r.slot).toBeNull();
    expect(r.healthy).toBe(true);
    expect(mockDb.clients.flatMap((c) => c.queries)).not.toContain('slot');
  });

  test('standby leader: the member Patroni names so, even after a replica streaming from the source', async () => {
    host('s1').rest = patroni('replica');
    host('s2').rest = patroni('standby_leader');
    host('s2').node = replicaRow('p1', '0/3000000');
    expect((await collect(view())).standby.leader).toBe('s2');
  });

  test("without Patroni's word: the member in recovery streaming from a source node, not a cascading one", async () => {
    host('s1').rest = undefined;
    host('s2').rest = undefined;
    host('s1').node = replicaRow('s2', '0/3000000');
    host('s2').node = replicaRow('p2', '0/3000000');
    expect((await collect(view())).standby.leader).toBe('s2');
  });

  test("without Patroni's word: a read-write member is no standby leader, whatever its receiver row says", async () => {
    host('s1').rest = undefined;
    host('s2').rest = undefined;
    host('s1').node = { ...leaderRow('0/3000000'), sender_host: HOST.p1 };
    host('s2').node = replicaRow('p1', '0/3000000');
    expect((await collect(view())).standby.leader).toBe('s2');
  });

  test('no standby leader at all: none named, and the problem says so', async () => {
    host('s1').rest = undefined;
    host('s2').rest = undefined;
    host('s1').node = replicaRow('s2', '0/3000000');
    const r = await collect(view());
    expect(r.standby.leader).toBeNull();
    expect(r.problems).toContain('the standby cluster dc2 has no standby leader');
  });

  test('detached: the promoted cluster measured against its own leader, the source against its own', async () => {
    host('s1').rest = patroni('primary');
    host('s1').node = { ...leaderRow('0/5000000'), system_id: '7301' };
    host('s2').node = replicaRow('s1', '0/4FFFF00', 0.5);
    host('p2').node = replicaRow('p1', '0/3000000', 0.7);
    const r = await collect(view({ state: 'detached', slotName: undefined }));
    expect(r.standby).toEqual({ cluster: 'dc2', leader: 's1' });
    expect(r.nodes.map((n) => [n.member, n.lagBytes, n.lagSeconds])).toEqual([
      ['p1', 0, 0],
      ['p2', 2048, 0.7],
      ['s1', 0, 0],
      ['s2', 256, 0.5],
    ]);
  });

  test('no source leader: no lag in bytes nor in seconds, though the replicas know their replay age', async () => {
    host('p1').refuse = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const r = await collect(view());
    expect(r.source.leader).toBeNull();
    expect(r.nodes.map((n) => [n.member, n.lagBytes, n.lagSeconds])).toEqual([
      ['p1', null, null],
      ['p2', null, null],
      ['s1', null, null],
      ['s2', null, null],
    ]);
  });

  test('a delayed standby leader (recovery_min_apply_delay): its lag is what it has not received, and its replay age beyond the delay', async () => {
    // received everything the source flushed, replay held back 30 s on purpose
    host('s1').node = { ...replicaRow('p1', '0/3000800', 31.46), replay_lsn: '0/3000000', apply_delay_ms: 30000 };
    expect(named(await collect(view()), 's1')).toMatchObject({ lagBytes: 0, lagSeconds: 0 });
    // 0x400 bytes not received yet: behind by 1.5 s beyond the delay
    host('s1').node = { ...replicaRow('p1', '0/3000400', 31.46), replay_lsn: '0/3000000', apply_delay_ms: 30000 };
    expect(named(await collect(view()), 's1')).toMatchObject({ lagBytes: 1024, lagSeconds: 1.5 });
    // no delay: the replay position, as always
    host('s1').node = { ...replicaRow('p1', '0/3000800', 31.46), replay_lsn: '0/3000000', apply_delay_ms: 0 };
    expect(named(await collect(view()), 's1')).toMatchObject({ lagBytes: 2048, lagSeconds: 31.5 });
  });

  test('behind with no replay age (nothing replayed since the start): bytes behind, seconds unknown', async () => {
    host('s1').node = replicaRow('p1', '0/3000000', null);
    expect(named(await collect(view()), 's1')).toMatchObject({ lagBytes: 2048, lagSeconds: null });
  });
});
