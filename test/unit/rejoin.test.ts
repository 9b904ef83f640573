/**
 * The rejoin (runtime/rejoin.ts) on its own, with a fake of the role change that calls it: where
 * two timeline histories part (the history rows as JSON gives them), how far the other cluster
 * wrote past that point, the switchovers that move the other cluster above this one's timeline
 * (which member is asked, the exact REST body, what a lagging member holds up), its demotion, and
 * the re-clone of its replicas. Every wait polls the fake a few times, then gives up.
 */
import type { RoleChangeCluster, RoleChangeConfig } from '../../runtime/contract';
import type { ClusterLook, ClusterMember, DynamicConfig, MemberReading, RoleIo } from '../../runtime/cluster-io';
import { divergencePoint, rejoin, type Steps } from '../../runtime/rejoin';

// Patroni's GET /history rows: [timeline, end LSN, reason, timestamp, new leader]
const row = (tl: number, end: unknown) => [tl, end, 'no recovery target specified', '2026-11-26T10:00:00+00:00', 'x'];

describe('divergence point: the history rows as JSON gives them', () => {
  test('the other side still runs on the timeline this side left: they part where this side left it', () => {
    expect(divergencePoint([row(1, 100)], [row(1, 100), row(2, 300)])).toBe(300n);
    expect(divergencePoint([row(1, 100), row(2, 300)], [row(1, 100)])).toBe(300n);
  });
  test('a fork on the last timeline either side left, after timelines both ended alike', () => {
    expect(divergencePoint([row(1, 100), row(2, 300), row(3, 700)], [row(1, 100), row(2, 300), row(3, 600)])).toBe(
      600n,
    );
  });
  test('no history on either side (both still on timeline 1): no fork', () => {
    expect(divergencePoint([], [])).toBeUndefined();
  });
  test.each([
    ['a number', 256, 256n],
    ['a decimal string', '256', 256n],
    ['a hexadecimal string', '0x100', 256n],
    ['a bigint', 2n ** 40n, 2n ** 40n],
    ['a boolean (as BigInt() takes it)', true, 1n],
  ])('an end LSN given as %s is read exactly', (_what, end, expected) => {
    expect(divergencePoint([row(1, end)], [])).toBe(expected);
  });
  test.each([
    ['an array', [256], 'Cannot convert 256 to a BigInt'],
    ['an object', { lsn: 256 }, 'Cannot convert [object Object] to a BigInt'],
    ['null', null, 'Cannot convert null to a BigInt'],
  ])('an end LSN given as %s is no LSN: a TypeError naming it, never a number read into it', (_what, end, message) => {
    const read = () => divergencePoint([row(1, end)], [row(1, 100)]);
    expect(read).toThrow(TypeError);
    expect(read).toThrow(message);
  });
});

/** A member of the fake other cluster (dc1) as its REST API lists it and its SQL reads it. */
type FakeMember = {
  name: string;
  role: 'leader' | 'standby_leader' | 'replica';
  state: string;
  timeline: number;
  reading?: Partial<MemberReading> | 'unreadable';
};

const node = (name: string, host: string) => ({ name, host, port: 5432, rest: `http://${host}:8008` });
const dc1: RoleChangeCluster = {
  name: 'dc1',
  scope: 'pg',
  restPasswordEnv: 'X',
  nodes: [node('dc1a', '10.0.1.1'), node('dc1b', '10.0.1.2'), node('dc1c', '10.0.1.3')],
};
const dc2: RoleChangeCluster = { name: 'dc2', scope: 'pg', restPasswordEnv: 'X', nodes: [node('dc2a', '10.0.2.1')] };
const cfg: RoleChangeConfig = {
  role: 'source',
  me: dc2,
  other: dc1,
  slotName: 'link',
  block: { host: '10.0.2.1', port: 5432, primary_slot_name: 'link' },
  user: 'monitor',
  maxLagBytes: 1024,
  catchUpTimeoutSeconds: 1,
  followTimeoutSeconds: 7,
  acceptDataLoss: true,
};

/**
 * This cluster (dc2, leader dc2a, on `meTimeline`) and the other (dc1: `members`, its leader
 * first), both primaries; the histories part at 0/90 and dc1's leader is at `otherLsn`. A
 * switchover inside dc1 makes the candidate its leader on the next timeline and, unless `lagging`
 * names them, its other members follow there; the demotion (standby_cluster) makes its leader a
 * standby leader. `changes`: every PATCH and POST with its body; `waits`: each wait and its bound.
 */
