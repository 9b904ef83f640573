/**
 * The pure parts of status and the gate (runtime/lsn.ts, link-health.ts): LSN arithmetic, and the
 * health verdict on a report
 * (the figures themselves are read from real clusters in the end-to-end suite).
 */
import type { HealthNode, LinkHealthConfig } from '../../runtime/contract';
import { allReplayed } from '../../runtime/gate';
import * as status from '../../runtime/link-health';
import type { LinkFigures, LinkReport, NodeReport, SlotReport } from '../../runtime/link-health';
import * as positions from '../../runtime/lsn';

const health = { ...status, ...positions, allReplayed };

const member = (name: string, host: string): HealthNode => ({ name, host, port: 5432, rest: `http://${host}:8008` });

// the members' DCS contact is unknown (null) in these reports: the ttl finds nothing to name
const cfg: LinkHealthConfig = {
  state: 'following',
  slotName: 'link_slot',
  keepSourceSlot: false,
  user: 'monitor',
  disaster: false,
  settleSeconds: 1,
  catchUpTimeoutSeconds: 1,
  source: { name: 'primary', ttl: 20, nodes: [member('p1', '127.0.1.1'), member('p2', '127.0.1.2')] },
  standby: { name: 'standby', ttl: 20, nodes: [member('s1', '127.0.2.1'), member('s2', '127.0.2.2')] },
};

/** A member of a report: what is not given is unknown (null), as readNode reports it. */
function node(over: Partial<NodeReport> & Pick<NodeReport, 'cluster' | 'member' | 'host'>): NodeReport {
  return {
    port: 5432,
    role: 'Replica',
    state: 'running',
    patroniPaused: null,
    error: undefined,
    currentLsn: null,
    receiveLsn: null,
    replayLsn: null,
    replayAgeSeconds: null,
    applyDelayMs: null,
    receiverSilenceSeconds: null,
    senderHost: null,
    dcsAgeSeconds: null,
    lagBytes: null,
    lagSeconds: null,
    reachable: true,
    inRecovery: true,
    systemId: '7',
    timeline: 2,
    replayPaused: false,
    receiverStatus: 'streaming',
    ...over,
  };
}

const reservedSlot: SlotReport = {
  name: 'link_slot',
  present: true,
  active: true,
  walStatus: 'reserved',
  retainedBytes: 0,
  safeWalSize: null,
  consumer: 's1',
};

function healthyReport(): LinkFigures {
  return {
    state: 'following',
    source: { cluster: 'primary', leader: 'p1', currentLsn: null, timeline: 2 },
    standby: { cluster: 'standby', leader: 's1' },
    slot: reservedSlot,
    nodes: [
      node({
        cluster: 'primary',
        member: 'p1',
        host: '127.0.1.1',
        role: 'Leader',
        inRecovery: false,
        receiverStatus: null,
      }),
      node({ cluster: 'primary', member: 'p2', host: '127.0.1.2', senderHost: '127.0.1.1' }),
      node({ cluster: 'standby', member: 's1', host: '127.0.2.1', role: 'Standby Leader', senderHost: '127.0.1.1' }),
      node({ cluster: 'standby', member: 's2', host: '127.0.2.2', senderHost: '127.0.2.1' }),
    ],
  };
}

describe('a stalled stream (a partition that drops packets)', () => {
  const withLeader = (over: Partial<NodeReport>) => {
    const r = healthyReport();
    r.nodes[0] = { ...r.nodes[0], currentLsn: '0/3000100' };
    r.nodes[2] = { ...r.nodes[2], receiveLsn: '0/3000000', receiverSilenceSeconds: 12.4, ...over };
    return r;
  };
  test('nothing received for 5 s or more while the source is ahead: unhealthy, with the silence and the bytes', () => {
    expect(health.problemsOf(withLeader({}), cfg)).toEqual([
      'standby leader s1 has received nothing from the source for 12 s while the source is 256 bytes ahead: the stream is stalled (the network between the data centers?)',
    ]);
    expect(health.problemsOf(withLeader({ receiverSilenceSeconds: 5 }), cfg)).toHaveLength(1);
  });
  test('a quiet source (nothing to send), a short silence, or an unknown one: not stalled', () => {
    expect(health.problemsOf(withLeader({ receiveLsn: '0/3000100' }), cfg)).toEqual([]);
    expect(health.problemsOf(withLeader({ receiverSilenceSeconds: 4.9 }), cfg)).toEqual([]);
    expect(health.problemsOf(withLeader({ receiverSilenceSeconds: null }), cfg)).toEqual([]);
  });
  test('a long silence while the source position is unknown (no source leader, or its position not read): no stall', () => {
    const unread = withLeader({});
    unread.nodes[0] = { ...unread.nodes[0], currentLsn: null };
    expect(health.problemsOf(unread, cfg)).toEqual([]);
    const noLeader = withLeader({});
    noLeader.source.leader = null;
    noLeader.nodes[0] = { ...noLeader.nodes[0], reachable: false, error: 'connection refused', inRecovery: null };
    expect(health.problemsOf(noLeader, cfg).filter((p) => p.includes('stalled'))).toEqual([]);
  });
});

