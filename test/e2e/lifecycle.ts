/**
 * The link's lifecycle on real etcd, Patroni 3.0.2, PostgreSQL 15 and Terraform, through the
 * project's app and the CLI's `deploy '*'` (cdktf, or CDK Terrain's cdktn): the `clusters:`
 * layout (stacks dc1 and dc2), a planned switchover dc1 -> dc2 while a writer runs on dc1, then
 * either (cdktf) the switchback, a switchover refused by a paused target and a disaster promotion
 * of dc2 followed by the rejoin of a diverged dc1, or (cdktn) the promotion of dc1.
 * A test file defines the suite with `lifecycleSuite(cli)`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse, stringify } from 'yaml';
import {
  Cli,
  DEBIAN12,
  Platform,
  Writer,
  suiteSteps,
  checkPrerequisites,
  Harness,
  HarnessOptions,
  MONITOR_PASSWORD,
  now,
  PRIMARY,
  recordTimings,
  roleChangeProgram,
  ROOT,
  STANDBY,
  waitFor,
} from './harness';

let h: Harness;
const DC = { dc1: PRIMARY, dc2: STANDBY } as const;
type Dc = keyof typeof DC;
const other = (dc: Dc): Dc => (dc === 'dc1' ? 'dc2' : 'dc1');
const clusterOf = (dc: Dc) => (dc === 'dc1' ? 'primary' : 'standby') as 'primary' | 'standby';
const stackDir = (dc: Dc) => path.join(h.work, 'cdktf.out', 'stacks', dc);
const timings: Record<string, number> = {};
let layout: Record<string, any>;

/** Writes the topology (the clusters: layout) with a change applied and deploys every stack. */
function deploy(
  label: string,
  change: (t: Record<string, any>) => void = () => undefined,
  stacks = ['*'],
  linkState = '',
): Promise<{ status: number; output: string }> {
  change(layout);
  fs.writeFileSync(path.join(h.work, 'topology.yaml'), stringify(layout));
  return h.cdktfDeployAsync(stacks, label, linkState);
}

function expectOk(res: { status: number; output: string }): void {
  expect({ status: res.status, tail: res.status === 0 ? '' : res.output.slice(-4000) }).toEqual({
    status: 0,
    tail: '',
  });
}

/**
 * `source` has a read-write leader with two streaming replicas; the other DC's standby leader streams
 * from it, its replicas from the standby leader.
 */
async function linked(source: Dc): Promise<{ leader: string; standbyLeader: string } | undefined> {
  const srcMembers = await h.members(clusterOf(source));
  const leader = srcMembers.find((m) => ['master', 'leader', 'primary'].includes(m.role));
  const sbyMembers = await h.members(clusterOf(other(source)));
  const sl = sbyMembers.find((m) => m.role === 'standby_leader');
  if (!leader || !sl || srcMembers.length !== 3 || sbyMembers.length !== 3) return undefined;
  for (const m of sbyMembers) {
    const r = await h.sql<{ status: string; sender_host: string }>(
      m.host,
      'select status, sender_host from pg_stat_wal_receiver',
    );
    if (r.length !== 1 || r[0].status !== 'streaming') return undefined;
    const fromSource = Object.values(DC[source]).includes(r[0].sender_host);
    if (m.name === sl.name ? !fromSource : r[0].sender_host !== sl.host) return undefined;
  }
  return { leader: leader.name, standbyLeader: sl.name };
}

async function systemIds(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, host] of Object.entries({ ...PRIMARY, ...STANDBY })) {
    out[name] = (
      await h.sql<{ id: string }>(host, 'select system_identifier::text as id from pg_control_system()')
    )[0].id;
  }
  return out;
}

/** Sizes of the Patroni logs, to search only what a step added. */
function logMarks(): Record<string, number> {
  return Object.fromEntries(
    Object.keys({ ...PRIMARY, ...STANDBY }).map((n) => [n, fs.statSync(path.join(h.work, 'logs', `${n}.log`)).size]),
  );
}

function logsSince(marks: Record<string, number>): string {
  return Object.entries(marks)
    .map(([n, size]) =>
      fs
        .readFileSync(path.join(h.work, 'logs', `${n}.log`))
        .subarray(size)
        .toString('utf8'),
    )
    .join('\n');
}