function fake(over: { meTimeline?: number; otherLsn?: string | null; members?: FakeMember[] } = {}) {
  const s = {
    meTimeline: over.meTimeline ?? 2,
    otherLsn: over.otherLsn === undefined ? '0/100' : over.otherLsn,
    members: over.members ?? [
      { name: 'dc1a', role: 'leader', state: 'running', timeline: 2 },
      { name: 'dc1b', role: 'replica', state: 'running', timeline: 2 },
    ],
    lagging: new Set<string>(),
    reachable: true,
  } as { meTimeline: number; otherLsn: string | null; members: FakeMember[]; lagging: Set<string>; reachable: boolean };
  const changes: string[] = [];
  const logs: string[] = [];
  const waits: string[] = [];
  const leader = () => s.members[0];
  const reading = (m: FakeMember): MemberReading | undefined => {
    if (m.reading === 'unreadable') return undefined;
    const isLeader = m === leader();
    const primary = isLeader && m.role === 'leader';
    return {
      member: m.name,
      reachable: true,
      inRecovery: !primary,
      timeline: m.timeline,
      currentLsn: primary ? s.otherLsn : null,
      receiverStatus: primary ? null : 'streaming',
      senderHost: null,
      ...m.reading,
    };
  };
  const io: RoleIo = {
    look: async (c): Promise<ClusterLook> => {
      if (c.name === 'dc2') {
        const me = { name: 'dc2a', role: 'leader' };
        return { reachable: true, config: {}, members: [me], leader: me, standby: false, primary: true };
      }
      if (!s.reachable) return { reachable: false };
      const members: ClusterMember[] = s.members.map(({ name, role, state }) => ({ name, role, state }));
      const l = members.find((m) => m.role !== 'replica');
      return { reachable: true, config: {}, members, leader: l, standby: l?.role === 'standby_leader', primary: false };
    },
    patch: async (c: RoleChangeCluster, body: DynamicConfig) => {
      changes.push(`${c.name} PATCH ${JSON.stringify(body)}`);
      if (c.name === 'dc1' && 'standby_cluster' in body) leader().role = 'standby_leader';
    },
    post: async (c, _members, endpoint, body, member) => {
      changes.push(`${c.name} POST ${endpoint}${member ? ` ${member}` : ''} ${JSON.stringify(body)}`);
      if (endpoint !== '/switchover') return;
      const { candidate } = body as { candidate: string };
      const next = leader().timeline + 1;
      const moved = s.members.find((m) => m.name === candidate) as FakeMember;
      s.members = [moved, ...s.members.filter((m) => m !== moved)];
      for (const m of s.members) {
        m.role = m === moved ? 'leader' : 'replica';
        if (!s.lagging.has(m.name)) m.timeline = next;
      }
    },
    readMember: async (c, member) => {
      if (c.name === 'dc2')
        return member === 'dc2a'
          ? {
              member,
              reachable: true,
              inRecovery: false,
              timeline: s.meTimeline,
              currentLsn: '0/300',
              receiverStatus: null,
              senderHost: null,
            }
          : undefined;
      const m = s.members.find((x) => x.name === member);
      return m && reading(m);
    },
    history: async (c) => (c.name === 'dc2' ? [row(1, 0x90)] : [row(1, 0x100)]),
    position: async () => {
      throw new Error('not used by the rejoin');
    },
    sourceState: async () => {
      throw new Error('not used by the rejoin');
    },
    gate: async () => {
      throw new Error('not used by the rejoin');
    },
    version: async () => {
      throw new Error('not used by the rejoin');
    },
  };
  const steps: Steps = {
    io,
    log: (msg) => logs.push(msg),
    waitFor: async (what, seconds, check) => {
      waits.push(`${what} (${seconds} s)`);
      for (let poll = 0; poll < 3; poll++) {
        const value = await check();
        if (value) return value;
        await new Promise((r) => setImmediate(r));
      }
      return undefined;
    },
    settleFollower: async () => {
      changes.push('settled');
    },
    made: async () => {
      changes.push('made');
    },
    retryMs: 0,
  };
  return { s, steps, changes, logs, waits };
}

const DEMOTE = 'dc1 PATCH {"standby_cluster":{"host":"10.0.2.1","port":5432,"primary_slot_name":"link"}}';
const SLOT = 'dc2 PATCH {"slots":{"link":{"type":"physical"}}}';