describe('LSN arithmetic', () => {
  test('parses X/Y and measures gaps, never negative', () => {
    expect(health.lsn('16/B374D848')).toBe(0x16b374d848n);
    expect(health.bytesBetween('0/3000100', '0/3000000')).toBe(256);
    expect(health.bytesBetween('1/0', '0/FFFFFFFF')).toBe(1);
    expect(health.bytesBetween('0/3000000', '0/3000100')).toBe(0);
    expect(health.bytesBetween(null, '0/1')).toBeNull();
  });

  test('positions are ordered as numbers across a digit-count boundary, both ways: 0/9000000 is 117 MB before 0/10000000 (as text it would sort after)', () => {
    expect(health.lsnAtLeast('0/9000000', '0/10000000')).toBe(false);
    expect(health.lsnAtLeast('0/10000000', '0/9000000')).toBe(true);
    expect(health.lsnAtLeast('0/10000000', '0/10000000')).toBe(true);
    expect(health.lsnAtLeast('F/FFFFFFF', '10/0')).toBe(false);
    expect(health.lsnAtLeast(null, '0/1')).toBe(false);
    expect(health.lsnAtLeast('0/1', null)).toBe(false);
    expect(health.bytesBetween('0/10000000', '0/9000000')).toBe(117_440_512);
    expect(health.bytesBetween('0/9000000', '0/10000000')).toBe(0);
    // received 0/10000000, replayed 0/9000000: WAL waits; replayed past a receive position reported
    // behind it: none waits
    expect(health.allReplayed({ receiveLsn: '0/10000000', replayLsn: '0/9000000' })).toBe(false);
    expect(health.allReplayed({ receiveLsn: '0/9000000', replayLsn: '0/10000000' })).toBe(true);
  });
});

