/**
 * Pipelines for real: every stack's state in Terraform's `pg` backend (a PostgreSQL server of its
 * own, with state locking), reached through PG_CONN_STR from each runner's environment, and three
 * working copies deploying at once, each as a separate runner would (its own checkout's topology,
 * its own cdktf.out), against real etcd, Patroni 3.0.2, PostgreSQL 15 and Terraform:
 *   1. two `cdktf deploy '*'` of the same switchover started at the same moment: one role change
 *      runs; the other waits for the locks and finds nothing to do (or fails naming the lock);
 *   2. a pipeline of the old topology (the source before the switchover, an older
 *      link.roleChange.generation) deploying afterwards: refused, nothing changes on the clusters;
 *   3. a parameter change deployed to dc2 while dc1's stack runs the switchback: the role change's
 *      lease shows in both clusters' DCS while it runs, one role change, the parameter applied.
 * A writer runs through each role change; every acknowledged write is on the new source after it.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { parse, stringify } from 'yaml';
import {
  checkPrerequisites,
  Harness,
  MONITOR_PASSWORD,
  PRIMARY,
  ROOT,
  STANDBY,
  suiteSteps,
  waitFor,
  Writer,
} from './harness';

jest.setTimeout(400_000);

const h = new Harness(undefined, 'cdktf');
const { step } = suiteSteps(h);
const DC = { dc1: PRIMARY, dc2: STANDBY } as const;
type Dc = keyof typeof DC;
const clusterOf = (dc: Dc) => (dc === 'dc1' ? 'primary' : 'standby') as 'primary' | 'standby';

/** The state server: loopback, its own data directory and port, not one of the clusters. */
const STATE = { host: '127.0.0.1', port: 55432, password: 'e2e-State-9c41d7', db: 'tfstate' };
const CONN_STR = `postgres://tfstate:${STATE.password}@${STATE.host}:${STATE.port}/${STATE.db}?sslmode=disable`;
let stateServer: ChildProcess | undefined;

/** A runner: its own working copy (topology file and cdktf.out), the state's connection from its environment. */
const runner = (name: string) => ({
  name,
  dir: () => path.join(h.work, `runner-${name}`),
  outdir: '',
  env: { PG_CONN_STR: CONN_STR, TF_CLI_ARGS_apply: '-lock-timeout=300s', TF_CLI_ARGS_plan: '-lock-timeout=300s' },
});
const RUNNERS = { a: runner('a'), b: runner('b'), c: runner('c') };

let base: Record<string, any>;

/** Writes a runner's checkout of the topology (the clusters: layout, state in pg) and deploys `stacks`. */
function deployFrom(
  r: (typeof RUNNERS)[keyof typeof RUNNERS],
  label: string,
  source: Dc,
  generation: number,
  stacks: string[] = ['*'],
  change: (t: Record<string, any>) => void = () => undefined,
): Promise<{ status: number; output: string }> {
  const t = JSON.parse(JSON.stringify(base));
  t.link.source = source;
  t.link.roleChange = { ...(t.link.roleChange ?? {}), generation };
  change(t);
  fs.mkdirSync(r.dir(), { recursive: true });
  const file = path.join(r.dir(), 'topology.yaml');
  fs.writeFileSync(file, stringify(t));
  return h.runnerDeploy({ ...r, outdir: path.join(r.dir(), 'cdktf.out') }, stacks, label, file);
}

/** The lines that only a role change that fenced a source prints. */
const fences = (...outputs: string[]) => outputs.join('\n').match(/\[role change\].* fence: dc\d demoted/g) ?? [];

async function leaderOf(dc: Dc): Promise<{ name: string; host: string } | undefined> {
  const members = await h.members(clusterOf(dc));
  const leader = members.find((m) => ['master', 'leader', 'primary'].includes(m.role));
  return leader && { name: leader.name, host: DC[dc][leader.name] };
}

/** `source` read-write with two replicas; the other's standby leader streams from it. */
async function linked(source: Dc): Promise<{ leader: string; host: string } | undefined> {
  const leader = await leaderOf(source);
  const other: Dc = source === 'dc1' ? 'dc2' : 'dc1';
  const sl = (await h.members(clusterOf(other))).find((m) => m.role === 'standby_leader');
  if (!leader || !sl) return undefined;
  const r = await h.sql<{ status: string; sender_host: string }>(
    DC[other][sl.name],
    'select status, sender_host from pg_stat_wal_receiver',
  );
  return r.length === 1 && r[0].status === 'streaming' && Object.values(DC[source]).includes(r[0].sender_host)
    ? { leader: leader.name, host: leader.host }
    : undefined;
}

/** Every id the writer had acknowledged is on the new source's leader. */
async function allAckedOn(dc: Dc, writer: Writer): Promise<void> {
  const leader = (await leaderOf(dc))!;
  const rows = await h.sql<{ id: string }>(leader.host, 'select id::text from pipelines');
  const have = new Set(rows.map((r) => Number(r.id)));
  const lost = writer.acked.filter((a) => !have.has(a.id)).map((a) => a.id);
  expect({ acked: writer.acked.length > 0, lost }).toEqual({ acked: true, lost: [] });
}

