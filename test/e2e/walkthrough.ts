/**
 * The article's walkthrough on real etcd, Patroni and PostgreSQL, deployed by Terraform from the
 * project's own synthesized stacks: bootstrap, cascading, switchovers, a killed standby leader,
 * the promotion variant, and an existing primary that the stacks did not deploy. A test file
 * defines it on a platform with `walkthroughSuite(platform)`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import {
  DEBIAN12,
  Platform,
  suiteSteps,
  checkPrerequisites,
  DC2_RESTAPI_PASSWORD,
  Harness,
  recordTimings,
  MONITOR_PASSWORD,
  now,
  PASSWORDS,
  PRIMARY,
  ROOT,
  SECRETS,
  sleep,
  STANDBY,
  waitFor,
} from './harness';

let h: Harness;
let platform: Platform = DEBIAN12;
const out = () => path.join(h.work, 'cdktf.out');
const stackDir = (stack: string, base = out()) => path.join(base, 'stacks', stack);
const STANDBY_NODES = Object.keys(STANDBY);
let rowId = 0;
/** A cluster's read-write leader: `master` in Patroni 3.0's REST API, `leader`/`primary` later. */
const PRIMARY_ROLES = ['master', 'leader', 'primary'];

let step: ReturnType<typeof suiteSteps>['step'];
let failed: ReturnType<typeof suiteSteps>['failed'];

async function insertRow(host: string, note: string): Promise<number> {
  rowId += 1;
  await h.sql(host, `insert into walkthrough(id, note) values (${rowId}, '${note}')`);
  return rowId;
}

async function rowsOn(host: string): Promise<number> {
  const r = await h.sql<{ n: string }>(host, 'select count(*) as n from walkthrough');
  return Number(r[0].n);
}

async function allStandbyNodesHave(count: number): Promise<boolean> {
  for (const host of Object.values(STANDBY)) if ((await rowsOn(host).catch(() => -1)) < count) return false;
  return true;
}

/** Standby cluster: a standby leader streaming from the primary, both others streaming from it. */
async function standbyHealthy(): Promise<string | undefined> {
  const members = await h.members('standby');
  const leader = members.find((m) => m.role === 'standby_leader');
  if (!leader || members.length !== 3) return undefined;
  for (const m of members) {
    const r = await h.sql<{ status: string; sender_host: string }>(
      m.host,
      'select status, sender_host from pg_stat_wal_receiver',
    );
    if (r.length !== 1 || r[0].status !== 'streaming') return undefined;
    const fromPrimary = Object.values(PRIMARY).includes(r[0].sender_host);
    if (m.name === leader.name ? !fromPrimary : r[0].sender_host !== leader.host) return undefined;
  }
  return leader.name;
}

async function primaryHealthy(): Promise<string | undefined> {
  const members = await h.members('primary');
  const leader = members.find((m) => PRIMARY_ROLES.includes(m.role));
  if (!leader || members.length !== 3) return undefined;
  const repl = await h.sql(leader.host, "select 1 from pg_stat_replication where state = 'streaming'");
  return repl.length >= 3 ? leader.name : undefined; // two replicas + the standby leader
}

async function slotActiveOn(host: string): Promise<boolean> {
  const r = await h.sql<{ active: boolean }>(
    host,
    "select active from pg_replication_slots where slot_name = 'standby_cluster_slot'",
  );
  return r.length === 1 && r[0].active;
}

const timings: Record<string, number> = {};
/** What the run's figures depend on, recorded with them. */
const runConfig: Record<string, string> = {};
const topologyFile = () => path.join(h.work, 'topology.yaml');
const restAuth = (password = PASSWORDS.PATRONI_RESTAPI_PASSWORD) =>
  `Basic ${Buffer.from(`patroni:${password}`).toString('base64')}`;

/** The resources a saved plan changes, without their hash suffix. */
function plannedChanges(dir: string, label: string): string[] {
  const plan = h.terraform(dir, ['plan', '-input=false', `-out=${label}.tfplan`], label);
  if (plan.status !== 0) throw new Error(`terraform plan failed:\n${plan.output}`);
  const shown = h.terraform(dir, ['show', '-json', `${label}.tfplan`], `${label}-show`).output;
  fs.writeFileSync(path.join(dir, `${label}.plan.json`), shown);
  const show = JSON.parse(shown);
  return (show.resource_changes as { address: string; change: { actions: string[] } }[])
    .filter((c) => !c.change.actions.includes('no-op'))
    .map((c) => c.address.replace(/_[0-9A-F]{8}$/, ''))
    .sort();
}

async function slotsOn(host: string): Promise<number> {
  const r = await h.sql<{ n: string }>(
    host,
    "select count(*) as n from pg_replication_slots where slot_name = 'standby_cluster_slot'",
  );
  return Number(r[0].n);
}

