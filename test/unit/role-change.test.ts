/**
 * The role change (runtime/role-change.ts) against fake clusters: the pure part first, where two
 * clusters' timeline histories part (the bytes a rejoin throws away are counted from there), then
 * every step, refusal and no-op, one cause at a time.
 */
import type { RoleChangeCluster, RoleChangeConfig } from '../../runtime/contract';
import type {
  ClusterLook,
  DynamicConfig,
  MemberReading,
  Position,
  RoleIo,
  Sender,
  SourceState,
} from '../../runtime/cluster-io';
import { write } from '../../runtime/cluster-io';
import { demotesCleanly, divergencePoint, run, runRoleChange } from '../../runtime/role-change';

// Patroni's GET /history rows: [timeline, end LSN, reason, timestamp, new leader]
const row = (tl: number, lsn: number) => [tl, lsn, 'no recovery target specified', '2026-11-26T10:00:00+00:00', 'x'];

describe('divergence point of two timeline histories', () => {
  test('the promoted side left timeline 3 at 500; the other went on on 3: they part at 500', () => {
    expect(divergencePoint([row(1, 100), row(2, 300), row(3, 500)], [row(1, 100), row(2, 300)])).toBe(500n);
  });
  test('both left timeline 3, at different points (the lost side restarted and promoted itself): the lower end', () => {
    expect(divergencePoint([row(1, 100), row(2, 300), row(3, 500)], [row(1, 100), row(2, 300), row(3, 800)])).toBe(
      500n,
    );
    expect(divergencePoint([row(1, 100), row(2, 300), row(3, 900)], [row(1, 100), row(2, 300), row(3, 800)])).toBe(
      800n,
    );
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

type Dc = 'dc1' | 'dc2';

/**
 * One fake cluster. `lsn`: its position (replayed, or written when a primary); `drainedLsn`: what
 * its SQL says it wrote once read-only, when that differs (a write that slipped in before the
 * fence); `config`: its own dynamic configuration. `readWritePolls`: once fenced (made a standby
 * cluster), how many reads of its leader's position still find it read-write (Infinity: it never
 * comes back in recovery); meanwhile it shows `oldReplayLsn`, the replay position it kept from
 * its days as a standby.
 */
type Side = {
  reachable: boolean;
  standby: boolean;
  lsn: string;
  drainedLsn?: string;
  timeline: number;
  history: unknown[];
  members: string[];
  config?: DynamicConfig;
  readWritePolls?: number;
  oldReplayLsn?: string;
  /** Its synchronous_commit as the source ('local' unless given: no synchronous handoff; null: unreadable). */
  synchronousCommit?: string | null;
  /** As the source, a synchronous_standby_names that names a member never makes it synchronous. */
  syncNever?: boolean;
  /** As the source, synchronous_standby_names as PostgreSQL runs it (else the configuration's). */
  standbyNames?: string;
  /** As the source, its walsenders (else one: the other cluster's leader, synchronous when named). */
  senders?: Sender[];
  /** The Patroni version its members run (GET /patroni): 4.1.5 unless given; null: they do not say. */
  patroni?: string | null;
  /** Once the other cluster is fenced, how many reads of this standby leader still find it streaming from it. */
  streamingPolls?: number;
  /** Once promoted (standby_cluster null), how many reads of its position still find it in recovery. */
  recoveryPolls?: number;
};
const MARKER = 'managed_by_patroni_standby_cdktf';

/** `v.k1.k2...`, undefined where a step is not an object. */
const at = (v: unknown, ...keys: string[]): unknown =>
  keys.reduce<unknown>(
    (x, k) => (typeof x === 'object' && x !== null ? (x as Record<string, unknown>)[k] : undefined),
    v,
  );

/**
 * Two fake clusters with the role change's view of them (REST and SQL): a PATCH with a
 * standby_cluster block makes a cluster a standby cluster, `null` promotes it; every call is kept.
 */
function fakeClusters(sides: Record<Dc, Side>, gateProblems: string[] = []) {
  const calls: string[] = [];
  /** The lease's and the record's patches (holding.ts), as `<cluster> <marker JSON>`. */
  const leases: string[] = [];
  /** Each read of a member's position, as `<cluster> <member> <in recovery|read-write> <replay>`. */
  const positions: string[] = [];
  /** Each read of a member's stream (readMember), as `<cluster> <member> <streaming|not streaming>`. */
  const reads: string[] = [];
  /** Parallel to `calls`: the member each PATCH was sent through (the leader the step named; undefined for a POST). */
  const leaders: (string | undefined)[] = [];
  const hostOf = (name: string) => (name === 'dc1' ? '10.0.1.1' : '10.0.2.1');
  const leaderOf = (name: Dc) => sides[name].members[0];
  const sideOf = (c: RoleChangeCluster) => sides[c.name as Dc];
  const otherOf = (c: RoleChangeCluster): Dc => (c.name === 'dc1' ? 'dc2' : 'dc1');
  const io = {
    look: async (c: RoleChangeCluster): Promise<ClusterLook> => {
      const s = sideOf(c);
      if (!s.reachable) return { reachable: false };
      const leader = { name: leaderOf(c.name as Dc), role: s.standby ? 'standby_leader' : 'leader' };
      const members = [leader, ...s.members.slice(1).map((m) => ({ name: m, role: 'replica', state: 'running' }))];
      return {
        reachable: true,
        config: { ...(s.config ?? {}), ...(s.standby ? { standby_cluster: { host: 'x' } } : {}) },
        members,
        leader,
        standby: s.standby,
        primary: !s.standby,
      };
    },
    patch: async (c: RoleChangeCluster, body: DynamicConfig, leader?: string) => {
      const s = sideOf(c);
      const marker = at(body, MARKER) as Record<string, unknown> | undefined;
      if (marker && Object.keys(body).length === 1 && !('softFence' in marker) && !('handoff' in marker)) {
        // the lease and the source record (holding.ts): kept apart from the changes the steps make
        leases.push(`${c.name} ${JSON.stringify(marker)}`);
        const merged = { ...(at(s.config, MARKER) as object), ...marker };
        s.config = { ...s.config, [MARKER]: Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== null)) };
        return;
      }
      calls.push(`${c.name} ${JSON.stringify(body)}`);
      leaders.push(leader);
      if ('standby_cluster' in body) s.standby = body.standby_cluster !== null;
      const ssn = at(body, 'postgresql', 'parameters', 'synchronous_standby_names');
      if (ssn !== undefined)
        s.config = {
          ...s.config,
          postgresql: { parameters: ssn === null ? {} : { synchronous_standby_names: ssn } },
          [MARKER]: { ...(at(s.config, MARKER) as object), handoff: ssn === null ? undefined : at(marker, 'handoff') },
        };
      const ro = at(body, 'postgresql', 'parameters', 'default_transaction_read_only');
      if (ro !== undefined)
        s.config = {
          ...s.config,
          postgresql: { parameters: ro === null ? {} : { default_transaction_read_only: ro } },
          [MARKER]: { ...(at(s.config, MARKER) as object), softFence: ro === null ? undefined : true },
        };
    },
    sourceState: async (c: RoleChangeCluster): Promise<SourceState | undefined> => {
      const s = sideOf(c);
      const ssn = at(s.config, 'postgresql', 'parameters', 'synchronous_standby_names');
      return {
        readOnly: at(s.config, 'postgresql', 'parameters', 'default_transaction_read_only') === 'on',
        currentLsn: s.drainedLsn ?? s.lsn,
        synchronousCommit: s.synchronousCommit === undefined ? 'local' : s.synchronousCommit,
        standbyNames: s.standbyNames ?? (typeof ssn === 'string' ? ssn : ''),
        // PostgreSQL compares the names case-insensitively
        senders: s.senders ?? [
          {
            name: leaderOf(otherOf(c)).toUpperCase(),
            sync: typeof ssn === 'string' && !s.syncNever,
            address: hostOf(otherOf(c)),
          },
        ],
      };
    },
    post: async (c: RoleChangeCluster, _m: unknown, endpoint: string, _body?: unknown, member?: string) => {
      calls.push(`${c.name} POST ${endpoint}${member ? ` ${member}` : ''}`);
      leaders.push(undefined);
    },
    position: async (c: RoleChangeCluster, member: string | undefined): Promise<Position | undefined> => {
      const s = sideOf(c);
      // fenced, but its PostgreSQL not restarted in recovery yet: still read-write
      const late = s.standby && (s.readWritePolls ?? 0) > 0;
      if (late) s.readWritePolls = (s.readWritePolls ?? 0) - 1;
      // promoted, but its PostgreSQL not out of recovery yet
      const promoting = !s.standby && (s.recoveryPolls ?? 0) > 0;
      if (promoting) s.recoveryPolls = (s.recoveryPolls ?? 0) - 1;
      const n = late
        ? { member: String(member), inRecovery: false, replayLsn: s.oldReplayLsn ?? null, timeline: s.timeline }
        : { member: String(member), inRecovery: s.standby || promoting, replayLsn: s.lsn, timeline: s.timeline };
      positions.push(`${c.name} ${member} ${n.inRecovery ? 'in recovery' : 'read-write'} ${n.replayLsn}`);
      return n;
    },
    readMember: async (c: RoleChangeCluster, member: string): Promise<MemberReading> => {
      const s = sideOf(c);
      const other = c.name === 'dc1' ? 'dc2' : 'dc1';
      // the other fenced (both standby clusters): its walsender gone, after streamingPolls reads
      let streaming = s.standby;
      if (s.standby && sides[other].standby) {
        streaming = (s.streamingPolls ?? 0) > 0;
        s.streamingPolls = (s.streamingPolls ?? 0) - 1;
      }
      reads.push(`${c.name} ${member} ${streaming ? 'streaming' : 'not streaming'}`);
      return {
        member,
        reachable: true,
        inRecovery: s.standby,
        timeline: s.timeline,
        currentLsn: s.lsn,
        receiverStatus: streaming ? 'streaming' : null,
        senderHost: streaming ? hostOf(other) : null,
      };
    },
    gate: async () => ({ problems: gateProblems }),
    history: async (c: RoleChangeCluster): Promise<unknown> => sideOf(c).history,
    version: async (c: RoleChangeCluster): Promise<string | undefined> => {
      const v = sideOf(c).patroni;
      return v === null ? undefined : (v ?? '4.1.5');
    },
  } satisfies RoleIo;
  return { io, calls, leases, positions, reads, leaders };
}

const cluster = (name: string, host: string): RoleChangeCluster => ({
  name,
  scope: 'pg',
  restPasswordEnv: 'X',
  nodes: [{ name: `${name}a`, host, port: 5432, rest: `http://${host}:8008` }],
});
const cfg: RoleChangeConfig = {
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
const side = (over: Partial<Side>): Side => ({
  reachable: true,
  standby: false,
  lsn: '0/100',
  timeline: 1,
  history: [],
  members: ['x'],
  ...over,
});

/** A promotion undone: dc2 was promoted (timeline 3) and wrote 0x80 bytes past where the histories part (0/200). */
const promotedDc2 = () => ({
  dc1: side({ members: ['dc1a'], lsn: '0/300', timeline: 2, history: [[1, 0x100, 'r', 't', 'x']] }),
  dc2: side({
    members: ['dc2a', 'dc2b'],
    lsn: '0/280',
    timeline: 3,
    history: [
      [1, 0x100, 'r', 't', 'x'],
      [2, 0x200, 'r', 't', 'x'],
    ],
  }),
});

/** The standby's step of a link that follows dc1 again. */
const standbyStep: RoleChangeConfig = {
  ...cfg,
  role: 'standby',
  state: 'following',
  block: { host: '10.0.1.1', port: 5432, primary_slot_name: 'link' },
};

describe('the role change, one cause at a time (fake clusters)', () => {
  let out: jest.SpyInstance;
  beforeEach(() => (out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true)));
  afterEach(() => out.mockRestore());

  const SOFT_FENCE = `dc1 {"postgresql":{"parameters":{"default_transaction_read_only":"on"}},"${MARKER}":{"softFence":true}}`;
  const LIFT = `dc1 {"postgresql":{"parameters":{"default_transaction_read_only":null}},"${MARKER}":{"softFence":null}}`;
  const FENCE = 'dc1 {"standby_cluster":{"host":"10.0.2.1","port":5432,"primary_slot_name":"link"}}';

  test('planned switchover: reverse slot, soft fence, fence, soft fence lifted, promote, old slot released, in that order', async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) });
    await run(cfg, f.io);
    expect(f.calls).toEqual([
      'dc2 {"slots":{"link":{"type":"physical"}}}',
      SOFT_FENCE,
      FENCE,
      LIFT,
      'dc2 {"standby_cluster":null}',
      'dc1 {"slots":{"link":null}}',
    ]);
    expect(out.mock.calls.join('')).toMatch(
      /soft fence: dc1 read-only, dc2 replayed its last write \(0\/100\), \d+ ms/,
    );
  });

  test('the target does not replay what the read-only source wrote: the soft fence is lifted, nothing fenced', async () => {
    const f = fakeClusters({
      dc1: side({ members: ['dc1a'], lsn: '0/100' }),
      dc2: side({ standby: true, members: ['dc2a'], lsn: '0/80' }),
    });
    await expect(run(cfg, f.io)).rejects.toThrow(
      /^REFUSED: dc2's standby leader did not replay what dc1 wrote once read-only \(0\/80 of 0\/100\) within 1 s: the soft fence was lifted, nothing changed on either side; deploy again to retry$/,
    );
    expect(f.calls.slice(1)).toEqual([SOFT_FENCE, LIFT]);
    expect(f.calls.join(' ')).not.toContain('standby_cluster');
  });

  test("a write slipped in after the soft fence: the target has not replayed the old source's last position, the fence is undone, nothing promoted", async () => {
    const f = fakeClusters({
      dc1: side({ members: ['dc1a'], lsn: '0/100', drainedLsn: '0/80' }),
      dc2: side({ standby: true, members: ['dc2a'], lsn: '0/80' }),
    });
    await expect(run(cfg, f.io)).rejects.toThrow(
      /REFUSED: dc2's standby leader replayed 0\/80, not dc1's last position 0\/100, within 1 s: the fence was undone \(dc1 is the primary again, nothing lost\)/,
    );
    expect(f.calls.slice(1)).toEqual([SOFT_FENCE, FENCE, LIFT, 'dc1 {"standby_cluster":null}']);
  });

  test('the old leader still read-write for a few reads after the fence: the step waits until it is in recovery, then reads its last position', async () => {
    // read-write, it shows 0/40, the replay position it kept from its days as a standby: not its last position
    const f = fakeClusters({
      dc1: side({ members: ['dc1a'], lsn: '0/100', readWritePolls: 3, oldReplayLsn: '0/40' }),
      dc2: side({ standby: true, members: ['dc2a'], lsn: '0/100' }),
    });
    await run(cfg, f.io);
    expect(f.positions.filter((p) => p.startsWith('dc1 '))).toEqual([
      'dc1 dc1a read-write 0/40',
      'dc1 dc1a read-write 0/40',
      'dc1 dc1a read-write 0/40',
      'dc1 dc1a in recovery 0/100',
    ]);
    expect(out.mock.calls.join('')).toContain("dc1's last position: 0/100 (timeline 1)");
    expect(f.calls).toEqual([
      'dc2 {"slots":{"link":{"type":"physical"}}}',
      SOFT_FENCE,
      FENCE,
      LIFT,
      'dc2 {"standby_cluster":null}',
      'dc1 {"slots":{"link":null}}',
    ]);
  });

  test('a write slipped in, and the old leader still read-write for a few reads: its last position is read in recovery, so the missing write refuses the promotion', async () => {
    // taken while read-write, 0/40 would pass dc2's 0/80 and promote without dc1's last write
    const f = fakeClusters({
      dc1: side({ members: ['dc1a'], lsn: '0/100', drainedLsn: '0/80', readWritePolls: 3, oldReplayLsn: '0/40' }),
      dc2: side({ standby: true, members: ['dc2a'], lsn: '0/80' }),
    });
    await expect(run(cfg, f.io)).rejects.toThrow(
      "REFUSED: dc2's standby leader replayed 0/80, not dc1's last position 0/100, within 1 s: the fence was undone",
    );
    expect(f.calls.slice(1)).toEqual([SOFT_FENCE, FENCE, LIFT, 'dc1 {"standby_cluster":null}']);
  });

  test('the old leader never comes back in recovery: after the wait the fence is undone with the soft fence, nothing promoted, the step fails', async () => {
    const f = fakeClusters({
      dc1: side({ members: ['dc1a'], lsn: '0/100', readWritePolls: Infinity, oldReplayLsn: '0/40' }),
      dc2: side({ standby: true, members: ['dc2a'], lsn: '0/100' }),
    });
    const t0 = Date.now();
    await expect(run(cfg, f.io, { recoverySeconds: 0.5 })).rejects.toThrow(
      /^dc1's former leader dc1a did not come back in recovery within 0\.5 s: the fence was undone \(dc1 is the primary again\) and nothing was promoted$/,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    // the undo: standby_cluster null and the soft fence lifted, in one PATCH to the old leader
    expect(f.calls).toEqual([
      'dc2 {"slots":{"link":{"type":"physical"}}}',
      SOFT_FENCE,
      FENCE,
      `dc1 {"standby_cluster":null,"postgresql":{"parameters":{"default_transaction_read_only":null}},"${MARKER}":{"softFence":null}}`,
    ]);
    expect(f.calls.join(' ')).not.toContain('dc2 {"standby_cluster":null}');
    const dc1 = f.positions.filter((p) => p.startsWith('dc1 '));
    expect([dc1.length > 1, dc1.every((p) => p === 'dc1 dc1a read-write 0/40')]).toEqual([true, true]);
  });

  test("the source's own configuration sets default_transaction_read_only: no soft fence, the value is never touched", async () => {
    const f = fakeClusters({
      dc1: side({
        members: ['dc1a'],
        config: { postgresql: { parameters: { default_transaction_read_only: 'off' } } },
      }),
      dc2: side({ standby: true, members: ['dc2a'] }),
    });
    await run(cfg, f.io);
    expect(f.calls).toEqual([
      'dc2 {"slots":{"link":{"type":"physical"}}}',
      FENCE,
      'dc2 {"standby_cluster":null}',
      'dc1 {"slots":{"link":null}}',
    ]);
    expect(out.mock.calls.join('')).toContain(
      "soft fence skipped: dc1's configuration sets default_transaction_read_only itself",
    );
  });

  test('a source left read-only by a role change that stopped in its soft fence: lifted, even with nothing else to do', async () => {
    const stuck = {
      postgresql: { parameters: { default_transaction_read_only: 'on' } },
      [MARKER]: { softFence: true },
    };
    const f = fakeClusters({
      dc1: side({ standby: true, members: ['dc1a'] }),
      dc2: side({ members: ['dc2a'], config: stuck }),
    });
    await run(cfg, f.io);
    expect(f.calls).toEqual([
      `dc2 {"postgresql":{"parameters":{"default_transaction_read_only":null}},"${MARKER}":{"softFence":null}}`,
    ]);
    expect(out.mock.calls.join('')).toContain(
      'dc2 was left read-only by a role change that stopped in its soft fence: lifted',
    );
  });

  test('a run that stopped after its fence, before the soft fence was lifted: resumed, lifted, then promoted', async () => {
    const stuck = {
      postgresql: { parameters: { default_transaction_read_only: 'on' } },
      [MARKER]: { softFence: true },
    };
    const f = fakeClusters({
      dc1: side({ standby: true, members: ['dc1a'], config: stuck }),
      dc2: side({ standby: true, members: ['dc2a'] }),
    });
    await run(cfg, f.io);
    expect(f.calls).toEqual([LIFT, 'dc2 {"standby_cluster":null}', 'dc1 {"slots":{"link":null}}']);
  });

  test('a gate problem: refused before anything is sent', async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) }, [
      'replay is paused on standby leader dc2a',
    ]);
    await expect(run(cfg, f.io)).rejects.toThrow(
      /REFUSED: the link is not ready for a switchover:\n {2}- replay is paused on standby leader dc2a\nnothing was changed on either side/,
    );
    expect(f.calls).toEqual([]);
  });

  test('the source unreachable: refused (a lost data center is a disaster promotion, not a switchover)', async () => {
    const f = fakeClusters({ dc1: side({ reachable: false }), dc2: side({ standby: true, members: ['dc2a'] }) });
    await expect(run(cfg, f.io)).rejects.toThrow(
      /REFUSED: dc1 does not answer, so nothing proves dc2 has its last writes/,
    );
    expect(f.calls).toEqual([]);
  });

  test('a new deployment (nothing answers) and roles already as the topology says: nothing to do', async () => {
    for (const sides of [
      { dc1: side({ reachable: false }), dc2: side({ reachable: false }) },
      { dc1: side({ standby: true, members: ['dc1a'] }), dc2: side({ members: ['dc2a'] }) },
    ]) {
      const f = fakeClusters(sides);
      await run(cfg, f.io);
      expect(f.calls).toEqual([]);
    }
  });

  test('a run that stopped after its fence (both standby clusters): resumed, the target promoted once caught up', async () => {
    const f = fakeClusters({
      dc1: side({ standby: true, members: ['dc1a'] }),
      dc2: side({ standby: true, members: ['dc2a'] }),
    });
    await run(cfg, f.io);
    expect(f.calls).toEqual(['dc2 {"standby_cluster":null}', 'dc1 {"slots":{"link":null}}']);
  });

  test('rejoin of a diverged cluster: refused with the byte count unless the loss is accepted', async () => {
    const sides = {
      dc1: side({ members: ['dc1a'], lsn: '0/180', timeline: 1, history: [] }),
      dc2: side({ members: ['dc2a'], lsn: '0/200', timeline: 2, history: [[1, 0x100, 'r', 't', 'x']] }),
    };
    const f = fakeClusters(sides);
    await expect(run(cfg, f.io)).rejects.toThrow(
      /REFUSED: rejoining dc1 throws away the 128 bytes of WAL it wrote after 0\/100 \(pg_rewind\)/,
    );
    expect(f.calls).toEqual([]);
  });

  test('rejoin accepted: the diverged cluster is moved above the new timeline first, then demoted', async () => {
    const sides = {
      dc1: side({ members: ['dc1a', 'dc1b'], lsn: '0/180', timeline: 2, history: [[1, 0x100, 'r', 't', 'x']] }),
      dc2: side({ members: ['dc2a'], lsn: '0/200', timeline: 2, history: [[1, 0x90, 'r', 't', 'x']] }),
    };
    const f = fakeClusters(sides);
    // the fake's switchover inside dc1 moves its timeline up
    const post = f.io.post;
    f.io.post = async (c: RoleChangeCluster, m: unknown, endpoint: string, body?: unknown, member?: string) => {
      await post(c, m, endpoint, body, member);
      if (endpoint !== '/switchover') return;
      sides.dc1.timeline += 1;
      sides.dc1.members = ['dc1b', 'dc1a'];
    };
    const readMember = f.io.readMember;
    f.io.readMember = async (c: RoleChangeCluster, member: string) => ({
      ...(await readMember(c, member)),
      ...(c.name === 'dc1' && !sides.dc1.standby
        ? {
            inRecovery: member !== sides.dc1.members[0],
            receiverStatus: member === sides.dc1.members[0] ? null : 'streaming',
          }
        : {}),
    });
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

test('a clean demotion (a fast shutdown that sends every WAL record first) from Patroni 4.1 on', () => {
  for (const v of ['4.1.0', '4.1.5', '4.2.0', '5.0.1', '10.0'])
    expect({ v, clean: demotesCleanly(v) }).toEqual({ v, clean: true });
  for (const v of ['3.0.2', '3.3.8', '4.0.7', '4.0', '', 'four', undefined])
    expect({ v, clean: demotesCleanly(v) }).toEqual({ v, clean: false });
});

describe('the synchronous handoff: the target a synchronous standby of the source for the switchover alone', () => {
  let out: jest.SpyInstance;
  beforeEach(() => (out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true)));
  afterEach(() => out.mockRestore());
  const printed = () => out.mock.calls.join('');

  const HANDOFF = `dc1 {"postgresql":{"parameters":{"synchronous_standby_names":"\\"dc2a\\""}},"${MARKER}":{"handoff":"dc2a"}}`;
  const LIFT_HANDOFF = `dc1 {"postgresql":{"parameters":{"synchronous_standby_names":null}},"${MARKER}":{"handoff":null}}`;
  const SOFT_FENCE = `dc1 {"postgresql":{"parameters":{"default_transaction_read_only":"on"}},"${MARKER}":{"softFence":true}}`;
  const LIFT = `dc1 {"postgresql":{"parameters":{"default_transaction_read_only":null}},"${MARKER}":{"softFence":null}}`;
  const FENCE = 'dc1 {"standby_cluster":{"host":"10.0.2.1","port":5432,"primary_slot_name":"link"}}';
  const UNDO = `dc1 {"standby_cluster":null,"postgresql":{"parameters":{"synchronous_standby_names":null}},"${MARKER}":{"handoff":null}}`;
  const sides = (dc1: Partial<Side> = {}, dc2: Partial<Side> = {}) => ({
    dc1: side({ members: ['dc1a'], synchronousCommit: 'on', ...dc1 }),
    dc2: side({ standby: true, members: ['dc2a'], ...dc2 }),
  });

  test('handoff, fence, promotion as soon as the old source stops streaming, the handoff taken away once the old leader is in recovery: nothing waits for its last position', async () => {
    const f = fakeClusters(sides());
    await run(cfg, f.io);
    expect(f.calls).toEqual([
      'dc2 {"slots":{"link":{"type":"physical"}}}',
      HANDOFF,
      FENCE,
      'dc2 {"standby_cluster":null}',
      LIFT_HANDOFF,
      'dc1 {"slots":{"link":null}}',
    ]);
    // the old leader is read twice: not answering as a primary before the promotion, in recovery after it
    expect(f.positions.filter((p) => p.startsWith('dc1 '))).toEqual([
      'dc1 dc1a in recovery 0/100',
      'dc1 dc1a in recovery 0/100',
    ]);
    expect(printed()).toMatch(
      /synchronous handoff: dc2a is the synchronous standby of dc1a \(dc1\) and has replayed 0\/100, \d+ ms/,
    );
    expect(printed()).toMatch(
      /dc1a stopped streaming to dc2a, \d+ ms after the fence: every commit it acknowledged is here/,
    );
    expect(printed()).not.toContain('soft fence');
  });

  test('the promotion waits while the target still streams from the old source (its shutdown not done), while the target cannot be read, and while the old leader still answers read-write', async () => {
    const f = fakeClusters(sides({ readWritePolls: 2, oldReplayLsn: '0/40' }, { streamingPolls: 3 }));
    const readMember = f.io.readMember;
    let unreadable = 2;
    f.io.readMember = async (c: RoleChangeCluster, m: string) => {
      const n = await readMember(c, m);
      // after its stream ended, the target cannot be read twice (a timeout)
      if (c.name === 'dc2' && n.receiverStatus === null && unreadable-- > 0) return { ...n, reachable: false };
      return n;
    };
    await run(cfg, f.io);
    // the first read: dc2a streams from dc1a while it turns synchronous (the handoff)
    expect(f.reads.slice(0, 7)).toEqual([
      'dc2 dc2a streaming',
      'dc2 dc2a streaming',
      'dc2 dc2a streaming',
      'dc2 dc2a streaming',
      'dc2 dc2a not streaming',
      'dc2 dc2a not streaming',
      'dc2 dc2a not streaming',
    ]);
    expect(f.positions.filter((p) => p.startsWith('dc1 ')).slice(0, 3)).toEqual([
      'dc1 dc1a read-write 0/40',
      'dc1 dc1a read-write 0/40',
      'dc1 dc1a in recovery 0/100',
    ]);
    expect(f.calls[3]).toBe('dc2 {"standby_cluster":null}');
  });

  test('the old source never stops streaming: the fence and the handoff undone in one patch, nothing promoted, the step fails', async () => {
    const f = fakeClusters(sides({}, { streamingPolls: Infinity }));
    await expect(run(cfg, f.io, { recoverySeconds: 0.3 })).rejects.toThrow(
      /^dc1's former leader dc1a did not stop streaming to dc2a within 0.3 s after the fence: the fence and the handoff were undone \(dc1 is the primary again\) and nothing was promoted$/,
    );
    expect(f.calls.slice(1)).toEqual([HANDOFF, FENCE, UNDO]);
    expect(f.calls.join(' ')).not.toContain('dc2 {"standby_cluster":null}');
  });

  test("this cluster's leader changed meanwhile (another member may lack what the synchronous standby had): undone, nothing promoted", async () => {
    const f = fakeClusters(sides());
    const look = f.io.look;
    f.io.look = async (c) => {
      const x = await look(c);
      return c.name === 'dc2' && x.reachable && f.calls.includes(FENCE)
        ? { ...x, leader: { name: 'dc2b', role: 'standby_leader' } }
        : x;
    };
    await expect(run(cfg, f.io)).rejects.toThrow(
      "dc2's standby leader is dc2b (standby_leader) now, not dc2a, the synchronous standby: the fence and the handoff were undone (dc1 is the primary again) and nothing was promoted",
    );
    expect(f.calls.slice(-1)).toEqual([UNDO]);
  });

  test('the old leader not seen in recovery after the promotion: the handoff stays until the old source streams from the new one; if it never does, it stays for the next deploy', async () => {
    const unseen = (f: ReturnType<typeof fakeClusters>) => {
      const position = f.io.position;
      f.io.position = async (c: RoleChangeCluster, m: string | undefined) =>
        c.name === 'dc1' ? undefined : position(c, m);
    };
    const f = fakeClusters(sides());
    unseen(f);
    await run(cfg, f.io, { recoverySeconds: 0.2 });
    expect(f.calls.slice(-2)).toEqual(['dc1 {"slots":{"link":null}}', LIFT_HANDOFF]);
    expect(printed()).toContain(
      "dc1a was not seen in recovery within 0.2 s: the handoff stays in dc1's configuration until it streams from dc2 or the next deploy",
    );
    const g = fakeClusters(sides());
    unseen(g);
    const readMember = g.io.readMember;
    g.io.readMember = async (c: RoleChangeCluster, m: string) => ({
      ...(await readMember(c, m)),
      ...(c.name === 'dc1' ? { receiverStatus: null } : {}),
    });
    await expect(run(cfg, g.io, { recoverySeconds: 0.2 })).rejects.toThrow(/dc1 does not stream from dc2/);
    expect(g.calls).not.toContain(LIFT_HANDOFF);
  });

  test('the target never turns synchronous: the handoff taken away, then the soft fence path', async () => {
    const f = fakeClusters(sides({ syncNever: true }));
    await run(cfg, f.io);
    expect(f.calls).toEqual([
      'dc2 {"slots":{"link":{"type":"physical"}}}',
      HANDOFF,
      LIFT_HANDOFF,
      SOFT_FENCE,
      FENCE,
      LIFT,
      'dc2 {"standby_cluster":null}',
      'dc1 {"slots":{"link":null}}',
    ]);
    expect(printed()).toContain(
      'synchronous handoff not used: dc2a did not become the synchronous standby of dc1a within 1 s: dc2a is not synchronous there yet (taken away again); the soft fence instead',
    );
  });

  test.each([
    [{ standbyNames: '*' }, 'synchronous_standby_names there is "*", not "\\"dc2a\\""'],
    [
      {
        senders: [
          { name: 'dc2a', sync: true, address: '10.0.2.1' },
          { name: 'DC2A', sync: false, address: '10.0.1.2' },
        ],
      },
      '2 walsenders there are named dc2a',
    ],
    // the one walsender named dc2a is another client's: dc2a itself streams from a replica of dc1
    [{ elsewhere: true }, 'dc2a does not stream from dc1a (10.0.1.1)'],
  ])(
    'a synchronous standby that is not the standby leader alone counts for nothing: taken away, the soft fence (%j)',
    async (dc1, why) => {
      const { elsewhere, ...rest } = dc1 as Partial<Side> & { elsewhere?: true };
      const f = fakeClusters(sides(rest));
      if (elsewhere) {
        const readMember = f.io.readMember;
        f.io.readMember = async (c: RoleChangeCluster, m: string) => ({
          ...(await readMember(c, m)),
          ...(c.name === 'dc2' ? { senderHost: '10.0.1.2' } : {}),
        });
      }
      await run(cfg, f.io);
      expect(printed()).toContain(
        `did not become the synchronous standby of dc1a within 1 s: ${why} (taken away again)`,
      );
      expect(f.calls.slice(1, 4)).toEqual([HANDOFF, LIFT_HANDOFF, SOFT_FENCE]);
    },
  );

  test('synchronous, but the standby leader has not replayed what the source flushed before (commits that waited for no one): taken away; the soft fence then refuses too, nothing fenced', async () => {
    const f = fakeClusters(sides({ lsn: '0/100' }, { lsn: '0/80' }));
    await expect(run(cfg, f.io)).rejects.toThrow(
      /REFUSED: dc2's standby leader did not replay what dc1 wrote once read-only/,
    );
    expect(printed()).toContain(
      'synchronous handoff not used: dc2a did not replay 0/100 (flushed on dc1a when it turned synchronous) within 1 s (taken away again)',
    );
    expect(f.calls.slice(1)).toEqual([HANDOFF, LIFT_HANDOFF, SOFT_FENCE, LIFT]);
  });

  test.each([
    [
      { synchronousCommit: 'local' },
      "dc1's synchronous_commit is local (its commits would not wait for a synchronous standby)",
    ],
    [{ synchronousCommit: 'off' }, "dc1's synchronous_commit is off"],
    [
      { config: { synchronous_mode: true } },
      "dc1 runs Patroni's synchronous_mode (Patroni sets synchronous_standby_names there)",
    ],
    [{ config: { synchronous_mode: 'on' } }, "dc1 runs Patroni's synchronous_mode"],
    [{ config: { synchronous_mode: 'quorum' } }, "dc1 runs Patroni's synchronous_mode"],
    [
      { config: { postgresql: { parameters: { synchronous_standby_names: 'dc1b' } } } },
      "dc1's configuration sets synchronous_standby_names itself",
    ],
    [{ config: { [MARKER]: { softFence: true } } }, 'dc1 is soft-fenced by an earlier run'],
    [{ off: true }, 'link.roleChange.synchronousHandoff is false'],
    [
      { patroni: '3.0.2' },
      'dc1a runs Patroni 3.0.2: before 4.1 its demotion is an immediate stop, whose last WAL its replicas could take and then not follow the new timeline',
    ],
    [{ patroni: '4.0.7' }, 'dc1a runs Patroni 4.0.7: before 4.1'],
    [{ patroni: null }, 'dc1a runs Patroni (version unknown): before 4.1'],
  ])('not used, the soft fence instead, synchronous_standby_names never touched: %j', async (dc1, why) => {
    const { off, ...rest } = dc1 as Partial<Side> & { off?: true };
    const f = fakeClusters(sides(rest));
    await run(off ? { ...cfg, synchronousHandoff: false } : cfg, f.io);
    expect(printed()).toContain(`synchronous handoff not used: ${why}`);
    expect(f.calls.join(' ')).not.toContain('synchronous_standby_names');
    expect(f.calls.join(' ')).toContain('default_transaction_read_only');
  });

  test('a member name PostgreSQL would not keep as an application_name (over 63 bytes, not ASCII): not used, nothing waited for', async () => {
    for (const name of ['s'.repeat(64), 'standby-ü']) {
      const f = fakeClusters(sides({}, { members: [name] }));
      await run({ ...cfg, me: { ...cfg.me, nodes: [{ ...cfg.me.nodes[0], name }] } }, f.io);
      expect(printed()).toContain(
        `synchronous handoff not used: the member name ${name} is no application_name PostgreSQL keeps as it is`,
      );
      expect(f.calls.join(' ')).not.toContain('synchronous_standby_names');
    }
  });

  test('the fence cannot be sent: the handoff is taken away before the error goes up', async () => {
    const f = fakeClusters(sides());
    const patch = f.io.patch;
    f.io.patch = async (c, body) => {
      if ('standby_cluster' in body && body.standby_cluster !== null) throw new Error('dc1 REST API: 503');
      return patch(c, body);
    };
    await expect(run(cfg, f.io)).rejects.toThrow('dc1 REST API: 503');
    expect(f.calls.slice(1)).toEqual([HANDOFF, LIFT_HANDOFF]);
  });

  const left = { postgresql: { parameters: { synchronous_standby_names: '"dc2a"' } }, [MARKER]: { handoff: 'dc2a' } };

  test('a handoff left by a run that stopped is taken away first, on either cluster, even when the step then refuses', async () => {
    const f = fakeClusters(sides({ config: left }), ['standby leader dc2a not streaming']);
    await expect(run(cfg, f.io)).rejects.toThrow(/REFUSED: the link is not ready for a switchover/);
    expect(f.calls).toEqual([LIFT_HANDOFF]);
    expect(printed()).toContain(
      'dc1 kept dc2a as a synchronous standby, left by a role change that stopped: taken away',
    );
    // on the source of the topology, with nothing else to do
    const g = fakeClusters({
      dc1: side({ standby: true, members: ['dc1a'] }),
      dc2: side({ members: ['dc2a'], config: left }),
    });
    await run(cfg, g.io);
    expect(g.calls).toEqual([LIFT_HANDOFF.replace('dc1 ', 'dc2 ')]);
  });

  test('a run that stopped after its fence with a handoff: taken away first, then resumed by the last position', async () => {
    const f = fakeClusters({
      dc1: side({ standby: true, members: ['dc1a'], config: left }),
      dc2: side({ standby: true, members: ['dc2a'] }),
    });
    await run(cfg, f.io);
    expect(f.calls).toEqual([LIFT_HANDOFF, 'dc2 {"standby_cluster":null}', 'dc1 {"slots":{"link":null}}']);
    expect(printed()).toContain("dc1's last position: 0/100");
  });

  test("the standby's step and a detached link's step take a leftover handoff away too (a promoted cluster must not keep one), unless another run's lease is live", async () => {
    const standbyStep: RoleChangeConfig = { ...cfg, role: 'standby', me: cfg.other, other: cfg.me };
    const f = fakeClusters({
      dc1: side({ members: ['dc1a'], config: left }),
      dc2: side({ standby: true, members: ['dc2a'] }),
    });
    await run({ ...standbyStep, me: cfg.me, other: cfg.other }, f.io);
    expect(f.calls).toEqual([LIFT_HANDOFF]);
    const detached: RoleChangeConfig = { ...cfg, role: 'standby', state: 'detached' };
    const g = fakeClusters({
      dc1: side({ members: ['dc1a'] }),
      dc2: side({ standby: true, members: ['dc2a'], config: left }),
    });
    await run(detached, g.io);
    expect(g.calls).toEqual([LIFT_HANDOFF.replace('dc1 ', 'dc2 ')]);
    const held = {
      ...left,
      [MARKER]: {
        ...left[MARKER],
        roleChange: { holder: 'dc1/abc', since: '2026-01-01T00:00:00.000Z', until: Date.now() + 60_000 },
      },
    };
    const k = fakeClusters({
      dc1: side({ members: ['dc1a'] }),
      dc2: side({ standby: true, members: ['dc2a'], config: held }),
    });
    await run(detached, k.io);
    expect(k.calls).toEqual([]);
    expect(printed()).toContain(
      'a synchronous handoff in a configuration is left to the role change that holds the lease',
    );
  });
});

describe('the role change: every refusal and no-op, one cause each (fake clusters)', () => {
  let out: jest.SpyInstance;
  const printed = () => out.mock.calls.map((c) => String(c[0])).join('');
  beforeEach(() => (out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true)));
  afterEach(() => out.mockRestore());
  const leaderless = (f: ReturnType<typeof fakeClusters>, name: 'dc1' | 'dc2', role = 'replica') => {
    const look = f.io.look;
    f.io.look = async (c: RoleChangeCluster) => {
      const x = await look(c);
      if (c.name !== name || !x.reachable) return x;
      const members = (x.members ?? []).map((m) => ({ ...m, role }));
      return { ...x, members, leader: undefined, primary: false };
    };
  };

  test('the step of a cluster the topology names a standby: nothing, it points at the other stack', async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) });
    await run({ ...cfg, role: 'standby' }, f.io);
    expect(f.calls).toEqual([]);
    expect(printed()).toContain(
      "dc2 is a standby cluster of dc1 in the topology: a role change runs in dc1's role resource",
    );
  });

  test('a detached link (a promotion): nothing, whichever role, whatever the clusters look like', async () => {
    for (const role of ['source', 'standby'] as const) {
      const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ members: ['dc2a'] }) });
      await run({ ...cfg, role, state: 'detached' }, f.io);
      expect(f.calls).toEqual([]);
    }
    expect(printed()).toContain(
      'the link is detached (a promotion): no role change; once it follows again, this step rejoins dc2 to dc1 if it is a primary then',
    );
  });

  test("a promotion undone: the standby's step finds its cluster a primary while the link follows again, and rejoins it to the source (the loss counted and guarded as any rejoin)", async () => {
    const sides = promotedDc2;
    const refused = fakeClusters(sides());
    await expect(run(standbyStep, refused.io)).rejects.toThrow(
      /REFUSED: rejoining dc2 throws away the 128 bytes of WAL it wrote after 0\/200 \(pg_rewind\)/,
    );
    expect(refused.calls).toEqual([]);
    const s = sides();
    const f = fakeClusters(s);
    await run({ ...standbyStep, acceptDataLoss: true }, f.io);
    expect(printed()).toContain('dc2 is a primary (promoted) and the topology makes it follow dc1 again: rejoining it');
    expect(f.calls).toEqual([
      'dc1 {"slots":{"link":{"type":"physical"}}}',
      'dc2 {"standby_cluster":{"host":"10.0.1.1","port":5432,"primary_slot_name":"link"}}',
      'dc2 {"slots":{"link":null}}',
      'dc2 POST /reinitialize dc2b',
    ]);
    expect([s.dc1.standby, s.dc2.standby]).toEqual([false, true]);
  });

  test('this cluster does not answer while the other is a primary: refused', async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ reachable: false }) });
    await expect(run(cfg, f.io)).rejects.toThrow(
      'REFUSED: dc2 does not answer, and dc1 is a primary: it cannot be made the source; start it, or keep link.source: dc1',
    );
  });

  test('this cluster does not answer and the other is a standby cluster: a new deployment, nothing to do', async () => {
    const f = fakeClusters({ dc1: side({ standby: true, members: ['dc1a'] }), dc2: side({ reachable: false }) });
    await run(cfg, f.io);
    expect(f.calls).toEqual([]);
    expect(printed()).toContain('nothing to do: dc2 is not running yet');
  });

  test('already the source, the other cut off: nothing to do', async () => {
    const f = fakeClusters({ dc1: side({ reachable: false }), dc2: side({ members: ['dc2a'] }) });
    await run(cfg, f.io);
    expect(f.calls).toEqual([]);
    expect(printed()).toContain('nothing to do: dc2 is the source; dc1 does not answer');
    expect(printed()).toContain('dc2 is a primary (leader dc2a); dc1 is not answering (its REST API)');
  });

  test('both primaries, one without a running leader: refused before any divergence is read', async () => {
    for (const name of ['dc1', 'dc2'] as const) {
      const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ members: ['dc2a'] }) });
      leaderless(f, name);
      f.io.history = async () => {
        throw new Error('read');
      };
      const expected = name === 'dc2' ? '(dc2: none, dc1: leader)' : '(dc2: leader, dc1: none)';
      await expect(run(cfg, f.io)).rejects.toThrow(
        `REFUSED: a cluster has no running leader ${expected}; deploy again once both have one`,
      );
    }
  });

  test('both standby clusters, the other without a leader: refused (its last position cannot be read)', async () => {
    const f = fakeClusters({
      dc1: side({ standby: true, members: ['dc1a'] }),
      dc2: side({ standby: true, members: ['dc2a'] }),
    });
    leaderless(f, 'dc1');
    await expect(run(cfg, f.io)).rejects.toThrow('REFUSED: dc1 has no leader to read its last position from');
    expect(f.calls).toEqual([]);
  });

  test('a planned switchover with a leaderless side: refused, naming both', async () => {
    for (const name of ['dc1', 'dc2'] as const) {
      const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) });
      leaderless(f, name);
      const expected = name === 'dc2' ? '(dc2: none, dc1: dc1a)' : '(dc2: dc2a, dc1: none)';
      await expect(run(cfg, f.io)).rejects.toThrow(`REFUSED: a cluster has no leader ${expected}`);
      expect(f.calls).toEqual([]);
    }
  });

  test('the states are printed first: a standby cluster and a primary, with their leaders', async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) });
    await run(cfg, f.io);
    expect(printed()).toContain('dc2 is a standby cluster (leader dc2a); dc1 is a primary (leader dc1a)');
    expect(printed()).toContain('switchover: dc1 (primary, leader dc1a) -> dc2 (standby cluster)');
    expect(printed()).toMatch(/dc1 streams from dc2 \(standby leader dc1a, timeline 1\), \d+ ms after the start/);
  });

  test('no link slot configured: no slot is created or dropped', async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) });
    await run({ ...cfg, slotName: '' }, f.io);
    expect(f.calls.filter((c) => !c.includes('default_transaction_read_only'))).toEqual([
      'dc1 {"standby_cluster":{"host":"10.0.2.1","port":5432,"primary_slot_name":"link"}}',
      'dc2 {"standby_cluster":null}',
    ]);
    expect(f.calls.join(' ')).not.toContain('slots');
  });

  test('the demoted cluster streams, but from elsewhere, or its leader is no standby leader: the step fails after followTimeoutSeconds', async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) });
    const readMember = f.io.readMember;
    f.io.readMember = async (c: RoleChangeCluster, member: string) => ({
      ...(await readMember(c, member)),
      ...(c.name === 'dc1' ? { senderHost: '10.9.9.9' } : {}),
    });
    await expect(run(cfg, f.io)).rejects.toThrow(
      'dc1 does not stream from dc2 after 1 s (roleChange.followTimeoutSeconds); the roles have changed, nothing was lost',
    );
    const g = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) });
    const look = g.io.look;
    g.io.look = async (c: RoleChangeCluster) => {
      const x = await look(c);
      return c.name === 'dc1' && x.reachable && x.leader ? { ...x, leader: { ...x.leader, role: 'leader' } } : x;
    };
    let patched = 0;
    const patch = g.io.patch;
    g.io.patch = async (c: RoleChangeCluster, body: DynamicConfig) => {
      patched += 1;
      return patch(c, body);
    };
    await expect(run(cfg, g.io)).rejects.toThrow('dc1 does not stream from dc2 after 1 s');
    // reverse slot, soft fence, fence, lift, promote, old slot released (and the lease taken and let go on both)
    expect(patched - g.leases.length).toBe(6);
    expect(g.leases).toHaveLength(4);
  });

  test("the standby leader's streaming state is what counts: not streaming, the step fails", async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) });
    const readMember = f.io.readMember;
    f.io.readMember = async (c: RoleChangeCluster, member: string) => ({
      ...(await readMember(c, member)),
      ...(c.name === 'dc1' ? { receiverStatus: 'starting' } : {}),
    });
    await expect(run(cfg, f.io)).rejects.toThrow('dc1 does not stream from dc2 after 1 s');
  });
});