describe('health verdict', () => {
  test('a following link with everything streaming is healthy', () => {
    expect(health.problemsOf(healthyReport(), cfg)).toEqual([]);
  });

  test('each fault is named', () => {
    const r = healthyReport();
    r.nodes[2] = { ...r.nodes[2], replayPaused: true, timeline: 1, systemId: '8' };
    r.nodes[3] = { ...r.nodes[3], senderHost: '127.0.1.2' };
    r.slot = { ...reservedSlot, active: false, walStatus: 'lost' };
    expect(health.problemsOf(r, cfg)).toEqual([
      'system identifiers differ: source 7, standby 8',
      'standby leader s1 is on timeline 1, the source on 2',
      'replay is paused on standby leader s1',
      's2 streams from 127.0.1.2, not from the standby leader 127.0.2.1',
      'the link slot link_slot is not active: nothing streams through it',
      'the link slot link_slot has wal_status lost: the source removed WAL the standby leader still needed, so it can no longer catch up by streaming; the way back is a re-seed of standby from primary: set link.reseed: { cluster: standby, generation: <a new number> } and deploy (docs/operations.md: Re-seeding the standby cluster)',
    ]);
  });

  test('a lost slot where the standby reads an archive: the re-seed from the archive is named, not a copy', () => {
    const r = healthyReport();
    r.slot = { ...reservedSlot, walStatus: 'lost' };
    expect(health.problemsOf(r, { ...cfg, readsArchive: true })).toEqual([
      'the link slot link_slot has wal_status lost: the source removed WAL the standby leader still needed, which it reads from the archive instead; once it has caught up there, renew the slot without a copy: set link.reseed: { cluster: standby, generation: <a new number>, from: archive } and deploy (docs/archive.md: The hybrid standby)',
    ]);
  });

  test('detached: the promoted cluster needs its own leader, and a leftover slot is reported', () => {
    const r = healthyReport();
    r.standby.leader = 's1';
    r.nodes[2] = { ...r.nodes[2], inRecovery: false, role: 'Leader', receiverStatus: null };
    r.slot = {
      name: 'link_slot',
      present: true,
      active: false,
      walStatus: 'reserved',
      retainedBytes: 4096,
      safeWalSize: null,
      consumer: null,
    };
    expect(health.problemsOf(r, { ...cfg, state: 'detached' })).toEqual([
      'the link slot link_slot is still on the source and retains 4096 bytes of WAL',
    ]);
    expect(
      health.problemsOf({ ...r, slot: { name: 'link_slot', present: false } }, { ...cfg, state: 'detached' }),
    ).toEqual([]);
  });

  test('the table names every member of both clusters and the verdict', () => {
    const r: LinkReport = { ...healthyReport(), state: 'following', healthy: true, problems: [] };
    r.source = { ...r.source, cluster: 'primary', currentLsn: '0/5000000' };
    r.standby = { ...r.standby, cluster: 'standby' };
    const text: string = health.formatReport(r);
    for (const m of ['p1', 'p2', 's1', 's2', 'Slot link_slot on the source: active true', 'healthy'])
      expect(text).toContain(m);
  });

  test('the table, exactly: columns padded to the widest cell, the primary without a replay column, dashes for the unknown', () => {
    const n = (over: Partial<NodeReport> & Pick<NodeReport, 'member'>) =>
      node({
        cluster: 'dc1',
        host: '10.0.0.1',
        port: 5432,
        state: 'running',
        timeline: 1,
        receiveLsn: null,
        replayLsn: null,
        currentLsn: null,
        lagBytes: 0,
        lagSeconds: 0,
        ...over,
      });
    const report: LinkReport & { slot: SlotReport & { present: true } } = {
      state: 'following',
      source: { cluster: 'dc1', leader: 'p1', currentLsn: '0/5000000', timeline: 1 },
      standby: { cluster: 'dc2', leader: 's1' },
      nodes: [
        n({ member: 'p1', role: 'Leader', inRecovery: false, currentLsn: '0/5000000' }),
        n({
          cluster: 'dc2',
          member: 's1',
          host: '10.0.2.1',
          role: 'Standby Leader',
          inRecovery: true,
          receiveLsn: '0/5000000',
          replayLsn: '0/4FFFF00',
          lagBytes: 256,
          lagSeconds: 1.5,
        }),
        n({
          cluster: 'dc2',
          member: 's2',
          host: '10.0.2.2',
          role: 'unknown',
          state: 'unreachable',
          inRecovery: null,
          timeline: null,
          lagBytes: null,
          lagSeconds: null,
        }),
      ],
      slot: {
        name: 'link',
        present: true,
        active: true,
        consumer: 's1',
        walStatus: 'reserved',
        retainedBytes: 256,
        safeWalSize: null,
      },
      healthy: false,
      problems: ['s2 (10.0.2.2:5432) is unreachable: connection refused'],
    };
    expect(health.formatReport(report).split('\n')).toEqual([
      'Link following: source dc1 (leader p1, 0/5000000), standby dc2 (standby leader s1)',
      '+---------+--------+---------------+----------------+-------------+----+-------------+------------+-----------+-------+',
      '| Cluster | Member | Host          | Role           | State       | TL | Receive LSN | Replay LSN | Lag bytes | Lag s |',
      '+---------+--------+---------------+----------------+-------------+----+-------------+------------+-----------+-------+',
      '| dc1     | p1     | 10.0.0.1:5432 | Leader         | running     | 1  | 0/5000000   |            | 0         | 0     |',
      '| dc2     | s1     | 10.0.2.1:5432 | Standby Leader | running     | 1  | 0/5000000   | 0/4FFFF00  | 256       | 1.5   |',
      '| dc2     | s2     | 10.0.2.2:5432 | unknown        | unreachable | -  | -           | -          | -         | -     |',
      '+---------+--------+---------------+----------------+-------------+----+-------------+------------+-----------+-------+',
      'Slot link on the source: active true (s1), wal_status reserved, retained 256 bytes, safe_wal_size unlimited',
      'NOT healthy:',
      '  - s2 (10.0.2.2:5432) is unreachable: connection refused',
    ]);
    const detached = health.formatReport({
      ...report,
      state: 'detached',
      slot: { name: 'link', present: false },
      healthy: true,
      problems: [],
    });
    expect(detached.split('\n')[0]).toBe('Link detached: source dc1 (leader p1, 0/5000000), standby dc2 (leader s1)');
    expect(detached.split('\n').slice(-2)).toEqual(['Slot link on the source: absent', 'healthy']);
    expect(health.formatReport({ ...report, slot: { ...report.slot, consumer: null, safeWalSize: 1024 } })).toContain(
      'active true, wal_status reserved, retained 256 bytes, safe_wal_size 1024 bytes',
    );
    // a delayed standby leader: behind on purpose, said under the table; a primary's setting is no delay
    const delayed = health.formatReport({
      ...report,
      nodes: report.nodes.map((x) => ({ ...x, applyDelayMs: x.member === 's2' ? null : 30000 })),
    });
    expect(delayed.split('\n').filter((l) => l.startsWith('Replay on'))).toEqual([
      'Replay on s1 delayed on purpose: recovery_min_apply_delay 30 s (link.recoveryMinApplyDelay); its lag above is what it has not received, and how long its replay is behind beyond the delay',
    ]);
  });
});

