/**
 * The article's walkthrough on real etcd, Patroni and PostgreSQL, deployed by Terraform from the
 * project's own synthesized stacks: bootstrap, cascading, switchovers, a killed standby leader,
 * the promotion variant, and an existing primary that the stacks did not deploy.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { checkPrerequisites, Harness, now, PASSWORDS, PRIMARY, ROOT, STANDBY, waitFor } from './harness';

jest.setTimeout(240_000);

const h = new Harness();
const out = () => path.join(h.work, 'cdktf.out');
const stackDir = (stack: string, base = out()) => path.join(base, 'stacks', stack);
const STANDBY_NODES = Object.keys(STANDBY);
let failed = false;
let rowId = 0;
/** A cluster's read-write leader: `master` in Patroni 3.0's REST API, `leader`/`primary` later. */
const PRIMARY_ROLES = ['master', 'leader', 'primary'];

/** Runs a step; on failure prints the logs and both member lists, and later steps are not attempted. */
function step(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    if (failed) throw new Error('an earlier step failed');
    try {
      await fn();
    } catch (err) {
      failed = true;
      process.stderr.write(`\n===== step failed: ${name}\n${h.diagnostics()}\n`);
      throw err;
    }
  });
}

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
    const r = await h.sql<{ status: string; sender_host: string }>(m.host, 'select status, sender_host from pg_stat_wal_receiver');
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
  const r = await h.sql<{ active: boolean }>(host, "select active from pg_replication_slots where slot_name = 'standby_cluster_slot'");
  return r.length === 1 && r[0].active;
}

const timings: Record<string, number> = {};

beforeAll(() => {
  checkPrerequisites();
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  h.setup();
});

afterAll(async () => {
  await h.teardown(process.env.E2E_KEEP_WORK === '1');
  if (Object.keys(timings).length > 0) {
    const file = path.join(ROOT, 'bench', 'e2e-timings.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const runs = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')).runs ?? []) : [];
    runs.push({ timingsMs: timings, passed: !failed });
    fs.writeFileSync(file, `${JSON.stringify({ machine: '2 cores, loopback, patroni 3.0.2, etcd 3.4, PostgreSQL 15', runs: runs.slice(-20) }, null, 2)}\n`);
  }
});