describe('rejoin: what is not known is refused; a rejoin that loses nothing needs no acceptance', () => {
  let out: jest.SpyInstance;
  const printed = () => out.mock.calls.map((c) => String(c[0])).join('');
  beforeEach(() => (out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true)));
  afterEach(() => out.mockRestore());
  const both = (over: { dc1?: Partial<Side>; dc2?: Partial<Side> } = {}) => ({
    dc1: side({
      members: ['dc1a', 'dc1b'],
      lsn: '0/100',
      timeline: 2,
      history: [[1, 0x100, 'r', 't', 'x']],
      ...over.dc1,
    }),
    dc2: side({ members: ['dc2a'], lsn: '0/200', timeline: 2, history: [[1, 0x90, 'r', 't', 'x']], ...over.dc2 }),
  });

  test('a history that cannot be read: refused, nothing changed', async () => {
    for (const missing of ['dc1', 'dc2'] as const) {
      const sides = both();
      sides[missing].history = undefined as unknown as unknown[];
      const f = fakeClusters(sides);
      await expect(run({ ...cfg, acceptDataLoss: true }, f.io)).rejects.toThrow(
        'REFUSED: both clusters are primaries and how far dc1 diverged is unknown (a timeline history (GET /history) could not be read); nothing was changed',
      );
      expect(f.calls).toEqual([]);
    }
  });

  test('the other leader cannot be read with SQL: refused', async () => {
    const f = fakeClusters(both());
    f.io.readMember = async () => undefined as never;
    await expect(run({ ...cfg, acceptDataLoss: true }, f.io)).rejects.toThrow(
      "how far dc1 diverged is unknown (dc1's leader cannot be read with SQL)",
    );
    const g = fakeClusters(both());
    const readMember = g.io.readMember;
    g.io.readMember = async (c: RoleChangeCluster, member: string) => ({
      ...(await readMember(c, member)),
      reachable: false,
    });
    await expect(run({ ...cfg, acceptDataLoss: true }, g.io)).rejects.toThrow("dc1's leader cannot be read with SQL");
  });

  test('histories that do not part: refused (two primaries on one timeline)', async () => {
    const f = fakeClusters(both({ dc2: { history: [[1, 0x100, 'r', 't', 'x']] } }));
    await expect(run({ ...cfg, acceptDataLoss: true }, f.io)).rejects.toThrow(
      'the two timeline histories do not part: both clusters run on one timeline as primaries',
    );
  });

  test('the loss is counted from the fork in upper-case hexadecimal, beyond 32 bits', async () => {
    const fork = 0x1_0000_00abn;
    const f = fakeClusters(
      both({ dc1: { lsn: '1/1AB', history: [] }, dc2: { history: [[1, Number(fork), 'r', 't', 'x']] } }),
    );
    await expect(run(cfg, f.io)).rejects.toThrow(
      'REFUSED: rejoining dc1 throws away the 256 bytes of WAL it wrote after 1/AB (pg_rewind)',
    );
    expect(printed()).toContain(
      'rejoin: dc1 is a primary too; the histories part at 1/AB, dc1 is at 1/1AB (timeline 2): 256 bytes written there after the split',
    );
  });

  test('nothing written past the fork: no acceptance needed; a diverged cluster below the new timeline without a running replica is refused', async () => {
    // dc1 stopped exactly at the fork (0/90): nothing lost, so the rejoin goes on without acceptDataLoss;
    // its timeline (2) is not above dc2's (2) and its only other member is not running
    const sides = both({ dc1: { lsn: '0/90' } });
    const f = fakeClusters(sides);
    const look = f.io.look;
    f.io.look = async (c: RoleChangeCluster) => {
      const x = await look(c);
      return c.name === 'dc1' && x.reachable
        ? { ...x, members: x.members.map((m) => (m.role === 'replica' ? { ...m, state: 'stopped' } : m)) }
        : x;
    };
    await expect(run(cfg, f.io)).rejects.toThrow(
      "REFUSED: dc1 is on timeline 2, not above dc2's 2, and has no running replica to move it up with (Patroni 3.0 would not rewind it); nothing was demoted",
    );
    expect(printed()).not.toContain('acceptDataLoss is set');
    expect(f.calls).toEqual([]);
  });

  test('a diverged cluster already above the new timeline is demoted at once; its replicas are re-cloned and must stream', async () => {
    const f = fakeClusters(both({ dc1: { timeline: 3 } }));
    await run({ ...cfg, acceptDataLoss: true }, f.io);
    expect(printed()).toContain('acceptDataLoss is set: 112 bytes of dc1 past 0/90 will be thrown away');
    expect(printed()).toContain('dc1b re-cloned and streaming');
    expect(f.calls).toEqual([
      'dc2 {"slots":{"link":{"type":"physical"}}}',
      'dc1 {"standby_cluster":{"host":"10.0.2.1","port":5432,"primary_slot_name":"link"}}',
      'dc1 {"slots":{"link":null}}',
      'dc1 POST /reinitialize dc1b',
    ]);
    // a re-cloned replica that does not stream again fails the step (the rejoin itself is done)
    const g = fakeClusters(both({ dc1: { timeline: 3 } }));
    const readMember = g.io.readMember;
    g.io.readMember = async (c: RoleChangeCluster, member: string) => ({
      ...(await readMember(c, member)),
      ...(member === 'dc1b' ? { receiverStatus: null } : {}),
    });
    await expect(run({ ...cfg, acceptDataLoss: true }, g.io)).rejects.toThrow(
      'the re-cloned replicas of dc1 do not stream after 1 s; the rejoin itself is done',
    );
  });
});

