/**
 * The pure part of programs/switchover.cjs: where two clusters' timeline histories part (the
 * bytes a rejoin throws away are counted from there).
 */

export {}; // a module: its names stay its own

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { divergencePoint } = require('../../programs/switchover.cjs');

// Patroni's GET /history rows: [timeline, end LSN, reason, timestamp, new leader]
const row = (tl: number, lsn: number) => [tl, lsn, 'no recovery target specified', '2026-11-26T10:00:00+00:00', 'x'];

describe('divergence point of two timeline histories', () => {
  test('the promoted side left timeline 3 at 500; the other went on on 3: they part at 500', () => {
    expect(divergencePoint([row(1, 100), row(2, 300), row(3, 500)], [row(1, 100), row(2, 300)])).toBe(500n);
  });
  test('both left timeline 3, at different points (the lost side restarted and promoted itself): the lower end', () => {
    expect(divergencePoint([row(1, 100), row(2, 300), row(3, 500)], [row(1, 100), row(2, 300), row(3, 800)])).toBe(500n);
    expect(divergencePoint([row(1, 100), row(2, 300), row(3, 900)], [row(1, 100), row(2, 300), row(3, 800)])).toBe(800n);
  });
  test('an earlier difference wins over later ones', () => {
    expect(divergencePoint([row(1, 100), row(2, 300)], [row(1, 150), row(2, 300)])).toBe(100n);
  });
  test('LSNs beyond 32 bits stay exact', () => {
    expect(divergencePoint([row(1, 2 ** 40 + 5)], [])).toBe(BigInt(2 ** 40 + 5));
  });
  test('the same history on both sides: no fork', () => {
    expect(divergencePoint([row(1, 100)], [row(1, 100)])).toBeUndefined();
  });
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { run } = require('../../programs/switchover.cjs');

type Side = { reachable: boolean; standby: boolean; lsn: string; timeline: number; history: unknown[]; members: string[] };

/**
 * Two fake clusters with the role step's view of them (REST and SQL): a PATCH with a
 * standby_cluster block makes a cluster a standby cluster, `null` promotes it; every call is kept.
 */
function fakeClusters(sides: Record<'dc1' | 'dc2', Side>, gateProblems: string[] = []) {
  const calls: string[] = [];
  const hostOf = (name: string) => (name === 'dc1' ? '10.0.1.1' : '10.0.2.1');
  const leaderOf = (name: 'dc1' | 'dc2') => sides[name].members[0];
  const io = {
    look: async (c: { name: 'dc1' | 'dc2' }) => {
      const s = sides[c.name];
      if (!s.reachable) return { reachable: false };
      const leader = { name: leaderOf(c.name), role: s.standby ? 'standby_leader' : 'leader' };
      const members = [leader, ...s.members.slice(1).map((m) => ({ name: m, role: 'replica', state: 'running' }))];
      return { reachable: true, config: s.standby ? { standby_cluster: { host: 'x' } } : {}, members, leader, standby: s.standby, primary: !s.standby };
    },
    patch: async (c: { name: 'dc1' | 'dc2' }, body: Record<string, unknown>) => {
      calls.push(`${c.name} ${JSON.stringify(body)}`);
      if ('standby_cluster' in body) sides[c.name].standby = body.standby_cluster !== null;
    },
    post: async (c: { name: string }, _m: unknown, endpoint: string, _body?: unknown, member?: string) => {
      calls.push(`${c.name} POST ${endpoint}${member ? ` ${member}` : ''}`);
    },
    position: async (c: { name: 'dc1' | 'dc2' }, member: string) => ({ member, inRecovery: sides[c.name].standby, replayLsn: sides[c.name].lsn, timeline: sides[c.name].timeline }),
    readMember: async (c: { name: 'dc1' | 'dc2' }, member: string) => {
      const s = sides[c.name];
      const other = c.name === 'dc1' ? 'dc2' : 'dc1';
      return { member, reachable: true, inRecovery: s.standby, timeline: s.timeline, currentLsn: s.lsn, receiverStatus: s.standby ? 'streaming' : null, senderHost: s.standby ? hostOf(other) : null };
    },
    gate: async () => ({ problems: gateProblems }),
    history: async (c: { name: 'dc1' | 'dc2' }) => sides[c.name].history,
  };
  return { io, calls };
}

const cluster = (name: string, host: string) => ({ name, scope: 'pg', restPasswordEnv: 'X', nodes: [{ name: `${name}a`, host, port: 5432, rest: `http://${host}:8008` }] });
const cfg = {
  role: 'source',
  me: cluster('dc2', '10.0.2.1'),
  other: cluster('dc1', '10.0.1.1'),
  slotName: 'link',
  block: { host: '10.0.2.1', port: 5432, primary_slot_name: 'link' },
  user: 'monitor',
  maxLagBytes: 1024,
  catchUpTimeoutSeconds: 1,
  followTimeoutSeconds: 1,
  acceptDataLoss: false,
};
const side = (over: Partial<Side>): Side => ({ reachable: true, standby: false, lsn: '0/100', timeline: 1, history: [], members: ['x'], ...over });

describe('the role step, one cause at a time (fake clusters)', () => {
  let out: jest.SpyInstance;
  beforeEach(() => (out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true)));
  afterEach(() => out.mockRestore());

  test('planned switchover: reverse slot, fence, promote, old slot released, in that order', async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) });
    await run(cfg, f.io);
    expect(f.calls).toEqual([
      'dc2 {"slots":{"link":{"type":"physical"}}}',
      'dc1 {"standby_cluster":{"host":"10.0.2.1","port":5432,"primary_slot_name":"link"}}',
      'dc2 {"standby_cluster":null}',
      'dc1 {"slots":{"link":null}}',
    ]);
  });

  test("the target has not replayed the old source's last position: the fence is undone, nothing promoted", async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'], lsn: '0/100' }), dc2: side({ standby: true, members: ['dc2a'], lsn: '0/80' }) });
    await expect(run(cfg, f.io)).rejects.toThrow(/REFUSED: dc2's standby leader replayed 0\/80, not dc1's last position 0\/100, within 1 s: the fence was undone \(dc1 is the primary again, nothing lost\)/);
    expect(f.calls.slice(1)).toEqual(['dc1 {"standby_cluster":{"host":"10.0.2.1","port":5432,"primary_slot_name":"link"}}', 'dc1 {"standby_cluster":null}']);
  });

  test('a gate problem: refused before anything is sent', async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) }, ['replay is paused on standby leader dc2a']);
    await expect(run(cfg, f.io)).rejects.toThrow(/REFUSED: the link is not ready for a switchover:\n  - replay is paused on standby leader dc2a\nnothing was changed on either side/);
    expect(f.calls).toEqual([]);
  });

  test('the source unreachable: refused (a lost data center is a disaster promotion, not a switchover)', async () => {
    const f = fakeClusters({ dc1: side({ reachable: false }), dc2: side({ standby: true, members: ['dc2a'] }) });
    await expect(run(cfg, f.io)).rejects.toThrow(/REFUSED: dc1 does not answer, so nothing proves dc2 has its last writes/);
    expect(f.calls).toEqual([]);
  });

  test('a new deployment (nothing answers) and roles already as the topology says: nothing to do', async () => {
    for (const sides of [{ dc1: side({ reachable: false }), dc2: side({ reachable: false }) }, { dc1: side({ standby: true, members: ['dc1a'] }), dc2: side({ members: ['dc2a'] }) }]) {
      const f = fakeClusters(sides);
      await run(cfg, f.io);
      expect(f.calls).toEqual([]);
    }
  });

  test('a run that stopped after its fence (both standby clusters): resumed, the target promoted once caught up', async () => {
    const f = fakeClusters({ dc1: side({ standby: true, members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) });
    await run(cfg, f.io);
    expect(f.calls).toEqual(['dc2 {"standby_cluster":null}', 'dc1 {"slots":{"link":null}}']);
  });

  test('rejoin of a diverged cluster: refused with the byte count unless the loss is accepted', async () => {
    const sides = { dc1: side({ members: ['dc1a'], lsn: '0/180', timeline: 1, history: [] }), dc2: side({ members: ['dc2a'], lsn: '0/200', timeline: 2, history: [[1, 0x100, 'r', 't', 'x']] }) };
    const f = fakeClusters(sides);
    await expect(run(cfg, f.io)).rejects.toThrow(/REFUSED: rejoining dc1 throws away the 128 bytes of WAL it wrote after 0\/100 \(pg_rewind\)/);
    expect(f.calls).toEqual([]);
  });

  test('rejoin accepted: the diverged cluster is moved above the new timeline first, then demoted', async () => {
    const sides = { dc1: side({ members: ['dc1a', 'dc1b'], lsn: '0/180', timeline: 2, history: [[1, 0x100, 'r', 't', 'x']] }), dc2: side({ members: ['dc2a'], lsn: '0/200', timeline: 2, history: [[1, 0x90, 'r', 't', 'x']] }) };
    const f = fakeClusters(sides);
    // the fake's switchover inside dc1 moves its timeline up
    const post = f.io.post;
    f.io.post = async (c: { name: string }, m: unknown, endpoint: string, body?: unknown, member?: string) => {
      await post(c, m, endpoint, body, member);
      if (endpoint !== '/switchover') return;
      sides.dc1.timeline += 1;
      sides.dc1.members = ['dc1b', 'dc1a'];
    };
    const readMember = f.io.readMember;
    f.io.readMember = async (c: { name: 'dc1' | 'dc2' }, member: string) => ({ ...(await readMember(c, member)), ...(c.name === 'dc1' && !sides.dc1.standby ? { inRecovery: member !== sides.dc1.members[0], receiverStatus: member === sides.dc1.members[0] ? null : 'streaming' } : {}) });
    await run({ ...cfg, acceptDataLoss: true }, f.io);
    expect(f.calls).toEqual([
      'dc1 POST /switchover',
      'dc2 {"slots":{"link":{"type":"physical"}}}',
      'dc1 {"standby_cluster":{"host":"10.0.2.1","port":5432,"primary_slot_name":"link"}}',
      'dc1 {"slots":{"link":null}}',
      // the rejoined cluster's replica is re-cloned from its rewound standby leader
      'dc1 POST /reinitialize dc1a',
    ]);
  });
});