describe('rejoin: the loss, counted from the fork', () => {
  test("the other's leader is behind the fork (it wrote nothing past it): 0 bytes, no acceptance needed", async () => {
    const f = fake({ otherLsn: '0/80', meTimeline: 1 });
    await rejoin(f.steps, { ...cfg, acceptDataLoss: false }, 'dc2a', 'dc1a');
    expect(f.logs).toContain(
      'rejoin: dc1 is a primary too; the histories part at 0/90, dc1 is at 0/80 (timeline 2): 0 bytes written there after the split',
    );
    expect(f.changes).toContain(DEMOTE);
  });

  test("the other's leader shows no current WAL position (in recovery by now): refused as unknown", async () => {
    const f = fake({ otherLsn: null });
    await expect(rejoin(f.steps, { ...cfg, acceptDataLoss: false }, 'dc2a', 'dc1a')).rejects.toThrow(
      "REFUSED: both clusters are primaries and how far dc1 diverged is unknown (dc1's leader shows no current WAL position (not a primary)); nothing was changed",
    );
    expect(f.changes).toEqual([]);
  });
});

describe('rejoin: the other cluster moved above this one’s timeline by switchovers inside it', () => {
  test('a switchover from the leader to the first running replica (exact body); then demoted, re-cloned', async () => {
    const f = fake({
      members: [
        { name: 'dc1a', role: 'leader', state: 'running', timeline: 2 },
        { name: 'dc1b', role: 'replica', state: 'stopped', timeline: 2 },
        { name: 'dc1c', role: 'replica', state: 'streaming', timeline: 2 },
      ],
    });
    await rejoin(f.steps, cfg, 'dc2a', 'dc1a');
    expect(f.changes).toEqual([
      'dc1 POST /switchover {"leader":"dc1a","candidate":"dc1c"}',
      SLOT,
      DEMOTE,
      'made',
      'settled',
      'dc1 POST /reinitialize dc1a {"force":true}',
      'dc1 POST /reinitialize dc1b {"force":true}',
    ]);
    expect(f.logs).toContain(
      "dc1 is on timeline 2, not above dc2's 2: a switchover inside dc1 (dc1a -> dc1c) moves it up, so that Patroni rewinds it",
    );
    expect(f.logs).toContain('re-cloning dc1a of dc1 from its standby leader dc1c (a replica of a rejoined cluster)');
    expect(f.logs).toContain('dc1a, dc1b re-cloned and streaming');
    expect(f.waits).toEqual([
      'the switchover inside the other cluster (60 s)',
      'every member of the other cluster on the new timeline (60 s)',
      'dc1a re-cloning (7 s)',
      'dc1b re-cloning (7 s)',
      'the re-cloned replicas streaming (7 s)',
    ]);
  });

  test('no link slot configured: none is declared on this cluster', async () => {
    const f = fake({ meTimeline: 1 });
    await rejoin(f.steps, { ...cfg, slotName: '' }, 'dc2a', 'dc1a');
    expect(f.changes.filter((c) => c.includes('slots'))).toEqual([]);
    expect(f.changes).toContain(DEMOTE);
  });

  test('as many switchovers as it takes, the fifth one included; a sixth is never made', async () => {
    const f = fake({ meTimeline: 6 });
    await rejoin(f.steps, cfg, 'dc2a', 'dc1a');
    expect(f.changes.filter((c) => c.includes('/switchover'))).toEqual([
      'dc1 POST /switchover {"leader":"dc1a","candidate":"dc1b"}',
      'dc1 POST /switchover {"leader":"dc1b","candidate":"dc1a"}',
      'dc1 POST /switchover {"leader":"dc1a","candidate":"dc1b"}',
      'dc1 POST /switchover {"leader":"dc1b","candidate":"dc1a"}',
      'dc1 POST /switchover {"leader":"dc1a","candidate":"dc1b"}',
    ]);
    expect(f.changes).toContain(DEMOTE);
    const g = fake({ meTimeline: 7 });
    await expect(rejoin(g.steps, cfg, 'dc2a', 'dc1a')).rejects.toThrow(
      "REFUSED: dc1's timeline could not be moved above dc2's in 5 switchovers; re-seed it instead",
    );
    expect(g.changes.filter((c) => c.includes('/switchover'))).toHaveLength(5);
    expect(g.changes.filter((c) => c.includes('PATCH'))).toEqual([]);
  });

  test('a leader or the other cluster unreadable while preparing: refused, nothing demoted', async () => {
    // the divergence reads neither this leader's member nor the other's GET /cluster: each case strikes after it
    const cases: [string, (io: RoleIo) => Partial<RoleIo>][] = [
      [
        'this leader unreadable',
        (io) => ({ readMember: async (c, m, x) => (c.name === 'dc2' ? undefined : io.readMember(c, m, x)) }),
      ],
      [
        'the other cluster does not answer',
        (io) => ({ look: async (c) => (c.name === 'dc1' ? { reachable: false } : io.look(c)) }),
      ],
      [
        'the other cluster without a leader',
        (io) => ({ look: async (c) => ({ ...(await io.look(c)), leader: undefined }) }),
      ],
      [
        "the other's leader unreadable",
        (io) => ({ look: async (c) => ({ ...(await io.look(c)), leader: { name: 'dc1z', role: 'leader' } }) }),
      ],
    ];
    for (const [what, change] of cases) {
      const f = fake();
      Object.assign(f.steps.io, change({ ...f.steps.io }));
      const failure = await rejoin(f.steps, cfg, 'dc2a', 'dc1a').then(
        () => 'none',
        (e: Error) => e.message,
      );
      expect([what, failure]).toEqual([
        what,
        'REFUSED: a leader could not be read while preparing the rejoin; nothing was demoted',
      ]);
      expect(f.changes).toEqual([]);
    }
  });
});