step('1. every rendered node config passes patroni --validate-config (etcd up, ports free)', async () => {
  h.startEtcd();
  await h.waitEtcd();
  h.synth(path.join(h.work, 'topology.yaml'), out());
  for (const [cluster, nodes] of [['primary', PRIMARY], ['standby', STANDBY]] as const) {
    for (const node of Object.keys(nodes)) {
      const file = path.join(out(), 'rendered', cluster, 'cluster', `${node}.patroni.yml`);
      const res = spawnSync('patroni', ['--validate-config', file], { encoding: 'utf8' });
      expect({ node, status: res.status, complaints: `${res.stdout}${res.stderr}`.trim() }).toEqual({ node, status: 0, complaints: '' });
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
  await h.sql(leader.host, 'create table walkthrough(id int primary key, note text)');
  await insertRow(leader.host, 'before the standby cluster');
  // the link patch is in place: permanent slot (inactive) and pg_hba for every standby node
  const config = (await (await fetch(`http://${leader.host}:8008/config`)).json()) as { slots: object; postgresql: { pg_hba: string[] } };
  expect(config.slots).toEqual({ standby_cluster_slot: { type: 'physical' } });
  for (const ip of Object.values(STANDBY)) expect(config.postgresql.pg_hba).toContain(`host replication replicator ${ip}/32 scram-sha-256`);
  expect(await h.sql(leader.host, "select active from pg_replication_slots where slot_name = 'standby_cluster_slot'")).toEqual([{ active: false }]);
});

step('3. deploy the standby stack: a Standby Leader, replicas cascade from it, the slot is active, rows arrive', async () => {
  const t0 = now();
  h.apply(stackDir('standby'), 'standby');
  const { value: standbyLeader } = await waitFor('standby cluster streaming (cascading)', 180_000, standbyHealthy);
  timings.standbyBootstrapToAllStreamingMs = now() - t0;
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
});

step('4. a second apply plans no change (terraform plan -detailed-exitcode = 0)', async () => {
  expect(h.planExitCode(stackDir('primary'), 'primary')).toBe(0);
  expect(h.planExitCode(stackDir('standby'), 'standby')).toBe(0);
});

step('9. existing primary (the article case): the same standby stack, and the link patch on a cluster the stacks did not deploy', async () => {
  const topo = parse(h.topologyText());
  const declared = (JSON.parse(fs.readFileSync(path.join(out(), 'rendered', 'primary', 'cluster', 'dcs-patch.json'), 'utf8')).postgresql.pg_hba as string[]).filter(
    (l) => !l.includes('127.0.2.'),
  );
  topo.primary = { mode: 'existing', scope: topo.primary.scope, namespace: topo.primary.namespace, dcs: topo.primary.dcs, nodes: topo.primary.nodes.map((n: { name: string; host: string }) => ({ name: n.name, host: n.host })), postgresql: { version: 15, pgHba: declared, parameters: topo.primary.postgresql.parameters }, patroni: { watchdog: 'off' }, deploy: { patchTimeoutSeconds: 60 } };
  const existingDir = path.join(h.work, 'existing');
  fs.mkdirSync(existingDir);
  fs.writeFileSync(path.join(existingDir, 'topology.yaml'), stringify(topo));
  const existingOut = path.join(existingDir, 'cdktf.out');
  h.synth(path.join(existingDir, 'topology.yaml'), existingOut);
  // the standby stack does not depend on how the primary is managed
  expect(fs.readFileSync(path.join(stackDir('standby', existingOut), 'cdk.tf.json'), 'utf8')).toBe(fs.readFileSync(path.join(stackDir('standby'), 'cdk.tf.json'), 'utf8'));
  // the existing primary's stack holds only the link patch, and applying it is verified with GET /config
  const json = JSON.parse(fs.readFileSync(path.join(stackDir('primary', existingOut), 'cdk.tf.json'), 'utf8'));
  expect(Object.keys(json.resource.terraform_data)).toEqual([expect.stringMatching(/^cluster_dcs-patch_apply_/)]);
  h.apply(stackDir('primary', existingOut), 'existing-primary');
  expect(h.planExitCode(stackDir('primary', existingOut), 'existing-primary')).toBe(0);
  // it left the managed stacks' view of the cluster unchanged
  expect(h.planExitCode(stackDir('primary'), 'primary')).toBe(0);
  expect(await standbyHealthy()).toBeDefined();
});

step('5. switchover inside the primary cluster: the slot moves, the standby follows the new timeline, no row lost', async () => {
  const old = (await h.leader('primary'))!;
  const candidate = Object.keys(PRIMARY).find((n) => n !== old)!;
  const before = await insertRow(PRIMARY[old], 'before primary switchover');
  const t0 = now();
  h.patronictl('p1', ['switchover', '--leader', old, '--candidate', candidate, '--force']);
  await waitFor(`${candidate} leads the primary cluster`, 60_000, async () => (await h.leader('primary')) === candidate && (await h.sql(PRIMARY[candidate], 'select not pg_is_in_recovery() as w'))[0].w);
  await waitFor('slot active on the new leader', 60_000, () => slotActiveOn(PRIMARY[candidate]));
  const { value: sl } = await waitFor('standby leader streaming from the new primary', 60_000, async () => {
    const l = await h.leader('standby');
    const r = await h.sql<{ sender_host: string; status: string }>(STANDBY[l!], 'select sender_host, status from pg_stat_wal_receiver');
    return r[0]?.status === 'streaming' && r[0].sender_host === PRIMARY[candidate] ? l : undefined;
  });
  timings.standbyStreamingGapAfterPrimarySwitchoverMs = now() - t0;
  const after = await insertRow(PRIMARY[candidate], 'after primary switchover');
  await waitFor('rows on every standby node', 30_000, () => allStandbyNodesHave(after));
  const tl = await h.sql<{ tl: string }>(STANDBY[sl!], 'select received_tli as tl from pg_stat_wal_receiver');
  const primaryTl = (await h.members('primary')).find((m) => m.name === candidate)!.timeline;
  expect(Number(tl[0].tl)).toBe(primaryTl);
  expect(await rowsOn(STANDBY[sl!])).toBeGreaterThanOrEqual(before);
  await waitFor('primary cluster healthy again', 90_000, primaryHealthy);
});

step('6. switchover inside the standby cluster: a new standby leader, streaming resumes', async () => {
  const old = (await h.leader('standby'))!;
  const candidate = STANDBY_NODES.find((n) => n !== old)!;
  const t0 = now();
  h.patronictl('s1', ['switchover', '--leader', old, '--candidate', candidate, '--force']);
  await waitFor(`standby healthy with ${candidate} as standby leader`, 120_000, async () => ((await standbyHealthy()) === candidate ? true : undefined));
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

step('8. promotion variant (LINK_STATE=detached): the standby cluster becomes an independent primary; the primary is untouched', async () => {
  const primaryLeader = (await h.leader('primary'))!;
  const primaryTl = (await h.members('primary')).find((m) => m.name === primaryLeader)!.timeline;
  const rows = await insertRow(PRIMARY[primaryLeader], 'last row before promotion');
  await waitFor('last row on every standby node', 30_000, () => allStandbyNodesHave(rows));
  const sl = (await h.leader('standby'))!;
  const slTl = (await h.members('standby')).find((m) => m.name === sl)!.timeline!;
  const postmasterBefore = h.postmasterPid(sl);
  const sysid = await h.sql<{ id: string }>(STANDBY[sl], 'select system_identifier::text as id from pg_control_system()');

  h.synth(path.join(h.work, 'topology.yaml'), out(), 'detached');
  // the plan changes only the standby nodes' files (reload) and the standby patch; the primary stack not at all
  expect(h.planExitCode(stackDir('primary'), 'primary')).toBe(0);
  const plan = h.terraform(stackDir('standby'), ['plan', '-input=false', '-out=promote.tfplan'], 'standby');
  expect(plan.status).toBe(0);
  const show = JSON.parse(h.terraform(stackDir('standby'), ['show', '-json', 'promote.tfplan'], 'standby-show').output);
  const changed = (show.resource_changes as { address: string; change: { actions: string[] } }[])
    .filter((c) => !c.change.actions.includes('no-op'))
    .map((c) => c.address.replace(/_[0-9A-F]{8}$/, ''))
    .sort();
  expect(changed).toEqual(['terraform_data.cluster_dcs-patch_apply', 'terraform_data.cluster_node-s1_config', 'terraform_data.cluster_node-s2_config', 'terraform_data.cluster_node-s3_config']);

  const t0 = now();
  const applying = h.terraformAsync(stackDir('standby'), ['apply', '-auto-approve', '-input=false', 'promote.tfplan'], 'standby');
  const { ms } = await waitFor('first accepted write on the promoted cluster', 120_000, async () => {
    await h.sql(STANDBY[sl], `insert into walkthrough(id, note) values (${rows + 1000}, 'first write after promotion')`);
    return true;
  });
  timings.promotionApplyToFirstWriteMs = ms;
  const applied = await applying;
  expect(applied.status).toBe(0);
  timings.promotionApplyTotalMs = now() - t0;

  const members = await h.members('standby');
  const leader = members.find((m) => PRIMARY_ROLES.includes(m.role))!;
  expect(leader.name).toBe(sl);
  const tlHex = await h.sql<{ tl: string }>(STANDBY[sl], 'select substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) as tl');
  expect(parseInt(tlHex[0].tl, 16)).toBeGreaterThan(slTl);
  expect(h.postmasterPid(sl)).toBe(postmasterBefore); // promoted in place, not restarted
  expect(await h.sql(STANDBY[sl], 'select system_identifier::text as id from pg_control_system()')).toEqual(sysid);
  expect(await rowsOn(STANDBY[sl])).toBe(rows + 1);
  const after = await h.sql<{ id: number }>(STANDBY[sl], "insert into walkthrough(id, note) values (5000, 'independent') returning id");
  expect(after).toEqual([{ id: 5000 }]);
  await waitFor('replicas follow the promoted leader', 120_000, async () => {
    for (const n of STANDBY_NODES.filter((x) => x !== sl)) {
      const r = await h.sql<{ sender_host: string; status: string }>(STANDBY[n], 'select sender_host, status from pg_stat_wal_receiver');
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
});

step('secrets: no password in cdktf.out, rendered files, plans, state or terraform output', async () => {
  const hits: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.terraform') walk(p);
      } else if (/\.(json|yml|yaml|tfstate|tfplan|log|backup)$/.test(e.name) || e.name.includes('tfstate')) {
        const text = fs.readFileSync(p).toString('latin1');
        for (const pw of Object.values(PASSWORDS)) if (text.includes(pw)) hits.push(`${p}: ${pw.slice(0, 8)}...`);
      }
    }
  };
  walk(out());
  walk(path.join(h.work, 'existing'));
  for (const f of fs.readdirSync(h.work).filter((x) => x.includes('tfstate'))) {
    const text = fs.readFileSync(path.join(h.work, f), 'utf8');
    for (const pw of Object.values(PASSWORDS)) if (text.includes(pw)) hits.push(`${f}: ${pw.slice(0, 8)}...`);
  }
  for (const f of fs.readdirSync(path.join(h.work, 'logs')).filter((x) => x.startsWith('terraform-'))) {
    const text = fs.readFileSync(path.join(h.work, 'logs', f), 'utf8');
    for (const pw of Object.values(PASSWORDS)) if (text.includes(pw)) hits.push(`${f}: ${pw.slice(0, 8)}...`);
  }
  const stateFiles = fs.readdirSync(h.work).filter((f) => f.endsWith('.tfstate'));
  expect(stateFiles.sort()).toEqual(['terraform.primary.tfstate', 'terraform.standby.tfstate']);
  expect(hits).toEqual([]);
});