/** A planned switchover to `target` while a writer runs on the current source; returns the write gap. */
async function switchover(target: Dc, label: string): Promise<void> {
  const source = other(target);
  const before = (await linked(source))!;
  if (label === 'switchback') {
    // the new standby's stack deployed alone, first: its patch would fence the running primary,
    // and no patch ever does that; nothing is sent, the roles stay
    const alone = await deploy('switchback-standby-stack-alone', (t) => (t.link.source = target), [
      source,
      '--ignore-missing-stack-dependencies',
    ]);
    expect(alone.status).not.toBe(0);
    expect(alone.output).toMatch(/this patch would make a running primary cluster a standby cluster/);
    expect((await h.config(clusterOf(source))).standby_cluster).toBeUndefined();
    expect(await linked(source)).toBeDefined();
  }
  const ids = await systemIds();
  const marks = logMarks();
  const oldWriter = new Writer(h, DC[source][before.leader], label === 'switchover' ? 1_000_000 : 3_000_000).start();
  const newWriter = new Writer(
    h,
    DC[target][before.standbyLeader],
    label === 'switchover' ? 2_000_000 : 4_000_000,
  ).start();
  let res: Awaited<ReturnType<typeof deploy>>;
  let t0 = 0;
  try {
    await waitFor('the writer on the source acknowledges', 10_000, async () => oldWriter.acked.length > 20);
    t0 = now();
    res = await deploy(label, (t) => (t.link.source = target));
    // The soft fence makes the old leader read-only and waits until its WAL has streamed before
    // the fence stops it at once, so the catch-up check should not refuse; should a write still
    // slip in (a transaction opened before the soft fence), it refuses, undoes the fence and leaves
    // the source a primary with every write, and its message tells a user to deploy again. That
    // refusal is allowed up to three times here and counted in the timings (before the soft fence
    // it came about once in three role changes under load); every other failure fails the step.
    const refusedCatchUp =
      /REFUSED: \S+'s standby leader replayed \S+, not \S+ last position \S+, within \d+ s: the fence was undone/;
    for (let again = 1; again <= 3 && res.status !== 0 && refusedCatchUp.test(res.output); again++) {
      timings[`${label}CatchUpRefusals`] = again;
      await waitFor(`${source} a primary again after the undone fence`, 60_000, () => linked(source));
      res = await deploy(`${label}-again-${again}`, (t) => (t.link.source = target));
    }
    await oldWriter.stop();
    // a failed deploy fails here, with its output, not as a writer that never gets through
    expectOk(res);
    await waitFor(`the writer on ${target} acknowledges`, 30_000, async () => newWriter.acked.length > 5);
  } finally {
    // stopped whatever happened: a writer left running would keep the test process alive
    await Promise.all([oldWriter.stop(), newWriter.stop()]);
  }
  expect(res.output).toMatch(/\[role change\] \S+ gate passed/);
  if (h.platform.patroniVersion.startsWith('4.1')) {
    // the synchronous handoff: the target's standby leader synchronous on the source for the handoff alone
    expect(res.output).toMatch(
      new RegExp(
        `\\[role change\\] \\S+ synchronous handoff: ${before.standbyLeader} is the synchronous standby of ${before.leader} \\(${source}\\)`,
      ),
    );
  } else {
    // before 4.1 the demotion is an immediate stop: the soft fence, and the old side's last position
    expect(res.output).toMatch(
      new RegExp(
        `synchronous handoff not used: ${before.leader} runs Patroni ${h.platform.patroniVersion}: before 4.1`,
      ),
    );
    expect(res.output).toMatch(
      new RegExp(`\\[role change\\] \\S+ soft fence: ${source} read-only, ${target} replayed its last write`),
    );
  }
  expect(res.output).toMatch(new RegExp(`\\[role change\\] \\S+ fence: ${source} demoted`));
  expect(res.output).toMatch(new RegExp(`\\[role change\\] \\S+ ${source} streams from ${target}`));
  // every write acknowledged on the old source is on the new one, which took writes after it
  const lastOld = oldWriter.acked[oldWriter.acked.length - 1];
  const firstNew = newWriter.acked[0];
  timings[`${label}WriteGapMs`] = firstNew.at - lastOld.at;
  const fenceToPrimary = /is the primary \(leader \w+, timeline \d+\), (\d+) ms after the fence/.exec(res.output);
  if (fenceToPrimary) timings[`${label}FenceToPrimaryMs`] = Number(fenceToPrimary[1]);
  // the writers saw the roles change while the deploy ran: writes on the old source failed from the fence on
  expect(lastOld.at).toBeLessThan(firstNew.at);
  expect(firstNew.at).toBeLessThan(now());
  timings[`${label}DeployMs`] = now() - t0;
  const newLeader = DC[target][before.standbyLeader];
  const rows = new Set((await h.sql<{ id: number }>(newLeader, 'select id from lifecycle')).map((r) => Number(r.id)));
  const missing = oldWriter.acked.filter((a) => !rows.has(a.id)).map((a) => a.id);
  timings[`${label}AcknowledgedWrites`] = oldWriter.acked.length;
  timings[`${label}LostWrites`] = missing.length;
  expect({ acked: oldWriter.acked.length, missing }).toEqual({ acked: oldWriter.acked.length, missing: [] });
  // the old source streams from the new one; the same databases (nothing re-cloned, no basebackup)
  const after = await waitFor(`${source} streaming from ${target}`, 60_000, () => linked(target));
  timings[`${label}OldSourceStreamingMs`] = now() - t0;
  expect(after.value.leader).toBe(before.standbyLeader);
  expect(await systemIds()).toEqual(ids);
  expect(logsSince(marks)).not.toMatch(/basebackup|bootstrap from/i);
  // the old source rewound? (Patroni 4.1's clean demotion sends its shutdown checkpoint first: none)
  const rewinds = Object.keys(DC[source])
    .map((n) => logsSince({ [n]: marks[n] }).match(/running pg_rewind/g)?.length ?? 0)
    .reduce((a, b) => a + b, 0);
  timings[`${label}OldSourceRewinds`] = rewinds;
  if (h.platform.patroniVersion.startsWith('4.1')) expect({ label, rewinds }).toEqual({ label, rewinds: 0 });
  // neither the soft fence nor the handoff left a trace: no cluster read-only or synchronous by configuration
  for (const dc of [source, target]) {
    const config = await h.config(clusterOf(dc));
    expect({
      dc,
      readOnly: config.postgresql?.parameters?.default_transaction_read_only,
      names: config.postgresql?.parameters?.synchronous_standby_names,
      softFence: config.managed_by_patroni_standby_cdktf?.softFence,
      handoff: config.managed_by_patroni_standby_cdktf?.handoff,
    }).toEqual({ dc, readOnly: undefined, names: undefined, softFence: undefined, handoff: undefined });
  }
  // the link slot is on the new source only
  expect((await h.config(clusterOf(target))).slots).toEqual({ standby_cluster_slot: { type: 'physical' } });
  expect((await h.config(clusterOf(source))).slots ?? {}).toEqual({});
  await waitFor('the link slot active on the new source', 30_000, async () => {
    const r = await h.sql<{ active: boolean }>(
      newLeader,
      "select active from pg_replication_slots where slot_name = 'standby_cluster_slot'",
    );
    return r.length === 1 && r[0].active;
  });
  // both stacks converged: the next plan is empty
  expect(h.planExitCode(stackDir('dc1'), 'dc1')).toBe(0);
  expect(h.planExitCode(stackDir('dc2'), 'dc2')).toBe(0);
}

