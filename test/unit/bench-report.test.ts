/**
 * The end-to-end figures BENCHMARKS.md shows (bench/report.ts): the role change's figures per
 * platform come from each platform's lifecycle runs that passed with the role-change program of
 * its newest run, so that a figure never mixes programs, and a failed run counts for nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { summarizeE2e } from '../../bench/report';
import { reliabilityMarkdown } from '../../bench/reliability-report';

const P41 = 'patroni 4.1.5, etcd 3.5, PostgreSQL 18 (Debian forky root)';

function run(suite: string, config: Record<string, string>, passed: boolean, gap: number) {
  return {
    suite,
    config,
    passed,
    timingsMs: { switchoverWriteGapMs: gap, switchbackWriteGapMs: gap + 1, switchoverDeployMs: 20000 },
  };
}

test('the role change per platform: passing runs of the newest program only, the host platform by default', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-report-'));
  const file = path.join(dir, 'e2e-timings.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      machine: 'test',
      runs: [
        run('lifecycle', { switchoverProgram: 'old' }, true, 9000),
        run('lifecycle', { switchoverProgram: 'new' }, true, 5000),
        run('lifecycle', { switchoverProgram: 'new' }, false, 100),
        run('lifecycle', { switchoverProgram: 'new' }, true, 4000),
        run('lifecycle', { switchoverProgram: 'new' }, true, 6000),
        run('lifecycle-patroni4', { switchoverProgram: 'new', platform: P41 }, true, 7800),
        run('lifecycle-secured-dcs', { switchoverProgram: 'new' }, true, 1),
        run('walkthrough', {}, true, 1),
      ],
    }),
  );
  try {
    const byPlatform = summarizeE2e(file)!.roleChangeByPlatform;
    expect(byPlatform.map((p) => [p.platform, p.program, p.runs])).toEqual([
      ['patroni 3.0.2, etcd 3.4, PostgreSQL 15', 'new', 3],
      [P41, 'new', 1],
    ]);
    expect(byPlatform[0].metrics).toEqual([
      { key: 'switchoverWriteGapMs', runs: 3, medianMs: 5000, minMs: 4000, maxMs: 6000 },
      { key: 'switchbackWriteGapMs', runs: 3, medianMs: 5001, minMs: 4001, maxMs: 6001 },
      { key: 'switchoverDeployMs', runs: 3, medianMs: 20000, minMs: 20000, maxMs: 20000 },
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the reliability table of the planned role changes: counts summed over the counted runs, per platform and role change', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-report-'));
  const file = path.join(dir, 'e2e-timings.json');
  const counted = (acked: number, rewinds: number, gap: number) => ({
    suite: 'lifecycle-patroni4',
    config: { switchoverProgram: 'p', platform: P41 },
    passed: true,
    timingsMs: {
      switchoverWriteGapMs: gap,
      switchoverAcknowledgedWrites: acked,
      switchoverLostWrites: 0,
      switchoverOldSourceRewinds: rewinds,
    },
  });
  fs.writeFileSync(
    file,
    JSON.stringify({
      machine: 'test',
      runs: [
        counted(100, 0, 600),
        counted(250, 1, 800),
        { ...counted(9999, 9, 1), passed: false },
        // an older program on the host platform: no counts, no rows
        run('lifecycle', { switchoverProgram: 'old' }, true, 9000),
      ],
    }),
  );
  try {
    const byPlatform = summarizeE2e(file)!.roleChangeByPlatform;
    expect(byPlatform.find((p) => p.platform === P41)!.totals).toEqual({
      switchoverAcknowledgedWrites: 350,
      switchoverLostWrites: 0,
      switchoverOldSourceRewinds: 1,
    });
    const md = reliabilityMarkdown({ setup: 's', rows: [], timingsMs: {} }, byPlatform);
    expect(md).toContain('## Planned role changes per Patroni version');
    expect(md).toContain(`| ${P41} | switchover | 2 | 350 | 0 | 1 | 700 ms (600–800) | p |`);
    expect(md).not.toContain('switchback |');
    expect(md).not.toContain('| patroni 3.0.2');
    expect(reliabilityMarkdown({ setup: 's', rows: [], timingsMs: {} })).not.toContain('Planned role changes');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the role changes across the fault suite's delay: its own runs per platform, apart from the lifecycle's", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-report-'));
  const file = path.join(dir, 'e2e-timings.json');
  const fault = (platform: string, program: string, passed: boolean, gap: number) => ({
    suite: 'fault-suite',
    config: { switchoverProgram: program, platform },
    passed,
    timingsMs: { delayedSwitchoverWriteGapMs: gap, delayedSwitchbackWriteGapMs: gap + 10 },
  });
  fs.writeFileSync(
    file,
    JSON.stringify({
      machine: 'test',
      runs: [
        fault(P41, 'p', true, 600),
        fault(P41, 'p', false, 1),
        fault(P41, 'p', true, 800),
        fault('patroni 3.0.2, etcd 3.4, PostgreSQL 15', 'p', true, 4500),
        run('lifecycle-patroni4', { switchoverProgram: 'p', platform: P41 }, true, 9999),
      ],
    }),
  );
  try {
    const s = summarizeE2e(file)!;
    expect(s.delayedByPlatform.map((p) => [p.platform, p.runs, p.metrics])).toEqual([
      [
        'patroni 3.0.2, etcd 3.4, PostgreSQL 15',
        1,
        [
          { key: 'delayedSwitchoverWriteGapMs', runs: 1, medianMs: 4500, minMs: 4500, maxMs: 4500 },
          { key: 'delayedSwitchbackWriteGapMs', runs: 1, medianMs: 4510, minMs: 4510, maxMs: 4510 },
        ],
      ],
      [
        P41,
        2,
        [
          { key: 'delayedSwitchoverWriteGapMs', runs: 2, medianMs: 700, minMs: 600, maxMs: 800 },
          { key: 'delayedSwitchbackWriteGapMs', runs: 2, medianMs: 710, minMs: 610, maxMs: 810 },
        ],
      ],
    ]);
    // the lifecycle's figures do not take the fault suite's runs, nor the other way round
    expect(s.roleChangeByPlatform.map((p) => [p.platform, p.runs])).toEqual([[P41, 1]]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("RELIABILITY.md: the fault suite's runs on other platforms after the full suite's tables", () => {
  const row = { fault: 'f41', checked: 'c', acknowledged: 10, lost: 0, promised: true, recoveryMs: 1500, reclones: 0 };
  const md = reliabilityMarkdown(
    { setup: 'full', rows: [], timingsMs: {} },
    [],
    [{ setup: 'forky', program: 'abc', rows: [row], timingsMs: { delayedSwitchbackWriteGapMs: 640 } }],
  );
  expect(md).toContain('Setup: forky; role-change program abc.');
  expect(md).toContain('| f41 | c | 10 | 0 | yes | 1.5 s | 0 |');
  expect(md).toContain(
    "| switchback across the delay: dc2's last acknowledged write -> dc1's first (a writer on each) | 640 ms |",
  );
  expect(md.indexOf('Setup: full.')).toBeLessThan(md.indexOf('Setup: forky'));
});
