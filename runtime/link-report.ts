/**
 * The link's report: what `collect` (link-health.ts) reads of every member and of the link slot,
 * the shape the status command, the gate and the role change share, and how it prints
 * (`formatReport`, as `patronictl list` would show both clusters at once).
 */
import type { HealthNode, LinkHealthConfig } from './contract';

/**
 * How the programs reach PostgreSQL: the role they connect as, and how long a connection may take (3 s
 * when not given).
 */
export interface DbAccess {
  readonly user: string;
  readonly connectTimeoutMs?: number;
}

/** One cluster as `collect` reads it: the configuration's, or the role change's (which has no ttl). */
export type LinkCluster = Omit<LinkHealthConfig['source'], 'ttl' | 'nodes'> & {
  /** Patroni's ttl: a member that has not reached its DCS for longer is a problem (not checked without one). */
  readonly ttl?: number;
  readonly nodes: readonly HealthNode[];
};

/**
 * What `collect` and `problemsOf` read of a link: LINK_HEALTH_CONFIG (status, the gate), or the
 * role change's view of the link (its clusters, without the gate's settings); status adds its
 * connect timeout.
 */
export type LinkView = DbAccess &
  Pick<LinkHealthConfig, 'state' | 'slotName'> &
  Partial<Pick<LinkHealthConfig, 'keepSourceSlot' | 'readsArchive'>> & {
    readonly source: LinkCluster;
    readonly standby: LinkCluster;
  };

/** One member as `readNode` reads it: Patroni's view and its PostgreSQL's figures (null: unknown). */
export interface NodeReading {
  cluster: string;
  member: string;
  host: string;
  port: number;
  /** Patroni's role in `patronictl list`'s words (Leader, Standby Leader, Replica), or unknown. */
  role: string;
  /** Patroni's state (running, ...); unreachable or no REST answer when it does not say. */
  state: string | undefined;
  /** Maintenance mode (patronictl pause); null without a REST answer. */
  patroniPaused: boolean | null;
  /** Whether its PostgreSQL answered SQL. */
  reachable: boolean;
  /** Why it did not (the first line of the error). */
  error: string | undefined;
  inRecovery: boolean | null;
  systemId: string | null;
  timeline: number | null;
  /**
   * The timeline its PostgreSQL replays, as Patroni reads it (GET /patroni `timeline`, from
   * IDENTIFY_SYSTEM): unlike `timeline`, which falls back to the last restartpoint's without a WAL
   * receiver. Absent without a REST answer.
   */
  patroniTimeline?: number;
  currentLsn: string | null;
  receiveLsn: string | null;
  replayLsn: string | null;
  replayPaused: boolean | null;
  replayAgeSeconds: number | null;
  applyDelayMs: number | null;
  receiverStatus: string | null;
  receiverSilenceSeconds: number | null;
  senderHost: string | null;
  /** Seconds since it last reached its DCS, on its own clock. */
  dcsAgeSeconds: number | null;
}

/** One member in the report: its reading, and its lag against its reference leader. */
export interface NodeReport extends NodeReading {
  lagBytes: number | null;
  lagSeconds: number | null;
  /**
   * Where its timeline ended on the source (the source leader's GET /history), read only for a
   * standby member that replays an older timeline than the source's: replayed past it, the member
   * is on a fork.
   */
  timelineEndLsn?: string;
}

/** The link slot on the source leader. */
export type SlotReport =
  | {
      name: string;
      present: true;
      active: boolean;
      walStatus: string | null;
      retainedBytes: number;
      safeWalSize: number | null;
      consumer: string | null;
    }
  | { name: string; present: false };

/** What `problemsOf` judges: the report without its verdict. */
export interface LinkFigures {
  state: LinkHealthConfig['state'];
  source: { cluster: string; leader: string | null; currentLsn: string | null; timeline: number | null };
  standby: { cluster: string; leader: string | null };
  nodes: NodeReport[];
  /** null when the link has no slot, or the source has no reachable leader. */
  slot: SlotReport | null;
}

/** What `collect` returns (status prints it, as a table or as JSON). */
export interface LinkReport extends LinkFigures {
  problems: string[];
  healthy: boolean;
}

/** Where a program writes its text (process.stdout, process.stderr, or a test's collector). */
export interface TextOut {
  write(text: string): unknown;
}

/** The variables a program reads its configuration from. */
export type ProgramEnv = Readonly<Record<string, string | undefined>>;

// --- output ---------------------------------------------------------------------------------

/** Rows (the first one the head) as a text table with borders. */
export function table(rows: readonly (readonly unknown[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const fmt = (r: readonly unknown[]) => `| ${r.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line, fmt(rows[0]), line, ...rows.slice(1).map(fmt), line].join('\n');
}

/** A figure as the tables print it: '-' when unknown. */
export function dash<T>(v: T | null | undefined): T | '-' {
  return v === null || v === undefined ? '-' : v;
}

/** The report as `patronictl list` would show both clusters at once. */
export function formatReport(report: LinkReport): string {
  const head = ['Cluster', 'Member', 'Host', 'Role', 'State', 'TL', 'Receive LSN', 'Replay LSN', 'Lag bytes', 'Lag s'];
  const rows = report.nodes.map((n) => [
    n.cluster,
    n.member,
    `${n.host}:${n.port}`,
    n.role,
    dash(n.state),
    dash(n.timeline),
    n.inRecovery === false ? dash(n.currentLsn) : dash(n.receiveLsn),
    n.inRecovery === false ? '' : dash(n.replayLsn),
    dash(n.lagBytes),
    dash(n.lagSeconds),
  ]);
  const out = [
    `Link ${report.state}: source ${report.source.cluster} (leader ${dash(report.source.leader)}, ${dash(report.source.currentLsn)}), standby ${report.standby.cluster} (${report.state === 'detached' ? 'leader' : 'standby leader'} ${dash(report.standby.leader)})`,
  ];
  out.push(table([head, ...rows]));
  // a delayed standby is behind on purpose: its lag above is what it has not received yet
  for (const n of report.nodes)
    if (n.inRecovery === true && (n.applyDelayMs ?? 0) > 0)
      out.push(
        `Replay on ${n.member} delayed on purpose: recovery_min_apply_delay ${(n.applyDelayMs ?? 0) / 1000} s (link.recoveryMinApplyDelay); its lag above is what it has not received, and how long its replay is behind beyond the delay`,
      );
  const s = report.slot;
  if (s) {
    out.push(
      s.present
        ? `Slot ${s.name} on the source: active ${s.active}${s.consumer ? ` (${s.consumer})` : ''}, wal_status ${dash(s.walStatus)}, retained ${s.retainedBytes} bytes, safe_wal_size ${s.safeWalSize === null ? 'unlimited' : `${s.safeWalSize} bytes`}`
        : `Slot ${s.name} on the source: absent`,
    );
  }
  out.push(report.healthy ? 'healthy' : `NOT healthy:\n${report.problems.map((p) => `  - ${p}`).join('\n')}`);
  return out.join('\n');
}