/** Every file under `dir` (the providers' and modules' caches of .terraform left out). */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'providers' ? [] : filesUnder(p);
    return e.isFile() ? [p] : [];
  });
}

async function stateClient(): Promise<Client> {
  const c = new Client({ ...STATE, user: 'tfstate', database: STATE.db });
  await c.connect();
  return c;
}

beforeAll(() => {
  checkPrerequisites('cdktf');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  h.setup();
  const t = parse(h.topologyText());
  base = { clusters: { dc1: t.primary, dc2: t.standby }, link: { ...t.link, source: 'dc1' }, state: { backend: 'pg' } };
});

afterAll(async () => {
  if (stateServer?.pid) {
    try {
      process.kill(stateServer.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await h.teardown(process.env.E2E_KEEP_WORK === '1');
});

step('a PostgreSQL server for the state (its own data directory and port, password authentication)', async () => {
  const data = path.join(h.work, 'state-pg');
  fs.mkdirSync(data, { recursive: true });
  fs.writeFileSync(path.join(h.work, 'state-pw'), `${STATE.password}\n`);
  execFileSync('chown', ['-R', 'postgres:postgres', data, path.join(h.work, 'state-pw')]);
  const asPostgres = (bin: string, args: string[]) => [
    '--reuid=postgres',
    '--regid=postgres',
    '--init-groups',
    `/usr/lib/postgresql/15/bin/${bin}`,
    ...args,
  ];
  execFileSync(
    'setpriv',
    asPostgres('initdb', [
      '-D',
      data,
      '-U',
      'tfstate',
      '--auth=scram-sha-256',
      `--pwfile=${path.join(h.work, 'state-pw')}`,
    ]),
    {
      stdio: 'ignore',
    },
  );
  const log = fs.openSync(path.join(h.work, 'logs', 'state-pg.log'), 'a');
  stateServer = spawn(
    'setpriv',
    asPostgres('postgres', [
      '-D',
      data,
      '-c',
      `listen_addresses=${STATE.host}`,
      '-c',
      `port=${STATE.port}`,
      '-c',
      `unix_socket_directories=${data}`,
    ]),
    { stdio: ['ignore', log, log] },
  );
  await waitFor('the state server', 60_000, async () => {
    try {
      const c = new Client({ ...STATE, user: 'tfstate', database: 'postgres' });
      await c.connect();
      await c.end();
      return true;
    } catch {
      return undefined;
    }
  });
  const c = new Client({ ...STATE, user: 'tfstate', database: 'postgres' });
  await c.connect();
  await c.query(`create database ${STATE.db}`);
  await c.end();
});

step(
  'runner a deploys both data centers with their state in pg: one schema per stack, no password in cdktf.out or the state',
  async () => {
    h.startEtcd();
    await h.waitEtcd();
    const res = await deployFrom(RUNNERS.a, 'initial', 'dc1', 1);
    expect({ status: res.status, tail: res.status === 0 ? '' : res.output.slice(-3000) }).toEqual({
      status: 0,
      tail: '',
    });
    const { value } = await waitFor('dc2 streaming from dc1', 180_000, () => linked('dc1'));
    await h.sql(value.host, `create role monitor login password '${MONITOR_PASSWORD}' in role pg_monitor`);
    await h.sql(value.host, 'create table pipelines(id bigint primary key, at timestamptz default now())');
    // each data center's stack: its own schema, its own state row (and so its own advisory lock)
    const c = await stateClient();
    try {
      const rows = await c.query(
        "select table_schema from information_schema.tables where table_name = 'states' order by 1",
      );
      expect(rows.rows.map((r) => r.table_schema)).toEqual(['dc1', 'dc2']);
      for (const dc of ['dc1', 'dc2']) {
        const state = (await c.query(`select data from "${dc}".states where name = 'default'`)).rows[0].data as string;
        expect(JSON.parse(state).resources.length).toBeGreaterThan(5);
        expect(state).not.toContain(STATE.password);
      }
    } finally {
      await c.end();
    }
    // no local state anywhere, and the state's password nowhere in the runner's cdktf.out
    expect(fs.readdirSync(h.work).filter((f) => f.endsWith('.tfstate'))).toEqual([]);
    const holding = filesUnder(path.join(RUNNERS.a.dir(), 'cdktf.out')).filter((f) =>
      fs.readFileSync(f).includes(STATE.password),
    );
    expect({ files: filesUnder(path.join(RUNNERS.a.dir(), 'cdktf.out')).length > 10, holding }).toEqual({
      files: true,
      holding: [],
    });
  },
);

step(
  'case 1: two runners deploy the same switchover at the same moment: one role change runs, the other finds nothing to do',
  async () => {
    const writer = new Writer(h, (await leaderOf('dc1'))!.host, 1, 'pipelines').start();
    await new Promise((r) => setTimeout(r, 1500));
    const [a, b] = await Promise.all([
      deployFrom(RUNNERS.a, 'switchover', 'dc2', 2),
      deployFrom(RUNNERS.b, 'switchover', 'dc2', 2),
    ]);
    await writer.stop();
    // exactly one role change fenced dc1
    expect(fences(a.output, b.output)).toHaveLength(1);
    // what the other printed: it waited for the lock and found nothing to change, or failed naming the lock
    for (const r of [a, b])
      expect({
        ok: r.status === 0 || /Error acquiring the state lock/.test(r.output),
        tail: r.output.slice(-1500),
      }).toMatchObject({
        ok: true,
      });
    expect([a, b].some((r) => r.status === 0)).toBe(true);
    await waitFor('dc1 streaming from dc2', 180_000, () => linked('dc2'));
    await allAckedOn('dc2', writer);
  },
);

step(
  'case 2: a runner with the old topology (source dc1, generation 1) deploys afterwards: refused, nothing changes',
  async () => {
    const before = (await linked('dc2'))!;
    const c = await deployFrom(RUNNERS.c, 'stale', 'dc1', 1);
    expect(c.status).not.toBe(0);
    expect(c.output).toContain(
      'REFUSED: this topology is older than the clusters: they record link.roleChange.generation 2 (source dc2), this one has 1 (source dc1)',
    );
    expect(fences(c.output)).toEqual([]);
    // the roles are as the switchover left them: the same leader on dc2, dc1 still following it
    expect(await linked('dc2')).toEqual(before);
    // the current topology deploys cleanly afterwards (the refused step, tainted, runs again as a no-op)
    const a = await deployFrom(RUNNERS.a, 'after-stale', 'dc2', 2);
    expect({ status: a.status, tail: a.status === 0 ? '' : a.output.slice(-3000) }).toEqual({ status: 0, tail: '' });
    expect(fences(a.output)).toEqual([]);
  },
);

step(
  "case 3: a parameter change deployed to dc2 while dc1's stack runs the switchback: the lease in both DCS, one role change, the parameter applied",
  async () => {
    const writer = new Writer(h, (await leaderOf('dc2'))!.host, 1_000_000, 'pipelines').start();
    const leases = new Set<string>();
    let watching = true;
    // the lease as Patroni keeps it: GET /config on each cluster while the switchback runs
    const watch = (async () => {
      while (watching) {
        for (const dc of ['dc1', 'dc2'] as const) {
          try {
            const res = await fetch(`http://${Object.values(DC[dc])[0]}:8008/config`, {
              signal: AbortSignal.timeout(1000),
            });
            const lease = ((await res.json()) as Record<string, any>).managed_by_patroni_standby_cdktf?.roleChange;
            if (lease?.holder) leases.add(`${dc} ${lease.holder}`);
          } catch {
            // restarting
          }
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    // one commit, the switchback and dc2's parameter: runner a deploys every stack, runner b dc2's alone
    const withParameter = (t: Record<string, any>) => {
      t.clusters.dc2.postgresql.parameters = { ...(t.clusters.dc2.postgresql.parameters ?? {}), work_mem: '7MB' };
    };
    const a = deployFrom(RUNNERS.a, 'switchback', 'dc1', 3, ['*'], withParameter);
    await waitFor('the switchback holding both clusters', 120_000, async () => (leases.size >= 2 ? true : undefined));
    const b = await deployFrom(
      RUNNERS.b,
      'dc2-parameter',
      'dc1',
      3,
      ['dc2', '--ignore-missing-stack-dependencies'],
      withParameter,
    );
    const done = await a;
    watching = false;
    await watch;
    await writer.stop();
    // one holder, on both clusters: dc1's role change
    expect([...leases].map((l) => l.replace(/\/[0-9a-f]{8}$/, '')).sort()).toEqual(['dc1 dc1', 'dc2 dc1']);
    expect({
      a: done.status,
      b: b.status,
      tailA: done.status === 0 ? '' : done.output.slice(-3000),
      tailB: b.status === 0 ? '' : b.output.slice(-3000),
    }).toEqual({ a: 0, b: 0, tailA: '', tailB: '' });
    expect(fences(done.output, b.output)).toHaveLength(1);
    await waitFor('dc2 streaming from dc1', 180_000, () => linked('dc1'));
    await allAckedOn('dc1', writer);
    // the parameter reached dc2's dynamic configuration and its members
    await waitFor("work_mem 7MB on dc2's members", 120_000, async () => {
      for (const host of Object.values(STANDBY)) {
        const r = await h.sql<{ work_mem: string }>(host, 'show work_mem');
        if (r[0].work_mem !== '7MB') return undefined;
      }
      return true;
    });
    process.stdout.write(
      `case 3: the parameter deploy ${/waiting: a role change \(dc1\//.test(b.output) ? 'waited for the lease' : 'ran outside the lease'}\n`,
    );
  },
);