/**
 * The promotion variant after the switchover: dc1 (now the standby cluster) is detached through
 * the CLI's `deploy '*'` with LINK_STATE=detached. The gate passes on a quiet source; dc1 becomes
 * an independent primary with every row dc2 had; the link slot leaves dc2; both plans are empty.
 */
function promotionStep(step: (name: string, fn: () => Promise<void>) => void): void {
  step(
    "promotion of dc1 (LINK_STATE=detached, deploy '*'): the gate passes, dc1 is an independent primary with every row, the slot leaves dc2",
    async () => {
      const { leader, standbyLeader } = (await linked('dc2'))!;
      const source = DC.dc2[leader];
      await h.sql(source, 'insert into lifecycle(id) values (7000001)');
      const rows = Number((await h.sql<{ n: string }>(source, 'select count(*) as n from lifecycle'))[0].n);
      const tl = (await h.members('primary')).find((m) => m.name === standbyLeader)!.timeline!;
      const t0 = now();
      const res = await deploy('promotion', () => undefined, ['*'], 'detached');
      expectOk(res);
      timings.promotionDeployMs = now() - t0;
      expect(res.output).toContain('[promotion gate] passed');
      // dc1's standby leader is promoted in place: a primary on a new timeline with every row, and writable
      const members = await h.members('primary');
      const promoted = members.find((m) => ['master', 'leader', 'primary'].includes(m.role));
      expect(promoted?.name).toBe(standbyLeader);
      await waitFor(
        'dc1 writable',
        30_000,
        async () =>
          await h.sql(DC.dc1[standbyLeader], 'insert into lifecycle(id) values (7000002)').then(
            () => true,
            () => false,
          ),
      );
      expect(
        Number((await h.sql<{ n: string }>(DC.dc1[standbyLeader], 'select count(*) as n from lifecycle'))[0].n),
      ).toBe(rows + 1);
      expect((await h.members('primary')).find((m) => m.name === standbyLeader)!.timeline).toBeGreaterThan(tl);
      expect((await h.config('primary')).standby_cluster).toBeUndefined();
      // dc2 is untouched and writable; the link slot left its configuration and its disk
      expect(await h.leader('standby')).toBe(leader);
      await h.sql(source, 'insert into lifecycle(id) values (7000003)');
      expect((await h.config('standby')).slots ?? {}).toEqual({});
      await waitFor(
        'the link slot dropped on dc2',
        30_000,
        async () =>
          (await h.sql(source, "select 1 from pg_replication_slots where slot_name = 'standby_cluster_slot'"))
            .length === 0,
      );
      expect(h.planExitCode(stackDir('dc1'), 'dc1')).toBe(0);
      expect(h.planExitCode(stackDir('dc2'), 'dc2')).toBe(0);
    },
  );
}