/** The walkthrough's steps on `platform`, in order, each only when the earlier ones passed. */
export function walkthroughSuite(on: Platform = DEBIAN12): void {
  jest.setTimeout(240_000);
  platform = on;
  h = new Harness(undefined, 'cdktf', platform);
  ({ step, failed } = suiteSteps(h));

  beforeAll(() => {
    checkPrerequisites('cdktf', platform);
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
    h.setup();
  });

  afterAll(async () => {
    await h.teardown(process.env.E2E_KEEP_WORK === '1');
    recordTimings(
      platform.root ? 'walkthrough-patroni4' : 'walkthrough',
      { ...runConfig, platform: platform.name },
      timings,
      !failed(),
    );
  });

  step('1. every rendered node config passes patroni --validate-config (etcd up, ports free)', async () => {
    h.startEtcd();
    await h.waitEtcd();
    h.synth(path.join(h.work, 'topology.yaml'), out());
    const standbyPatch = JSON.parse(
      fs.readFileSync(path.join(out(), 'rendered', 'standby', 'cluster', 'dcs-patch.json'), 'utf8'),
    );
    runConfig.walRetrieveRetryInterval = standbyPatch.postgresql.parameters.wal_retrieve_retry_interval;
    runConfig.loopWait = String(standbyPatch.loop_wait);
    for (const [cluster, nodes] of [
      ['primary', PRIMARY],
      ['standby', STANDBY],
    ] as const) {
      for (const node of Object.keys(nodes)) {
        const file = path.join(out(), 'rendered', cluster, 'cluster', `${node}.patroni.yml`);
        // as on a host: the REST API password is in Patroni's environment (the YAML names only the user)
        const res = spawnSync(...h.onPlatform('/usr/bin/patroni', ['--validate-config', file]), {
          encoding: 'utf8',
          env: { ...process.env, PATRONI_RESTAPI_PASSWORD: PASSWORDS.PATRONI_RESTAPI_PASSWORD },
        });
        expect({ node, status: res.status, complaints: `${res.stdout}${res.stderr}`.trim() }).toEqual({
          node,
          status: 0,
          complaints: '',
        });
      }
    }
  });

  step('2. deploy the primary stack: one Leader and two streaming replicas', async () => {
    const t0 = now();
    h.apply(stackDir('primary'), 'primary');
    const { value: leader } = await waitFor('primary: leader + 2 streaming replicas', 120_000, async () => {
      const members = await h.members('primary');
      const l = members.find((m) => PRIMARY_ROLES.includes(m.role));
      if (!l || members.length !== 3) return undefined;
      const r = await h.sql(l.host, "select 1 from pg_stat_replication where state = 'streaming'");
      return r.length === 2 ? l : undefined;
    });
    timings.primaryBootstrapMs = now() - t0;
    // the monitoring role of link.monitoring, as the README says to create it
    await h.sql(leader.host, `create role monitor login password '${MONITOR_PASSWORD}' in role pg_monitor`);
    await h.sql(leader.host, 'create table walkthrough(id int primary key, note text)');
    await insertRow(leader.host, 'before the standby cluster');
    // the link patch is in place: permanent slot (inactive) and pg_hba for every standby node
    const config = (await (await fetch(`http://${leader.host}:8008/config`)).json()) as {
      slots: object;
      postgresql: { pg_hba: string[] };
    };
    expect(config.slots).toEqual({ standby_cluster_slot: { type: 'physical' } });
    for (const ip of Object.values(STANDBY))
      expect(config.postgresql.pg_hba).toContain(`host replication replicator ${ip}/32 scram-sha-256`);
    expect(
      await h.sql(leader.host, "select active from pg_replication_slots where slot_name = 'standby_cluster_slot'"),
    ).toEqual([{ active: false }]);
    // restapi.authentication: the project's patch above got through with the pipeline's password;
    // a PATCH /config without credentials, or with wrong ones, is refused and changes nothing
    const tryPatch = (headers: Record<string, string>) =>
      fetch(`http://${leader.host}:8008/config`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ loop_wait: 9 }),
      });
    expect((await tryPatch({})).status).toBe(401);
    expect((await tryPatch({ authorization: restAuth('not-the-password') })).status).toBe(401);
    expect(((await (await fetch(`http://${leader.host}:8008/config`)).json()) as { loop_wait: number }).loop_wait).toBe(
      2,
    );
  });

  step(
    '3. deploy the standby stack: a Standby Leader, replicas cascade from it, the slot is active, rows arrive',
    async () => {
      const t0 = now();
      h.apply(stackDir('standby'), 'standby');
      const { value: standbyLeader } = await waitFor('standby cluster streaming (cascading)', 180_000, standbyHealthy);
      timings.standbyBootstrapToAllStreamingMs = now() - t0;
      // the deploy wrote every node's env file (mode 600) from the ephemeral variables: this data
      // center's REST password on the standby nodes, the primary's on the primary nodes
      for (const node of [...Object.keys(PRIMARY), ...Object.keys(STANDBY)]) {
        const file = path.join(h.work, 'secrets', `${node}.env`);
        const rest = node in STANDBY ? DC2_RESTAPI_PASSWORD : PASSWORDS.PATRONI_RESTAPI_PASSWORD;
        expect({
          node,
          mode: (fs.statSync(file).mode & 0o777).toString(8),
          text: fs.readFileSync(file, 'utf8'),
        }).toEqual({
          node,
          mode: '600',
          text: `PATRONI_SUPERUSER_PASSWORD='${PASSWORDS.PATRONI_SUPERUSER_PASSWORD}'\nPATRONI_REPLICATION_PASSWORD='${PASSWORDS.PATRONI_REPLICATION_PASSWORD}'\nPATRONI_REWIND_PASSWORD='${PASSWORDS.PATRONI_REWIND_PASSWORD}'\nPATRONI_RESTAPI_PASSWORD='${rest}'\n`,
        });
      }
      const leader = (await h.leader('primary'))!;
      expect(await slotActiveOn(PRIMARY[leader])).toBe(true);
      // the standby leader's stream runs through the slot; the replicas do not stream from the primary
      const onPrimary = await h.sql<{ client_addr: string; slot_name: string }>(
        PRIMARY[leader],
        "select r.application_name, s.slot_name from pg_stat_replication r left join pg_replication_slots s on s.active_pid = r.pid where s.slot_name = 'standby_cluster_slot'",
      );
      expect(onPrimary).toEqual([{ application_name: standbyLeader, slot_name: 'standby_cluster_slot' }]);
      const id = await insertRow(PRIMARY[leader], 'after the standby cluster');
      await waitFor(`row ${id} on every standby node`, 30_000, () => allStandbyNodesHave(id));
    },
  );

  step('pg_hba: the primary admits every standby node by its own /32 line, and nothing more', async () => {
    // Each client socket is bound to the address it stands for, so the server sees 127.0.2.x
    // (not 127.0.0.1) and matches the generated per-node lines for real.
    const leader = PRIMARY[(await h.leader('primary'))!];
    const repl = PASSWORDS.PATRONI_REPLICATION_PASSWORD;
    const rewind = PASSWORDS.PATRONI_REWIND_PASSWORD;
    for (const ip of Object.values(STANDBY)) {
      expect({ ip, replication: await h.connectFrom(ip, leader, 'replicator', repl, { replication: true }) }).toEqual({
        ip,
        replication: 'admitted',
      });
      expect({ ip, rewind: await h.connectFrom(ip, leader, 'rewinder', rewind) }).toEqual({ ip, rewind: 'admitted' });
    }
    const outsider = '127.0.3.99';
    expect(await h.connectFrom(outsider, leader, 'replicator', repl, { replication: true })).toMatch(
      /no pg_hba.conf entry for replication connection from host "127\.0\.3\.99", user "replicator"/,
    );
    expect(await h.connectFrom(outsider, leader, 'rewinder', rewind)).toMatch(
      /no pg_hba.conf entry for host "127\.0\.3\.99", user "rewinder", database "postgres"/,
    );
    // least privilege from a standby node: replication only for the replication user, the postgres
    // database only for the rewind user, and the superuser hits the article's reject line
    expect(await h.connectFrom(STANDBY.s1, leader, 'replicator', repl)).toMatch(
      /no pg_hba.conf entry for host "127\.0\.2\.1", user "replicator", database "postgres"/,
    );
    expect(await h.connectFrom(STANDBY.s1, leader, 'rewinder', rewind, { replication: true })).toMatch(
      /no pg_hba.conf entry for replication connection from host "127\.0\.2\.1", user "rewinder"/,
    );
    expect(await h.connectFrom(STANDBY.s1, leader, 'postgres', PASSWORDS.PATRONI_SUPERUSER_PASSWORD)).toMatch(
      /pg_hba.conf rejects connection for host "127\.0\.2\.1", user "postgres"/,
    );
  });

  step(
    "status on the article's pg_hba: the superuser over TCP is rejected from the pipeline, the monitoring role gets in",
    async () => {
      // `npm run status` as the superuser (what it used to default to) meets the reject line...
      const asSuperuser = h.status('', false, { PGUSER: 'postgres', PGPASSWORD: PASSWORDS.PATRONI_SUPERUSER_PASSWORD });
      expect(asSuperuser.code).not.toBe(0);
      expect(asSuperuser.report.problems.join('\n')).toMatch(
        /pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "postgres"/,
      );
      // ...and the declared pg_monitor role, admitted before it on both clusters, reads everything
      const { value: report } = await waitFor('status healthy as the monitoring role', 30_000, async () => {
        const r = h.status('', true);
        return r.code === 0 && r.report.healthy ? r.report : undefined;
      });
      expect(report.nodes.filter((n) => n.lagBytes !== null)).toHaveLength(6);
      expect(report.slot).toMatchObject({ present: true, active: true });
    },
  );

  step('4. a second apply plans no change (terraform plan -detailed-exitcode = 0)', async () => {
    expect(h.planExitCode(stackDir('primary'), 'primary')).toBe(0);
    expect(h.planExitCode(stackDir('standby'), 'standby')).toBe(0);
  });

  step(
    '4b. what the topology removes leaves the running clusters: a parameter and a renamed link slot, through `cdktf deploy *`',
    async () => {
      const topo = parse(h.topologyText());
      delete topo.primary.postgresql.parameters.wal_receiver_status_interval; // both clusters share the anchor
      topo.link.slotName = 'dr_slot';
      const renamed = path.join(h.work, 'topology-renamed.yaml');
      fs.writeFileSync(renamed, stringify(topo));
      const before = await h.config('primary');
      expect(before.postgresql.parameters.wal_receiver_status_interval).toBe('1s');
      const deploy = h.cdktfDeploy(['*'], 'rename', '', renamed);
      expect({ status: deploy.status, tail: deploy.status === 0 ? '' : deploy.output.slice(-3000) }).toEqual({
        status: 0,
        tail: '',
      });
      // the source kept the old slot while the standby still streamed through it; the standby's
      // link-slots step removed it once the standby had moved to the new one
      expect(deploy.output).toMatch(/keeping slot standby_cluster_slot: the standby cluster still streams through it/);
      expect(deploy.output).toMatch(
        /link slots on the source \(pgcluster\)\] \S+ removing what the topology no longer has: slots\.standby_cluster_slot/,
      );
      // every member's file was refreshed (bootstrap.dcs changed) and none was reloaded: the DCS patch
      // carries the change
      // (the provisioners' own output lines, not Terraform's echo of the command)
      const runs = deploy.output.split('\n').filter((l) => l.includes('(local-exec): patroni runs'));
      const refreshed = new Set(
        runs
          .filter((l) =>
            l.includes('(local-exec): patroni runs; only bootstrap-time settings changed: file refreshed, no reload'),
          )
          .map((l) => /node-(\w+)_config/.exec(l)?.[1]),
      );
      expect({
        refreshed: [...refreshed].sort(),
        others: runs.filter((l) => !l.includes('only bootstrap-time')),
      }).toEqual({ refreshed: ['p1', 'p2', 'p3', 's1', 's2', 's3'], others: [] });
      for (const cluster of ['primary', 'standby'] as const) {
        const config = await h.config(cluster);
        expect({ cluster, param: config.postgresql.parameters.wal_receiver_status_interval }).toEqual({
          cluster,
          param: undefined,
        });
      }
      expect((await h.config('primary')).slots).toEqual({ dr_slot: { type: 'physical' } });
      expect((await h.config('standby')).standby_cluster.primary_slot_name).toBe('dr_slot');
      const leader = PRIMARY[(await h.leader('primary'))!];
      await waitFor('the standby leader streams through dr_slot, the old slot is dropped', 60_000, async () => {
        const slots = await h.sql<{ slot_name: string; active: boolean }>(
          leader,
          'select slot_name, active from pg_replication_slots order by 1',
        );
        return (
          JSON.stringify(slots.filter((s) => !Object.keys(PRIMARY).includes(s.slot_name))) ===
          JSON.stringify([{ slot_name: 'dr_slot', active: true }])
        );
      });
      // each member runs with the default again (Patroni reloaded PostgreSQL)
      await waitFor('wal_receiver_status_interval back to its default on every node', 30_000, async () => {
        for (const host of [...Object.values(PRIMARY), ...Object.values(STANDBY)]) {
          if (
            (await h.sql<{ v: string }>(host, "select current_setting('wal_receiver_status_interval') as v"))[0].v !==
            '10s'
          )
            return false;
        }
        return true;
      });
      // and back: the parameter returns, the original slot name too, the renamed slot goes
      const back = h.cdktfDeploy(['*'], 'rename-back');
      expect({ status: back.status, tail: back.status === 0 ? '' : back.output.slice(-3000) }).toEqual({
        status: 0,
        tail: '',
      });
      expect((await h.config('primary')).slots).toEqual({ standby_cluster_slot: { type: 'physical' } });
      expect((await h.config('primary')).postgresql.parameters.wal_receiver_status_interval).toBe('1s');
      await waitFor(
        'the standby leader streams through standby_cluster_slot again, dr_slot is dropped',
        60_000,
        async () => {
          const slots = await h.sql<{ slot_name: string; active: boolean }>(
            leader,
            'select slot_name, active from pg_replication_slots order by 1',
          );
          return (
            JSON.stringify(slots.filter((s) => !Object.keys(PRIMARY).includes(s.slot_name))) ===
            JSON.stringify([{ slot_name: 'standby_cluster_slot', active: true }])
          );
        },
      );
      expect(await standbyHealthy()).toBeDefined();
      expect(h.planExitCode(stackDir('primary'), 'primary')).toBe(0);
      expect(h.planExitCode(stackDir('standby'), 'standby')).toBe(0);
    },
  );

  step(
    '9. existing primary (the article case): the same standby stack, and the link patch on a cluster the stacks did not deploy',
    async () => {
      const topo = parse(h.topologyText());
      const declared = (
        JSON.parse(fs.readFileSync(path.join(out(), 'rendered', 'primary', 'cluster', 'dcs-patch.json'), 'utf8'))
          .postgresql.pg_hba as string[]
      ).filter((l) => !l.includes('127.0.2.'));
      topo.primary = {
        mode: 'existing',
        scope: topo.primary.scope,
        namespace: topo.primary.namespace,
        dcs: topo.primary.dcs,
        nodes: topo.primary.nodes.map((n: { name: string; host: string }) => ({ name: n.name, host: n.host })),
        postgresql: { version: platform.pgVersion, pgHba: declared, parameters: topo.primary.postgresql.parameters },
        patroni: { watchdog: 'off', restApiUsername: 'patroni' },
        deploy: { patchTimeoutSeconds: 60 },
      };
      const existingDir = path.join(h.work, 'existing');
      fs.mkdirSync(existingDir);
      fs.writeFileSync(path.join(existingDir, 'topology.yaml'), stringify(topo));
      const existingOut = path.join(existingDir, 'cdktf.out');
      h.synth(path.join(existingDir, 'topology.yaml'), existingOut);
      // the standby stack does not depend on how the primary is managed, except that its link-slots
      // step owns every slot of a managed source but only its own slots on an existing one
      const standbyJson = (dir: string) => {
        const j = JSON.parse(fs.readFileSync(path.join(stackDir('standby', dir), 'cdk.tf.json'), 'utf8'));
        for (const [k, r] of Object.entries(j.resource.terraform_data as Record<string, any>))
          if (k.startsWith('cluster_link-slots')) {
            const env = r.provisioner[0]['local-exec'].environment;
            env.PATRONI_PATCH_CONFIG = JSON.stringify({ ...JSON.parse(env.PATRONI_PATCH_CONFIG), strict: undefined });
          }
        return j;
      };
      expect(standbyJson(existingOut)).toEqual(standbyJson(out()));
      // the existing primary's stack holds only the link patch, its link-slots step (which runs nothing
      // while it is the source) and its role change (which finds the roles as the topology says), and
      // applying the patch is verified with GET /config
      const json = JSON.parse(fs.readFileSync(path.join(stackDir('primary', existingOut), 'cdk.tf.json'), 'utf8'));
      expect(Object.keys(json.resource.terraform_data)).toEqual([
        expect.stringMatching(/^cluster_dcs-patch_apply_/),
        expect.stringMatching(/^cluster_link-slots_apply_/),
        expect.stringMatching(/^cluster_role_apply_/),
      ]);
      h.apply(stackDir('primary', existingOut), 'existing-primary');
      expect(h.planExitCode(stackDir('primary', existingOut), 'existing-primary')).toBe(0);
      // it left the managed stacks' view of the cluster unchanged
      expect(h.planExitCode(stackDir('primary'), 'primary')).toBe(0);
      expect(await standbyHealthy()).toBeDefined();
    },
  );

  step(
    '5. switchover inside the primary cluster: the slot moves, the standby follows the new timeline, no row lost',
    async () => {
      const old = (await h.leader('primary'))!;
      const candidate = Object.keys(PRIMARY).find((n) => n !== old)!;
      const before = await insertRow(PRIMARY[old], 'before primary switchover');
      const sl = (await h.leader('standby'))!;
      // Sample the standby leader's stream every 50 ms while the switchover runs (through the REST
      // API, with the pipeline's credentials, so the event loop stays free to sample).
      // The candidate is sampled too: when it accepts writes, and when Patroni has created the link
      // slot on it (3.0 keeps no permanent slot on replicas: the new leader creates it).
      const samples: { t: number; sender?: string }[] = [];
      const marks: { writable?: number; slot?: number } = {};
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const r = await h
            .sql<{ sender_host: string; status: string }>(
              STANDBY[sl],
              'select sender_host, status from pg_stat_wal_receiver',
            )
            .catch(() => []);
          samples.push({ t: now(), sender: r[0]?.status === 'streaming' ? r[0].sender_host : undefined });
          if (marks.slot === undefined) {
            const c = await h
              .sql<{ w: boolean; s: string }>(
                PRIMARY[candidate],
                "select not pg_is_in_recovery() as w, (select count(*) from pg_replication_slots where slot_name = 'standby_cluster_slot')::text as s",
              )
              .catch(() => []);
            if (c[0]?.w && marks.writable === undefined) marks.writable = now();
            if (c[0]?.w && c[0].s === '1') marks.slot = now();
          }
          await sleep(25);
        }
      })();
      const t0 = now();
      const res = await fetch(`http://${PRIMARY[old]}:8008/switchover`, {
        method: 'POST',
        headers: { authorization: restAuth(), 'content-type': 'application/json' },
        body: JSON.stringify({ leader: old, candidate }),
      });
      expect(res.status).toBe(200);
      await waitFor(
        `${candidate} leads the primary cluster`,
        60_000,
        async () =>
          (await h.leader('primary')) === candidate &&
          (await h.sql(PRIMARY[candidate], 'select not pg_is_in_recovery() as w'))[0].w,
      );
      timings.primarySwitchoverToWritableMs = now() - t0;
      await waitFor('slot active on the new leader', 60_000, () => slotActiveOn(PRIMARY[candidate]));
      await waitFor('standby leader streaming from the new primary', 60_000, async () =>
        samples.some((s) => s.sender === PRIMARY[candidate]),
      );
      sampling = false;
      await sampler;
      const gapStart = samples.find((s) => s.sender !== PRIMARY[old])!.t;
      const gapEnd = samples.find((s) => s.sender === PRIMARY[candidate])!.t;
      timings.standbyStreamingGapAfterPrimarySwitchoverMs = gapEnd - gapStart;
      // where the gap goes: the new primary accepting writes, the slot on it, then the reconnect
      timings.switchoverGapUntilNewPrimaryWritableMs = marks.writable! - gapStart;
      timings.switchoverGapUntilSlotOnNewPrimaryMs = marks.slot! - gapStart;

      const after = await insertRow(PRIMARY[candidate], 'after primary switchover');
      await waitFor('rows on every standby node', 30_000, () => allStandbyNodesHave(after));
      const tl = await h.sql<{ tl: string }>(STANDBY[sl!], 'select received_tli as tl from pg_stat_wal_receiver');
      // the new primary's own timeline (Patroni 4's member list may show the old one for a loop)
      const primaryTl = parseInt(
        (
          await h.sql<{ tl: string }>(
            PRIMARY[candidate],
            'select substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) as tl',
          )
        )[0].tl,
        16,
      );
      expect(primaryTl).toBeGreaterThan(1);
      expect(Number(tl[0].tl)).toBe(primaryTl);
      expect(await rowsOn(STANDBY[sl!])).toBeGreaterThanOrEqual(before);
      await waitFor('primary cluster healthy again', 90_000, primaryHealthy);
    },
  );

  step('6. switchover inside the standby cluster: a new standby leader, streaming resumes', async () => {
    const old = (await h.leader('standby'))!;
    const candidate = STANDBY_NODES.find((n) => n !== old)!;
    const t0 = now();
    h.patronictl('s1', ['switchover', '--leader', old, '--candidate', candidate, '--force']);
    await waitFor(`standby healthy with ${candidate} as standby leader`, 120_000, async () =>
      (await standbyHealthy()) === candidate ? true : undefined,
    );
    timings.standbySwitchoverToHealthyMs = now() - t0;
    const leader = (await h.leader('primary'))!;
    const id = await insertRow(PRIMARY[leader], 'after standby switchover');
    await waitFor('row on every standby node', 30_000, () => allStandbyNodesHave(id));
  });

  step('7. kill -9 the standby leader (Patroni and PostgreSQL): another node takes over, no row lost', async () => {
    const victim = (await h.leader('standby'))!;
    const patroniPid = h.pidOf(victim)!;
    const postmaster = h.postmasterPid(victim)!;
    process.kill(patroniPid, 'SIGKILL');
    process.kill(postmaster, 'SIGKILL');
    const t0 = now();
    const { value: next } = await waitFor('a new standby leader', 120_000, async () => {
      const m = await h.members('standby');
      const l = m.find((x) => x.role === 'standby_leader' && x.name !== victim);
      if (!l) return undefined;
      const r = await h.sql<{ status: string }>(l.host, 'select status from pg_stat_wal_receiver');
      return r[0]?.status === 'streaming' ? l.name : undefined;
    });
    timings.standbyLeaderKillToNewStandbyLeaderStreamingMs = now() - t0;
    expect(next).not.toBe(victim);
    const leader = (await h.leader('primary'))!;
    const id = await insertRow(PRIMARY[leader], 'after the standby leader was killed');
    const survivors = STANDBY_NODES.filter((n) => n !== victim);
    await waitFor('row on the surviving standby nodes', 60_000, async () => {
      for (const n of survivors) if ((await rowsOn(STANDBY[n])) < id) return false;
      return true;
    });
    // the service manager would restart it: it rejoins as a replica of the new standby leader
    h.nodeCtl('start', victim);
    await waitFor('standby cluster healthy with the restarted node', 120_000, standbyHealthy);
    await waitFor('row on every standby node', 30_000, () => allStandbyNodesHave(id));
  });

  step('status: a lag under pgbench load on the primary, zero once the writes stop', async () => {
    const leaderName = (await h.leader('primary'))!;
    const leader = PRIMARY[leaderName];
    execFileSync(...h.pgbenchArgs(leaderName, ['-i', '-s', '2', '-q']), { stdio: 'ignore' });
    // pgbench runs until the samples are in: one status run takes seconds on a loaded machine, so a
    // fixed duration could end the load before enough samples were taken
    const bench = spawn(...h.pgbenchArgs(leaderName, ['-n', '-T', '90', '-c', '2', '-j', '2']), { stdio: 'ignore' });
    const benchClosed = new Promise<number | null>((resolve) => bench.on('close', (code) => resolve(code)));
    let benchEnded = false;
    void benchClosed.then(() => (benchEnded = true));
    const lags: number[] = [];
    const t0 = now();
    while (!benchEnded && now() - t0 < 80_000 && (lags.length < 5 || Math.max(...lags) === 0)) {
      const { report } = h.status();
      lags.push(Math.max(...report.nodes.filter((n) => n.cluster === 'standby').map((n) => n.lagBytes ?? 0)));
      await sleep(100);
    }
    expect(benchEnded).toBe(false); // pgbench was still writing when the last sample was taken
    bench.kill('SIGINT');
    await benchClosed;
    expect(lags.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...lags)).toBeGreaterThan(0);
    const [{ n: transactions }] = await h.sql<{ n: string }>(leader, 'select count(*) as n from pgbench_history');
    expect(Number(transactions)).toBeGreaterThan(0);
    // settle pgbench's tables so that autovacuum does not write behind the later steps' backs
    await h.sql(leader, 'vacuum analyze pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history');
    const { value: idle } = await waitFor('status: healthy and zero lag everywhere', 30_000, async () => {
      const { code, report } = h.status();
      return code === 0 && report.healthy && report.nodes.every((n) => n.lagBytes === 0 && n.lagSeconds === 0)
        ? report
        : undefined;
    });
    expect(idle.slot).toMatchObject({ present: true, active: true });
    expect(idle.nodes.find((n) => n.member === idle.standby.leader)!.role).toBe('Standby Leader');
  });

  /** The promotion variant's gate configuration (LINK_HEALTH_CONFIG of the detach), from its own synth. */
  function detachGateConfig(): Record<string, any> {
    const dir = path.join(h.work, 'cdktf.out.gate');
    h.synth(topologyFile(), dir, 'detached');
    const json = JSON.parse(fs.readFileSync(path.join(stackDir('standby', dir), 'cdk.tf.json'), 'utf8'));
    const key = Object.keys(json.resource.terraform_data).find((k) => k.startsWith('cluster_promotion_detach_apply'))!;
    return JSON.parse(json.resource.terraform_data[key].input.gate_config);
  }

  /**
   * The gate program as the detach runs it, on the real clusters; `onLine` sees each line it prints
   * while it runs. `failed` lists the checks it refused for (empty when it passed).
   */
  function runGateProgram(
    config: Record<string, unknown>,
    onLine: (line: string) => void = () => undefined,
  ): Promise<{ status: number; output: string; failed: string[] }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'programs', 'link-health.cjs'), 'gate'], {
        env: { ...process.env, LINK_HEALTH_CONFIG: JSON.stringify(config), PGPASSWORD: MONITOR_PASSWORD },
      });
      let output = '';
      const take = (d: Buffer) => {
        output += d.toString();
        for (const line of d.toString().split('\n')) if (line) onLine(line);
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      child.on('close', (code) => {
        fs.appendFileSync(path.join(h.work, 'logs', 'gate.log'), output);
        const refused = /\[promotion gate\] REFUSED \((.*)\): the standby cluster was left as it is/.exec(output);
        resolve({ status: code ?? -1, output, failed: refused ? refused[1].split('; ') : [] });
      });
    });
  }

  step(
    'gate, one cause at a time on the real clusters: it passes on a quiet link, and refuses a write during the settle time, maintenance mode, a paused replay, a delayed replay, each alone',
    async () => {
      const sl = (await h.leader('standby'))!;
      const pl = (await h.leader('primary'))!;
      const config = detachGateConfig();
      expect(config.settleSeconds).toBeGreaterThan(0);
      // the source out of reach: its nodes moved to addresses nothing listens on, a disaster declared
      const lost = {
        ...config,
        disaster: true,
        catchUpTimeoutSeconds: 2,
        source: {
          ...config.source,
          nodes: config.source.nodes.map((n: { host: string }, i: number) => ({
            ...n,
            host: `127.0.9.${i + 1}`,
            rest: `http://127.0.9.${i + 1}:8008`,
          })),
        },
      };
      // a quiet, caught-up link: the gate passes and changes nothing
      const quiet = await runGateProgram(config);
      expect({ status: quiet.status, failed: quiet.failed }).toEqual({ status: 0, failed: [] });
      expect(quiet.output).toContain('[promotion gate] passed: the detach may proceed');

      // one committed write while the gate watches the source: the standby replays it at once, so
      // only the settle check sees it
      let wrote = false;
      const settle = await runGateProgram(config, (line) => {
        if (!wrote && line.includes('that writes have stopped on the source')) {
          wrote = true;
          void insertRow(PRIMARY[pl], 'written during the settle time');
        }
      });
      expect(wrote).toBe(true);
      expect({ status: settle.status, failed: settle.failed }).toEqual({
        status: 1,
        failed: [`no write on the source for ${config.settleSeconds} s (next transaction id)`],
      });
      expect(settle.output).toMatch(/replayed up to the source position at the end .*\| ok/);

      // maintenance mode alone (replay running): Patroni would not act on the detach
      h.patronictl('s1', ['pause', '--wait']);
      try {
        const paused = await runGateProgram(config);
        expect({ status: paused.status, failed: paused.failed }).toEqual({
          status: 1,
          failed: ['Patroni not in maintenance mode (pause)'],
        });
        // a paused replay: on PostgreSQL 14+ Patroni resumes a paused replay at its next loop unless
        // the cluster is in maintenance mode (Ha.handle_parameter_change), so a paused replay lasts
        // only with maintenance mode: these two checks, and nothing else
        await h.sql(STANDBY[sl], 'select pg_wal_replay_pause()');
        const replayPaused = await runGateProgram(config);
        expect({ status: replayPaused.status, failed: replayPaused.failed }).toEqual({
          status: 1,
          failed: ['Patroni not in maintenance mode (pause)', 'replay not paused (pg_is_wal_replay_paused)'],
        });
        // the disaster path refuses a paused replay too
        const lostPaused = await runGateProgram(lost);
        expect({ status: lostPaused.status, failed: lostPaused.failed }).toEqual({
          status: 1,
          failed: ['Patroni not in maintenance mode (pause)', 'replay not paused'],
        });
        await h.sql(STANDBY[sl], 'select pg_wal_replay_resume()');
      } finally {
        h.patronictl('s1', ['resume', '--wait']);
      }

      // a lagging standby alone: a delayed replay holds back a committed row that the standby leader
      // has received. Set through Patroni (standby_cluster.recovery_min_apply_delay): Patroni puts
      // back its own recovery settings within a loop when they are changed with ALTER SYSTEM.
      const delay = async (value: string | null) => {
        const res = await fetch(`http://${STANDBY[sl]}:8008/config`, {
          method: 'PATCH',
          headers: { authorization: restAuth(DC2_RESTAPI_PASSWORD), 'content-type': 'application/json' },
          body: JSON.stringify({ standby_cluster: { recovery_min_apply_delay: value } }),
        });
        expect(res.status).toBe(200);
        await waitFor(`recovery_min_apply_delay ${value ?? 'reset'} on ${sl}`, 30_000, async () => {
          const [r] = await h.sql<{ d: string }>(
            STANDBY[sl],
            "select current_setting('recovery_min_apply_delay') as d",
          );
          return r.d === (value ?? '0') ? true : undefined;
        });
      };
      await delay('1h');
      try {
        const id = await insertRow(PRIMARY[pl], 'held back by an apply delay');
        await waitFor('the row received, not replayed, by the standby leader', 20_000, async () => {
          const [r] = await h.sql<{ waiting: boolean }>(
            STANDBY[sl],
            'select pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() as waiting',
          );
          return r.waiting ? true : undefined;
        });
        const lag = await runGateProgram({ ...config, catchUpTimeoutSeconds: 2 });
        expect({ status: lag.status, failed: lag.failed }).toEqual({
          status: 1,
          failed: [
            'received <= replayed (no WAL waiting, recovery_min_apply_delay 3600000 ms)',
            'replayed up to the source position',
          ],
        });
        // declared a disaster (the source out of reach), the delayed replay alone refuses as well
        const disaster = await runGateProgram(lost);
        expect({ status: disaster.status, failed: disaster.failed }).toEqual({
          status: 1,
          failed: ['everything received is replayed (replay >= receive)'],
        });
        await delay(null);
        await waitFor(`row ${id} on every standby node`, 30_000, () => allStandbyNodesHave(id));
      } finally {
        await delay(null).catch(() => undefined);
      }
      // the standby cluster is as it was: the same standby leader, streaming
      expect((await h.members('standby')).find((m) => m.role === 'standby_leader')?.name).toBe(sl);
      expect(await standbyHealthy()).toBe(sl);
    },
  );

  step(
    'gate refuses: replay paused on the standby leader, a write on the primary; the standby cluster stays as it was',
    async () => {
      const sl = (await h.leader('standby'))!;
      const pl = (await h.leader('primary'))!;
      // Patroni resumes a paused replay at its next loop (PostgreSQL 14+) unless the cluster is in
      // maintenance mode: pause the standby cluster first, so that the pause holds.
      h.patronictl('s1', ['pause', '--wait']);
      await h.sql(STANDBY[sl], 'select pg_wal_replay_pause()');
      const id = await insertRow(PRIMARY[pl], 'written while replay is paused');
      await sleep(3000);
      expect(await h.sql(STANDBY[sl], 'select pg_is_wal_replay_paused() as p')).toEqual([{ p: true }]);
      h.synth(topologyFile(), out(), 'detached');
      const refused = h.terraform(stackDir('standby'), ['apply', '-auto-approve', '-input=false'], 'standby-refused');
      expect(refused.status).not.toBe(0);
      expect(refused.output).toMatch(
        /\[promotion gate\] REFUSED \(Patroni not in maintenance mode \(pause\); replay not paused/,
      );
      // it prints the figures it compared
      expect(refused.output).toMatch(/replay not paused \(pg_is_wal_replay_paused\) \| true .*\| FAILED/);
      expect(refused.output).toMatch(
        /received <= replayed \(no WAL waiting\) +\| [0-9A-F]+\/[0-9A-F]+ \/ [0-9A-F]+\/[0-9A-F]+ .*\| FAILED/,
      );
      expect(refused.output).toMatch(
        /replayed up to the source position +\| [0-9A-F]+\/[0-9A-F]+ +\| [0-9A-F]+\/[0-9A-F]+ \(gap [1-9][0-9]* bytes\)/,
      );
      // still a standby cluster: same standby leader, in recovery, standby_cluster in the DCS, node files untouched
      expect((await h.members('standby')).find((m) => m.role === 'standby_leader')?.name).toBe(sl);
      expect(await h.sql(STANDBY[sl], 'select pg_is_in_recovery() as r')).toEqual([{ r: true }]);
      expect(
        ((await (await fetch(`http://${STANDBY[sl]}:8008/config`)).json()) as { standby_cluster?: object })
          .standby_cluster,
      ).toBeDefined();
      for (const n of STANDBY_NODES)
        expect(fs.readFileSync(path.join(h.work, 'cfg', `${n}.yml`), 'utf8')).toContain('standby_cluster');
      expect(await slotActiveOn(PRIMARY[pl])).toBe(true);
      // and its data is intact: replay resumes, the row written meanwhile reaches every node
      await h.sql(STANDBY[sl], 'select pg_wal_replay_resume()');
      h.patronictl('s1', ['resume', '--wait']);
      await waitFor(`row ${id} on every standby node`, 30_000, () => allStandbyNodesHave(id));
      // With the source out of reach (its nodes moved to addresses nothing listens on), the gate
      // program refuses; declared a disaster, it passes on the standby side alone and prints the
      // last known position. It only reads: the standby cluster stays a standby cluster.
      const json = JSON.parse(fs.readFileSync(path.join(stackDir('standby'), 'cdk.tf.json'), 'utf8'));
      const detachKey = Object.keys(json.resource.terraform_data).find((k) =>
        k.startsWith('cluster_promotion_detach_apply'),
      )!;
      const config = JSON.parse(json.resource.terraform_data[detachKey].input.gate_config);
      config.source.nodes = config.source.nodes.map((n: { host: string }, i: number) => ({
        ...n,
        host: `127.0.9.${i + 1}`,
        rest: `http://127.0.9.${i + 1}:8008`,
      }));
      const runGate = (disaster: boolean) =>
        spawnSync(process.execPath, [path.join(ROOT, 'dist', 'programs', 'link-health.cjs'), 'gate'], {
          env: {
            ...process.env,
            LINK_HEALTH_CONFIG: JSON.stringify({ ...config, disaster }),
            PGPASSWORD: MONITOR_PASSWORD,
          },
          encoding: 'utf8',
        });
      const lost = runGate(false);
      expect(lost.status).toBe(1);
      expect(lost.stderr).toMatch(/source cluster reachable .*no read-write leader.*\| FAILED/);
      expect(lost.stderr).toContain('set link.promotion.disaster: true');
      const disaster = runGate(true);
      expect({ status: disaster.status, stderr: disaster.stderr }).toEqual({ status: 0, stderr: '' });
      expect(disaster.stdout).toMatch(/disaster promotion declared/);
      expect(disaster.stdout).toMatch(/last known gap: the standby leader received up to [0-9A-F]+\/[0-9A-F]+/);
      expect((await h.members('standby')).find((m) => m.role === 'standby_leader')?.name).toBe(sl);
      // back on the following variant, the refused gate leaves nothing behind
      h.synth(topologyFile(), out());
      h.apply(stackDir('standby'), 'standby');
      expect(h.planExitCode(stackDir('standby'), 'standby')).toBe(0);
    },
  );

  step(
    "a detached `cdktf deploy '*'` while a transaction that wrote stays open: refused, the slot stays in the source's DCS and on disk; a retry runs the gate again",
    async () => {
      const pl = (await h.leader('primary'))!;
      const sl = (await h.leader('standby'))!;
      // a client that inserted and has not committed: its commit could come after a detach
      const writer = h.adminClient(PRIMARY[pl], 'open-writer');
      await writer.connect();
      try {
        await writer.query('begin');
        await writer.query(`insert into walkthrough(id, note) values (${9000}, 'in flight during the gate')`);
        const deploy = h.cdktfDeploy(['*'], 'detached-all', 'detached');
        expect(deploy.status).not.toBe(0);
        // the primary stack went first (it is a dependency of the standby stack): it kept the slot
        expect(deploy.output).toMatch(
          /keeping slot standby_cluster_slot: the standby cluster still streams through it/,
        );
        // the gate refused for this one cause, and named the transaction
        expect(deploy.output).toMatch(
          /\[promotion gate\] REFUSED \(no open write or prepared transaction on the source\)/,
        );
        expect(deploy.output).toMatch(
          /transaction \d+ of pid \d+ by postgres from 127\.0\.9\.9 \(open-writer\): open for [0-9.]+ s, idle in transaction/,
        );
        expect(deploy.output).toMatch(
          /no write on the source for 3 s \(next transaction id\) +\| +\| (\d+) -> \1 +\| ok/,
        );
        // both clusters as they were: the slot in the source's DCS and on disk, active; the standby
        // cluster still a standby cluster, its members' files untouched
        expect((await h.config('primary')).slots).toEqual({ standby_cluster_slot: { type: 'physical' } });
        expect(await slotActiveOn(PRIMARY[pl])).toBe(true);
        expect((await h.config('standby')).standby_cluster).toMatchObject({
          primary_slot_name: 'standby_cluster_slot',
        });
        expect((await h.members('standby')).find((m) => m.role === 'standby_leader')?.name).toBe(sl);
        for (const n of STANDBY_NODES)
          expect(fs.readFileSync(path.join(h.work, 'cfg', `${n}.yml`), 'utf8')).toContain('standby_cluster');
        // a retry of the same apply (the failed detach is tainted in state) runs the gate again
        const retry = h.terraform(stackDir('standby'), ['apply', '-auto-approve', '-input=false'], 'standby-retry');
        expect(retry.status).not.toBe(0);
        expect(retry.output).toMatch(
          /\[promotion gate\] REFUSED \(no open write or prepared transaction on the source\)/,
        );
        expect((await h.config('standby')).standby_cluster).toBeDefined();
      } finally {
        await writer.query('rollback').catch(() => undefined);
        await writer.end();
      }
      // back to the following variant everywhere: both stacks converge, the standby streams on
      const back = h.cdktfDeploy(['*'], 'following-again');
      expect({ status: back.status, tail: back.status === 0 ? '' : back.output.slice(-3000) }).toEqual({
        status: 0,
        tail: '',
      });
      expect(await slotActiveOn(PRIMARY[pl])).toBe(true);
      expect(await standbyHealthy()).toBeDefined();
      expect(h.planExitCode(stackDir('primary'), 'primary')).toBe(0);
      expect(h.planExitCode(stackDir('standby'), 'standby')).toBe(0);
    },
  );

  step(
    'gate refuses: a prepared transaction on the source (PREPARE TRANSACTION, no session holds it); the standby cluster stays as it was',
    async () => {
      const pl = (await h.leader('primary'))!;
      const sl = (await h.leader('standby'))!;
      // prepared, then its session gone: a COMMIT PREPARED could still commit it after a detach
      const writer = h.adminClient(PRIMARY[pl], 'prepared-writer');
      await writer.connect();
      try {
        await writer.query('begin');
        await writer.query(`insert into walkthrough(id, note) values (${9001}, 'prepared during the gate')`);
        await writer.query("prepare transaction 'walkthrough-gate'");
      } finally {
        await writer.end();
      }
      try {
        h.synth(topologyFile(), out(), 'detached');
        const refused = h.terraform(
          stackDir('standby'),
          ['apply', '-auto-approve', '-input=false'],
          'standby-prepared',
        );
        expect(refused.status).not.toBe(0);
        expect(refused.output).toMatch(
          /\[promotion gate\] REFUSED \(no open write or prepared transaction on the source\)/,
        );
        expect(refused.output).toMatch(
          /prepared transaction walkthrough-gate \(xid \d+\) by postgres: prepared [0-9.]+ s ago; it could commit after the detach/,
        );
        // still a standby cluster: same standby leader, standby_cluster in the DCS
        expect((await h.members('standby')).find((m) => m.role === 'standby_leader')?.name).toBe(sl);
        expect((await h.config('standby')).standby_cluster).toBeDefined();
      } finally {
        await h.sql(PRIMARY[pl], "rollback prepared 'walkthrough-gate'").catch(() => undefined);
      }
      // back on the following variant, the refused gate leaves nothing behind
      h.synth(topologyFile(), out());
      h.apply(stackDir('standby'), 'standby');
      expect(h.planExitCode(stackDir('standby'), 'standby')).toBe(0);
    },
  );

  step(
    '8. promotion variant (LINK_STATE=detached): the gate passes, the standby cluster becomes an independent primary, the slot leaves the source',
    async () => {
      const primaryLeader = (await h.leader('primary'))!;
      const primaryTl = (await h.members('primary')).find((m) => m.name === primaryLeader)!.timeline;
      const rows = await insertRow(PRIMARY[primaryLeader], 'last row before promotion');
      await waitFor('last row on every standby node', 30_000, () => allStandbyNodesHave(rows));
      const sl = (await h.leader('standby'))!;
      const slTl = (await h.members('standby')).find((m) => m.name === sl)!.timeline!;
      const postmasterBefore = h.postmasterPid(sl);
      const sysid = await h.sql<{ id: string }>(
        STANDBY[sl],
        'select system_identifier::text as id from pg_control_system()',
      );

      h.synth(topologyFile(), out(), 'detached');
      // standby plan: the detach (the gate runs first inside it), then the nodes' files
      // (standby_cluster leaves bootstrap.dcs), the cluster's patch and the release of the slot on
      // the source, and the standby's role change (replaced with the link's state; detached, it does
      // nothing); primary plan: its patch and files drop the link slot
      expect(plannedChanges(stackDir('standby'), 'promote')).toEqual([
        'terraform_data.cluster_dcs-patch_apply',
        'terraform_data.cluster_link-slots_apply',
        'terraform_data.cluster_node-s1_config',
        'terraform_data.cluster_node-s2_config',
        'terraform_data.cluster_node-s3_config',
        'terraform_data.cluster_promotion_detach_apply',
        'terraform_data.cluster_role_apply',
      ]);
      expect(plannedChanges(stackDir('primary'), 'primary-variant')).toEqual([
        'terraform_data.cluster_dcs-patch_apply',
        'terraform_data.cluster_node-p1_config',
        'terraform_data.cluster_node-p2_config',
        'terraform_data.cluster_node-p3_config',
      ]);
      // the plan review of both saved plans, as a pull request comment would show them
      const review = spawnSync(
        process.execPath,
        [
          path.join(ROOT, 'dist', 'ops', 'plan-review.js'),
          `primary=${path.join(stackDir('primary'), 'primary-variant.plan.json')}`,
          `standby=${path.join(stackDir('standby'), 'promote.plan.json')}`,
        ],
        { encoding: 'utf8' },
      );
      fs.writeFileSync(path.join(h.work, 'logs', 'plan-review.md'), review.stdout);
      expect({ status: review.status, stderr: review.stderr }).toEqual({ status: 2, stderr: '' });
      expect(review.stdout).toMatch(/^\*\*\d+ changes need a reviewer's attention\.\*\*$/m);
      expect(review.stdout).toContain(
        '- **primary and standby** (stacks `primary`, `standby`): PROMOTION of standby (detach)',
      );
      expect(review.stdout).toContain('#### promotion (detach) of standby: create');
      expect(review.stdout).toMatch(
        /\*\*attention\*\*: PROMOTION of standby: it is detached .*no write on primary for 3 s/,
      );
      // the slot leaves the source twice over: the primary's own patch, and the standby stack's release step
      const primarySection = review.stdout.slice(
        review.stdout.indexOf('### Stack `primary`'),
        review.stdout.indexOf('### Stack `standby`'),
      );
      expect(primarySection).toContain('**attention**: slot standby_cluster_slot removed on primary');
      expect(
        review.stdout.slice(review.stdout.indexOf("#### link slots on primary (run from standby's stack)")),
      ).toContain('**attention**: slot standby_cluster_slot removed on primary');
      expect(review.stdout).toMatch(
        /<summary>s1: patroni\.yml<\/summary>\n\n```diff\n@@ [^\n]+\n(.*\n)*- {4}standby_cluster:/,
      );

      const t0 = now();
      let applyDoneAt = 0;
      const applying = h
        .terraformAsync(stackDir('standby'), ['apply', '-auto-approve', '-input=false', 'promote.tfplan'], 'standby')
        .then((r) => {
          applyDoneAt = now();
          return r;
        });
      let firstWriteAt = 0; // wall clock, to compare with the patch step's timestamp
      let firstWriteMono = 0;
      // until a write is accepted, or 15 s after the apply ended without one
      while (now() - t0 < 120_000 && (applyDoneAt === 0 || now() - applyDoneAt < 15_000)) {
        const ok = await h
          .sql(STANDBY[sl], `insert into walkthrough(id, note) values (${rows + 1000}, 'first write after promotion')`)
          .then(
            () => true,
            () => false,
          );
        if (ok) {
          firstWriteAt = Date.now();
          firstWriteMono = now();
          break;
        }
        await sleep(25);
      }
      const applied = await applying;
      expect({ status: applied.status, gate: /\[promotion gate\] REFUSED.*/.exec(applied.output)?.[0] }).toEqual({
        status: 0,
        gate: undefined,
      });
      expect(firstWriteAt).toBeGreaterThan(0);
      timings.promotionApplyToFirstWriteMs = firstWriteMono - t0;
      timings.promotionApplyTotalMs = now() - t0;
      // the gate ran first and printed what it compared; the first write came after the detach patch
      expect(applied.output).toMatch(/same database system identifier +\| \d+ +\| \d+ +\| ok/);
      expect(applied.output).toMatch(
        /no write on the source for 3 s \(next transaction id\) +\| +\| (\d+) -> \1 +\| ok/,
      );
      expect(applied.output).toContain('[promotion gate] passed');
      const sent = /detach pgcluster \(promotion\)\] \S+ PATCH \/config sent to \S+ at (\S+): HTTP 200/.exec(
        applied.output,
      );
      expect(sent).not.toBeNull();
      timings.detachPatchToFirstWriteMs = firstWriteAt - Date.parse(sent![1]);
      expect(timings.detachPatchToFirstWriteMs).toBeGreaterThanOrEqual(0);

      const members = await h.members('standby');
      const leader = members.find((m) => PRIMARY_ROLES.includes(m.role))!;
      expect(leader.name).toBe(sl);
      const tlHex = await h.sql<{ tl: string }>(
        STANDBY[sl],
        'select substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) as tl',
      );
      expect(parseInt(tlHex[0].tl, 16)).toBeGreaterThan(slTl);
      expect(h.postmasterPid(sl)).toBe(postmasterBefore); // promoted in place, not restarted
      expect(await h.sql(STANDBY[sl], 'select system_identifier::text as id from pg_control_system()')).toEqual(sysid);
      expect(await rowsOn(STANDBY[sl])).toBe(rows + 1);
      const after = await h.sql<{ id: number }>(
        STANDBY[sl],
        "insert into walkthrough(id, note) values (5000, 'independent') returning id",
      );
      expect(after).toEqual([{ id: 5000 }]);
      await waitFor('replicas follow the promoted leader', 120_000, async () => {
        for (const n of STANDBY_NODES.filter((x) => x !== sl)) {
          const r = await h.sql<{ sender_host: string; status: string }>(
            STANDBY[n],
            'select sender_host, status from pg_stat_wal_receiver',
          );
          if (r[0]?.status !== 'streaming' || r[0].sender_host !== STANDBY[sl]) return false;
          if ((await rowsOn(STANDBY[n])) !== rows + 2) return false;
        }
        return true;
      });
      // the primary cluster is untouched: same leader, same timeline, still writable, all its rows
      expect(await h.leader('primary')).toBe(primaryLeader);
      expect((await h.members('primary')).find((m) => m.name === primaryLeader)!.timeline).toBe(primaryTl);
      expect(await rowsOn(PRIMARY[primaryLeader])).toBe(rows);
      // and a second apply of the variant plans no change
      expect(h.planExitCode(stackDir('standby'), 'standby')).toBe(0);
      // the link slot left the source: Patroni dropped it once the stream had stopped
      await waitFor(
        'link slot dropped on the source',
        30_000,
        async () => (await slotsOn(PRIMARY[primaryLeader])) === 0,
      );
      // released by the standby's link-slots step with the SOURCE's REST password (the standby's differs)
      expect(applied.output).toMatch(/link slots on the source \(pgcluster\)\] \S+ applied through/);
      // the primary stack's variant records it (a reload, nothing else), and then plans no change
      h.apply(stackDir('primary'), 'primary');
      expect(h.planExitCode(stackDir('primary'), 'primary')).toBe(0);
      expect(await slotsOn(PRIMARY[primaryLeader])).toBe(0);
      expect(await h.leader('primary')).toBe(primaryLeader);
    },
  );

  step('status after the promotion (npm run status --json): two independent clusters, no slot left', async () => {
    const { code, report } = h.status('detached', true);
    expect(report.problems).toEqual([]);
    expect(code).toBe(0);
    expect(report.state).toBe('detached');
    const leaders = report.nodes
      .filter((n) => n.role === 'Leader')
      .map((n) => n.cluster)
      .sort();
    expect(leaders).toEqual(['primary', 'standby']);
    expect(report.nodes.find((n) => n.member === report.standby.leader)!.role).toBe('Leader');
    expect(report.slot).toEqual({ name: 'standby_cluster_slot', present: false });
    // the following variant's status sees the link is gone
    const following = h.status('');
    expect(following.code).toBe(1);
    expect(following.report.problems).toContain('the standby cluster standby has no standby leader');
  });

  step(
    'secrets: no password in cdktf.out, rendered files, plans, state, terraform output or status output',
    async () => {
      const hits: string[] = [];
      const walk = (dir: string) => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
          const p = path.join(dir, e.name);
          if (e.isDirectory()) {
            if (e.name !== '.terraform') walk(p);
          } else if (/\.(json|yml|yaml|tfstate|tfplan|log|backup)$/.test(e.name) || e.name.includes('tfstate')) {
            const text = fs.readFileSync(p).toString('latin1');
            for (const pw of SECRETS) if (text.includes(pw)) hits.push(`${p}: ${pw.slice(0, 8)}...`);
          }
        }
      };
      walk(out());
      walk(path.join(h.work, 'existing'));
      for (const f of fs.readdirSync(h.work).filter((x) => x.includes('tfstate'))) {
        const text = fs.readFileSync(path.join(h.work, f), 'utf8');
        for (const pw of SECRETS) if (text.includes(pw)) hits.push(`${f}: ${pw.slice(0, 8)}...`);
      }
      // every log: terraform, the cdktf CLI, status, etcd, and each Patroni (with its PostgreSQL's output)
      const logs = fs.readdirSync(path.join(h.work, 'logs'));
      expect(logs).toEqual(expect.arrayContaining(['p1.log', 's1.log', 'cdktf-detached-all.log', 'status.log']));
      for (const f of logs) {
        const text = fs.readFileSync(path.join(h.work, 'logs', f), 'utf8');
        for (const pw of SECRETS) if (text.includes(pw)) hits.push(`${f}: ${pw.slice(0, 8)}...`);
      }
      const stateFiles = fs.readdirSync(h.work).filter((f) => f.endsWith('.tfstate'));
      expect(stateFiles.sort()).toEqual(['terraform.primary.tfstate', 'terraform.standby.tfstate']);
      expect(hits).toEqual([]);
    },
  );
}
