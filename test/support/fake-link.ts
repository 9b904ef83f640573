/**
 * A fake standby link for the programs' unit tests: a source cluster (p1 leader, p2 replica) and
 * a standby cluster (s1 standby leader, s2 replica), answering the `pg` client's queries and
 * Patroni's REST API (GET /patroni, GET /config) from one mutable state. Tests load it in place of
 * `pg` and of runtime/rest-client.ts with jest.mock, then change the state for one cause at a time.
 *
 * The standby leader streams: each time it is read, its receive position moves to the source's
 * (unless the stream is cut) and its replay follows (unless paused or delayed), by at most
 * `replayStep` bytes per read.
 */
import type { HealthNode, LinkHealthConfig } from '../../runtime/contract';
import { EventEmitter } from 'node:events';
import type * as RestClient from '../../runtime/rest-client';
import type { InFlightRow } from '../../runtime/gate';

export const HOSTS = { p1: '127.0.1.1', p2: '127.0.1.2', s1: '127.0.2.1', s2: '127.0.2.2' } as const;
export type Member = keyof typeof HOSTS;

/** A row of the in-flight query (IN_FLIGHT_SQL): an open write transaction, as pg_stat_activity gives it. */
export type InFlight = InFlightRow;

/** A prepared transaction, as pg_prepared_xacts has it (no session holds it). */
export type Prepared = { gid: string; owner: string; xid: string; age_s: number };

export interface World {
  /** The source leader's WAL position and next transaction id. */
  sourceLsn: bigint;
  /** The source leader's default_transaction_read_only (the role change's soft fence). */
  sourceReadOnly: boolean;
  /** The source leader's synchronous_commit, synchronous_standby_names and walsenders (the handoff). */
  sourceSyncCommit: string;
  sourceStandbyNames: string;
  sourceSenders: { name: string; sync: boolean; address: string | null }[];
  nextXid: number;
  sourceTimeline: number;
  sourceSystemId: string;
  /** Members whose PostgreSQL refuses connections. */
  down: Set<Member>;
  /**
   * Members whose PostgreSQL goes away right after answering (a fenced leader stopping): the
   * client then emits 'error' with no call waiting for it, as pg's does.
   */
  goingAway: Set<Member>;
  /** Members whose REST API does not answer. */
  restDown: Set<Member>;
  /** Patroni's role per member, as GET /patroni names it. */
  roles: Record<Member, string>;
  /** Members that run read-write (not in recovery). */
  readWrite: Set<Member>;
  patroniPaused: boolean;
  /** Seconds since each member last reached its DCS (GET /patroni dcs_last_seen); 1 when absent. */
  dcsSilence: Partial<Record<Member, number>>;
  /** Seconds the members' clocks are ahead of the deploying machine's (their REST answers' Date). */
  memberClockAhead: number;
  /** Which standby member is the standby leader (its figures are the ones below). */
  standbyLeader: Member;
  /** The standby leader. */
  receive: bigint | null;
  replay: bigint | null;
  replayPaused: boolean;
  applyDelayMs: number;
  standbyTimeline: number;
  standbySystemId: string;
  streaming: boolean;
  replayStep: bigint;
  replayAgeSeconds: number | null;
  /** Open transactions on the source that have written (pg_stat_activity, a backend_xid). */
  openWrites: InFlight[];
  /** Prepared transactions on the source (pg_prepared_xacts). */
  prepared: Prepared[];
  slot:
    | {
        active: boolean;
        wal_status: string;
        safe_wal_size: string | null;
        retained_bytes: string;
        consumer: string | null;
      }
    | undefined;
  /** GET /config of the standby cluster; undefined: no node answers. */
  standbyConfig: Record<string, unknown> | undefined;
  /** Every query the fake answered, as `member: kind`. */
  log: string[];
  /** Called before each answer of the source position query (a test's write lands here). */
  onSourceRead?: (w: World) => void;
  /** Called before each answer of a link slot query (a test's slot changes from read to read here). */
  onSlotRead?: (w: World) => void;
  /** Called before each REST answer (a test's failing REST API throws here). */
  onRest?: (w: World, url: string) => void;
  /** Fields that replace those of a member's figures (a wal receiver starting, another sender, ...). */
  rowOverride?: Partial<Record<Member, Record<string, unknown>>>;
}

export const START = 0x3000060n;

