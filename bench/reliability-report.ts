/**
 * RELIABILITY.md from the fault suite's last runs (test/e2e/two-dc.ts writes the ignored
 * bench/out/reliability.json, the full suite on this machine's Patroni, and
 * bench/out/reliability-<platform>.json, its role changes on another platform; `npm run
 * bench:report` copies them into the tracked bench/ and writes the tables).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RoleChangeFigures } from './report';

export interface ReliabilityRow {
  fault: string;
  checked: string;
  acknowledged: number;
  lost: number;
  /** Whether the topology promises no acknowledged write lost for this fault. */
  promised: boolean;
  recoveryMs: number | null;
  reclones: number;
}

export interface Reliability {
  setup: string;
  /** The role-change program the run used (the hash of its sources), when the run recorded it. */
  program?: string;
  rows: ReliabilityRow[];
  timingsMs: Record<string, number>;
  /** A section of its own (another platform's or setup's run): its heading and what it runs. */
  title?: string;
  about?: string;
}

/** What each figure of the suite's timings is, in words. */
const FIGURES: Record<string, string> = {
  crossDcConnectMs: 'TCP connect from dc2 to a dc1 member (median of 5; the delay between the data centers)',
  insideDcConnectMs: 'TCP connect inside dc1 (median of 5)',
  partitionRetainedBytes: 'WAL the link slot retained on the source during the 30 s partition (largest seen)',
  partitionRecoveryMs: 'partition healed -> every acknowledged write on the standby leader',
  sourceFailoverStandbyFollowsMs: 'source leader killed -> the standby leader streams from the new source leader',
  sourceFailoverSynchronousMs:
    "source leader killed with synchronous_mode on -> dc1's synchronous standby is its new leader",
  standbyPastTheForkMs:
    "source leader lost with the standby past the source's new fork -> every standby member streaming on the new timeline (rewound)",
  standbyEtcdLossRecoveryMs: "the standby data center's etcd back -> the link streaming",
  reseedDeployMs: 'the re-seed deploy (`cdktf deploy`, gate to wait)',
  delayedPromotionDeployMs: 'planned promotion of dc2 across the delay: the whole deploy (gate included)',
  delayedPromotionToFirstWriteMs: 'planned promotion across the delay: deploy start -> dc2 takes a write',
  promotionUndoneRejoinMs: 'the promotion undone: the rejoin deploy start -> dc2 streams from dc1 again',
  delayedSwitchoverDeployMs: 'switchover dc1 -> dc2 across the delay: the whole deploy',
  delayedSwitchoverOldSourceStreamingMs: 'switchover across the delay: deploy start -> dc1 streams from dc2',
  delayedSwitchoverFenceToPrimaryMs: 'switchover across the delay: fence -> dc2 is the primary',
  delayedSwitchoverWriteGapMs:
    "switchover across the delay: dc1's last acknowledged write -> dc2's first (a writer on each)",
  delayedSwitchoverSoftFenceMs:
    'switchover across the delay: the soft fence (dc1 read-only until dc2 replayed its last write)',
  delayedSwitchbackDeployMs: 'switchback dc2 -> dc1 across the delay: the whole deploy',
  delayedSwitchbackOldSourceStreamingMs: 'switchback across the delay: deploy start -> dc2 streams from dc1',
  delayedSwitchbackFenceToPrimaryMs: 'switchback across the delay: fence -> dc1 is the primary',
  delayedSwitchbackWriteGapMs:
    "switchback across the delay: dc2's last acknowledged write -> dc1's first (a writer on each)",
  delayedSwitchbackSoftFenceMs:
    'switchback across the delay: the soft fence (dc2 read-only until dc1 replayed its last write)',
  delayedStandbyReplicasMs:
    "a delayed standby (30 s): a row committed on the source -> on the standby cluster's replicas (not delayed)",
  delayedStandbyAppliedMs: 'a delayed standby (30 s): a row committed on the source -> on its standby leader',
  disasterPromotionToFirstWriteMs: 'disaster promotion deploy start -> the promoted cluster takes a write',
  archiveCatchUpMs:
    "the hybrid standby: dc2's members started again -> every write acknowledged before on its standby leader, from its repository",
  reseedFromArchiveDeployMs: 'the re-seed from the archive (`cdktf deploy`: the slot renewed, streaming again)',
  archiveCutStreamingMs: 'the link cut past the slot limit, with the archive: healed -> dc2 streams again',
  reseedDataBytes: 'the re-seed comparison: the database (pgbench), as pg_database_size reads it',
  reseedLoadMs: 'the re-seed comparison: pgbench -i on the source (streamed to dc2, archived into both repositories)',
  reseedBackupTakenMs: "the re-seed comparison: a full backup into dc2's repository from a dc2 standby",
  reseedFromSourceMs: 'the re-seed by pg_basebackup across the link (`cdktf deploy`, gate to wait)',
  reseedFromSourceLinkBytes: 'the re-seed by pg_basebackup: bytes across the link during the deploy (both ways)',
  reseedFromBackupMs: "the re-seed from the backup in dc2's repository (`cdktf deploy`, gate to wait)",
  reseedFromBackupLinkBytes: 'the re-seed from the backup: bytes across the link during the deploy (both ways)',
  archiveSwitchoverDeployMs: 'the switchover dc1 -> dc2 with the archive: the whole deploy',
  archiveSwitchoverOldSourceStreamingMs: 'the switchover with the archive: deploy start -> dc1 streams from dc2',
  archiveSwitchoverFenceToPrimaryMs: 'the switchover with the archive: fence -> dc2 is the primary',
  archiveSwitchoverWriteGapMs: "the switchover with the archive: dc1's last acknowledged write -> dc2's first",
  archiveSwitchoverSoftFenceMs: 'the switchover with the archive: the soft fence',
  switchoverReseedFromBackupMs:
    'after the switchover, dc1 re-seeded from its repository (`cdktf deploy`, gate to wait)',
  switchoverReseedLinkBytes: 'that re-seed: bytes across the link during the deploy (both ways)',
};