describe('rejoin: the switchover finished, and every member of the other cluster on the new timeline', () => {
  const three = (): FakeMember[] => [
    { name: 'dc1a', role: 'leader', state: 'running', timeline: 2 },
    { name: 'dc1b', role: 'replica', state: 'running', timeline: 2 },
    { name: 'dc1c', role: 'replica', state: 'running', timeline: 2 },
  ];
  const SWITCHOVER = 'dc1 POST /switchover {"leader":"dc1a","candidate":"dc1b"}';

  test.each([
    ['still in recovery, on the next timeline', { inRecovery: true }],
    ['read-write, but still on the old timeline', { timeline: 2 }],
    ['unreadable', 'unreadable' as const],
  ])('the candidate %s: the switchover has not finished; refused, nothing demoted', async (_what, reading) => {
    const members = three();
    members[1].reading = reading;
    const f = fake({ members });
    await expect(rejoin(f.steps, cfg, 'dc2a', 'dc1a')).rejects.toThrow(
      'REFUSED: the switchover inside dc1 did not finish within 60 s; nothing was demoted',
    );
    expect(f.changes).toEqual([SWITCHOVER]);
  });

  test.each([
    ['still on the old timeline, streaming', { timeline: 2 }],
    ['on the new timeline, not streaming yet', { receiverStatus: 'starting' }],
  ])('a member %s holds the demotion up: refused, nothing demoted', async (_what, lag) => {
    const f = fake({ members: three() });
    const readMember = f.steps.io.readMember;
    f.steps.io.readMember = async (c, m, x) => {
      const n = await readMember(c, m, x);
      return n && m === 'dc1c' ? { ...n, ...lag } : n;
    };
    await expect(rejoin(f.steps, cfg, 'dc2a', 'dc1a')).rejects.toThrow(
      'REFUSED: the members of dc1 did not all follow its new timeline 3 within 60 s; nothing was demoted',
    );
    expect(f.changes).toEqual([SWITCHOVER]);
  });

  test('a member that cannot be read, or does not answer SQL, does not hold the demotion up', async () => {
    for (const lost of [undefined, { reachable: false, timeline: null, receiverStatus: null }]) {
      const f = fake({ members: three() });
      const readMember = f.steps.io.readMember;
      f.steps.io.readMember = async (c, m, x) => {
        const n = await readMember(c, m, x);
        // down until its re-clone
        return n && m === 'dc1c' && !f.changes.includes(DEMOTE) ? lost && { ...n, ...lost } : n;
      };
      await rejoin(f.steps, cfg, 'dc2a', 'dc1a');
      expect(f.changes).toEqual([
        SWITCHOVER,
        SLOT,
        DEMOTE,
        'made',
        'settled',
        'dc1 POST /reinitialize dc1a {"force":true}',
        'dc1 POST /reinitialize dc1c {"force":true}',
      ]);
    }
  });
});