describe('everything received is replayed', () => {
  test('unknown positions: nothing replayed is never "everything replayed"; nothing received counts on replay alone', () => {
    expect(health.allReplayed({ replayLsn: null, receiveLsn: null })).toBe(false);
    expect(health.allReplayed({ replayLsn: null, receiveLsn: '0/3000000' })).toBe(false);
    expect(health.allReplayed({ replayLsn: '0/3000000', receiveLsn: null })).toBe(true);
    expect(health.allReplayed({ replayLsn: '0/2FFFFFF', receiveLsn: '0/3000000' })).toBe(false);
  });

  test('replay at or past the receive position (after a restart the receive position is the segment start)', () => {
    expect(health.allReplayed({ receiveLsn: '0/5000000', replayLsn: '0/50312C0' })).toBe(true);
    expect(health.allReplayed({ receiveLsn: '0/50312C0', replayLsn: '0/50312C0' })).toBe(true);
  });
  test('received WAL not replayed yet', () => {
    expect(health.allReplayed({ receiveLsn: '0/6000000', replayLsn: '0/50312C0' })).toBe(false);
  });
  test('nothing received (no stream since the start) counts on replay alone', () => {
    expect(health.allReplayed({ receiveLsn: null, replayLsn: '0/50312C0' })).toBe(true);
    expect(health.allReplayed({ receiveLsn: null, replayLsn: null })).toBe(false);
  });
});

describe('a role change in progress', () => {
  test('the source in recovery and the standby read-write: both named, with what to do', () => {
    const r = healthyReport();
    r.source.leader = null;
    r.nodes[0] = { ...r.nodes[0], inRecovery: true, receiverStatus: 'streaming', senderHost: '127.0.2.1' };
    r.nodes[2] = { ...r.nodes[2], inRecovery: false, role: 'Leader', receiverStatus: null };
    const problems = health.problemsOf(r, cfg);
    expect(problems).toContain(
      'standby has a read-write leader (s1) although the topology makes it follow primary: a role change is in progress or was left half done (deploy again: the role change finishes or undoes it), or it was promoted',
    );
    expect(problems).toContain(
      'primary runs in recovery (a standby cluster) although the topology makes it the source: a role change is in progress, or link.source names the wrong cluster',
    );
  });
});