describe('the lease and the generation: two pipelines at once, and a pipeline of an older topology', () => {
  let out: jest.SpyInstance;
  beforeEach(() => (out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true)));
  afterEach(() => out.mockRestore());
  const printed = () => out.mock.calls.join('');
  const switchover = () =>
    fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) });
  const lease = (holder: string, until: number) => ({ holder, since: '2026-01-01T00:00:00.000Z', until });
  const leaseOf = (body: string) => JSON.parse(body.slice(4)).roleChange;

  test('the lease is taken on both clusters before the first change, the record written as soon as the target is promoted, the lease let go after the last change', async () => {
    const f = switchover();
    const before = Date.now();
    const order: string[] = [];
    const patch = f.io.patch;
    f.io.patch = async (c: RoleChangeCluster, body: DynamicConfig) => {
      const text = JSON.stringify(body);
      order.push(
        text.includes('"roleChange":{')
          ? `${c.name} lease`
          : text.includes('"roleChange":null')
            ? `${c.name} release`
            : text.includes('"source":{')
              ? `${c.name} record`
              : `${c.name} ${text}`,
      );
      return patch(c, body);
    };
    await run({ ...cfg, generation: 4 }, f.io);
    expect(order).toEqual([
      'dc2 lease',
      'dc1 lease',
      'dc2 {"slots":{"link":{"type":"physical"}}}',
      `dc1 {"postgresql":{"parameters":{"default_transaction_read_only":"on"}},"${MARKER}":{"softFence":true}}`,
      'dc1 {"standby_cluster":{"host":"10.0.2.1","port":5432,"primary_slot_name":"link"}}',
      `dc1 {"postgresql":{"parameters":{"default_transaction_read_only":null}},"${MARKER}":{"softFence":null}}`,
      'dc2 {"standby_cluster":null}',
      'dc2 record',
      'dc1 record',
      'dc1 {"slots":{"link":null}}',
      'dc2 release',
      'dc1 release',
    ]);
    const [dc2, dc1] = f.leases.slice(0, 2).map(leaseOf);
    expect(dc2.holder).toBe(dc1.holder);
    expect(dc2.holder).toMatch(/^dc2\/[0-9a-f]{8}$/);
    // long enough for every wait of the role change, a rejoin's included: 2 x catch-up + recovery + 2 x follow + 1200 s
    expect(dc2.until).toBeGreaterThanOrEqual(before + (2 + 30 + 2 + 1200) * 1000);
    expect(dc2.until).toBeLessThanOrEqual(Date.now() + (2 + 30 + 2 + 1200) * 1000);
    expect(f.leases.slice(2, 4)).toEqual([
      'dc2 {"source":{"cluster":"dc2","generation":4}}',
      'dc1 {"source":{"cluster":"dc2","generation":4}}',
    ]);
    expect(printed()).toMatch(/lease dc2\/[0-9a-f]{8} taken on dc2 and dc1/);
    expect(printed()).toContain('recorded on dc2 and dc1: source dc2, link.roleChange.generation 4');
  });

  test('a role change that fails after the promotion keeps the record (the roles have changed) and lets the lease go', async () => {
    const f = switchover();
    // dc1 never seen streaming from dc2
    const readMember = f.io.readMember;
    f.io.readMember = async (c: RoleChangeCluster, member: string) => ({
      ...(await readMember(c, member))!,
      receiverStatus: null,
    });
    await expect(run({ ...cfg, generation: 4 }, f.io)).rejects.toThrow(/dc1 does not stream from dc2 after 1 s/);
    expect(f.leases.slice(2)).toEqual([
      'dc2 {"source":{"cluster":"dc2","generation":4}}',
      'dc1 {"source":{"cluster":"dc2","generation":4}}',
      'dc2 {"roleChange":null}',
      'dc1 {"roleChange":null}',
    ]);
  });

  test("a lease of this run's own stack, left by a killed run: taken over; another stack's: refused", async () => {
    const f = fakeClusters({
      dc1: side({
        members: ['dc1a'],
        config: { [MARKER]: { roleChange: lease('dc2/deadbeef', Date.now() + 600_000) } },
      }),
      dc2: side({ standby: true, members: ['dc2a'] }),
    });
    await run(cfg, f.io);
    expect(f.calls).toContain('dc2 {"standby_cluster":null}');
    expect(printed()).toContain(
      'the lease dc2/deadbeef of a run of this stack that stopped without letting go: taken over',
    );
    const g = fakeClusters({
      dc1: side({
        members: ['dc1a'],
        config: { [MARKER]: { roleChange: lease('dc1/deadbeef', Date.now() + 600_000) } },
      }),
      dc2: side({ standby: true, members: ['dc2a'] }),
    });
    await expect(run(cfg, g.io)).rejects.toThrow(
      /^REFUSED: another role change \(dc1\/deadbeef, since .*\) holds both clusters' configuration until .*: it runs from dc1's stack in another pipeline/,
    );
    expect([g.calls, g.leases]).toEqual([[], []]);
  });

  test("a lease another role change wrote at the same moment shows when this one's is read back: refused, the other's lease left alone", async () => {
    const f = switchover();
    let taken = 0;
    const patch = f.io.patch;
    f.io.patch = async (c: RoleChangeCluster, body: DynamicConfig) => {
      await patch(c, body);
      // the other pipeline's lease lands right after this one's on dc1
      if (JSON.stringify(body).includes('"roleChange":{') && ++taken === 2)
        await patch(c, { [MARKER]: { roleChange: lease('dc1/0badcafe', Date.now() + 45_000) } });
    };
    await expect(run(cfg, f.io)).rejects.toThrow(/^REFUSED: another role change \(dc1\/0badcafe/);
    expect(f.calls).toEqual([]);
    // this run's own lease on dc2 let go; the other's on dc1 kept
    expect(f.leases.slice(-1)).toEqual(['dc2 {"roleChange":null}']);
  });

  test('a failed role change lets the lease go too, and records nothing', async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) }, [
      'not streaming',
    ]);
    await expect(run({ ...cfg, generation: 4 }, f.io)).rejects.toThrow(/REFUSED: the link is not ready/);
    expect(f.leases.slice(2)).toEqual(['dc2 {"roleChange":null}', 'dc1 {"roleChange":null}']);
  });

  test("another pipeline's live lease on either cluster: refused before anything is sent; a lease that ran out is no hold", async () => {
    for (const dc of ['dc1', 'dc2'] as const) {
      const f = switchover();
      f.io.look = ((look) => async (c: RoleChangeCluster) => {
        const x = await look(c);
        return x.reachable && c.name === dc
          ? { ...x, config: { ...x.config, [MARKER]: { roleChange: lease('dc1/0badcafe', Date.now() + 60_000) } } }
          : x;
      })(f.io.look);
      await expect(run(cfg, f.io)).rejects.toThrow(
        /^REFUSED: another role change \(dc1\/0badcafe, since 2026-01-01T00:00:00.000Z\) holds both clusters' configuration until .*: it runs from dc1's stack in another pipeline \(one a killed run left is taken over when that stack deploys again\); deploy again after it. Nothing was changed$/,
      );
      expect([f.calls, f.leases]).toEqual([[], []]);
    }
    const g = switchover();
    g.io.look = ((look) => async (c: RoleChangeCluster) => {
      const x = await look(c);
      return x.reachable
        ? { ...x, config: { ...x.config, [MARKER]: { roleChange: lease('old', Date.now() - 1) } } }
        : x;
    })(g.io.look);
    await run(cfg, g.io);
    expect(g.calls).toContain('dc2 {"standby_cluster":null}');
  });

  test('a pipeline of an older topology (lower generation): refused before anything, whichever role its step has', async () => {
    for (const role of ['source', 'standby'] as const) {
      const f = fakeClusters({
        dc1: side({ members: ['dc1a'], config: { [MARKER]: { source: { cluster: 'dc1', generation: 5 } } } }),
        dc2: side({ standby: true, members: ['dc2a'] }),
      });
      const stale =
        role === 'source' ? { ...cfg, generation: 4 } : { ...cfg, role, me: cfg.other, other: cfg.me, generation: 4 };
      await expect(run(stale, f.io)).rejects.toThrow(
        role === 'source'
          ? 'REFUSED: this topology is older than the clusters: they record link.roleChange.generation 5 (source dc1), this one has 4 (source dc2). A pipeline of an older commit must not undo a newer role change: deploy the current topology. Nothing was changed'
          : 'they record link.roleChange.generation 5 (source dc1), this one has 4 (source dc2)',
      );
      expect([f.calls, f.leases]).toEqual([[], []]);
    }
  });

  test('link.source changed but link.generation not raised: refused with the fix; raised: the role change runs', async () => {
    const recorded = { [MARKER]: { source: { cluster: 'dc1', generation: 4 } } };
    const f = fakeClusters({
      dc1: side({ members: ['dc1a'], config: recorded }),
      dc2: side({ standby: true, members: ['dc2a'], config: recorded }),
    });
    await expect(run({ ...cfg, generation: 4 }, f.io)).rejects.toThrow(
      'REFUSED: link.source is dc2 but link.roleChange.generation stays at 4, which the clusters record for source dc1: raise it to 5 with every change of link.source, then deploy again. Nothing was changed',
    );
    expect(f.calls).toEqual([]);
    await run({ ...cfg, generation: 5 }, f.io);
    expect(f.calls).toContain('dc2 {"standby_cluster":null}');
    expect(f.leases.slice(-3)).toEqual([
      'dc1 {"source":{"cluster":"dc2","generation":5}}',
      'dc2 {"roleChange":null}',
      'dc1 {"roleChange":null}',
    ]);
  });

  test('no generation in the topology: nothing checked or recorded while the clusters record none; once they do, refused', async () => {
    const f = switchover();
    await run(cfg, f.io);
    expect(f.calls).toContain('dc2 {"standby_cluster":null}');
    expect(f.leases.slice(2)).toEqual(['dc2 {"roleChange":null}', 'dc1 {"roleChange":null}']);
    const g = fakeClusters({
      dc1: side({ members: ['dc1a'], config: { [MARKER]: { source: { cluster: 'dc1', generation: 9 } } } }),
      dc2: side({ standby: true, members: ['dc2a'] }),
    });
    await expect(run(cfg, g.io)).rejects.toThrow(
      'REFUSED: the clusters record link.roleChange.generation 9 (source dc1), this topology has none: an older commit, or the generation removed. Deploy the current topology, or set link.roleChange.generation to 10. Nothing was changed',
    );
    expect([g.calls, g.leases]).toEqual([[], []]);
  });

  test('roles already as the topology says: the generation is recorded where it is not yet, once', async () => {
    const f = fakeClusters({
      dc1: side({ members: ['dc1a'], standby: true }),
      dc2: side({ members: ['dc2a'], config: { [MARKER]: { source: { cluster: 'dc2', generation: 3 } } } }),
    });
    await run({ ...cfg, generation: 3 }, f.io);
    expect(f.calls).toEqual([]);
    expect(f.leases).toEqual(['dc1 {"source":{"cluster":"dc2","generation":3}}']);
    await run({ ...cfg, generation: 3 }, f.io);
    expect(f.leases).toHaveLength(1);
    expect(printed()).toContain('recorded on dc1: source dc2, link.roleChange.generation 3');
  });
});