const seconds = (ms: number | null): string => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);

/**
 * The planned role changes of the lifecycle suites, per Patroni version: what they acknowledged,
 * lost and rewound (empty when no lifecycle run recorded its counts).
 */
function roleChangeRows(roleChanges: readonly RoleChangeFigures[]): string[] {
  const rows = roleChanges.flatMap((p) =>
    (['switchover', 'switchback'] as const)
      .filter((label) => p.totals[`${label}AcknowledgedWrites`] !== undefined)
      .map((label) => {
        const gap = p.metrics.find((m) => m.key === `${label}WriteGapMs`);
        return `| ${p.platform} | ${label} | ${p.runs} | ${p.totals[`${label}AcknowledgedWrites`]} | ${p.totals[`${label}LostWrites`] ?? '-'} | ${p.totals[`${label}OldSourceRewinds`] ?? '-'} | ${gap ? `${gap.medianMs} ms (${gap.minMs}–${gap.maxMs})` : '-'} | ${p.program ?? 'unnamed'} |`;
      }),
  );
  if (rows.length === 0) return [];
  return [
    '## Planned role changes per Patroni version',
    '',
    'The lifecycle suite on each platform of the version matrix (`test/e2e/switchover.test.ts`,',
    '`patroni4.test.ts`, `patroni41.test.ts`): a switchover dc1 -> dc2 and a switchback through',
    "`cdktf deploy '*'` while a writer runs on the source; every acknowledged write is looked up on",
    'the new source afterwards. Summed over the passing runs with the role-change program of the',
    "platform's newest run (named by the hash of its sources); the write gap is the median (min–max) from the",
    "old source's last acknowledgement to the new source's first.",
    '',
    '| platform | role change | runs | acknowledged writes | writes lost | rewinds of the old source | write gap | program |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
  ];
}