describe('rejoin: the replicas of the demoted cluster re-cloned from its standby leader', () => {
  test('no replica (a one-member cluster): nothing re-cloned, nothing waited for', async () => {
    const f = fake({ meTimeline: 1, members: [{ name: 'dc1a', role: 'leader', state: 'running', timeline: 2 }] });
    await rejoin(f.steps, cfg, 'dc2a', 'dc1a');
    expect(f.changes).toEqual([SLOT, DEMOTE, 'made', 'settled']);
    expect(f.waits).toEqual([]);
    expect(f.logs.filter((l) => l.includes('re-clon'))).toEqual([]);
  });

  test('no standby leader (or no answer) after the demotion: the step fails, the rejoin itself done', async () => {
    for (const after of [{ reachable: false as const }, { leader: undefined }]) {
      const f = fake({ meTimeline: 1 });
      const look = f.steps.io.look;
      f.steps.io.look = async (c) =>
        c.name === 'dc1' && f.changes.includes('settled') ? { ...(await look(c)), ...after } : look(c);
      await expect(rejoin(f.steps, cfg, 'dc2a', 'dc1a')).rejects.toThrow(
        'the replicas of dc1 cannot be re-cloned: its REST API shows no standby leader; the rejoin itself is done: re-clone them (patronictl reinit) before they serve reads',
      );
      expect(f.changes).toEqual([SLOT, DEMOTE, 'made', 'settled']);
    }
  });

  test.each([
    ['does not stream', { receiverStatus: 'starting' }],
    ['does not answer SQL (a stale streaming state)', { reachable: false }],
    ['cannot be read', undefined],
  ])('every re-cloned replica must stream: one that %s fails the step', async (_what, reading) => {
    const f = fake({
      meTimeline: 1,
      members: [
        { name: 'dc1a', role: 'leader', state: 'running', timeline: 2 },
        { name: 'dc1b', role: 'replica', state: 'running', timeline: 2 },
        { name: 'dc1c', role: 'replica', state: 'running', timeline: 2 },
      ],
    });
    const readMember = f.steps.io.readMember;
    f.steps.io.readMember = async (c, m, x) => {
      const n = await readMember(c, m, x);
      return n && m === 'dc1c' ? reading && { ...n, ...reading } : n;
    };
    await expect(rejoin(f.steps, cfg, 'dc2a', 'dc1a')).rejects.toThrow(
      'the re-cloned replicas of dc1 do not stream after 7 s; the rejoin itself is done: look at their Patroni logs',
    );
    expect(f.changes.slice(-2)).toEqual([
      'dc1 POST /reinitialize dc1b {"force":true}',
      'dc1 POST /reinitialize dc1c {"force":true}',
    ]);
  });
});

describe('rejoin: a replica that does not take the re-clone at once (busy between its HA loops)', () => {
  const members = (): FakeMember[] => [
    { name: 'dc1a', role: 'leader', state: 'running', timeline: 2 },
    { name: 'dc1b', role: 'replica', state: 'running', timeline: 2 },
  ];
  /** The fake whose POST /reinitialize to dc1b fails with each of `errors` in turn, then goes through. */
  const refusing = (errors: string[]) => {
    const f = fake({ meTimeline: 1, members: members() });
    const post = f.steps.io.post;
    f.steps.io.post = async (c, m, endpoint, body, member) => {
      await post(c, m, endpoint, body, member);
      const e = endpoint === '/reinitialize' && errors.shift();
      if (e) throw new Error(e);
    };
    return f;
  };

  test('no answer in time: asked again, the reason logged; then re-cloned', async () => {
    const f = refusing(['POST /reinitialize timed out after 60000 ms']);
    await rejoin(f.steps, cfg, 'dc2a', 'dc1a');
    expect(f.changes.filter((c) => c.includes('/reinitialize'))).toEqual([
      'dc1 POST /reinitialize dc1b {"force":true}',
      'dc1 POST /reinitialize dc1b {"force":true}',
    ]);
    expect(f.logs).toContain(
      'dc1b did not take the re-clone (POST /reinitialize timed out after 60000 ms); asking again',
    );
    expect(f.waits).toContain('dc1b re-cloning (7 s)');
    expect(f.logs).toContain('dc1b re-cloned and streaming');
  });

  test('a re-clone already in progress (an earlier request that got through late) counts as taken', async () => {
    const f = refusing(['POST /reinitialize on dc1 answered HTTP 503: reinitialize already in progress']);
    await rejoin(f.steps, cfg, 'dc2a', 'dc1a');
    expect(f.changes.filter((c) => c.includes('/reinitialize'))).toHaveLength(1);
    expect(f.logs).toContain('dc1b re-cloned and streaming');
  });

  test('never taken: the step fails naming the member, the last reason and the manual fix', async () => {
    const f = refusing(['HTTP 503: busy', 'HTTP 503: busy', 'HTTP 503: still busy']);
    await expect(rejoin(f.steps, cfg, 'dc2a', 'dc1a')).rejects.toThrow(
      'dc1b of dc1 did not take the re-clone within 7 s (HTTP 503: still busy); the rejoin itself is done: re-clone it (patronictl reinit) before it serves reads',
    );
  });
});