test('the Patroni version is read from its start, its minor as a whole number', () => {
  for (const v of ['10.12', '4.10', '4.10.2', '4.01'])
    expect({ v, clean: demotesCleanly(v) }).toEqual({ v, clean: true });
  for (const v of ['v4.1', 'patroni 4.1.5', '3.10', '4.00'])
    expect({ v, clean: demotesCleanly(v) }).toEqual({ v, clean: false });
});

test('the program: an environment that cannot be read is no configuration error: the error goes up, nothing printed, no exit code', async () => {
  const env = new Proxy(
    {},
    {
      get: () => {
        throw new Error('the environment cannot be read');
      },
    },
  );
  const written: string[] = [];
  const sink = { write: (text: string) => written.push(text) };
  await expect(runRoleChange(env, sink, sink)).rejects.toThrow('the environment cannot be read');
  expect(written).toEqual([]);
});

describe('the role change: each condition a step waits for or refuses on, alone (fake clusters)', () => {
  let out: jest.SpyInstance;
  const printed = () => out.mock.calls.map((c) => String(c[0])).join('');
  beforeEach(() => (out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true)));
  afterEach(() => out.mockRestore());

  const SLOT = 'dc2 {"slots":{"link":{"type":"physical"}}}';
  const HANDOFF = `dc1 {"postgresql":{"parameters":{"synchronous_standby_names":"\\"dc2a\\""}},"${MARKER}":{"handoff":"dc2a"}}`;
  const LIFT_HANDOFF = `dc1 {"postgresql":{"parameters":{"synchronous_standby_names":null}},"${MARKER}":{"handoff":null}}`;
  const SOFT_FENCE = `dc1 {"postgresql":{"parameters":{"default_transaction_read_only":"on"}},"${MARKER}":{"softFence":true}}`;
  const LIFT = `dc1 {"postgresql":{"parameters":{"default_transaction_read_only":null}},"${MARKER}":{"softFence":null}}`;
  const FENCE = 'dc1 {"standby_cluster":{"host":"10.0.2.1","port":5432,"primary_slot_name":"link"}}';
  const UNDO = `dc1 {"standby_cluster":null,"postgresql":{"parameters":{"synchronous_standby_names":null}},"${MARKER}":{"handoff":null}}`;
  const PROMOTE = 'dc2 {"standby_cluster":null}';
  const RELEASE = 'dc1 {"slots":{"link":null}}';
  /** dc1 the primary, dc2 its standby cluster; dc1's synchronous_commit waits (the synchronous handoff applies). */
  const handoffSides = (dc1: Partial<Side> = {}, dc2: Partial<Side> = {}) => ({
    dc1: side({ members: ['dc1a'], synchronousCommit: 'on', ...dc1 }),
    dc2: side({ standby: true, members: ['dc2a'], ...dc2 }),
  });
  /** The same, with dc1's synchronous_commit local: the soft fence. */
  const softSides = (dc1: Partial<Side> = {}, dc2: Partial<Side> = {}) => ({
    dc1: side({ members: ['dc1a'], ...dc1 }),
    dc2: side({ standby: true, members: ['dc2a'], ...dc2 }),
  });
  const lease = (holder: string) => ({ holder, since: '2026-01-01T00:00:00.000Z', until: Date.now() + 600_000 });
  const leftHandoff = {
    postgresql: { parameters: { synchronous_standby_names: '"dc2a"' } },
    [MARKER]: { handoff: 'dc2a' },
  };

  // --- the soft fence ---

  test('the soft fence waits until the source reports read-only: the position it reports while it still writes is not its last', async () => {
    const f = fakeClusters(softSides());
    const sourceState = f.io.sourceState;
    let writing = 2;
    f.io.sourceState = async (c: RoleChangeCluster) => {
      const s = await sourceState(c);
      // the soft fence is in its configuration, but its leader has not applied it yet
      return s && s.readOnly && writing-- > 0 ? { ...s, readOnly: false, currentLsn: '0/80' } : s;
    };
    await run(cfg, f.io);
    expect(writing).toBe(-1);
    expect(printed()).toMatch(/soft fence: dc1 read-only, dc2 replayed its last write \(0\/100\), \d+ ms/);
    expect(f.calls).toEqual([SLOT, SOFT_FENCE, FENCE, LIFT, PROMOTE, RELEASE]);
  });

  test('the target cannot be read (or reads no position) while the source is read-only: the soft fence is lifted, refused naming nothing readable', async () => {
    for (const reading of ['none', 'no position'] as const) {
      const f = fakeClusters(softSides());
      const position = f.io.position;
      f.io.position = async (c: RoleChangeCluster, m: string | undefined) => {
        const n = await position(c, m);
        if (c.name !== 'dc2') return n;
        return reading === 'none' || !n ? undefined : { ...n, replayLsn: null };
      };
      await expect(run(cfg, f.io)).rejects.toThrow(
        /^REFUSED: dc2's standby leader did not replay what dc1 wrote once read-only \(nothing readable of 0\/100\) within 1 s: the soft fence was lifted, nothing changed on either side; deploy again to retry$/,
      );
      expect(f.calls).toEqual([SLOT, SOFT_FENCE, LIFT]);
    }
  });

  test('no time to wait (recoverySeconds 0): the old leader is read once, and the fence is undone at once', async () => {
    // a frozen clock: a wait of 0 s makes one check, never a second one 100 ms later
    const f = fakeClusters(softSides({ readWritePolls: 1, oldReplayLsn: '0/40' }));
    const clock = jest.spyOn(Date, 'now').mockReturnValue(Date.now());
    try {
      await expect(run(cfg, f.io, { recoverySeconds: 0 })).rejects.toThrow(
        "dc1's former leader dc1a did not come back in recovery within 0 s: the fence was undone (dc1 is the primary again) and nothing was promoted",
      );
    } finally {
      clock.mockRestore();
    }
    expect(f.positions.filter((p) => p.startsWith('dc1 '))).toEqual(['dc1 dc1a read-write 0/40']);
    expect(f.calls.slice(-1)).toEqual([
      `dc1 {"standby_cluster":null,"postgresql":{"parameters":{"default_transaction_read_only":null}},"${MARKER}":{"softFence":null}}`,
    ]);
  });

  test('the fence cannot be sent after a soft fence: the error goes up, and no handoff is taken away (there was none)', async () => {
    const f = fakeClusters(softSides());
    const patch = f.io.patch;
    f.io.patch = async (c: RoleChangeCluster, body: DynamicConfig, leader?: string) => {
      if ('standby_cluster' in body && body.standby_cluster !== null) throw new Error('dc1 REST API: 503');
      return patch(c, body, leader);
    };
    await expect(run(cfg, f.io)).rejects.toThrow('dc1 REST API: 503');
    expect(f.calls.slice(0, 2)).toEqual([SLOT, SOFT_FENCE]);
    expect(f.calls.join(' ')).not.toContain('synchronous_standby_names');
  });

  // --- whether the synchronous handoff applies ---

  test.each([[false], ['off'], [null]])('synchronous_mode %j is off: the synchronous handoff is used', async (mode) => {
    const f = fakeClusters(handoffSides({ config: { synchronous_mode: mode } }));
    await run(cfg, f.io);
    expect(f.calls).toEqual([SLOT, HANDOFF, FENCE, PROMOTE, LIFT_HANDOFF, RELEASE]);
    expect(printed()).not.toContain('synchronous handoff not used');
  });

  test("a handoff a stopped run left on the source is taken away, and the next handoff is this run's, not taken for the user's own synchronous_standby_names", async () => {
    const f = fakeClusters(handoffSides({ config: leftHandoff }));
    await run(cfg, f.io);
    expect(f.calls).toEqual([LIFT_HANDOFF, SLOT, HANDOFF, FENCE, PROMOTE, LIFT_HANDOFF, RELEASE]);
    expect(printed()).not.toContain('synchronous handoff not used');
  });

  test("a marker whose handoff names no member beside the user's own synchronous_standby_names: the user's, never touched", async () => {
    const f = fakeClusters(
      handoffSides({
        config: { postgresql: { parameters: { synchronous_standby_names: 'dc1b' } }, [MARKER]: { handoff: true } },
      }),
    );
    await run(cfg, f.io);
    expect(printed()).toContain(
      "synchronous handoff not used: dc1's configuration sets synchronous_standby_names itself; the soft fence instead",
    );
    expect(printed()).not.toContain('taken away');
    expect(f.calls).toEqual([SLOT, SOFT_FENCE, FENCE, LIFT, PROMOTE, RELEASE]);
  });

  test('a member name of exactly 63 ASCII bytes is kept by PostgreSQL: used; one that starts with a byte beyond ASCII is not', async () => {
    for (const [name, used] of [
      ['s'.repeat(63), true],
      ['ü-standby', false],
    ] as const) {
      out.mockClear();
      const f = fakeClusters(handoffSides({}, { members: [name] }));
      await run({ ...cfg, me: { ...cfg.me, nodes: [{ ...cfg.me.nodes[0], name }] } }, f.io);
      expect({ name, used: f.calls.join(' ').includes('synchronous_standby_names') }).toEqual({ name, used });
      expect(printed()).toContain(
        used
          ? `synchronous handoff: ${name} is the synchronous standby of dc1a (dc1)`
          : `synchronous handoff not used: the member name ${name} is no application_name PostgreSQL keeps as it is (63 ASCII bytes at most)`,
      );
    }
  });

  test("the source's synchronous_commit cannot be read (the read fails, or the setting is not in it): not used, the soft fence instead", async () => {
    const f = fakeClusters(handoffSides());
    const sourceState = f.io.sourceState;
    // unreadable until the soft fence (read-only) is in place
    f.io.sourceState = async (c: RoleChangeCluster) => {
      const s = await sourceState(c);
      return s && s.readOnly ? s : undefined;
    };
    await run(cfg, f.io);
    const g = fakeClusters(handoffSides({ synchronousCommit: null }));
    await run(cfg, g.io);
    const why =
      "synchronous handoff not used: dc1's synchronous_commit is unreadable (its commits would not wait for a synchronous standby); the soft fence instead";
    expect(printed().split(why)).toHaveLength(3);
    for (const x of [f, g]) expect(x.calls).toEqual([SLOT, SOFT_FENCE, FENCE, LIFT, PROMOTE, RELEASE]);
  });

  test("the source's other walsenders (its own replicas) do not count against the one named after the target: used", async () => {
    const f = fakeClusters(
      handoffSides({
        senders: [
          { name: 'dc1b', sync: false, address: '10.0.1.2' },
          { name: 'DC2A', sync: true, address: '10.0.2.1' },
        ],
      }),
    );
    await run(cfg, f.io);
    expect(f.calls).toEqual([SLOT, HANDOFF, FENCE, PROMOTE, LIFT_HANDOFF, RELEASE]);
  });

  test.each([
    ['cannot be read', () => undefined as never],
    [
      'does not stream (its receiver stopping), though it names the source leader',
      (n: MemberReading) => ({
        ...n,
        receiverStatus: 'stopping',
      }),
    ],
  ])(
    'synchronous there, but the target %s: it is not the stream of the target, taken away, the soft fence',
    async (_what, reading: (n: MemberReading) => MemberReading) => {
      const sides = handoffSides();
      const f = fakeClusters(sides);
      const readMember = f.io.readMember;
      f.io.readMember = async (c: RoleChangeCluster, m: string) => {
        const n = await readMember(c, m);
        return c.name === 'dc2' && !sides.dc1.standby ? reading(n) : n;
      };
      await run(cfg, f.io);
      expect(printed()).toContain(
        'synchronous handoff not used: dc2a did not become the synchronous standby of dc1a within 1 s: dc2a does not stream from dc1a (10.0.1.1) (taken away again); the soft fence instead',
      );
      expect(f.calls).toEqual([SLOT, HANDOFF, LIFT_HANDOFF, SOFT_FENCE, FENCE, LIFT, PROMOTE, RELEASE]);
    },
  );

  test("synchronous, but the source's flushed position cannot be read: taken away at once (nothing to wait for), the soft fence", async () => {
    const f = fakeClusters(handoffSides());
    const sourceState = f.io.sourceState;
    f.io.sourceState = async (c: RoleChangeCluster) => {
      const s = await sourceState(c);
      return s && !s.readOnly ? { ...s, currentLsn: null } : s;
    };
    let readBefore: string[] = [];
    const patch = f.io.patch;
    f.io.patch = async (c: RoleChangeCluster, body: DynamicConfig, leader?: string) => {
      if (JSON.stringify(body).includes('"handoff":null')) readBefore = f.positions.slice();
      return patch(c, body, leader);
    };
    await run(cfg, f.io);
    expect(printed()).toContain(
      'synchronous handoff not used: dc2a did not replay an unreadable position (flushed on dc1a when it turned synchronous) within 1 s (taken away again); the soft fence instead',
    );
    // no position of the target waited for
    expect(readBefore).toEqual([]);
    expect(f.calls).toEqual([SLOT, HANDOFF, LIFT_HANDOFF, SOFT_FENCE, FENCE, LIFT, PROMOTE, RELEASE]);
  });

  test("the source's leader is its second node: the target must stream from that node's host, before the handoff and until the promotion", async () => {
    const two: RoleChangeConfig = {
      ...cfg,
      other: {
        ...cfg.other,
        nodes: [cfg.other.nodes[0], { name: 'dc1b', host: '10.0.1.2', port: 5432, rest: 'http://10.0.1.2:8008' }],
      },
    };
    const sides = handoffSides({ members: ['dc1b', 'dc1a'] }, { streamingPolls: 2 });
    const f = fakeClusters(sides);
    const readMember = f.io.readMember;
    f.io.readMember = async (c: RoleChangeCluster, m: string) => {
      const n = await readMember(c, m);
      return c.name === 'dc2' && n.receiverStatus === 'streaming' ? { ...n, senderHost: '10.0.1.2' } : n;
    };
    let readBefore: string[] = [];
    const patch = f.io.patch;
    f.io.patch = async (c: RoleChangeCluster, body: DynamicConfig, leader?: string) => {
      if (c.name === 'dc2' && body.standby_cluster === null) readBefore = f.reads.slice();
      return patch(c, body, leader);
    };
    await run(two, f.io);
    expect(f.calls).toEqual([SLOT, HANDOFF, FENCE, PROMOTE, LIFT_HANDOFF, RELEASE]);
    expect(f.leaders.slice(1, 3)).toEqual(['dc1b', 'dc1b']);
    // turning synchronous; then after the fence, streaming from dc1b twice before it stopped
    expect(readBefore).toEqual([
      'dc2 dc2a streaming',
      'dc2 dc2a streaming',
      'dc2 dc2a streaming',
      'dc2 dc2a not streaming',
    ]);
  });

  // --- the promotion after the handoff ---

  test.each([
    ['the target cannot be read', {}, (): MemberReading => undefined as never],
    [
      'the target is not read (its REST API answered, its SQL did not)',
      {},
      (n: MemberReading) => ({ ...n, reachable: false }),
    ],
    ['the target is not in recovery', {}, (n: MemberReading) => ({ ...n, inRecovery: false })],
    [
      'the former leader still answers read-write',
      { readWritePolls: Infinity, oldReplayLsn: '0/40' },
      (n: MemberReading) => n,
    ],
  ])(
    'after the fence, %s: no promotion; not within recoverySeconds, the fence and the handoff are undone',
    async (_what, dc1: Partial<Side>, reading: (n: MemberReading) => MemberReading) => {
      const sides = handoffSides(dc1);
      const f = fakeClusters(sides);
      const readMember = f.io.readMember;
      f.io.readMember = async (c: RoleChangeCluster, m: string) => {
        const n = await readMember(c, m);
        return c.name === 'dc2' && sides.dc1.standby ? reading(n) : n;
      };
      await expect(run(cfg, f.io, { recoverySeconds: 0.3 })).rejects.toThrow(
        /^dc1's former leader dc1a did not stop streaming to dc2a within 0.3 s after the fence: the fence and the handoff were undone \(dc1 is the primary again\) and nothing was promoted$/,
      );
      expect(f.calls).toEqual([SLOT, HANDOFF, FENCE, UNDO]);
    },
  );

  test.each([
    [
      'its receiver is no longer streaming, though it still names the fenced host',
      { receiverStatus: 'waiting', senderHost: '10.0.1.1' },
    ],
    [
      "it streams, but from another host than the fenced leader's",
      { receiverStatus: 'streaming', senderHost: '10.0.1.9' },
    ],
  ])(
    'after the fence the target no longer streams from the fenced leader (%s): promoted',
    async (_what, stream: Partial<MemberReading>) => {
      const sides = handoffSides();
      const f = fakeClusters(sides);
      const readMember = f.io.readMember;
      f.io.readMember = async (c: RoleChangeCluster, m: string) => {
        const n = await readMember(c, m);
        return c.name === 'dc2' && sides.dc1.standby ? { ...n, ...stream } : n;
      };
      await run(cfg, f.io, { recoverySeconds: 0.3 });
      expect(f.calls).toEqual([SLOT, HANDOFF, FENCE, PROMOTE, LIFT_HANDOFF, RELEASE]);
    },
  );

  test("after the fence this cluster's leader is still dc2a but no standby leader any more: undone, nothing promoted", async () => {
    const f = fakeClusters(handoffSides());
    const look = f.io.look;
    f.io.look = async (c: RoleChangeCluster) => {
      const x = await look(c);
      return c.name === 'dc2' && x.reachable && f.calls.includes(FENCE)
        ? { ...x, leader: { name: 'dc2a', role: 'leader' } }
        : x;
    };
    await expect(run(cfg, f.io)).rejects.toThrow(
      /^dc2's standby leader is dc2a \(leader\) now, not dc2a, the synchronous standby: the fence and the handoff were undone \(dc1 is the primary again\) and nothing was promoted$/,
    );
    expect(f.calls).toEqual([SLOT, HANDOFF, FENCE, UNDO]);
  });

  test('the former leader answers read-write after the promotion: the handoff is not taken away then, only once the old source streams from the new one', async () => {
    const sides = handoffSides();
    const f = fakeClusters(sides);
    const position = f.io.position;
    f.io.position = async (c: RoleChangeCluster, m: string | undefined) => {
      const n = await position(c, m);
      if (c.name !== 'dc1') return n;
      // stopped (cannot be read) until dc2 is promoted; then read-write
      return sides.dc2.standby || !n ? undefined : { ...n, inRecovery: false };
    };
    await run(cfg, f.io, { recoverySeconds: 0.2 });
    expect(f.calls).toEqual([SLOT, HANDOFF, FENCE, PROMOTE, RELEASE, LIFT_HANDOFF]);
    expect(printed()).toContain(
      "dc1a was not seen in recovery within 0.2 s: the handoff stays in dc1's configuration until it streams from dc2 or the next deploy",
    );
  });

  // --- the promotion, and the other cluster following ---

  test('promoted: the step waits until the target is read-write', async () => {
    const f = fakeClusters(softSides({}, { recoveryPolls: 2 }));
    await run(cfg, f.io);
    // the soft fence's read, the catch-up's, then the promotion's three
    expect(f.positions.filter((p) => p.startsWith('dc2 '))).toEqual([
      'dc2 dc2a in recovery 0/100',
      'dc2 dc2a in recovery 0/100',
      'dc2 dc2a in recovery 0/100',
      'dc2 dc2a in recovery 0/100',
      'dc2 dc2a read-write 0/100',
    ]);
    expect(printed()).toMatch(/dc2 is the primary \(leader dc2a, timeline 1\), \d+ ms after the fence/);
  });

  test('promoted, but never read-write within 60 s: the step fails, pointing at its Patroni log', async () => {
    const sides = softSides({}, { recoveryPolls: Infinity });
    const f = fakeClusters(sides);
    const realNow = Date.now.bind(Date);
    let skew = 0;
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
    const position = f.io.position;
    f.io.position = async (c: RoleChangeCluster, m: string | undefined) => {
      const n = await position(c, m);
      // the first read after the promotion: 61 s have passed
      if (c.name === 'dc2' && !sides.dc2.standby) skew = 61_000;
      return n;
    };
    try {
      await expect(run(cfg, f.io)).rejects.toThrow(
        /^dc2 was told to promote but is not read-write after 60 s: look at its Patroni log$/,
      );
    } finally {
      clock.mockRestore();
    }
    expect(f.calls).toEqual([SLOT, SOFT_FENCE, FENCE, LIFT, PROMOTE]);
  });

  test('the demoted cluster has no leader for a moment: the step waits for its standby leader', async () => {
    const sides = softSides();
    const f = fakeClusters(sides);
    const look = f.io.look;
    let leaderless = 2;
    f.io.look = async (c: RoleChangeCluster) => {
      const x = await look(c);
      return c.name === 'dc1' && x.reachable && sides.dc1.standby && leaderless-- > 0
        ? { ...x, leader: undefined, primary: false }
        : x;
    };
    await run(cfg, f.io);
    expect(leaderless).toBeLessThan(0);
    expect(f.calls).toEqual([SLOT, SOFT_FENCE, FENCE, LIFT, PROMOTE, RELEASE]);
    expect(printed()).toMatch(/dc1 streams from dc2 \(standby leader dc1a, timeline 1\)/);
  });

  test("the demoted cluster streams from one of this cluster's hosts (any of them): it follows", async () => {
    const two: RoleChangeConfig = {
      ...cfg,
      me: {
        ...cfg.me,
        nodes: [cfg.me.nodes[0], { name: 'dc2b', host: '10.0.2.2', port: 5432, rest: 'http://10.0.2.2:8008' }],
      },
    };
    const f = fakeClusters(softSides());
    await run(two, f.io);
    expect(f.calls).toEqual([SLOT, SOFT_FENCE, FENCE, LIFT, PROMOTE, RELEASE]);
    expect(printed()).toMatch(/dc1 streams from dc2 \(standby leader dc1a, timeline 1\)/);
  });

  test('the durations printed are the ones since the start or the fence (milliseconds, well under a minute)', async () => {
    for (const [sides, lines] of [
      [handoffSides(), 4],
      [softSides(), 3],
    ] as const) {
      out.mockClear();
      await run(cfg, fakeClusters(sides).io);
      const ms = [...printed().matchAll(/, (\d+) ms/g)].map((m) => Number(m[1]));
      expect(ms).toHaveLength(lines);
      for (const d of ms) expect(d).toBeLessThan(60_000);
    }
  });

  // --- the leaders the changes go through ---

  test('every change goes through the leader the step read: a leftover handoff, a leftover soft fence, a resumed promotion, a promotion undone', async () => {
    // a handoff left on the source (refused at the gate after it is taken away)
    const a = fakeClusters(handoffSides({ config: leftHandoff }), ['not streaming']);
    await expect(run(cfg, a.io)).rejects.toThrow(/REFUSED: the link is not ready/);
    expect([a.calls, a.leaders]).toEqual([[LIFT_HANDOFF], ['dc1a']]);
    // a soft fence left on this cluster, the source of the topology
    const b = fakeClusters({
      dc1: side({ standby: true, members: ['dc1a'] }),
      dc2: side({
        members: ['dc2a'],
        config: { postgresql: { parameters: { default_transaction_read_only: 'on' } }, [MARKER]: { softFence: true } },
      }),
    });
    await run(cfg, b.io);
    expect(b.leaders).toEqual(['dc2a']);
    // both standby clusters: the promotion is sent to this cluster's standby leader
    const c = fakeClusters({
      dc1: side({ standby: true, members: ['dc1a'] }),
      dc2: side({ standby: true, members: ['dc2a'] }),
    });
    await run(cfg, c.io);
    expect([c.calls, c.leaders]).toEqual([
      [PROMOTE, RELEASE],
      ['dc2a', undefined],
    ]);
    // a promotion undone (the standby's step): the slot on the source's leader, the fence to this cluster's
    const d = fakeClusters(promotedDc2());
    await run({ ...standbyStep, acceptDataLoss: true }, d.io);
    expect([d.calls, d.leaders]).toEqual([
      [
        'dc1 {"slots":{"link":{"type":"physical"}}}',
        'dc2 {"standby_cluster":{"host":"10.0.1.1","port":5432,"primary_slot_name":"link"}}',
        'dc2 {"slots":{"link":null}}',
        'dc2 POST /reinitialize dc2b',
      ],
      ['dc1a', 'dc2a', undefined, undefined],
    ]);
  });

  // --- leftover handoffs and leases ---

  test('a leftover handoff beside the lease of a killed run of this stack: the lease is taken over and the handoff taken away, from the source step and from a detached link step', async () => {
    const killed = { ...leftHandoff, [MARKER]: { ...leftHandoff[MARKER], roleChange: lease('dc2/deadbeef') } };
    const f = fakeClusters(handoffSides({ config: killed }), ['not streaming']);
    await expect(run(cfg, f.io)).rejects.toThrow(/REFUSED: the link is not ready/);
    expect(f.calls).toEqual([LIFT_HANDOFF]);
    const g = fakeClusters({
      dc1: side({ members: ['dc1a'] }),
      dc2: side({ standby: true, members: ['dc2a'], config: killed }),
    });
    out.mockClear();
    await run({ ...cfg, role: 'standby', state: 'detached' }, g.io);
    expect(g.calls).toEqual([LIFT_HANDOFF.replace('dc1 ', 'dc2 ')]);
    expect(printed()).toContain(
      'dc2 kept dc2a as a synchronous standby, left by a role change that stopped: taken away',
    );
    expect(printed()).not.toContain('left to the role change that holds the lease');
  });

  test("another pipeline's live lease: refused even with nothing to do (no record written, nothing lifted)", async () => {
    const f = fakeClusters({
      dc1: side({ standby: true, members: ['dc1a'] }),
      dc2: side({
        members: ['dc2a'],
        config: {
          postgresql: { parameters: { default_transaction_read_only: 'on' } },
          [MARKER]: { softFence: true, roleChange: lease('dc1/0badcafe') },
        },
      }),
    });
    await expect(run({ ...cfg, generation: 3 }, f.io)).rejects.toThrow(/^REFUSED: another role change \(dc1\/0badcafe/);
    expect([f.calls, f.leases]).toEqual([[], []]);
  });

  test('already the source, the other cut off: the generation is recorded on this cluster alone', async () => {
    const f = fakeClusters({ dc1: side({ reachable: false }), dc2: side({ members: ['dc2a'] }) });
    await run({ ...cfg, generation: 3 }, f.io);
    expect(f.calls).toEqual([]);
    expect(f.leases).toEqual(['dc2 {"source":{"cluster":"dc2","generation":3}}']);
  });

  test('a run prints to the output it is given for that run alone, refused or not: afterwards the step prints to process.stdout again', async () => {
    const lines: string[] = [];
    const via = { out: { write: (text: string) => lines.push(text) } };
    await run(cfg, fakeClusters(softSides({ standby: true }, { standby: false })).io, {}, via);
    await expect(run(cfg, fakeClusters(softSides({ reachable: false }, {})).io, {}, via)).rejects.toThrow(
      /^REFUSED: dc1 does not answer/,
    );
    expect(lines.join('')).toContain('nothing to do: dc2 is the source and dc1 a standby cluster');
    expect(lines.join('')).toContain('dc2 is a standby cluster (leader dc2a); dc1 is not answering (its REST API)');
    expect(printed()).toBe('');
    const printedBy = lines.length;
    write('after the run\n');
    expect([lines.length, printed()]).toEqual([printedBy, 'after the run\n']);
  });

  // --- what the step does not take for what it is not ---

  test('both primaries in their configuration, one leader still a standby leader (its promotion not done): refused', async () => {
    for (const name of ['dc1', 'dc2'] as const) {
      const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ members: ['dc2a'] }) });
      const look = f.io.look;
      f.io.look = async (c: RoleChangeCluster) => {
        const x = await look(c);
        return c.name === name && x.reachable
          ? { ...x, leader: { name: `${name}a`, role: 'standby_leader' }, primary: false }
          : x;
      };
      const expected = name === 'dc2' ? '(dc2: standby_leader, dc1: leader)' : '(dc2: leader, dc1: standby_leader)';
      await expect(run(cfg, f.io)).rejects.toThrow(
        `REFUSED: a cluster has no running leader ${expected}; deploy again once both have one`,
      );
      expect(f.calls).toEqual([]);
    }
  });

  test("the standby's step on a cluster fenced a moment ago (standby_cluster set, its leader not yet demoted): no promotion undone, nothing rejoined", async () => {
    const f = fakeClusters({ dc1: side({ members: ['dc1a'] }), dc2: side({ standby: true, members: ['dc2a'] }) });
    const look = f.io.look;
    f.io.look = async (c: RoleChangeCluster) => {
      const x = await look(c);
      return c.name === 'dc2' && x.reachable ? { ...x, leader: { name: 'dc2a', role: 'leader' }, primary: true } : x;
    };
    await run({ ...cfg, role: 'standby', block: { host: '10.0.1.1', port: 5432, primary_slot_name: 'link' } }, f.io);
    expect([f.calls, f.leases]).toEqual([[], []]);
    expect(printed()).toContain(
      "dc2 is a standby cluster of dc1 in the topology: a role change runs in dc1's role resource",
    );
    expect(printed()).not.toContain('rejoining');
  });
});