/** A run's rows and figures as two tables. */
function runTables(r: Reliability): string[] {
  return [
    '| fault | what was checked | acknowledged writes | writes lost | promised no loss | time to recover | re-clones |',
    '| --- | --- | ---: | ---: | --- | ---: | ---: |',
    ...r.rows.map(
      (x) =>
        `| ${x.fault} | ${x.checked} | ${x.acknowledged} | ${x.lost} | ${x.promised ? 'yes' : 'no (asynchronous replication)'} | ${seconds(x.recoveryMs)} | ${x.reclones} |`,
    ),
  ];
}

function figureTable(r: Reliability): string[] {
  return [
    '| figure | value |',
    '| --- | ---: |',
    ...Object.entries(r.timingsMs).map(
      ([k, v]) =>
        `| ${FIGURES[k] ?? k} | ${k.endsWith('Bytes') ? `${v} bytes${v >= 10 * 1048576 ? ` (${Math.round(v / 1048576)} MB)` : ''}` : `${v} ms`} |`,
    ),
  ];
}

/**
 * RELIABILITY.md: the full suite's run `r`, the role changes of the lifecycle suites, and the
 * fault suite's runs on other platforms (`others`, its role changes across the delay).
 */
export function reliabilityMarkdown(
  r: Reliability,
  roleChanges: readonly RoleChangeFigures[] = [],
  others: readonly Reliability[] = [],
): string {
  const lines = [
    '# Reliability',
    '',
    'Faults between two data centers, each run by the fault suite (`test/e2e/two-dc.ts`, part of',
    "the README's test command) against real etcd, Patroni, PostgreSQL and Terraform; regenerated by",
    '`npm run bench:report` from its last run. A writer inserts rows as fast as the source',
    'acknowledges them during each fault, and every acknowledgement is checked afterwards.',
    '',
    `Setup: ${r.setup}${r.program ? `; role-change program ${r.program}` : ''}.`,
    '',
    ...runTables(r),
    '',
    'Time to recover: from the end of the fault (the link healed, etcd back, the kill, the promotion',
    'deploy started) to the link streaming again (or the promoted cluster taking writes); for the',
    'slot limit, the re-seed deploy and the wait until every acknowledged write is on the standby.',
    'Re-clones: members whose data directory was copied anew. By design the re-seed copies every',
    'standby member and the rejoin after a promotion its replicas (docs/operations.md: Switchover, switchback and',
    'rejoin); no other fault may.',
    '',
    ...figureTable(r),
    '',
    ...others.flatMap((o) => [
      `## ${o.title ?? `The role changes across the delay on ${o.setup.split('; ').slice(1).join('; ') || o.setup}`}`,
      '',
      `${o.about ?? "The fault suite's switchover and switchback across the delay on another platform of the version matrix (`test/e2e/two-dc-patroni41.test.ts`)"}, its last run. Setup: ${o.setup}${o.program ? `; role-change program ${o.program}` : ''}.`,
      '',
      ...runTables(o),
      '',
      ...figureTable(o),
      '',
    ]),
    ...roleChangeRows(roleChanges),
  ];
  return lines.join('\n');
}

/** The fault suite's record files: reliability.json first, then reliability-<suite>.json (-archive-patroni41...). */
const isRecord = (f: string): boolean => /^reliability(-[a-z0-9]+)*\.json$/.test(f);

/** Copies the last runs into the tracked files and writes RELIABILITY.md; false when there is no run. */
export function writeReliability(root: string, roleChanges: readonly RoleChangeFigures[] = []): boolean {
  const out = path.join(root, 'bench', 'out');
  const bench = path.join(root, 'bench');
  for (const f of fs.existsSync(out) ? fs.readdirSync(out).filter(isRecord) : [])
    fs.copyFileSync(path.join(out, f), path.join(bench, f));
  const read = (f: string) => JSON.parse(fs.readFileSync(path.join(bench, f), 'utf8')) as Reliability;
  if (!fs.existsSync(path.join(bench, 'reliability.json'))) return false;
  const others = fs
    .readdirSync(bench)
    .filter((f) => isRecord(f) && f !== 'reliability.json')
    .sort()
    .map(read);
  fs.writeFileSync(
    path.join(root, 'RELIABILITY.md'),
    reliabilityMarkdown(read('reliability.json'), roleChanges, others),
  );
  return true;
}