export function freshWorld(): World {
  return {
    sourceLsn: START,
    nextXid: 750,
    sourceTimeline: 1,
    sourceSystemId: '7301',
    down: new Set(),
    goingAway: new Set(),
    restDown: new Set(),
    roles: { p1: 'primary', p2: 'replica', s1: 'standby_leader', s2: 'replica' },
    readWrite: new Set(['p1']),
    patroniPaused: false,
    dcsSilence: {},
    memberClockAhead: 0,
    standbyLeader: 's1',
    receive: START,
    replay: START,
    replayPaused: false,
    sourceReadOnly: false,
    sourceSyncCommit: 'on',
    sourceStandbyNames: '',
    sourceSenders: [],
    applyDelayMs: 0,
    standbyTimeline: 1,
    standbySystemId: '7301',
    streaming: true,
    replayStep: 1n << 60n,
    replayAgeSeconds: 0.4,
    openWrites: [],
    prepared: [],
    slot: { active: true, wal_status: 'reserved', safe_wal_size: null, retained_bytes: '0', consumer: 's1' },
    standbyConfig: { standby_cluster: { host: '127.0.1.1,127.0.1.2', port: 5432, primary_slot_name: 'link_slot' } },
    log: [],
  };
}

/** The one world the fakes answer from; reset it in beforeEach. */
export const world: { current: World } = { current: freshWorld() };