/**
 * The suite, deployed through `cli` on `platform`: its steps run in order, each only when the
 * earlier ones passed. cdktn: bootstrap, switchover, promotion. cdktf: every step, and on another
 * platform than this machine's the promotion of dc1 at the end as well. `options` go to the
 * harness (a secured DCS). Returned: the harness, `step` for a test file's own steps after these,
 * and `promotion`, which adds the promotion of dc1 as the next step.
 */
export function lifecycleSuite(
  cli: Cli,
  platform: Platform = DEBIAN12,
  options: HarnessOptions = {},
): { harness: Harness; step: (name: string, fn: () => Promise<void>) => void; promotion: () => void } {
  jest.setTimeout(300_000);
  h = new Harness(undefined, cli, platform, options);
  const suite = options.securedDcs
    ? 'lifecycle-secured-dcs'
    : cli !== 'cdktf'
      ? `lifecycle-${cli}`
      : platform.root
        ? 'lifecycle-patroni4'
        : 'lifecycle';
  const { step, failed } = suiteSteps(h);
  const api = { harness: h, step, promotion: () => promotionStep(step) };

  beforeAll(() => {
    checkPrerequisites(cli, platform);
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
    h.setup();
    const t = parse(h.topologyText());
    layout = { clusters: { dc1: t.primary, dc2: t.standby }, link: { ...t.link, source: 'dc1' } };
  });

  afterAll(async () => {
    await h.teardown(process.env.E2E_KEEP_WORK === '1');
    // the figures belong to the role-change program that produced them
    recordTimings(
      suite,
      { loopWait: '2', switchoverProgram: roleChangeProgram(), platform: platform.name },
      timings,
      !failed(),
    );
  });

  step(`the clusters: layout deploys as stacks dc1 and dc2 (${cli} deploy '*'); dc2 streams from dc1`, async () => {
    h.startEtcd();
    await h.waitEtcd();
    expectOk(await deploy('initial'));
    expect(fs.readdirSync(path.join(h.work, 'cdktf.out', 'stacks')).sort()).toEqual(['dc1', 'dc2']);
    // every member runs the platform's Patroni and PostgreSQL
    for (const host of [...Object.values(PRIMARY), ...Object.values(STANDBY)]) {
      const { value } = await waitFor(`GET /patroni on ${host} with its server version`, 180_000, async () => {
        const r = (await (await fetch(`http://${host}:8008/patroni`)).json()) as {
          patroni: { version: string };
          server_version?: number;
        };
        return r.server_version ? r : undefined;
      });
      expect({ host, patroni: value.patroni.version, major: Math.floor(value.server_version! / 10000) }).toEqual({
        host,
        patroni: platform.patroniVersion,
        major: platform.pgVersion,
      });
    }
    // the app ran on the CLI's own core (the manifest carries its version)
    expect(JSON.parse(fs.readFileSync(path.join(h.work, 'cdktf.out', 'manifest.json'), 'utf8')).version).toBe(
      cli === 'cdktn' ? '0.24.0' : '0.21.0',
    );
    expect(
      fs
        .readdirSync(h.work)
        .filter((f) => f.endsWith('.tfstate'))
        .sort(),
    ).toEqual(['terraform.dc1.tfstate', 'terraform.dc2.tfstate']);
    if (cli === 'cdktn') {
      // the same environment synthesized on cdktf plans no change: moving between the cores is a no-op
      h.synth(path.join(h.work, 'topology.yaml'), path.join(h.work, 'cdktf.out'));
      expect([h.planExitCode(stackDir('dc1'), 'dc1'), h.planExitCode(stackDir('dc2'), 'dc2')]).toEqual([0, 0]);
    }
    const { value } = await waitFor('dc2 streaming from dc1', 180_000, () => linked('dc1'));
    await h.sql(PRIMARY[value.leader], `create role monitor login password '${MONITOR_PASSWORD}' in role pg_monitor`);
    await h.sql(PRIMARY[value.leader], 'create table lifecycle(id bigint primary key, at timestamptz default now())');
  });

  step(
    'planned switchover dc1 -> dc2 with a writer on dc1: no acknowledged write lost, dc1 follows dc2, nothing re-cloned',
    async () => {
      await switchover('dc2', 'switchover');
    },
  );

  if (cli === 'cdktn') {
    promotionStep(step);
    return api;
  }

  step('switchback dc2 -> dc1: the same checks', async () => {
    await switchover('dc1', 'switchback');
  });

  step(
    'a switchover to a paused target (maintenance mode, replay paused) is refused; nothing changes on either side',
    async () => {
      const before = (await linked('dc1'))!;
      h.patronictl('s1', ['pause', '--wait']);
      await h.sql(STANDBY[before.standbyLeader], 'select pg_wal_replay_pause()');
      const configs = { dc1: await h.config('primary'), dc2: await h.config('standby') };
      try {
        const res = await deploy('switchover-refused', (t) => (t.link.source = 'dc2'));
        expect(res.status).not.toBe(0);
        expect(res.output).toMatch(/REFUSED: the link is not ready for a switchover/);
        expect(res.output).toMatch(/replay is paused on standby leader/);
        expect(res.output).not.toMatch(/fence:/);
        expect({ dc1: await h.config('primary'), dc2: await h.config('standby') }).toEqual(configs);
      } finally {
        await h.sql(STANDBY[before.standbyLeader], 'select pg_wal_replay_resume()');
        h.patronictl('s1', ['resume', '--wait']);
      }
      // back to the topology as it runs: dc1 the source
      expectOk(await deploy('switchover-refused-back', (t) => (t.link.source = 'dc1')));
      await waitFor('dc2 streaming from dc1 again', 60_000, () => linked('dc1'));
    },
  );

  let dc1FormerLeader = '';

  step('disaster: dc1 wrote rows dc2 never got, dc1 is lost, dc2 is promoted (promotion.disaster)', async () => {
    const { leader } = (await linked('dc1'))!;
    dc1FormerLeader = leader;
    // dc2 stops (its data center is cut off), dc1 keeps writing, then dc1 is lost too
    for (const n of Object.keys(STANDBY)) h.nodeCtl('stop', n);
    await waitFor('dc2 stopped', 60_000, async () => (await h.members('standby')).length === 0);
    for (let i = 0; i < 50; i++) await h.sql(PRIMARY[leader], `insert into lifecycle(id) values (${9_000_000 + i})`);
    await h.sql(PRIMARY[leader], 'checkpoint');
    for (const n of Object.keys(PRIMARY)) h.nodeCtl('stop', n);
    await waitFor('dc1 stopped', 60_000, async () => (await h.members('primary')).length === 0);
    for (const n of Object.keys(STANDBY)) h.nodeCtl('start', n);
    await waitFor('dc2 back as a standby cluster', 90_000, async () =>
      (await h.members('standby')).some((m) => m.role === 'standby_leader'),
    );
    // the disaster promotion of dc2: its stack only, as the runbook says
    change((t) => (t.link.promotion = { disaster: true }));
    h.synth(path.join(h.work, 'topology.yaml'), path.join(h.work, 'cdktf.out'), 'detached');
    h.apply(stackDir('dc2'), 'dc2-disaster');
    await waitFor('dc2 read-write', 60_000, async () =>
      (await h.members('standby')).some((m) => ['master', 'leader', 'primary'].includes(m.role)),
    );
    const dc2Leader = (await h.leader('standby'))!;
    await h.sql(STANDBY[dc2Leader], 'insert into lifecycle(id) values (8000001)');
  });

  step(
    'rejoin of the diverged dc1: refused with the bytes it would lose, then rewound and streaming from dc2 once the loss is accepted',
    async () => {
      // dc1 comes back: its former leader first (it runs on as the primary it was), then the others
      h.nodeCtl('start', dc1FormerLeader);
      const { value: dc1Leader } = await waitFor(
        'dc1 back as a primary',
        90_000,
        async () => (await h.members('primary')).find((m) => ['master', 'leader', 'primary'].includes(m.role))?.name,
      );
      for (const n of Object.keys(PRIMARY)) if (n !== dc1FormerLeader) h.nodeCtl('start', n);
      expect(
        (await h.sql<{ n: string }>(PRIMARY[dc1Leader], 'select count(*) as n from lifecycle where id >= 9000000'))[0]
          .n,
      ).toBe('50');
      const refused = await deploy('rejoin-refused', (t) => {
        t.link.source = 'dc2';
        t.link.state = 'following';
        delete t.link.promotion;
      });
      expect(refused.status).not.toBe(0);
      expect(refused.output).toMatch(/REFUSED: rejoining dc1 throws away the \d+ bytes of WAL it wrote after/);
      expect((await h.members('primary')).find((m) => m.name === dc1Leader)?.role).toMatch(/master|leader|primary/);
      const t0 = now();
      const res = await deploy('rejoin', (t) => (t.link.roleChange = { acceptDataLoss: true }));
      expectOk(res);
      expect(res.output).toMatch(/acceptDataLoss is set: \d+ bytes of dc1/);
      await waitFor('dc1 streaming from dc2', 120_000, () => linked('dc2'));
      timings.rejoinMs = now() - t0;
      expect(res.output).toMatch(/re-cloned and streaming/);
      // every dc1 member has dc2's history: the row written after the promotion, none of the diverged ones
      for (const [name, host] of Object.entries(PRIMARY)) {
        await waitFor(
          `the row written on dc2 after the promotion on ${name}`,
          30_000,
          async () => (await h.sql(host, 'select 1 from lifecycle where id = 8000001')).length === 1,
        );
        expect({
          name,
          diverged: (await h.sql<{ n: string }>(host, 'select count(*) as n from lifecycle where id >= 9000000'))[0].n,
        }).toEqual({ name, diverged: '0' });
      }
      expect(h.planExitCode(stackDir('dc1'), 'dc1')).toBe(0);
      expect(h.planExitCode(stackDir('dc2'), 'dc2')).toBe(0);
    },
  );

  // on another platform, the promotion too: dc1 follows dc2 again after the rejoin
  if (platform.root) promotionStep(step);
  return api;
}

function change(fn: (t: Record<string, any>) => void): void {
  fn(layout);
  fs.writeFileSync(path.join(h.work, 'topology.yaml'), stringify(layout));
}