describe('each problem, one fault at a time', () => {
  const problems = (edit: (r: LinkFigures) => void, over: Partial<LinkHealthConfig> = {}): string[] => {
    const r = healthyReport();
    edit(r);
    return health.problemsOf(r, { ...cfg, ...over });
  };
  /** The promoted standby cluster of a detached link: s2 its leader, s1 a replica streaming from it. */
  const detached = (r: LinkFigures): void => {
    r.slot = { name: 'link_slot', present: false };
    r.standby.leader = 's2';
    r.nodes[2] = { ...r.nodes[2], role: 'Replica', senderHost: '127.0.2.2' };
    r.nodes[3] = { ...r.nodes[3], role: 'Leader', inRecovery: false, receiverStatus: null, senderHost: null };
  };

  test('a source replica not streaming: its receiver status named (none without one); unreachable: only that', () => {
    expect(problems((r) => (r.nodes[1].receiverStatus = null))).toEqual(['p2 is not streaming (wal receiver: none)']);
    expect(problems((r) => (r.nodes[1].receiverStatus = 'stopping'))).toEqual([
      'p2 is not streaming (wal receiver: stopping)',
    ]);
    expect(
      problems((r) => (r.nodes[1] = { ...r.nodes[1], reachable: false, error: 'timeout', receiverStatus: null })),
    ).toEqual(['p2 (127.0.1.2:5432) is unreachable: timeout']);
  });

  test('a standby replica not streaming is named with its receiver status (none without one)', () => {
    expect(problems((r) => (r.nodes[3].receiverStatus = null))).toEqual(['s2 is not streaming (wal receiver: none)']);
    expect(problems((r) => (r.nodes[3].receiverStatus = 'waiting'))).toEqual([
      's2 is not streaming (wal receiver: waiting)',
    ]);
  });

  test('a standby replica replaying an older timeline than its standby leader, past where that timeline ended on the source: the fork and the restart that rewinds it', () => {
    /** The source and the standby leader on timeline 2, s2 replays 1 (`receiver`), timeline 1 ended at 0/5023A08. */
    const twoTimelines = (r: LinkFigures, receiver: string | null, replayLsn = '0/5026D08'): void => {
      r.source.timeline = 2;
      for (const n of r.nodes) n.timeline = 2;
      r.nodes[3] = { ...r.nodes[3], timeline: 1, receiverStatus: receiver, replayLsn, timelineEndLsn: '0/5023A08' };
    };
    const [one] = problems((r) => twoTimelines(r, 'waiting'));
    expect(one).toMatch(
      /^s2 is on timeline 1, its standby leader s1 on 2 \(wal receiver: waiting\): it replayed WAL up to 0\/5026D08, past 0\/5023A08 where timeline 1 ended on the source \(primary failed over without WAL that had already reached standby\)/,
    );
    expect(one).toContain(
      'restart its PostgreSQL (patronictl -c <its patroni.yml> restart <scope> s2 --force): Patroni then rewinds it from the source with pg_rewind (with use_pg_rewind, the default; without it, patronictl reinit copies it anew',
    );
    expect(one).toContain(
      'patronictl reinit copies it anew); still named a minute after, restart it again (docs/troubleshooting.md)',
    );
    expect(problems((r) => twoTimelines(r, null))[0]).toContain('(wal receiver: none)');
    // a source replica still on the old timeline: restart once it follows (Patroni 3.0 may ask it)
    const [waitFor] = problems((r) => {
      twoTimelines(r, 'waiting');
      r.nodes[1].patroniTimeline = 1;
    });
    expect(waitFor).toContain('restart its PostgreSQL once p2 of primary is on timeline 2 too (patronictl -c');
    // it reconnects again and again and reads "streaming" for a moment: still on the fork
    expect(problems((r) => twoTimelines(r, 'streaming'))).toEqual([expect.stringMatching(/^s2 is on timeline 1, /)]);
    // replayed up to the end of its timeline, not past it: it can still follow
    expect(problems((r) => twoTimelines(r, 'waiting', '0/5023A08'))).toEqual([
      's2 is not streaming (wal receiver: waiting)',
    ]);
    expect(problems((r) => twoTimelines(r, 'streaming', '0/5023A08'))).toEqual([]);
    // Patroni says it replays timeline 2 (SQL's 1 is the last restartpoint's): no fork
    expect(
      problems((r) => {
        twoTimelines(r, null);
        r.nodes[3].patroniTimeline = 2;
      }),
    ).toEqual(['s2 is not streaming (wal receiver: none)']);
    // and Patroni's 1 counts over SQL's 2
    expect(
      problems((r) => {
        twoTimelines(r, 'waiting');
        r.nodes[3] = { ...r.nodes[3], timeline: 2, patroniTimeline: 1 };
      })[0],
    ).toMatch(/^s2 is on timeline 1, /);
    // where the timeline ended, or its own timeline, or its replay unknown: the plain message
    for (const edit of [
      (r: LinkFigures) => delete r.nodes[3].timelineEndLsn,
      (r: LinkFigures) => (r.nodes[3].timeline = null),
      (r: LinkFigures) => (r.nodes[3].replayLsn = null),
    ])
      expect(
        problems((r) => {
          twoTimelines(r, 'waiting');
          edit(r);
        }),
      ).toEqual(['s2 is not streaming (wal receiver: waiting)']);
  });

  test('the standby leader is the member the report names, not the first: s2 leads, s1 cascades from it', () => {
    expect(
      problems((r) => {
        r.standby.leader = 's2';
        r.nodes[2] = { ...r.nodes[2], role: 'Replica', senderHost: '127.0.2.2' };
        r.nodes[3] = { ...r.nodes[3], role: 'Standby Leader', senderHost: '127.0.1.1' };
      }),
    ).toEqual([]);
  });

  test('no standby leader: named, and the replicas are not compared with one', () => {
    expect(problems((r) => (r.standby.leader = null))).toEqual(['the standby cluster standby has no standby leader']);
  });

  test('a standby leader streaming from a host that is no source node (the source replica p2 is one)', () => {
    expect(problems((r) => (r.nodes[2].senderHost = '10.9.9.9'))).toEqual([
      'standby leader s1 streams from 10.9.9.9, not from a source node',
    ]);
    expect(problems((r) => (r.nodes[2].senderHost = '127.0.1.2'))).toEqual([]);
  });

  test('a timeline unknown on either side is no timeline problem', () => {
    expect(problems((r) => (r.nodes[2].timeline = null))).toEqual([]);
    expect(problems((r) => (r.nodes[0].timeline = null))).toEqual([]);
  });

  test('the standby cluster in maintenance mode', () => {
    expect(problems((r) => (r.nodes[2].patroniPaused = true))).toEqual([
      'the standby cluster is in maintenance mode (patronictl pause)',
    ]);
  });

  test('no source leader: "runs in recovery" only when a member answers in recovery, not when none answers', () => {
    const down = { reachable: false, error: 'connection refused', inRecovery: null, receiverStatus: null };
    const noLeader = (r: LinkFigures) => {
      r.source.leader = null;
      r.nodes[0] = { ...r.nodes[0], ...down };
    };
    expect(problems(noLeader)).toEqual([
      'p1 (127.0.1.1:5432) is unreachable: connection refused',
      'the source cluster primary has no reachable read-write leader',
      'primary runs in recovery (a standby cluster) although the topology makes it the source: a role change is in progress, or link.source names the wrong cluster',
    ]);
    expect(
      problems((r) => {
        noLeader(r);
        r.nodes[1] = { ...r.nodes[1], ...down };
      }),
    ).toEqual([
      'p1 (127.0.1.1:5432) is unreachable: connection refused',
      'p2 (127.0.1.2:5432) is unreachable: connection refused',
      'the source cluster primary has no reachable read-write leader',
    ]);
  });

  test('a DCS contact exactly ttl old is not a problem, one second more is', () => {
    expect(problems((r) => (r.nodes[3].dcsAgeSeconds = 20))).toEqual([]);
    expect(problems((r) => (r.nodes[3].dcsAgeSeconds = 21))).toEqual([
      "s2 of standby has not reached standby's DCS for 21 s (more than ttl, 20 s): standby cannot fail over or take a configuration change until its DCS answers",
    ]);
  });

  test('without a ttl (the role change reads the link without one) no DCS contact is too old', () => {
    const noTtl = { source: { ...cfg.source, ttl: undefined }, standby: { ...cfg.standby, ttl: undefined } };
    expect(
      health.problemsOf(
        { ...healthyReport(), nodes: healthyReport().nodes.map((n) => ({ ...n, dcsAgeSeconds: 900 })) },
        { ...cfg, ...noTtl },
      ),
    ).toEqual([]);
  });

  test('detached: the named leader (s2, not the first member) leads; its replica s1 streams from it', () => {
    expect(problems(detached, { state: 'detached' })).toEqual([]);
  });

  test('detached without a read-write leader', () => {
    expect(problems((r) => (r.standby.leader = null), { state: 'detached', keepSourceSlot: true })).toEqual([
      'the promoted cluster standby has no read-write leader',
    ]);
  });

  test('detached, the leader still a standby leader: the detach has not been applied', () => {
    expect(problems((r) => (r.standby.leader = 's1'), { state: 'detached', keepSourceSlot: true })).toEqual([
      's1 is still a standby leader: the detach has not been applied',
    ]);
  });

  test('detached: a replica of the promoted cluster not streaming, with its receiver status', () => {
    const stopped = (status: string | null) => (r: LinkFigures) => {
      detached(r);
      r.nodes[2].receiverStatus = status;
    };
    expect(problems(stopped(null), { state: 'detached' })).toEqual(['s1 is not streaming (wal receiver: none)']);
    expect(problems(stopped('stopping'), { state: 'detached' })).toEqual([
      's1 is not streaming (wal receiver: stopping)',
    ]);
    expect(
      problems(
        (r) => {
          stopped(null)(r);
          r.nodes[2] = { ...r.nodes[2], reachable: false, error: 'connection refused' };
        },
        { state: 'detached' },
      ),
    ).toEqual(['s1 (127.0.2.1:5432) is unreachable: connection refused']);
  });
});