export function text(lsn: bigint | null): string | null {
  if (lsn === null) return null;
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

function memberAt(host: string): Member {
  const m = (Object.keys(HOSTS) as Member[]).find((k) => HOSTS[k] === host);
  if (!m) throw new Error(`the fake link has no member at ${host}`);
  return m;
}

/** One read of the standby leader: the stream and the replay move on. */
function advance(w: World): void {
  if (w.streaming) w.receive = w.sourceLsn;
  if (!w.replayPaused && w.applyDelayMs === 0 && w.receive !== null && w.replay !== null && w.replay < w.receive) {
    const next = w.replay + w.replayStep;
    w.replay = next < w.receive ? next : w.receive;
  }
}

function nodeRow(w: World, m: Member): Record<string, unknown> {
  const source = m === 'p1' || m === 'p2';
  const rw = w.readWrite.has(m);
  const standbyLeader = m === w.standbyLeader;
  if (standbyLeader && !rw) advance(w);
  const sourceLeader = (['p1', 'p2'] as Member[]).find((x) => w.readWrite.has(x)) ?? 'p1';
  const row = {
    in_recovery: !rw,
    system_id: source ? w.sourceSystemId : w.standbySystemId,
    current_lsn: rw ? text(w.sourceLsn) : null,
    receive_lsn: rw ? null : standbyLeader ? text(w.receive) : text(w.sourceLsn),
    replay_lsn: rw ? null : standbyLeader ? text(w.replay) : text(w.sourceLsn),
    replay_paused: rw ? false : standbyLeader ? w.replayPaused : false,
    replay_age_s: rw ? null : standbyLeader ? w.replayAgeSeconds : 0.2,
    apply_delay_ms: standbyLeader ? w.applyDelayMs : 0,
    timeline: source ? w.sourceTimeline : w.standbyTimeline,
    receiver_status: rw ? null : standbyLeader && !w.streaming ? null : 'streaming',
    receiver_silence_s: rw ? null : 0.3,
    sender_host: rw ? null : source || standbyLeader ? HOSTS[sourceLeader] : HOSTS[w.standbyLeader],
  };
  return { ...row, ...w.rowOverride?.[m] };
}

function answer(w: World, m: Member, sql: string, params: unknown[] = []): Record<string, unknown>[] {
  if (sql.includes('pg_snapshot_xmax')) {
    w.log.push(`${m}: source position`);
    w.onSourceRead?.(w);
    if (!w.readWrite.has(m)) throw new Error(`${m} is in recovery: pg_current_wal_lsn() cannot be run`);
    return [
      {
        current_lsn: text(w.sourceLsn),
        next_xid: String(w.nextXid),
        timeline: w.sourceTimeline,
        system_id: w.sourceSystemId,
      },
    ];
  }
  if (sql.includes("current_setting('default_transaction_read_only')")) {
    // the role change's soft fence: the source's setting and position
    w.log.push(`${m}: read-only`);
    if (!w.readWrite.has(m)) throw new Error(`${m} is in recovery: pg_current_wal_lsn() cannot be run`);
    return [
      {
        read_only: w.sourceReadOnly ? 'on' : 'off',
        current_lsn: text(w.sourceLsn),
        synchronous_commit: w.sourceSyncCommit,
        standby_names: w.sourceStandbyNames,
        senders: w.sourceSenders.map((s) => ({ ...s })),
      },
    ];
  }
  if (sql.includes('pg_stat_activity') || sql.includes('pg_prepared_xacts')) {
    // the in-flight query, answered from what its text reads: the open write transactions only
    // if it reads pg_stat_activity, the prepared ones only if it reads pg_prepared_xacts
    w.log.push(`${m}: in flight`);
    const rows: InFlight[] = [];
    if (/\bfrom pg_stat_activity\b/.test(sql)) rows.push(...w.openWrites);
    if (/\bfrom pg_prepared_xacts\b/.test(sql)) {
      rows.push(
        ...w.prepared.map((p) => ({
          pid: null,
          user_name: p.owner,
          application_name: `prepared transaction ${p.gid}`,
          client: null,
          xid: p.xid,
          age_s: p.age_s,
          state: 'prepared',
        })),
      );
    }
    return /\border by age_s desc\b/.test(sql) ? rows.sort((a, b) => b.age_s - a.age_s) : rows;
  }
  if (sql.includes('pg_replication_slots')) {
    w.log.push(`${m}: slot ${String(params[0])}`);
    w.onSlotRead?.(w);
    return w.slot ? [w.slot] : [];
  }
  if (sql.includes('as in_recovery') && !sql.includes('as system_id')) {
    // the role change's position read
    w.log.push(`${m}: position`);
    const row = nodeRow(w, m);
    return [{ in_recovery: row.in_recovery, replay_lsn: row.replay_lsn, timeline: row.timeline }];
  }
  if (sql.includes('as in_recovery')) {
    w.log.push(`${m}: node`);
    return [nodeRow(w, m)];
  }
  throw new Error(`the fake link does not know this query: ${sql.slice(0, 80)}`);
}

/** Stands in for `pg`'s Client (an EventEmitter, as pg's is). */
export class FakeClient extends EventEmitter {
  private readonly member: Member;
  constructor(private readonly opts: { host: string; port: number; user: string }) {
    super();
    this.member = memberAt(opts.host);
  }
  async connect(): Promise<void> {
    if (world.current.down.has(this.member))
      throw Object.assign(new Error(`connect ECONNREFUSED ${this.opts.host}:${this.opts.port}`), {
        code: 'ECONNREFUSED',
      });
  }
  async query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> {
    if (world.current.goingAway.has(this.member)) {
      setImmediate(() => this.emit('error', new Error('Connection terminated unexpectedly')));
    }
    return { rows: answer(world.current, this.member, sql, params) };
  }
  async end(): Promise<void> {}
}

/** Stands in for runtime/rest-client.ts: GET /patroni and GET /config from the world. */
export const fakeRest = {
  async getJson(url: string): Promise<unknown> {
    return (await fakeRest.getJsonAt(url)).body;
  },
  /** The answer with the member's clock (whole seconds, as an HTTP Date header has it). */
  async getJsonAt(url: string): Promise<{ body: unknown; at: number | undefined }> {
    const w = world.current;
    w.onRest?.(w, url);
    const u = new URL(url);
    const m = memberAt(u.hostname);
    const at = Math.floor(Date.now() / 1000) + w.memberClockAhead;
    if (w.restDown.has(m)) return { body: undefined, at: undefined };
    if (u.pathname === '/patroni') {
      const standby = m === 's1' || m === 's2';
      return {
        body: {
          role: w.roles[m],
          state: w.down.has(m) ? 'stopped' : 'running',
          pause: standby ? w.patroniPaused : false,
          dcs_last_seen: at - (w.dcsSilence[m] ?? 1),
        },
        at,
      };
    }
    if (u.pathname === '/config') return { body: m === 's1' || m === 's2' ? w.standbyConfig : {}, at };
    return { body: undefined, at };
  },
  request(): never {
    throw new Error('the fake REST API answers GET /patroni and GET /config only');
  },
  jsonHeaders(): Record<string, string> {
    return {};
  },
} satisfies Pick<typeof RestClient, 'getJson' | 'getJsonAt' | 'request' | 'jsonHeaders'>;

/** The members as the programs reach them: PostgreSQL on 5432, Patroni's REST API on 8008. */
export function healthNodes(members: readonly Member[]): HealthNode[] {
  return members.map((name) => ({ name, host: HOSTS[name], port: 5432, rest: `http://${HOSTS[name]}:8008` }));
}

/**
 * The link configuration the gate and status read (LINK_HEALTH_CONFIG, as the contract types it).
 * Its settle time is 0 s, so that the gate's tests do not wait: below the contract's minimum (1 s),
 * so a test that hands it to a program as JSON sets settleSeconds.
 */
export function linkConfig(over: Partial<LinkHealthConfig> = {}): LinkHealthConfig {
  return {
    state: 'following',
    slotName: 'link_slot',
    keepSourceSlot: false,
    user: 'monitor',
    source: { name: 'dc1', ttl: 20, nodes: healthNodes(['p1', 'p2']) },
    standby: { name: 'dc2', ttl: 20, nodes: healthNodes(['s1', 's2']) },
    disaster: false,
    settleSeconds: 0,
    catchUpTimeoutSeconds: 1,
    ...over,
  };
}
