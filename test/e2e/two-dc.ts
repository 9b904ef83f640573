/**
 * Two data centers on one machine, and the faults a standby cluster exists for. Each data center
 * is a network namespace with its own addresses (scripts/two-dc-net.sh): dc1's etcd and Patroni
 * members on 10.231.1.x, dc2's on 10.231.2.x, joined through a router whose traffic between the
 * data centers is delayed 20 ms each way; the deploy, status and the test's writers run from this
 * machine's namespace (the pipeline, 10.231.0.1), through the project's documented commands. No
 * 127.0.0.1 shortcut in the topology: the generated per-member pg_hba lines admit the members.
 *
 * Every fault writes one row of bench/out/<name>.json (`npm run bench:report` writes
 * RELIABILITY.md): what was checked, acknowledged writes, writes lost, time to recover, re-clones.
 * A test file runs the suite on a platform with `twoDcSuite` (two-dc.test.ts: every fault on
 * Patroni 3.0.2; two-dc-patroni41.test.ts: the role changes on 4.1.5).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { ReliabilityRow } from '../../bench/reliability-report';
import { demotesCleanly } from '../../runtime/role-change';
import {
  checkPrerequisites,
  DEBIAN12,
  Harness,
  Layout,
  MONITOR_PASSWORD,
  now,
  PASSWORDS,
  Platform,
  recordTimings,
  roleChangeProgram,
  ROOT,
  sleep,
  StatusReport,
  suiteSteps,
  waitFor,
  Writer,
} from './harness';

const NET = `pdr${process.pid % 100000}`;
const NETNS = { primary: `${NET}-dc1`, standby: `${NET}-dc2` };
const DC1 = { p1: '10.231.1.1', p2: '10.231.1.2', p3: '10.231.1.3' } as Record<string, string>;
const DC2 = { s1: '10.231.2.1', s2: '10.231.2.2', s3: '10.231.2.3' } as Record<string, string>;
const PIPELINE = '10.231.0.1';
const LAYOUT: Layout = {
  primary: DC1,
  standby: DC2,
  etcd: { primary: '10.231.1.10', standby: '10.231.2.10' },
  admin: PIPELINE,
  namespaces: NETNS,
};
const DELAY_MS = 20;

let platform: Platform = DEBIAN12;
let h: Harness;
let failed: () => boolean = () => false;
/** Where the suite's records go: bench/out/<name>.json (reliability for the full suite). */
let recordName = 'reliability';
/** Whether both clusters archive into their data center's pgBackRest repository (the archive suite). */
let withArchive = false;
/** Each data center's repository host: its name (in placeholders and node-ctl.sh) and address. */
const REPOSITORY = { dc1: { name: 'r1', host: '10.231.1.9' }, dc2: { name: 'r2', host: '10.231.2.9' } } as const;
const STANZA = 'pgcluster';
/** The archive suites' sections of RELIABILITY.md (this machine's packages, or a Debian root's). */
const archiveSection = () =>
  platform.root
    ? {
        title: `The archive after a switchover: ${platform.name}`,
        about:
          "The fault suite with `backup` on both clusters on a Debian root (`test/e2e/two-dc-archive-patroni41.test.ts`): Patroni, PostgreSQL and pgBackRest (every server, and the repository hosts' commands) from the root, each in its data center's namespace ([docs/archive.md](docs/archive.md))",
      }
    : {
        title: 'The archive: the hybrid standby, and re-seeds from a backup',
        about:
          "The fault suite with `backup` on both clusters (`test/e2e/two-dc-archive.test.ts`): each data center's pgBackRest repository host and every member run pgBackRest's TLS server in their data center's namespace; the source archives into both repositories, the standby reads its own ([docs/archive.md](docs/archive.md))",
      };
/** pgBackRest's version on this machine (`pgbackrest version`: "pgBackRest 2.45"). */
const pgbackrestVersion = (): string =>
  execFileSync('runuser', ['-u', 'postgres', '--', 'pgbackrest', 'version'], { encoding: 'utf8', env: process.env })
    .trim()
    .replace(/^pgBackRest /, '');

/** A fault of the suite: its key (the number in its title), title and test. */
interface Fault {
  readonly key: string;
  readonly title: string;
  readonly run: () => Promise<void>;
}
const FAULTS: Fault[] = [];
/** Declares a fault; twoDcSuite registers the ones a suite runs, in the order it names them. */
function step(title: string, run: () => Promise<void>): void {
  FAULTS.push({ key: title.split('.')[0], title, run });
}
const net = (...args: string[]) =>
  execFileSync('bash', [path.join(ROOT, 'scripts', 'two-dc-net.sh'), args[0], NET, ...args.slice(1)], {
    stdio: 'pipe',
  });
const topologyFile = () => path.join(h.work, 'topology.yaml');
let topology: Record<string, any>;

type Row = ReliabilityRow;
const rows: Row[] = [];
const timings: Record<string, number> = {};

function record(row: Row): void {
  rows.push(row);
  const file = path.join(ROOT, 'bench', 'out', `${recordName}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    `${JSON.stringify({ setup: `two data centers in network namespaces, ${DELAY_MS} ms each way between them; ${platform.name}${withArchive ? `; pgBackRest ${pgbackrestVersion()}, a repository host per data center` : ''}`, program: roleChangeProgram(), rows, timingsMs: timings, ...(withArchive ? archiveSection() : {}) }, null, 2)}\n`,
  );
}

/** The topology: the e2e template moved onto the two data centers, with no loopback shortcut. */
function twoDcTopology(): Record<string, any> {
  const t = parse(h.topologyText());
  for (const [cluster, hosts, etcd] of [
    ['primary', DC1, LAYOUT.etcd.primary],
    ['standby', DC2, LAYOUT.etcd.standby],
  ] as const) {
    t[cluster].dcs = { type: 'etcd3', hosts: [`${etcd}:2379`] };
    t[cluster].nodes = t[cluster].nodes.map((n: { name: string }) => ({ ...n, host: hosts[n.name] }));
  }
  // peer lines for Patroni's own local connections, the test's superuser from the pipeline; the
  // members admit each other through the generated per-member lines only
  t.primary.postgresql.pgHba = [
    'local all postgres peer',
    'local replication replicator peer map=replicamap',
    'local postgres rewinder peer map=rewindmap',
    `host all postgres ${PIPELINE}/32 scram-sha-256`,
  ];
  // a receiver that hears nothing for 10 s reconnects (the default, 60 s, outlasts a short partition)
  // tcp_user_timeout: a connection whose peer is cut off ends after 10 s (see fault 6, and the
  // slot-limit-without-tcp-user-timeout warning)
  const wan = {
    wal_receiver_timeout: '10s',
    wal_sender_timeout: '10s',
    max_slot_wal_keep_size: '256MB',
    tcp_user_timeout: '10s',
  };
  t.primary.postgresql.parameters = { ...t.primary.postgresql.parameters, ...wan };
  t.standby.postgresql.parameters = { ...t.standby.postgresql.parameters, ...wan };
  t.link.monitoring = { user: 'monitor', addresses: [`${PIPELINE}/32`] };
  if (withArchive) {
    // each data center's repository; a segment is archived at least every 10 s, so the hybrid
    // standby is at most that far behind while it reads the archive
    t.primary.backup = backupOf('dc1');
    t.standby.backup = backupOf('dc2');
    // the default with backup: the standby's members restore from its repository first
    delete t.link.createReplicaMethods;
    for (const c of [t.primary, t.standby]) {
      c.postgresql.parameters = { ...c.postgresql.parameters, archive_timeout: '10s' };
      // a base backup starts at once (an immediate checkpoint on the member it copies), as a
      // restore does: the re-seed comparison (6d) then compares copies, not a checkpoint's wait
      c.nodes = c.nodes.map((n: Record<string, any>) => ({
        ...n,
        overrides: { ...n.overrides, postgresql: { ...n.overrides?.postgresql, basebackup: [{ checkpoint: 'fast' }] } },
      }));
    }
  }
  return t;
}

type Dc = 'dc1' | 'dc2';
const HOSTS: Record<Dc, Record<string, string>> = { dc1: DC1, dc2: DC2 };
/** The harness's name for a data center's cluster (its layout's `primary` is dc1). */
const CLUSTER: Record<Dc, 'primary' | 'standby'> = { dc1: 'primary', dc2: 'standby' };
/** Which data center is the source now (a switchover changes it). */
let source: Dc = 'dc1';
const other = (dc: Dc): Dc => (dc === 'dc1' ? 'dc2' : 'dc1');

function writeTopology(change: (t: Record<string, any>) => void = () => undefined): void {
  change(topology);
  fs.writeFileSync(topologyFile(), stringify(topology));
}

/**
 * The archive suite's pgBackRest: one certificate for every server and client (CN pgbackrest; each
 * address as a DNS name too, the only form pgBackRest 2.45 compares the host with), each
 * repository's directory, and each host's log, lock and spool directories, owned by postgres.
 */
function archiveSetup(): void {
  const dir = path.join(h.work, 'pgbackrest');
  const tls = path.join(dir, 'tls');
  fs.mkdirSync(tls, { recursive: true });
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: tls, stdio: 'ignore' });
  openssl([
    'req',
    '-x509',
    '-new',
    '-nodes',
    '-newkey',
    'rsa:2048',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=archive-suite-ca',
  ]);
  openssl([
    'req',
    '-new',
    '-nodes',
    '-newkey',
    'rsa:2048',
    '-keyout',
    'host.key',
    '-out',
    'host.csr',
    '-subj',
    '/CN=pgbackrest',
  ]);
  const addresses = [...Object.values(DC1), ...Object.values(DC2), REPOSITORY.dc1.host, REPOSITORY.dc2.host, PIPELINE];
  fs.writeFileSync(
    path.join(tls, 'host.ext'),
    `subjectAltName=${addresses.map((a) => `DNS:${a},IP:${a}`).join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`,
  );
  openssl([
    'x509',
    '-req',
    '-in',
    'host.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'host.crt',
    '-days',
    '2',
    '-extfile',
    'host.ext',
  ]);
  const hosts = [...Object.keys(DC1), ...Object.keys(DC2), REPOSITORY.dc1.name, REPOSITORY.dc2.name];
  const own = (p: string, mode: string) =>
    execFileSync('install', ['-d', '-o', 'postgres', '-g', 'postgres', '-m', mode, p]);
  for (const host of hosts) for (const sub of ['log', 'lock', 'spool']) own(path.join(dir, host, sub), '750');
  for (const r of Object.values(REPOSITORY)) own(path.join(h.work, 'repo', r.name), '750');
  execFileSync('chown', ['postgres:postgres', path.join(tls, 'host.key')]);
  fs.chmodSync(path.join(tls, 'host.key'), 0o600);
  // node-ctl.sh starts each repository host's server in its data center
  fs.appendFileSync(
    path.join(h.work, 'platform.env'),
    `NS_${REPOSITORY.dc1.name}='${NETNS.primary}'\nNS_${REPOSITORY.dc2.name}='${NETNS.standby}'\n`,
  );
}

/**
 * On a Debian root, pgBackRest's protocol wants one version everywhere: the servers run the root's
 * (node-ctl.sh), and so must the commands on the repository hosts, which the stanza and first
 * backup steps and this suite run as `runuser -u postgres -- pgbackrest ...` on this machine. A
 * `runuser` first on this process's PATH (the deploys inherit it) runs the root's instead.
 */
function rootRunuser(root: string): void {
  const bin = path.join(h.work, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(
    path.join(bin, 'runuser'),
    `#!/bin/sh\n# the root's runuser, and with it the root's pgbackrest\nexec ${path.join(h.work, 'in-root.sh')} ${root} ${h.work} /usr/sbin/runuser "$@"\n`,
    { mode: 0o755 },
  );
  pathBefore = process.env.PATH;
  process.env.PATH = `${bin}${path.delimiter}${process.env.PATH}`;
}
/** PATH before rootRunuser: the suites share one process (--runInBand), so it goes back after. */
let pathBefore: string | undefined;

/** A cluster's backup section in the archive suite (its files under the work directory). */
function backupOf(dc: Dc): Record<string, unknown> {
  const dir = path.join(h.work, 'pgbackrest');
  const ctl = path.join(h.work, 'node-ctl.sh');
  return {
    stanza: STANZA,
    repository: {
      host: REPOSITORY[dc].host,
      name: REPOSITORY[dc].name,
      path: path.join(h.work, 'repo', REPOSITORY[dc].name),
    },
    tls: {
      caFile: `${dir}/tls/ca.crt`,
      certFile: `${dir}/tls/host.crt`,
      keyFile: `${dir}/tls/host.key`,
      clients: ['pgbackrest'],
    },
    configPath: `${dir}/{name}.conf`,
    serverStartCommand: `${ctl} pgbackrest-start {name}`,
    serverRestartCommand: `${ctl} pgbackrest-restart {name}`,
    serverStatusCommand: `${ctl} pgbackrest-status {name}`,
    options: {
      'log-path': `${dir}/{name}/log`,
      'lock-path': `${dir}/{name}/lock`,
      'spool-path': `${dir}/{name}/spool`,
      'log-level-file': 'detail',
      // the archive and backups compressed with lz4: several times faster than the default gz
      'compress-type': 'lz4',
    },
  };
}

/** `pgbackrest <args>` on a repository host (as postgres, with its file), its output. */
function pgbackrest(dc: Dc, ...args: string[]): string {
  return execFileSync(
    'runuser',
    [
      '-u',
      'postgres',
      '--',
      'pgbackrest',
      `--config=${path.join(h.work, 'pgbackrest', `${REPOSITORY[dc].name}.conf`)}`,
      `--stanza=${STANZA}`,
      ...args,
    ],
    // jest's process.env is the suite's own: handed on, so that a root's runuser is found
    { encoding: 'utf8', timeout: 1_200_000, env: process.env },
  );
}

/** Closes the source's current WAL segment (so that it is archived); its file name. */
async function switchedSegment(leader: string): Promise<string> {
  const [row] = await h.sql<{ name: string }>(leader, 'select pg_walfile_name(pg_switch_wal()) as name');
  return row.name;
}

/** The newest WAL segment of the stanza's archive in a data center's repository (pgbackrest info). */
function archivedUpTo(dc: Dc): string | undefined {
  const info = JSON.parse(pgbackrest(dc, 'info', '--output=json')) as {
    archive?: { max?: string | null }[];
  }[];
  return (
    info[0]?.archive
      ?.map((a) => a.max ?? undefined)
      .filter(Boolean)
      .sort()
      .pop() ?? undefined
  );
}

async function standbyLeader(): Promise<string | undefined> {
  return (await h.members(CLUSTER[other(source)])).find((m) => m.role === 'standby_leader')?.name;
}

async function sourceLeader(): Promise<string | undefined> {
  return (await h.members(CLUSTER[source])).find((m) => ['master', 'leader', 'primary'].includes(m.role))?.name;
}

/** Why linked() last found the link not whole (printed when a wait for it times out). */
let notLinked = '';

/** The standby leader streams from a source member and both its replicas from it; returns who leads. */
async function linked(): Promise<{ leader: string; standbyLeader: string; sender: string } | undefined> {
  const leader = await sourceLeader();
  const sl = await standbyLeader();
  if (!leader || !sl) {
    notLinked = `source leader ${leader ?? 'none'}, standby leader ${sl ?? 'none'}`;
    return undefined;
  }
  const standbyHosts = HOSTS[other(source)];
  // on the source's timeline: a member left on an older one (WAL past the fork) reconnects and says
  // "streaming" for a moment, again and again
  const timeline = (
    await h
      .sql<{ tl: number }>(
        HOSTS[source][leader],
        "select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as tl",
      )
      .catch(() => [])
  )[0]?.tl;
  let sender = '';
  for (const [name, host] of Object.entries(standbyHosts)) {
    const r = await h
      .sql<{ status: string; sender_host: string; received_tli: number }>(
        host,
        'select status, sender_host, received_tli from pg_stat_wal_receiver',
      )
      .catch(() => []);
    const seen =
      r.length === 1 ? `${r[0].status} from ${r[0].sender_host} on timeline ${r[0].received_tli}` : 'no WAL receiver';
    if (r.length !== 1 || r[0].status !== 'streaming' || r[0].received_tli !== timeline) {
      notLinked = `${name} (standby leader ${sl}): ${seen}; the source leader ${leader} on timeline ${timeline ?? 'unknown'}`;
      return undefined;
    }
    if (name === sl) sender = r[0].sender_host;
    else if (r[0].sender_host !== standbyHosts[sl]) {
      notLinked = `${name}: ${seen}, not from the standby leader ${sl}`;
      return undefined;
    }
  }
  if (Object.values(HOSTS[source]).includes(sender)) return { leader, standbyLeader: sl, sender };
  notLinked = `the standby leader ${sl} streams from ${sender}, no member of ${source}`;
  return undefined;
}

/** linked(), throwing why not: a wait that times out on it says what it last saw. */
async function linkedOrWhy(): Promise<{ leader: string; standbyLeader: string; sender: string }> {
  const value = await linked();
  if (!value) throw new Error(notLinked);
  return value;
}

/**
 * Every standby member's data directory, identified by the inode of its PG_VERSION file: a
 * re-clone (basebackup into a new directory) changes it, a restart or a rewind does not.
 */
async function identities(): Promise<Record<string, number>> {
  return Object.fromEntries(
    Object.keys({ ...DC1, ...DC2 }).map((n) => [n, fs.statSync(path.join(h.work, 'data', n, 'PG_VERSION')).ino]),
  );
}

/** How many members were cloned anew since the marks (their Patroni logs a bootstrap or basebackup). */
function recloneCount(sinceMarks: Record<string, number>): number {
  let n = 0;
  for (const [node, size] of Object.entries(sinceMarks)) {
    const text = fs
      .readFileSync(path.join(h.work, 'logs', `${node}.log`))
      .subarray(size)
      .toString('utf8');
    if (/bootstrap from leader|basebackup/i.test(text)) n += 1;
  }
  return n;
}

function logMarks(): Record<string, number> {
  return Object.fromEntries(
    Object.keys({ ...DC1, ...DC2 }).map((n) => [n, fs.statSync(path.join(h.work, 'logs', `${n}.log`)).size]),
  );
}

/** The median time of five TCP connects from a namespace to a member's PostgreSQL port, in ms. */
function connectMs(ns: string, host: string): number {
  const code = `import socket,time\nr=[]\nfor i in range(5):\n  t=time.monotonic();s=socket.create_connection(('${host}',5432),3);r.append((time.monotonic()-t)*1000);s.close()\nprint(sorted(r)[2])`;
  return Number(execFileSync('ip', ['netns', 'exec', ns, '/usr/bin/python3', '-c', code], { encoding: 'utf8' }).trim());
}

/** Rows a host has among the acknowledged ids. */
async function missingOn(host: string, acked: { id: number }[]): Promise<number[]> {
  const have = new Set((await h.sql<{ id: string }>(host, 'select id from faults')).map((r) => Number(r.id)));
  return acked.filter((a) => !have.has(a.id)).map((a) => a.id);
}

function status(linkState = ''): StatusReport & { slot: { retainedBytes?: number } | null } {
  return h.status(linkState).report as StatusReport & { slot: { retainedBytes?: number } | null };
}

step(
  "0. the two data centers deploy through `cdktf deploy '*'`: dc2's standby leader streams from dc1 across the router; a host of neither data center is refused",
  async () => {
    h.startEtcd();
    await h.waitEtcd();
    const res = h.cdktfDeploy(['*'], 'initial');
    expect({ status: res.status, tail: res.status === 0 ? '' : res.output.slice(-3000) }).toEqual({
      status: 0,
      tail: '',
    });
    const { value } = await waitFor('dc2 streaming from dc1', 180_000, linkedOrWhy);
    await h.sql(DC1[value.leader], `create role monitor login password '${MONITOR_PASSWORD}' in role pg_monitor`);
    await h.sql(DC1[value.leader], 'create table faults(id bigint primary key, at timestamptz default now())');
    // the router's address on dc1's side belongs to neither data center: pg_hba has no line for it
    const outsider = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        `${NET}-rt`,
        '/usr/lib/postgresql/15/bin/psql',
        `host=${DC1[value.leader]} hostaddr=${DC1[value.leader]} user=replicator dbname=replication replication=true connect_timeout=5`,
        '-c',
        'IDENTIFY_SYSTEM',
      ],
      { encoding: 'utf8', env: { ...process.env, PGPASSWORD: PASSWORDS.PATRONI_REPLICATION_PASSWORD } },
    );
    expect(outsider.status).not.toBe(0);
    expect(outsider.stderr).toMatch(/no pg_hba\.conf entry for replication connection from host "10\.231\.1\.254"/);
    // a standby member, from its own address in dc2, is admitted by its own line
    const member = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        NETNS.standby,
        '/usr/lib/postgresql/15/bin/psql',
        `host=${DC1[value.leader]} user=replicator dbname=replication replication=true connect_timeout=5`,
        '-c',
        'IDENTIFY_SYSTEM',
      ],
      { encoding: 'utf8', env: { ...process.env, PGPASSWORD: PASSWORDS.PATRONI_REPLICATION_PASSWORD } },
    );
    expect({ status: member.status, stderr: member.stderr }).toEqual({ status: 0, stderr: '' });
    // the delay is there: a TCP connection from dc2 to dc1 takes a round trip between the data
    // centers (2 x 20 ms), one inside dc1 next to nothing
    const crossDc = connectMs(NETNS.standby, DC1[value.leader]);
    const insideDc = connectMs(NETNS.primary, DC1[value.leader]);
    expect(crossDc).toBeGreaterThanOrEqual(2 * DELAY_MS);
    expect(insideDc).toBeLessThan(DELAY_MS);
    timings.crossDcConnectMs = Math.round(crossDc);
    timings.insideDcConnectMs = Math.round(insideDc * 10) / 10;
  },
);

step(
  '1. partition between the data centers for 30 s while writes run: status reports it; the standby leader catches up by itself through the slot, nothing re-cloned, nothing lost',
  async () => {
    const { value: before } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const ids = await identities();
    const marks = logMarks();
    const writer = new Writer(h, DC1[before.leader], 1_000_000, 'faults').start();
    let healedAt = 0;
    const during: StatusReport[] = [];
    try {
      await waitFor('the writer acknowledges', 10_000, async () => writer.acked.length > 20);
      net('cut');
      const cutAt = now();
      while (now() - cutAt < 30_000) {
        await sleep(7_000);
        during.push(status());
      }
      net('heal');
      healedAt = now();
      await waitFor('dc2 streaming from dc1 again', 120_000, linkedOrWhy);
    } finally {
      net('heal');
      await writer.stop();
    }
    // status said so while it lasted: unhealthy, with the reason, and the WAL the slot retained
    const late = during.slice(1);
    expect(late.length).toBeGreaterThan(0);
    for (const r of late) {
      expect(r.healthy).toBe(false);
      expect(r.problems.join('\n')).toMatch(
        /standby leader \S+ (has received nothing from the source for \d+ s while the source is \d+ bytes ahead: the stream is stalled|is not streaming from the source)/,
      );
    }
    const retained = Math.max(...during.map((r) => (r.slot as { retainedBytes?: number } | null)?.retainedBytes ?? 0));
    expect(retained).toBeGreaterThan(0);
    timings.partitionRetainedBytes = retained;
    // and after it: every acknowledged write on the standby leader, then a lag of zero
    const { ms } = await waitFor(
      'every acknowledged write on the standby leader',
      60_000,
      async () => (await missingOn(DC2[before.standbyLeader], writer.acked)).length === 0,
    );
    const recoveryMs = now() - healedAt;
    const { value: after } = await waitFor('status healthy with a lag of zero', 60_000, async () => {
      const r = status();
      return r.healthy && r.nodes.filter((n) => n.cluster === 'standby').every((n) => n.lagBytes === 0) ? r : undefined;
    });
    expect(after.healthy).toBe(true);
    expect(await identities()).toEqual(ids);
    const reclones = recloneCount(marks);
    expect(reclones).toBe(0);
    timings.partitionRecoveryMs = recoveryMs;
    expect(ms).toBeGreaterThanOrEqual(0);
    record({
      fault: 'partition between the data centers, 30 s, writes running',
      checked:
        'status unhealthy with the reason during it, retained WAL reported; stream resumed by itself through the slot; every acknowledged write on the standby leader; lag 0 after',
      acknowledged: writer.acked.length,
      lost: (await missingOn(DC2[before.standbyLeader], writer.acked)).length,
      promised: true,
      recoveryMs,
      reclones,
    });
  },
);

/**
 * kill -9 of dc1's leader (Patroni and its postmaster) while a writer inserts from `firstId` on; the
 * writer goes on against the killed address until dc1 has another leader, where writes land now.
 */
async function killSourceLeader(
  leader: string,
  firstId: number,
): Promise<{ writer: Writer; killedAt: number; newLeader: string }> {
  const writer = new Writer(h, DC1[leader], firstId, 'faults').start();
  try {
    await waitFor('the writer acknowledges', 20_000, async () => writer.acked.length > 200);
    const patroni = h.pidOf(leader)!;
    const postmaster = h.postmasterPid(leader)!;
    process.kill(patroni, 'SIGKILL');
    process.kill(postmaster, 'SIGKILL');
    const killedAt = now();
    const { value: newLeader } = await waitFor('a new dc1 leader', 120_000, async () => {
      const l = await sourceLeader();
      return l && l !== leader ? l : undefined;
    });
    return { writer, killedAt, newLeader };
  } finally {
    await writer.stop();
  }
}

/** Patroni rewinds a replica whose leader stayed the same onto that leader's new timeline from 4.1.1 on. */
const rewindsReplicasAlone = (): boolean => {
  const [major, minor, patch] = platform.patroniVersion.split('.').map(Number);
  return major * 10000 + minor * 100 + patch >= 40101;
};

/** How fault 2c's dc2 replicas reached the new timeline: by Patroni, or restarted as status said. */
function replicasHow(replicas: string[], restarted: string[]): string {
  const alone = replicas.filter((r) => !restarted.includes(r));
  const parts = [
    ...(restarted.length
      ? [`${restarted.sort().join(', ')} left on the old timeline: named by status, rewound once restarted`]
      : []),
    ...(alone.length ? [`${alone.join(', ')} rewound by Patroni`] : []),
  ];
  return `; ${parts.join('; ')}`;
}

/** What a row says of the dc2 replicas standbyOnNewTimeline restarted (nothing when none). */
const restartedAfterFork = (restarted: string[]): string =>
  restarted.length === 0
    ? ''
    : `; ${restarted.join(', ')} of dc2 had replayed past the fork: restarted as status said, rewound`;

/**
 * The members status names as left on an older timeline than their standby leader; `now`: only
 * those it says to restart now (not "once" a source replica follows the new timeline too).
 */
function divergedReplicas(now = false): string[] {
  return status().problems.flatMap((p) =>
    now && !p.includes('restart its PostgreSQL (')
      ? []
      : (/^(\S+) is on timeline \d+, its standby leader/.exec(p)?.[1] ?? []),
  );
}

/**
 * The link whole again after dc1 failed over (every dc2 member streaming on dc1's timeline): the
 * standby leader is rewound by Patroni; before Patroni 4.1.1 a dc2 replica that had replayed past
 * the fork is restarted as status says (docs/troubleshooting.md), after which Patroni rewinds it.
 * Returns the link and the members restarted.
 */
async function standbyOnNewTimeline(
  newLeader: string,
  timeoutMs = 240_000,
): Promise<{ after: { leader: string; standbyLeader: string; sender: string }; restarted: string[] }> {
  const restarted: string[] = [];
  const restartedAt = new Map<string, number>();
  const { value: after } = await waitFor(
    "every dc2 member streaming on the new leader's timeline",
    timeoutMs,
    async () => {
      const l = await linked();
      if (l && l.sender === DC1[newLeader]) return l;
      const why = l ? `the standby leader streams from ${l.sender}, not ${DC1[newLeader]}` : notLinked;
      // from 4.1.1 Patroni rewinds them within a loop: status may name them meanwhile
      if (rewindsReplicasAlone()) throw new Error(why);
      // as status says: now (once the source's replicas are on its timeline), again a minute after
      for (const m of divergedReplicas(true).filter((r) => now() - (restartedAt.get(r) ?? -Infinity) > 60_000)) {
        h.patronictl(m, ['restart', topology.clusters[other(source)].scope, m, '--force']);
        restartedAt.set(m, now());
        if (!restarted.includes(m)) restarted.push(m);
      }
      throw new Error(why);
    },
  );
  return { after, restarted };
}

step(
  '2. the source leader killed (kill -9) while the standby streams: dc1 fails over, the standby leader follows the new leader, the slot is there',
  async () => {
    const { value: before } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const ids = await identities();
    const marks = logMarks();
    const { writer, killedAt, newLeader } = await killSourceLeader(before.leader, 2_000_000);
    // dc2 may have received WAL the new leader had not (fault 2c makes that certain)
    const { after, restarted } = await standbyOnNewTimeline(newLeader);
    const recoveryMs = now() - killedAt;
    timings.sourceFailoverStandbyFollowsMs = recoveryMs;
    expect(after.leader).toBe(newLeader);
    await waitFor(
      'the link slot active on the new leader',
      60_000,
      async () =>
        (
          await h.sql<{ active: boolean }>(
            DC1[newLeader],
            "select active from pg_replication_slots where slot_name = 'standby_cluster_slot'",
          )
        )[0]?.active === true,
    );
    expect(await identities()).toEqual(ids);
    const reclones = recloneCount(marks);
    expect(reclones).toBe(0);
    // asynchronous replication inside dc1: what its old leader acknowledged and no replica had is
    // lost with it (the topology promises nothing else); measured, and the standby has what dc1 has
    const lostInDc1 = await missingOn(DC1[newLeader], writer.acked);
    await waitFor('the standby leader has every row of the new dc1 leader', 60_000, async () => {
      const [a, b] = await Promise.all([
        h.sql<{ n: string }>(DC1[newLeader], 'select count(*) as n from faults'),
        h.sql<{ n: string }>(DC2[after.standbyLeader], 'select count(*) as n from faults'),
      ]);
      return a[0].n === b[0].n;
    });
    // the killed member comes back as a replica of the new leader
    h.nodeCtl('start', before.leader);
    await waitFor(`${before.leader} back as a replica`, 120_000, async () =>
      (await h.members('primary')).some(
        (m) => m.name === before.leader && ['streaming', 'running'].includes(m.state) && m.role === 'replica',
      ),
    );
    record({
      fault: 'source leader killed (kill -9), writes running',
      checked: `dc1 failed over; the standby leader follows the new leader (multi-host standby_cluster.host); the slot active there; the standby has every row the new leader has${restartedAfterFork(restarted)}`,
      acknowledged: writer.acked.length,
      lost: lostInDc1.length,
      promised: false,
      recoveryMs,
      reclones,
    });
  },
);

/** The next plan of both stacks is empty (what was deployed is what runs). */
function expectEmptyPlans(): void {
  for (const dc of ['dc1', 'dc2']) expect(h.planExitCode(path.join(h.work, 'cdktf.out', 'stacks', dc), dc)).toBe(0);
}

/** Fails with the deploy's tail unless it succeeded. */
function deployed(res: { status: number; output: string }): void {
  expect({ status: res.status, tail: res.status === 0 ? '' : res.output.slice(-3000) }).toEqual({
    status: 0,
    tail: '',
  });
}

/** dc1's patroni.dynamic with `change` applied. */
function dc1Dynamic(change: (d: Record<string, unknown>) => void): void {
  writeTopology((t) => {
    const patroni = (t.clusters.dc1.patroni ??= {});
    const dynamic = { ...(patroni.dynamic ?? {}) };
    change(dynamic);
    patroni.dynamic = dynamic;
  });
}

step(
  "2b. the source leader killed (kill -9) with Patroni's synchronous_mode on in dc1 (patroni.dynamic): dc1 fails over to its synchronous standby, no acknowledged write lost; synchronous_mode off again through the stacks",
  async () => {
    await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    dc1Dynamic((d) => (d.synchronous_mode = true));
    deployed(await h.cdktfDeployAsync(['*'], 'synchronous-mode-on'));
    expect((await h.config('primary')).synchronous_mode).toBe(true);
    const { value: syncStandby } = await waitFor(
      'a synchronous standby in dc1',
      60_000,
      async () => (await h.members('primary')).find((m) => m.role === 'sync_standby')?.name,
    );
    const { value: before } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const ids = await identities();
    const marks = logMarks();
    const { writer, killedAt, newLeader } = await killSourceLeader(before.leader, 2_500_000);
    const recoveryMs = now() - killedAt;
    timings.sourceFailoverSynchronousMs = recoveryMs;
    // Patroni promotes only the member its /sync key names: every acknowledged commit is there
    expect(newLeader).toBe(syncStandby);
    const lost = await missingOn(DC1[newLeader], writer.acked);
    expect({ acked: writer.acked.length, lost }).toEqual({ acked: writer.acked.length, lost: [] });
    const { restarted } = await standbyOnNewTimeline(newLeader);
    h.nodeCtl('start', before.leader);
    await waitFor(`${before.leader} back as a replica`, 120_000, async () =>
      (await h.members('primary')).some(
        (m) =>
          m.name === before.leader &&
          ['streaming', 'running'].includes(m.state) &&
          ['replica', 'sync_standby'].includes(m.role),
      ),
    );
    // synchronous_mode removed from the topology: the patch takes it out of dc1's configuration
    dc1Dynamic((d) => delete d.synchronous_mode);
    deployed(await h.cdktfDeployAsync(['*'], 'synchronous-mode-off'));
    expect((await h.config('primary')).synchronous_mode).toBeUndefined();
    expect(await identities()).toEqual(ids);
    const reclones = recloneCount(marks);
    expect(reclones).toBe(0);
    record({
      fault: "source leader killed (kill -9), writes running, Patroni's synchronous_mode on in dc1",
      checked: `dc1 failed over to its synchronous standby; every acknowledged write there; the standby leader follows it; synchronous_mode set and removed through the stacks${restartedAfterFork(restarted)}`,
      acknowledged: writer.acked.length,
      lost: lost.length,
      promised: true,
      recoveryMs,
      reclones,
    });
  },
);

step(
  '2c. dc1 fails over to a replica behind what the standby cluster had received (asynchronous replication in dc1): the standby leader is rewound onto the new timeline by Patroni, its replicas by Patroni or (before 4.1.1, one left behind) once restarted as status says, nothing re-cloned',
  async () => {
    const { value: before } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const ids = await identities();
    const marks = logMarks();
    const replicas = Object.keys(DC1).filter((n) => n !== before.leader);
    // dc1's replicas stopped cleanly: what dc1's leader writes now reaches dc2 alone
    for (const r of replicas) h.nodeCtl('halt', r);
    const writer = new Writer(h, DC1[before.leader], 2_200_000, 'faults').start();
    try {
      await waitFor('the writer acknowledges', 20_000, async () => writer.acked.length > 50);
    } finally {
      await writer.stop();
    }
    for (const host of Object.values(DC2))
      await waitFor(
        `every acknowledged write on ${host}`,
        60_000,
        async () => (await missingOn(host, writer.acked)).length === 0,
      );
    // the leader lost; its replicas come back and one of them is promoted without those writes
    process.kill(h.pidOf(before.leader)!, 'SIGKILL');
    process.kill(h.postmasterPid(before.leader)!, 'SIGKILL');
    const killedAt = now();
    for (const r of replicas) h.nodeCtl('start', r);
    const { value: newLeader } = await waitFor('a new dc1 leader', 120_000, async () => {
      const l = await sourceLeader();
      return l && l !== before.leader ? l : undefined;
    });
    const lostInDc1 = await missingOn(DC1[newLeader], writer.acked);
    // the premise: every dc2 member had replayed writes that dc1's new timeline does not have
    expect(lostInDc1.length).toBeGreaterThan(0);
    const dc2Replicas = Object.keys(DC2).filter((n) => n !== before.standbyLeader);
    // Patroni rewinds the standby leader (its new timeline's history arrives). Before 4.1.1 a
    // replica is rewound only if it sees that history before its standby leader reports the new
    // timeline (a race); one left behind is named by status and restarted as it says (a replica
    // left behind and not named would time this out)
    const { after, restarted } = await standbyOnNewTimeline(newLeader);
    const recoveryMs = now() - killedAt;
    if (rewindsReplicasAlone()) expect(restarted).toEqual([]);
    else expect(dc2Replicas).toEqual(expect.arrayContaining(restarted));
    // the standby holds what dc1 holds: the writes only the lost leader had are gone from both
    await waitFor('the standby leader has every row of the new dc1 leader and no other', 60_000, async () => {
      const [a, b] = await Promise.all([
        h.sql<{ n: string }>(DC1[newLeader], 'select count(*) as n from faults'),
        h.sql<{ n: string }>(DC2[after.standbyLeader], 'select count(*) as n from faults'),
      ]);
      return a[0].n === b[0].n;
    });
    for (const host of Object.values(DC2)) expect(await missingOn(host, writer.acked)).toEqual(lostInDc1);
    // every dc2 member rewound (pg_rewind), none copied anew
    for (const n of Object.keys(DC2))
      expect({
        n,
        log: /running pg_rewind from/.test(
          fs
            .readFileSync(path.join(h.work, 'logs', `${n}.log`))
            .subarray(marks[n])
            .toString('utf8'),
        ),
      }).toEqual({ n, log: true });
    expect(await identities()).toEqual(ids);
    const reclones = recloneCount(marks);
    expect(reclones).toBe(0);
    h.nodeCtl('start', before.leader);
    await waitFor(`${before.leader} back as a replica`, 120_000, async () =>
      (await h.members('primary')).some(
        (m) => m.name === before.leader && ['streaming', 'running'].includes(m.state) && m.role === 'replica',
      ),
    );
    await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    expect(status().healthy).toBe(true);
    timings.standbyPastTheForkMs = recoveryMs;
    record({
      fault: "source leader lost while dc1's replicas were behind the standby cluster, writes acknowledged",
      checked: `dc1 failed over without those writes; the standby leader rewound by Patroni onto the new timeline${replicasHow(dc2Replicas, restarted)}; the standby holds exactly what dc1 holds; nothing re-cloned`,
      acknowledged: writer.acked.length,
      lost: lostInDc1.length,
      promised: false,
      recoveryMs,
      reclones,
    });
  },
);

step(
  "3. the standby data center's etcd lost for 30 s while streaming: status names the lost DCS once it is older than ttl; the standby cluster keeps replaying or recovers when etcd is back; nothing re-cloned",
  async () => {
    const { value: before } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const ids = await identities();
    const marks = logMarks();
    const writer = new Writer(h, DC1[before.leader], 3_000_000, 'faults').start();
    let backAt = 0;
    const during: string[] = [];
    try {
      await waitFor('the writer acknowledges', 10_000, async () => writer.acked.length > 20);
      await h.stopEtcd('standby');
      const lostAt = now();
      while (now() - lostAt < 30_000) {
        await sleep(5_000);
        // what the standby cluster does without its DCS: does its standby leader still replay?
        const r = await h
          .sql<{ lsn: string }>(DC2[before.standbyLeader], 'select pg_last_wal_replay_lsn()::text as lsn')
          .catch((e: Error) => [{ lsn: `error: ${e.message}` }]);
        during.push(r[0].lsn);
        const s = status();
        during.push(s.healthy ? 'status healthy' : `status: ${s.problems.join(' / ')}`);
      }
      h.startEtcd(['standby']);
      await h.waitEtcd();
      backAt = now();
      await waitFor('dc2 linked again with its DCS back', 120_000, linkedOrWhy);
    } finally {
      await writer.stop();
    }
    const recoveryMs = now() - backAt;
    fs.writeFileSync(path.join(h.work, 'logs', 'etcd-loss-observations.log'), `${during.join('\n')}\n`);
    // status said so once the members' last contact with their DCS was older than ttl (20 s)
    expect(during.join('\n')).toMatch(/of dc2 (has|have) not reached dc2's DCS for \d+ s \(more than ttl, 20 s\)/);
    // and stops saying so once every member reached it again: streaming can resume before a member's
    // Patroni reconnects to etcd (its client backs off after the read timeouts), so this is waited for
    let dcsProblems: string[] = [];
    await waitFor('status without a DCS problem', 60_000, async () => {
      dcsProblems = status().problems.filter((p) => p.includes('DCS'));
      if (dcsProblems.length > 0) throw new Error(dcsProblems.join(' / '));
      return true;
    });
    expect(dcsProblems).toEqual([]);
    await waitFor(
      'every acknowledged write on the standby leader',
      60_000,
      async () => (await missingOn(DC2[(await standbyLeader())!], writer.acked)).length === 0,
    );
    expect(await identities()).toEqual(ids);
    const reclones = recloneCount(marks);
    expect(reclones).toBe(0);
    timings.standbyEtcdLossRecoveryMs = recoveryMs;
    record({
      fault: "standby data center's etcd lost for 30 s, writes running",
      checked:
        'status names the lost DCS once the last contact is older than ttl; the standby cluster relinks once etcd is back; every acknowledged write on it; nothing re-cloned',
      acknowledged: writer.acked.length,
      lost: 0,
      promised: true,
      recoveryMs,
      reclones,
    });
  },
);

/** The running value of a parameter on a member (SHOW, through SQL). */
async function setting(host: string, name: string): Promise<string> {
  return (await h.sql<{ v: string }>(host, `select current_setting('${name}') as v`))[0].v;
}

step(
  '4. a member down during `cdktf deploy`: the other members and the patch go through; once it is back, a re-deploy converges and the next plan is empty',
  async () => {
    const { value: before } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const down = Object.keys(DC2).find((n) => n !== before.standbyLeader)!;
    h.nodeCtl('stop', down);
    await waitFor(
      `${down} stopped`,
      60_000,
      async () => !(await h.members('standby')).some((m) => m.name === down && m.state === 'running'),
    );
    fs.mkdirSync(path.join(h.work, 'down'), { recursive: true });
    fs.writeFileSync(path.join(h.work, 'down', down), '');
    const t0 = now();
    let recoveryMs = 0;
    try {
      writeTopology((t) => (t.clusters.dc1.postgresql.parameters.work_mem = '8MB'));
      const res = await h.cdktfDeployAsync(['*'], 'member-down');
      // the deploy fails for the member it cannot start, and only for it
      expect(res.status).not.toBe(0);
      expect(res.output).toContain(`${down}: host down`);
      // every other member runs the new value (the DCS patch went through members that answer)
      for (const [name, host] of Object.entries({ ...DC1, ...DC2 }).filter(([n]) => n !== down)) {
        await waitFor(`work_mem 8MB on ${name}`, 60_000, async () => (await setting(host, 'work_mem')) === '8MB');
      }
      expect((await h.config('standby')).postgresql.parameters.work_mem).toBe('8MB');
    } finally {
      fs.rmSync(path.join(h.work, 'down', down), { force: true });
    }
    // the host is back: the next deploy starts it with its new file; then nothing is left to do
    const again = await h.cdktfDeployAsync(['*'], 'member-back');
    expect({ status: again.status, tail: again.status === 0 ? '' : again.output.slice(-3000) }).toEqual({
      status: 0,
      tail: '',
    });
    await waitFor('dc2 linked with all three members', 120_000, linkedOrWhy);
    recoveryMs = now() - t0;
    expect(await setting(DC2[down], 'work_mem')).toBe('8MB');
    expectEmptyPlans();
    record({
      fault: 'a standby member down during `cdktf deploy` (a parameter change)',
      checked:
        'the deploy fails for that member only; every other member and the DCS patch get the change; the member back, a re-deploy converges and the next plans are empty',
      acknowledged: 0,
      lost: 0,
      promised: true,
      recoveryMs,
      reclones: 0,
    });
  },
);

step(
  '5. `cdktf deploy` interrupted (SIGINT) in the middle of its apply: a re-deploy converges, the change applied once, the link intact',
  async () => {
    const { value: before } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const ids = await identities();
    const marks = logMarks();
    writeTopology((t) => (t.clusters.dc1.postgresql.parameters.work_mem = '12MB'));
    const cut = await h.cdktfDeployAsync(['*'], 'interrupted', '', topologyFile(), {
      when: /(Creating|Modifying|Destroying)\.\.\./,
    });
    expect(cut.interrupted).toBe(true);
    const t0 = now();
    const res = await h.cdktfDeployAsync(['*'], 'after-interrupt');
    expect({ status: res.status, tail: res.status === 0 ? '' : res.output.slice(-3000) }).toEqual({
      status: 0,
      tail: '',
    });
    for (const [name, host] of Object.entries({ ...DC1, ...DC2 })) {
      await waitFor(`work_mem 12MB on ${name}`, 60_000, async () => (await setting(host, 'work_mem')) === '12MB');
    }
    const { value: after } = await waitFor('dc2 linked', 120_000, linkedOrWhy);
    const recoveryMs = now() - t0;
    expect(after.leader).toBe(before.leader);
    expect(await identities()).toEqual(ids);
    expect(recloneCount(marks)).toBe(0);
    expectEmptyPlans();
    record({
      fault: '`cdktf deploy` interrupted (SIGINT) during its apply',
      checked:
        'the interrupted deploy stops; the next one converges: the change on every member once, the same leaders, nothing re-cloned, empty plans',
      acknowledged: 0,
      lost: 0,
      promised: true,
      recoveryMs,
      reclones: 0,
    });
  },
);

/** The link slot on a dc1 member, as pg_replication_slots has it. */
async function linkSlot(host: string): Promise<{ wal_status: string; active: boolean } | undefined> {
  return (
    await h.sql<{ wal_status: string; active: boolean }>(
      host,
      "select wal_status, active from pg_replication_slots where slot_name = 'standby_cluster_slot'",
    )
  )[0];
}

/** Waits (2 minutes at most) for every write `writer` acknowledged on `host`: how long, and how many are missing. */
async function allAcknowledgedOn(host: string, writer: Writer): Promise<{ ms: number; lost: number }> {
  const { ms } = await waitFor(
    'every acknowledged write on the standby leader',
    120_000,
    async () => (await missingOn(host, writer.acked)).length === 0,
  );
  return { ms, lost: (await missingOn(host, writer.acked)).length };
}

/**
 * dc1's slot limit small (max_slot_wal_keep_size 48MB, wal_keep_size 16MB, the least Patroni
 * passes on) or back to the suite's (256MB, 128MB): deployed, and in effect on `leader`.
 */
async function slotLimit(leader: string, small: boolean, label: string): Promise<void> {
  const [limit, keep] = small ? ['48MB', '16MB'] : ['256MB', '128MB'];
  writeTopology((t) =>
    Object.assign(t.clusters.dc1.postgresql.parameters, { max_slot_wal_keep_size: limit, wal_keep_size: keep }),
  );
  deployed(await h.cdktfDeployAsync(['*'], label));
  await waitFor(
    `max_slot_wal_keep_size ${limit} on the dc1 leader`,
    60_000,
    async () => (await setting(leader, 'max_slot_wal_keep_size')) === limit,
  );
}

/**
 * Cuts the link, then writes far more WAL than the slot may keep on the source leader at
 * `leader`, with checkpoints, until the link slot is invalidated (the link stays cut).
 */
async function cutUntilSlotLost(leader: string): Promise<void> {
  net('cut');
  await h.sql(leader, 'create table bulk(id bigint, pad text)');
  await waitFor('the link slot lost on the dc1 leader', 180_000, async () => {
    await h.sql(
      leader,
      'insert into bulk select g, repeat(md5(g::text), 32) from generate_series(1, 40000) g; truncate bulk; checkpoint',
    );
    return (await linkSlot(leader))?.wal_status === 'lost';
  });
  await h.sql(leader, 'drop table bulk');
}

step(
  '6. slot limit exceeded: with max_slot_wal_keep_size small and the link cut while dc1 writes, the slot is invalidated; status says so and names the re-seed; the re-seed through the stacks (refused while the link is healthy) brings dc2 back with every acknowledged write',
  async () => {
    const { value: before } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const ids = await identities();
    // a re-seed while the standby leader streams is refused, with nothing touched
    writeTopology((t) => (t.link.reseed = { cluster: 'dc2', generation: 1 }));
    const refused = await h.cdktfDeployAsync(['*'], 'reseed-refused');
    expect(refused.status).not.toBe(0);
    expect(refused.output).toMatch(
      /\[re-seed\] REFUSED: nothing to re-seed: dc2's standby leader \w+ streams from 10\.231\.1\.\d/,
    );
    expect(await identities()).toEqual(ids);
    expect((await linked())?.standbyLeader).toBe(before.standbyLeader);
    // the source keeps at most 48 MB of WAL for a slot, and 16 MB for anyone else (the least
    // Patroni passes on)
    writeTopology((t) => {
      delete t.link.reseed;
      Object.assign(t.clusters.dc1.postgresql.parameters, { max_slot_wal_keep_size: '48MB', wal_keep_size: '16MB' });
    });
    const limited = await h.cdktfDeployAsync(['*'], 'slot-limit');
    expect({ status: limited.status, tail: limited.status === 0 ? '' : limited.output.slice(-3000) }).toEqual({
      status: 0,
      tail: '',
    });
    await waitFor(
      'max_slot_wal_keep_size 48MB and wal_keep_size 16MB on the dc1 leader',
      60_000,
      async () =>
        (await setting(DC1[before.leader], 'max_slot_wal_keep_size')) === '48MB' &&
        (await setting(DC1[before.leader], 'wal_keep_size')) === '16MB',
    );
    const writer = new Writer(h, DC1[before.leader], 6_000_000, 'faults').start();
    let deployMs = 0;
    let res: { status: number; output: string } = { status: -1, output: '' };
    try {
      await waitFor('the writer acknowledges', 10_000, async () => writer.acked.length > 20);
      await cutUntilSlotLost(DC1[before.leader]);
      // status: unhealthy, the slot lost, and the way back named
      const during = status();
      expect(during.healthy).toBe(false);
      expect(during.problems.join('\n')).toContain(
        'the link slot standby_cluster_slot has wal_status lost: the source removed WAL the standby leader still needed, so it can no longer catch up by streaming; the way back is a re-seed of dc2 from dc1: set link.reseed: { cluster: dc2, generation: <a new number> } and deploy',
      );
      net('heal');
      // the link is back, the standby leader is not: the WAL it asks for is gone, so what dc1
      // acknowledged during the cut never reaches it (its receiver reconnects every 500 ms and
      // shows "streaming" for an instant each time)
      await sleep(15_000);
      expect((await missingOn(DC2[before.standbyLeader], writer.acked)).length).toBeGreaterThan(0);
      const log = fs.readFileSync(path.join(h.work, 'logs', `${before.standbyLeader}.log`), 'utf8');
      expect(log).toMatch(
        /requested WAL segment \S+ has already been removed|can no longer get changes from replication slot|replication slot "standby_cluster_slot" .*invalidated/,
      );
      expect(status().healthy).toBe(false);
      // the documented recovery: a re-seed of dc2, through the stacks, with the writer still running
      writeTopology((t) => (t.link.reseed = { cluster: 'dc2', generation: 1 }));
      const t0 = now();
      res = await h.cdktfDeployAsync(['*'], 'reseed');
      deployMs = now() - t0;
    } finally {
      net('heal');
      await writer.stop();
    }
    expect({ status: res.status, tail: res.status === 0 ? '' : res.output.slice(-4000) }).toEqual({
      status: 0,
      tail: '',
    });
    expect(res.output).toMatch(
      /\[re-seed\] .*the link slot standby_cluster_slot on dc1 is invalidated \(wal_status lost\): renewing it/,
    );
    expect(res.output).toMatch(/\[re-seed\] .*re-seeded in \d+ s: \w+ streams from 10\.231\.1\.\d+, \w+, \w+ from it/);
    const { value: after } = await waitFor('dc2 streaming from dc1 again', 120_000, linkedOrWhy);
    const { ms } = await waitFor(
      'every acknowledged write on the new standby leader',
      120_000,
      async () => (await missingOn(DC2[after.standbyLeader], writer.acked)).length === 0,
    );
    const lost = (await missingOn(DC2[after.standbyLeader], writer.acked)).length;
    expect((await linkSlot(DC1[after.leader]))?.active).toBe(true);
    // every dc2 member was cloned anew, its old data directory kept aside; dc1 untouched
    const now2 = await identities();
    for (const n of Object.keys(DC2)) {
      expect(now2[n]).not.toBe(ids[n]);
      expect(fs.existsSync(path.join(h.work, 'data', `${n}.reseed-1`, 'PG_VERSION'))).toBe(true);
    }
    for (const n of Object.keys(DC1)) expect(now2[n]).toBe(ids[n]);
    const healthy = await waitFor('status healthy after the re-seed', 60_000, async () =>
      status().healthy ? true : undefined,
    );
    expect(healthy.value).toBe(true);
    expectEmptyPlans();
    timings.reseedDeployMs = deployMs;
    record({
      fault:
        'slot limit exceeded (max_slot_wal_keep_size 48MB, link cut while dc1 writes), then a re-seed of dc2 through the stacks',
      checked:
        'the re-seed refused while the link is healthy; the slot invalidated (wal_status lost), status names the re-seed; the standby cannot stream after the heal; link.reseed: every dc2 member cloned anew (old data set aside), the slot renewed, every acknowledged write on dc2, empty plans after',
      acknowledged: writer.acked.length,
      lost,
      promised: true,
      recoveryMs: deployMs + ms,
      reclones: Object.keys(DC2).length,
    });
    // the re-seed leaves the topology: its steps leave the state, nothing runs; the limits go back
    writeTopology((t) => {
      delete t.link.reseed;
      Object.assign(t.clusters.dc1.postgresql.parameters, { max_slot_wal_keep_size: '256MB', wal_keep_size: '128MB' });
    });
    const back = await h.cdktfDeployAsync(['*'], 'reseed-removed');
    expect({ status: back.status, tail: back.status === 0 ? '' : back.output.slice(-3000) }).toEqual({
      status: 0,
      tail: '',
    });
    expect(back.output).not.toMatch(/\[re-seed\]/);
    expect(await identities()).toEqual(now2);
  },
);

step(
  "6b. the hybrid standby: with backup on both clusters, dc2's members stopped (its repository host up) while dc1 writes past the slot limit; started again, the standby leader catches up from its own data center's repository, without a clone, with every acknowledged write",
  async () => {
    const { value: before } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const ids = await identities();
    // the stanza steps ran with the first deploy: dc1's WAL reaches both data centers' repositories
    const segment = await switchedSegment(DC1[before.leader]);
    const { value: archived } = await waitFor(`${segment} archived in both repositories`, 120_000, async () => {
      const [a, b] = [archivedUpTo('dc1'), archivedUpTo('dc2')];
      return a && b && a >= segment && b >= segment ? { dc1: a, dc2: b } : undefined;
    });
    await slotLimit(DC1[before.leader], true, 'archive-slot-limit');
    const writer = new Writer(h, DC1[before.leader], 7_000_000, 'faults').start();
    let catchUpMs = 0;
    let ackedAtStart = 0;
    let restarted = before.standbyLeader;
    try {
      await waitFor('the writer acknowledges', 10_000, async () => writer.acked.length > 20);
      // the standby cluster's database hosts go away (maintenance, a reboot); its repository stays
      for (const n of Object.keys(DC2)) h.nodeCtl('halt', n);
      // far more WAL than the slot may keep, archived into both repositories, then checkpoints
      await h.sql(DC1[before.leader], 'create table bulk(id bigint, pad text)');
      await waitFor('the link slot lost on the dc1 leader, its WAL removed', 180_000, async () => {
        await h.sql(
          DC1[before.leader],
          'insert into bulk select g, repeat(md5(g::text), 32) from generate_series(1, 40000) g; truncate bulk; select pg_switch_wal(); checkpoint',
        );
        return (await linkSlot(DC1[before.leader]))?.wal_status === 'lost';
      });
      await h.sql(DC1[before.leader], 'drop table bulk');
      ackedAtStart = writer.acked.length;
      const startedAt = now();
      for (const n of Object.keys(DC2)) h.nodeCtl('start', n);
      // any member may take the standby leader's key after a restart of all of them
      const { value: leader } = await waitFor('a standby leader in dc2', 120_000, standbyLeader);
      restarted = leader;
      // the WAL it needs is gone from dc1: the standby leader reads it from dc2's repository
      await waitFor(
        'every write acknowledged before the restart on the standby leader',
        300_000,
        async () => (await missingOn(DC2[leader], writer.acked.slice(0, ackedAtStart))).length === 0,
      );
      catchUpMs = now() - startedAt;
    } finally {
      await writer.stop();
    }
    const log = fs.readFileSync(path.join(h.work, 'logs', `${restarted}.log`), 'utf8');
    expect(log).toMatch(/restored log file "[0-9A-F]{24}" from archive/);
    // streaming again through the slot: PostgreSQL 15 lets the standby take its invalidated
    // physical slot up again once the WAL at its position is there, and Patroni 4.1.4 recreates a
    // lost slot; PostgreSQL 16 and later refuse it, and Patroni 4.0 and earlier keep it lost, so
    // there a re-seed from the archive renews it (no member cloned)
    const streamsBack = platform.pgVersion < 16 || /^4\.(1\.([4-9]|\d\d)|[2-9])|^[5-9]\./.test(platform.patroniVersion);
    let renewal = 'the standby took the invalidated slot up again itself: no renewal needed';
    if (!streamsBack) {
      expect((await linkSlot(DC1[before.leader]))?.wal_status).toBe('lost');
      writeTopology((t) => (t.link.reseed = { cluster: 'dc2', generation: 1, from: 'archive' }));
      const t0 = now();
      const res = await h.cdktfDeployAsync(['*'], 'reseed-from-archive');
      deployed(res);
      expect(res.output).toMatch(/\[re-seed\] .*re-seeding dc2 \(generation 1\) from the archive: no member is cloned/);
      expect(res.output).toMatch(
        /\[re-seed\] .*back in \d+ s without a clone: \w+ caught up from the archive and streams from 10\.231\.1\.\d+/,
      );
      timings.reseedFromArchiveDeployMs = now() - t0;
      renewal = `a re-seed from the archive renewed it in ${Math.round(timings.reseedFromArchiveDeployMs / 100) / 10} s`;
      writeTopology((t) => delete t.link.reseed);
    }
    const { value: after } = await waitFor('dc2 streaming from dc1 again', 120_000, linkedOrWhy);
    expect((await linkSlot(DC1[after.leader]))?.wal_status).not.toBe('lost');
    const { ms, lost } = await allAcknowledgedOn(DC2[after.standbyLeader], writer);
    expect(await identities()).toEqual(ids);
    timings.archiveCatchUpMs = catchUpMs;
    record({
      fault:
        "the hybrid standby: dc2's members stopped while dc1 wrote past the slot limit (max_slot_wal_keep_size 48MB), then started",
      checked: `dc1 archives into both repositories (newest segment ${archived.dc1} in dc1's, ${archived.dc2} in dc2's); the slot invalidated and its WAL removed from dc1; started again, dc2's standby leader read the missing WAL from its own repository ("restored log file ... from archive"), every write acknowledged before the restart there after ${Math.round(catchUpMs / 100) / 10} s; streaming again through the slot (${renewal}); no member cloned`,
      acknowledged: writer.acked.length,
      lost,
      promised: true,
      recoveryMs: catchUpMs + ms,
      reclones: 0,
    });
    await slotLimit(DC1[after.leader], false, 'archive-limits-back');
    expectEmptyPlans();
  },
);

/** Bytes as whole MB, for the rows. */
const mb = (bytes: number): number => Math.round(bytes / 1048576);

/** Bytes that crossed between the data centers so far, both ways (the router's delay device). */
function linkBytes(): number {
  return Number(
    execFileSync('ip', ['netns', 'exec', `${NET}-rt`, 'cat', '/sys/class/net/wan/statistics/tx_bytes'], {
      encoding: 'utf8',
    }).trim(),
  );
}

/** pgbench's scale for the re-seed comparison (100: about 1.5 GB of tables and indexes). */
const RESEED_SCALE = Number(process.env.E2E_RESEED_SCALE ?? 100);

/**
 * A re-seed of the standby data center (dc2 unless a switchover made it dc1) whose members' data
 * is broken, by `from`: the deploy's time, the bytes that crossed the link during it, and the
 * replica method each member's Patroni log names.
 */
async function reseedWith(
  from: 'source' | 'backup',
  generation: number,
  writer: Writer,
): Promise<{ ms: number; bytes: number; methods: Record<string, string>; caughtUpMs: number; leader: string }> {
  const dc = other(source);
  const hosts = HOSTS[dc];
  // its data broken (pg_control gone, as on a failed disk): Patroni runs and answers, PostgreSQL
  // cannot start ("system ID is invalid; consider doing reinitialize")
  for (const n of Object.keys(hosts)) h.nodeCtl('halt', n);
  for (const n of Object.keys(hosts)) fs.rmSync(path.join(h.work, 'data', n, 'global', 'pg_control'));
  for (const n of Object.keys(hosts)) h.nodeCtl('start', n);
  await waitFor(`${dc} answering without a standby leader`, 60_000, async () => {
    const members = await h.members(CLUSTER[dc]);
    return members.length === 3 && !(await standbyLeader()) ? true : undefined;
  });
  const marks = logMarks();
  writeTopology((t) => (t.link.reseed = { cluster: dc, generation, from }));
  const bytes0 = linkBytes();
  const t0 = now();
  const res = await h.cdktfDeployAsync(['*'], `reseed-${dc}-from-${from}`);
  const ms = now() - t0;
  deployed(res);
  const bytes = linkBytes() - bytes0;
  expect(res.output).toMatch(
    new RegExp(
      `\\[re-seed\\] .*re-seeding ${dc} \\(generation \\d+\\) ${from === 'backup' ? "from the backup in its own data center's repository" : `from ${source}`}`,
    ),
  );
  const net = source === 'dc1' ? '1' : '2';
  expect(res.output).toMatch(
    new RegExp(`\\[re-seed\\] .*re-seeded in \\d+ s: \\w+ streams from 10\\.231\\.${net}\\.\\d+, \\w+, \\w+ from it`),
  );
  const { value: after } = await waitFor(`${dc} streaming from ${source} again`, 120_000, linkedOrWhy);
  // every write acknowledged by the end of the deploy (the writer goes on)
  const acked = writer.acked.slice();
  const { ms: caughtUpMs } = await waitFor(
    'every write acknowledged during the re-seed on the new standby leader',
    300_000,
    async () => (await missingOn(hosts[after.standbyLeader], acked)).length === 0,
  );
  // how each member was created, as its Patroni log says since the deploy began
  const methods: Record<string, string> = {};
  for (const n of Object.keys(hosts)) {
    const log = fs.readFileSync(path.join(h.work, 'logs', `${n}.log`), 'utf8').slice(marks[n] ?? 0);
    methods[n] = /replica has been created using (\w+)/.exec(log)?.[1] ?? 'none';
  }
  // the old data directories: removed here (the disk), as their owners would once the cluster is back
  for (const n of Object.keys(hosts))
    fs.rmSync(path.join(h.work, 'data', `${n}.reseed-${generation}`), { recursive: true, force: true });
  return { ms, bytes, methods, caughtUpMs, leader: after.standbyLeader };
}

/** A full backup from a standby (the user's schedule) on a data center's repository host: how long it took. */
function fullBackup(dc: Dc): number {
  const t0 = now();
  pgbackrest(dc, '--type=full', '--start-fast', '--backup-standby', 'backup');
  return now() - t0;
}

step(
  "6d. a re-seed from the backup against one by pg_basebackup across the link, on the same data (pgbench): dc2's data broken; each re-seed through the stacks with dc1 writing, its time and the bytes that crossed the link; nothing acknowledged lost",
  async () => {
    const { value: before } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const leader = DC1[before.leader];
    // the data: pgbench's tables on the source, streamed to dc2 and archived into both repositories
    const t0 = now();
    const [cmd, args] = h.pgbenchArgs(before.leader, ['-i', '-q', '-s', String(RESEED_SCALE)]);
    execFileSync(cmd, args, { stdio: 'pipe', timeout: 1_200_000 });
    const [{ bytes: dbBytes }] = await h.sql<{ bytes: string }>(leader, "select pg_database_size('postgres') as bytes");
    // its WAL archived into both repositories (the backup below waits for its own first segment)
    const segment = await switchedSegment(leader);
    await waitFor(`${segment} archived in both repositories`, 900_000, async () => {
      const [a, b] = [archivedUpTo('dc1'), archivedUpTo('dc2')];
      return a && b && a >= segment && b >= segment ? true : undefined;
    });
    const loadMs = now() - t0;
    // the user's schedule: a full backup into dc2's repository, copied from a dc2 standby
    const backupLinkBytes0 = linkBytes();
    const backupMs = fullBackup('dc2');
    const backupLinkBytes = linkBytes() - backupLinkBytes0;
    const writer = new Writer(h, leader, 4_000_000, 'faults').start();
    let source: Awaited<ReturnType<typeof reseedWith>>;
    let backup: Awaited<ReturnType<typeof reseedWith>>;
    try {
      await waitFor('the writer acknowledges', 10_000, async () => writer.acked.length > 20);
      source = await reseedWith('source', 1, writer);
      backup = await reseedWith('backup', 2, writer);
    } finally {
      await writer.stop();
    }
    const { value: after } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const { lost } = await allAcknowledgedOn(DC2[after.standbyLeader], writer);
    // a standby cluster's members clone by its standby_cluster block's methods: from the source,
    // pg_basebackup (the standby leader across the link, the others from it); from the backup,
    // every member restored from dc2's repository
    expect(Object.values(source.methods)).toEqual(['basebackup', 'basebackup', 'basebackup']);
    expect(Object.values(backup.methods).sort()).toEqual(['pgbackrest', 'pgbackrest', 'pgbackrest']);
    // the copy crossed the link once; the restore, the WAL since the backup only
    expect(source.bytes).toBeGreaterThan(Number(dbBytes));
    expect(backup.bytes).toBeLessThan(source.bytes / 4);
    writeTopology((t) => delete t.link.reseed);
    deployed(await h.cdktfDeployAsync(['*'], 'reseed-removed'));
    Object.assign(timings, {
      reseedDataBytes: Number(dbBytes),
      reseedLoadMs: loadMs,
      reseedBackupTakenMs: backupMs,
      reseedFromSourceMs: source.ms,
      reseedFromSourceLinkBytes: source.bytes,
      reseedFromBackupMs: backup.ms,
      reseedFromBackupLinkBytes: backup.bytes,
    });
    const line = (r: typeof source) =>
      `the deploy ${Math.round(r.ms / 100) / 10} s, ${mb(r.bytes)} MB across the link, members created by ${[...new Set(Object.values(r.methods))].join(', ')}`;
    for (const [r, fault] of [
      [
        source,
        `dc2's data broken (${mb(Number(dbBytes))} MB of pgbench data, scale ${RESEED_SCALE}), re-seeded by pg_basebackup across the link (from: source)`,
      ],
      [
        backup,
        `the same, re-seeded from the backup in dc2's repository (from: backup; a full backup taken before from a dc2 standby in ${Math.round(backupMs / 1000)} s, ${mb(backupLinkBytes)} MB across the link)`,
      ],
    ] as const)
      record({
        fault,
        checked: `${line(r)}; every acknowledged write on dc2`,
        acknowledged: writer.acked.length,
        lost,
        promised: true,
        recoveryMs: r.ms + r.caughtUpMs,
        reclones: Object.keys(DC2).length,
      });
    expectEmptyPlans();
  },
);

step(
  "6e. the standby re-created from its own repository after a planned switchover: a backup of each data center's repository, the switchover dc1 -> dc2 across the delay, then dc1's data broken and re-seeded from its backup: restored, the archive replayed across the timeline switch (the demoted source archived its last segment), streaming from dc2; nothing acknowledged lost",
  async () => {
    expect(source).toBe('dc1');
    await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    // the user's schedule: a full backup in each repository before the switchover
    const backupMs = fullBackup('dc1');
    fullBackup('dc2');
    await switchoverAcross('archiveSwitchover', 9_000_000);
    expect(source).toBe('dc2');
    const { value: before } = await waitFor('dc1 streaming from dc2', 120_000, linkedOrWhy);
    const [{ timeline }] = await h.sql<{ timeline: number }>(
      DC2[before.leader],
      'select timeline_id as timeline from pg_control_checkpoint()',
    );
    const writer = new Writer(h, DC2[before.leader], 9_600_000, 'faults').start();
    let r: Awaited<ReturnType<typeof reseedWith>>;
    try {
      await waitFor('the writer acknowledges', 10_000, async () => writer.acked.length > 20);
      r = await reseedWith('backup', 1, writer);
    } finally {
      await writer.stop();
    }
    const { value: after } = await waitFor('dc1 streaming from dc2', 120_000, linkedOrWhy);
    const { lost } = await allAcknowledgedOn(DC1[after.standbyLeader], writer);
    // every dc1 member restored from dc1's repository; the new standby leader on dc2's timeline
    expect(Object.values(r.methods)).toEqual(['pgbackrest', 'pgbackrest', 'pgbackrest']);
    const [{ tl }] = await h.sql<{ tl: number }>(
      DC1[after.standbyLeader],
      'select received_tli as tl from pg_stat_wal_receiver',
    );
    expect(Number(tl)).toBe(Number(timeline));
    const log = fs.readFileSync(path.join(h.work, 'logs', `${after.standbyLeader}.log`), 'utf8');
    expect(log).toMatch(/restored log file "0+[1-9A-F]+\.history" from archive/);
    writeTopology((t) => delete t.link.reseed);
    deployed(await h.cdktfDeployAsync(['*'], 'reseed-dc1-removed'));
    Object.assign(timings, { switchoverReseedFromBackupMs: r.ms, switchoverReseedLinkBytes: r.bytes });
    record({
      fault: `after a planned switchover dc1 -> dc2 (timeline ${timeline}), dc1's data broken and re-seeded from the backup in dc1's repository (taken before the switchover in ${Math.round(backupMs / 1000)} s)`,
      checked: `the deploy ${Math.round(r.ms / 100) / 10} s, ${mb(r.bytes)} MB across the link; every dc1 member restored by pgbackrest, the new standby leader replayed the archive across the timeline switch (the history file from the archive) and streams from dc2 on timeline ${timeline}; every acknowledged write on dc1`,
      acknowledged: writer.acked.length,
      lost,
      promised: true,
      recoveryMs: r.ms + r.caughtUpMs,
      reclones: Object.keys(DC1).length,
    });
    expectEmptyPlans();
  },
);

step(
  "6c. the link cut past the slot limit, with the archive: dc1 keeps every segment it could not archive into dc2's repository, whatever max_slot_wal_keep_size says; after the heal the backlog is archived and the standby streams again, no member cloned",
  async () => {
    const { value: before } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const ids = await identities();
    await slotLimit(DC1[before.leader], true, 'archive-cut-limit');
    const walMb = async () =>
      Number(
        (await h.sql<{ mb: string }>(DC1[before.leader], 'select sum(size) / 1048576 as mb from pg_ls_waldir()'))[0].mb,
      );
    const writer = new Writer(h, DC1[before.leader], 8_000_000, 'faults').start();
    let healedAt = 0;
    let kept = 0;
    try {
      await waitFor('the writer acknowledges', 10_000, async () => writer.acked.length > 20);
      await cutUntilSlotLost(DC1[before.leader]);
      // what the source holds for the archive it cannot reach: more than the slot's limit
      kept = await walMb();
      expect(kept).toBeGreaterThan(48);
      net('heal');
      healedAt = now();
    } finally {
      net('heal');
    }
    const { value: after } = await waitFor('dc2 streaming from dc1 again', 180_000, linkedOrWhy);
    const streamingMs = now() - healedAt;
    await writer.stop();
    const { ms, lost } = await allAcknowledgedOn(DC2[after.standbyLeader], writer);
    expect(await identities()).toEqual(ids);
    const segment = await switchedSegment(DC1[after.leader]);
    const { value: archived } = await waitFor(
      `the backlog up to ${segment} in both repositories`,
      120_000,
      async () => {
        const [a, b] = [archivedUpTo('dc1'), archivedUpTo('dc2')];
        return a && b && a >= segment && b >= segment ? b : undefined;
      },
    );
    timings.archiveCutStreamingMs = streamingMs;
    record({
      fault:
        'the link cut past the slot limit (max_slot_wal_keep_size 48MB) while dc1 writes, with the archive in both data centers',
      checked: `the slot invalidated, yet dc1 kept ${Math.round(kept)} MB of WAL (archive-push into dc2's repository failing); after the heal dc2 streamed again after ${Math.round(streamingMs / 100) / 10} s without a re-seed, every acknowledged write there, both repositories archived up to ${archived}; no member cloned`,
      acknowledged: writer.acked.length,
      lost,
      promised: true,
      recoveryMs: streamingMs + ms,
      reclones: 0,
    });
    await slotLimit(DC1[after.leader], false, 'archive-cut-limits-back');
  },
);

step(
  "8a. cross-DC latency: a planned promotion of dc2 across the delay (LINK_STATE=detached, deploy '*'), then undone: dc2 rejoined as dc1's standby (refused until its own writes are accepted as lost)",
  async () => {
    const { value: before } = await waitFor('dc2 streaming from dc1', 120_000, linkedOrWhy);
    const rows = Number((await h.sql<{ n: string }>(DC1[before.leader], 'select count(*) as n from faults'))[0].n);
    const t0 = now();
    const res = await h.cdktfDeployAsync(['*'], 'promotion', 'detached');
    expect({ status: res.status, tail: res.status === 0 ? '' : res.output.slice(-3000) }).toEqual({
      status: 0,
      tail: '',
    });
    expect(res.output).toContain('[promotion gate] passed');
    timings.delayedPromotionDeployMs = now() - t0;
    const { value: promoted } = await waitFor(
      'dc2 read-write',
      60_000,
      async () => (await h.members('standby')).find((m) => ['master', 'leader', 'primary'].includes(m.role))?.name,
    );
    expect(promoted).toBe(before.standbyLeader);
    await waitFor('dc2 takes a write', 60_000, async () =>
      h.sql(DC2[promoted], 'insert into faults(id) values (8500001)').then(
        () => true,
        () => false,
      ),
    );
    timings.delayedPromotionToFirstWriteMs = now() - t0;
    expect(Number((await h.sql<{ n: string }>(DC2[promoted], 'select count(*) as n from faults'))[0].n)).toBe(rows + 1);
    // undone: the link follows dc1 again; dc2's own write would go, so it is refused until accepted
    const marks = logMarks();
    const refused = await h.cdktfDeployAsync(['*'], 'undo-refused');
    expect(refused.status).not.toBe(0);
    expect(refused.output).toMatch(
      /dc2 is a primary \(promoted\) and the topology makes it follow dc1 again: rejoining it/,
    );
    expect(refused.output).toMatch(/REFUSED: rejoining dc2 throws away the \d+ bytes of WAL it wrote after/);
    expect((await h.members('standby')).find((m) => m.name === promoted)?.role).toMatch(/master|leader|primary/);
    writeTopology((t) => (t.link.roleChange = { acceptDataLoss: true }));
    const t1 = now();
    const undo = await h.cdktfDeployAsync(['*'], 'undo');
    expect({ status: undo.status, tail: undo.status === 0 ? '' : undo.output.slice(-3000) }).toEqual({
      status: 0,
      tail: '',
    });
    expect(undo.output).toMatch(/acceptDataLoss is set: \d+ bytes of dc2/);
    await waitFor('dc2 streaming from dc1 again', 120_000, linkedOrWhy);
    const undoMs = now() - t1;
    timings.promotionUndoneRejoinMs = undoMs;
    // every dc2 member has dc1's history: none has the row dc2 wrote while promoted
    for (const [name, host] of Object.entries(DC2)) {
      await waitFor(
        `${name} caught up with dc1`,
        60_000,
        async () => Number((await h.sql<{ n: string }>(host, 'select count(*) as n from faults'))[0].n) >= rows,
      );
      expect({ name, promotedWrite: (await h.sql(host, 'select 1 from faults where id = 8500001')).length }).toEqual({
        name,
        promotedWrite: 0,
      });
    }
    const reclones = recloneCount(marks);
    writeTopology((t) => delete t.link.roleChange);
    const tidy = await h.cdktfDeployAsync(['*'], 'undo-tidy');
    expect({ status: tidy.status, tail: tidy.status === 0 ? '' : tidy.output.slice(-3000) }).toEqual({
      status: 0,
      tail: '',
    });
    expectEmptyPlans();
    record({
      fault: 'planned promotion of dc2 across the 20 ms delay, then undone (dc2 rejoined as the standby of dc1)',
      checked:
        "the gate passed, dc2 promoted with every dc1 row and writable; following again: refused with the bytes dc2 wrote, then (acceptDataLoss) rewound, its replicas re-cloned from it, dc2's own write gone from every member, empty plans",
      acknowledged: rows,
      lost: 0,
      promised: true,
      recoveryMs: undoMs,
      reclones,
    });
  },
);

/**
 * A planned switchover from the source to the other data center across the delay, a writer on
 * each side: the old source's (refused once fenced) and the new source's (refused until it is
 * promoted); the first acknowledgement of the second after the last of the first is the write
 * gap. `figure` names the timings (delayedSwitchover, delayedSwitchback).
 */
async function switchoverAcross(figure: string, ids: number): Promise<void> {
  const from = source;
  const to = other(source);
  const { value: before } = await waitFor(`${to} streaming from ${from}`, 120_000, linkedOrWhy);
  const dirs = await identities();
  const marks = logMarks();
  const writer = new Writer(h, HOSTS[from][before.leader], ids, 'faults').start();
  const newWriter = new Writer(h, HOSTS[to][before.standbyLeader], ids + 500_000, 'faults').start();
  let res: { status: number; output: string } = { status: -1, output: '' };
  const t0 = now();
  try {
    await waitFor('the writer acknowledges', 10_000, async () => writer.acked.length > 20);
    writeTopology((t) => (t.link.source = to));
    res = await h.cdktfDeployAsync(['*'], figure);
    await writer.stop();
    if (res.status === 0)
      await waitFor(`the writer on ${to} acknowledges`, 30_000, async () => newWriter.acked.length > 5);
  } finally {
    await Promise.all([writer.stop(), newWriter.stop()]);
  }
  expect({ status: res.status, tail: res.status === 0 ? '' : res.output.slice(-3000) }).toEqual({
    status: 0,
    tail: '',
  });
  source = to;
  // Patroni 4.1 and later: the synchronous handoff; before 4.1 (an immediate stop) the soft fence
  const handoff = demotesCleanly(platform.patroniVersion);
  if (handoff) {
    expect(res.output).toMatch(
      new RegExp(`synchronous handoff: ${before.standbyLeader} is the synchronous standby of ${before.leader}`),
    );
    expect(res.output).not.toMatch(/soft fence:/);
  } else {
    expect(res.output).toMatch(
      new RegExp(
        `synchronous handoff not used: ${before.leader} runs Patroni ${platform.patroniVersion.replace(/\./g, '\\.')}`,
      ),
    );
    expect(res.output).toMatch(new RegExp(`soft fence: ${from} read-only, ${to} replayed its last write`));
  }
  const deployMs = now() - t0;
  timings[`${figure}WriteGapMs`] = newWriter.acked[0].at - writer.acked[writer.acked.length - 1].at;
  const fence = /is the primary \(leader \w+, timeline \d+\), (\d+) ms after the fence/.exec(res.output);
  if (fence) timings[`${figure}FenceToPrimaryMs`] = Number(fence[1]);
  const soft = /soft fence: .*, (\d+) ms/.exec(res.output);
  if (soft) timings[`${figure}SoftFenceMs`] = Number(soft[1]);
  const { value: after } = await waitFor(`${from} streaming from ${to}`, 120_000, linkedOrWhy);
  timings[`${figure}DeployMs`] = deployMs;
  timings[`${figure}OldSourceStreamingMs`] = now() - t0;
  const missing = await missingOn(HOSTS[to][after.leader], writer.acked);
  expect({ acked: writer.acked.length, missing }).toEqual({ acked: writer.acked.length, missing: [] });
  // the handoff is gone from both clusters' configuration
  for (const role of ['primary', 'standby'] as const) {
    const config = await h.config(role);
    expect({
      role,
      names: config.postgresql?.parameters?.synchronous_standby_names,
      marker: config.managed_by_patroni_standby_cdktf?.handoff,
    }).toEqual({ role, names: undefined, marker: undefined });
  }
  expect(await identities()).toEqual(dirs);
  const reclones = recloneCount(marks);
  expect(reclones).toBe(0);
  record({
    fault: `planned switchover ${from} -> ${to} across the ${DELAY_MS} ms delay, writes on ${from}`,
    checked: `${handoff ? `synchronous handoff (Patroni ${platform.patroniVersion})` : `soft fence (Patroni ${platform.patroniVersion}: no synchronous handoff before 4.1)`}, fence, promotion; every acknowledged write on ${to}; ${from} streams from ${to}; no synchronous_standby_names left; nothing re-cloned`,
    acknowledged: writer.acked.length,
    lost: missing.length,
    promised: true,
    recoveryMs: deployMs,
    reclones,
  });
}

step(
  '8. cross-DC latency: a planned switchover dc1 -> dc2 across the delay, a writer on each side: no acknowledged write lost, dc1 follows dc2, nothing re-cloned',
  () => switchoverAcross('delayedSwitchover', 8_000_000),
);

step(
  '8c. cross-DC latency: the switchback dc2 -> dc1 across the delay, a writer on each side: no acknowledged write lost, dc2 follows dc1, nothing re-cloned',
  () => switchoverAcross('delayedSwitchback', 8_100_000),
);

step(
  '7. promotion while the source data center is unreachable: the gate refuses; with promotion.disaster dc1 is promoted, the last known position printed, every write it had received kept',
  async () => {
    const { value: before } = await waitFor(`${other(source)} streaming from ${source}`, 120_000, linkedOrWhy);
    const target = other(source);
    const writer = new Writer(h, HOSTS[source][before.leader], 7_000_000, 'faults').start();
    let acked: { id: number }[] = [];
    try {
      await waitFor('the writer acknowledges', 10_000, async () => writer.acked.length > 50);
      net('isolate', source);
    } finally {
      await writer.stop();
      acked = writer.acked;
    }
    try {
      // what the standby leader had received when the source went away
      const received = await h.sql<{ id: string }>(
        HOSTS[target][before.standbyLeader],
        'select id from faults where id >= 7000000',
      );
      // the runbook: the standby's stack alone (the source's cannot be reached anyway)
      const refused = await h.cdktfDeployAsync(
        [target, '--ignore-missing-stack-dependencies'],
        'promotion-refused',
        'detached',
      );
      expect(refused.status).not.toBe(0);
      expect(refused.output).toMatch(/\[promotion gate\] REFUSED/);
      expect(await standbyLeader()).toBe(before.standbyLeader);
      writeTopology((t) => (t.link.promotion = { disaster: true }));
      const t0 = now();
      const res = await h.cdktfDeployAsync(
        [target, '--ignore-missing-stack-dependencies'],
        'promotion-disaster',
        'detached',
      );
      expect({ status: res.status, tail: res.status === 0 ? '' : res.output.slice(-3000) }).toEqual({
        status: 0,
        tail: '',
      });
      expect(res.output).toMatch(/disaster promotion declared/);
      expect(res.output).toMatch(/last known gap: the standby leader received up to \d+\/[0-9A-F]+/);
      const { value: promoted } = await waitFor(
        `${target} read-write`,
        60_000,
        async () =>
          (await h.members(CLUSTER[target])).find((m) => ['master', 'leader', 'primary'].includes(m.role))?.name,
      );
      await waitFor(`${target} takes a write`, 60_000, async () =>
        h.sql(HOSTS[target][promoted], 'insert into faults(id) values (7999999)').then(
          () => true,
          () => false,
        ),
      );
      const recoveryMs = now() - t0;
      const have = new Set(
        (await h.sql<{ id: string }>(HOSTS[target][promoted], 'select id from faults where id >= 7000000')).map(
          (r) => r.id,
        ),
      );
      expect(received.filter((r) => !have.has(r.id))).toEqual([]);
      const lost = acked.filter((a) => !have.has(String(a.id))).length;
      timings.disasterPromotionToFirstWriteMs = recoveryMs;
      record({
        fault: 'promotion while the source data center is unreachable (writes running until it went)',
        checked:
          'the gate refuses; with promotion.disaster the standby is promoted, the last known position printed; every write the standby had received is there',
        acknowledged: acked.length,
        lost,
        promised: false,
        recoveryMs,
        reclones: 0,
      });
    } finally {
      net('restore', source);
    }
  },
);

step(
  '9. a delayed standby (link.recoveryMinApplyDelay: 30s): a row written on the source reaches the standby leader after the delay, not before, and its replicas at once; status reports the delay as configured, not as lag; a promotion of it is refused at synth unless acknowledged',
  async () => {
    const to = other(source);
    const { value: before } = await waitFor(`${to} streaming from ${source}`, 120_000, linkedOrWhy);
    const marks = logMarks();
    const sl = HOSTS[to][before.standbyLeader];
    writeTopology((t) => (t.link.recoveryMinApplyDelay = '30s'));
    deployed(await h.cdktfDeployAsync(['*'], 'delayed-standby'));
    await waitFor('the standby leader runs the delay', 60_000, async () =>
      (await setting(sl, 'recovery_min_apply_delay').catch(() => '')) === '30s' ? true : undefined,
    );
    await waitFor(`${to} streaming from ${source}`, 120_000, linkedOrWhy);
    const id = 9_000_001;
    await h.sql(HOSTS[source][before.leader], `insert into faults(id) values (${id})`);
    const committed = now();
    const has = async (host: string) =>
      (await h.sql(host, `select 1 from faults where id = ${id}`).catch(() => [])).length === 1;
    // Patroni gives the delay to the standby leader alone: its replicas replay what it received at once
    const replicas = Object.keys(HOSTS[to]).filter((n) => n !== before.standbyLeader);
    const { value: onReplicasMs } = await waitFor('the row on the replicas', 20_000, async () =>
      (await Promise.all(replicas.map((n) => has(HOSTS[to][n])))).every(Boolean) ? now() - committed : undefined,
    );
    // status, while the standby leader holds the row back: the delay as configured, no lag
    const { value: during } = await waitFor(
      'status with the standby leader caught up on what it received',
      15_000,
      async () => {
        const r = status();
        const n = r.nodes.find((x) => x.member === before.standbyLeader) as (typeof r.nodes)[number] & {
          applyDelayMs: number | null;
        };
        return n && n.lagBytes === 0 ? { r, n } : undefined;
      },
    );
    expect(await has(sl)).toBe(false);
    expect({ healthy: during.r.healthy, problems: during.r.problems, applyDelayMs: during.n.applyDelayMs }).toEqual({
      healthy: true,
      problems: [],
      applyDelayMs: 30000,
    });
    const text = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'ops', 'status.js')], {
      cwd: ROOT,
      env: { ...process.env, TOPOLOGY: topologyFile(), LINK_STATE: '', PGPASSWORD: MONITOR_PASSWORD },
      encoding: 'utf8',
    });
    expect(text.stdout).toContain(
      `Replay on ${before.standbyLeader} delayed on purpose: recovery_min_apply_delay 30 s (link.recoveryMinApplyDelay)`,
    );
    const { value: appliedMs } = await waitFor('the row on the standby leader', 60_000, async () =>
      (await has(sl)) ? now() - committed : undefined,
    );
    expect(onReplicasMs).toBeLessThan(10_000);
    expect(appliedMs).toBeGreaterThanOrEqual(29_500);
    expect(appliedMs).toBeLessThan(45_000);
    timings.delayedStandbyReplicasMs = onReplicasMs;
    timings.delayedStandbyAppliedMs = appliedMs;
    // a promotion of it: refused at synth, the plan never made
    expect(() => h.synth(topologyFile(), path.join(h.work, 'synth-delayed'), 'detached')).toThrow(
      /link\.state: promotes a delayed standby \(recoveryMinApplyDelay 30s\)[^]*delayed-standby-promotion/,
    );
    writeTopology((t) => delete t.link.recoveryMinApplyDelay);
    deployed(await h.cdktfDeployAsync(['*'], 'delayed-standby-off'));
    await waitFor('the delay gone', 60_000, async () =>
      (await setting(sl, 'recovery_min_apply_delay').catch(() => '')) === '0' ? true : undefined,
    );
    await waitFor(`${to} streaming from ${source}`, 120_000, linkedOrWhy);
    const reclones = recloneCount(marks);
    expect(reclones).toBe(0);
    record({
      fault: 'a delayed standby (link.recoveryMinApplyDelay: 30s), a row written on the source',
      checked: `the row on ${to}'s replicas after ${(onReplicasMs / 1000).toFixed(1)} s, on its standby leader after ${(appliedMs / 1000).toFixed(1)} s (not before the delay); status healthy, the delay reported as configured, no lag; a promotion of it refused at synth; the delay removed by a deploy`,
      acknowledged: 1,
      lost: 0,
      promised: true,
      recoveryMs: null,
      reclones,
    });
  },
);

/**
 * The fault suite on a platform: the faults named by `keys` (the numbers of their titles), in
 * that order, after the deploy (0). The full suite on Patroni 3.0.2 runs them all
 * (two-dc.test.ts); another platform runs the role changes across the delay.
 */
export function twoDcSuite(
  on: Platform,
  keys: readonly string[],
  name = 'reliability',
  opts: { archive?: boolean } = {},
): void {
  // the archive suite's steps load and copy gigabytes (the re-seed comparison)
  jest.setTimeout(opts.archive ? 1_500_000 : 300_000);
  platform = on;
  recordName = name;
  withArchive = opts.archive === true;
  h = new Harness(LAYOUT, 'cdktf', on);
  const steps = suiteSteps(h);
  failed = steps.failed;

  beforeAll(() => {
    checkPrerequisites('cdktf', on);
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
    h.setup();
    net('down');
    net('up', String(DELAY_MS));
    if (withArchive) {
      if (!fs.existsSync(`${on.root ?? ''}/usr/bin/pgbackrest`))
        throw new Error(
          `${on.root ?? ''}/usr/bin/pgbackrest is missing: run the README's test command, which installs it`,
        );
      archiveSetup();
      if (on.root) rootRunuser(on.root);
    }
    const t = twoDcTopology();
    // the clusters: layout (stacks dc1 and dc2), so that a switchover is a change of link.source
    topology = { clusters: { dc1: t.primary, dc2: t.standby }, link: { ...t.link, source: 'dc1' } };
    writeTopology();
  });

  afterAll(async () => {
    if (pathBefore !== undefined) process.env.PATH = pathBefore;
    await h.teardown(process.env.E2E_KEEP_WORK === '1');
    net('down');
    // the role changes across the delay, per platform and program, for BENCHMARKS.md's medians
    const roleChanges = Object.fromEntries(
      Object.entries(timings).filter(([k]) => /^delayedSwitch(over|back)/.test(k)),
    );
    recordTimings(
      'fault-suite',
      { switchoverProgram: roleChangeProgram(), platform: platform.name },
      roleChanges,
      !failed(),
    );
    if (rows.length > 0 && failed()) process.stderr.write(`fault suite failed after ${rows.length} faults\n`);
  });

  for (const key of ['0', ...keys]) {
    const fault = FAULTS.find((f) => f.key === key);
    if (!fault) throw new Error(`the fault suite has no fault ${key}`);
    steps.step(fault.title, fault.run);
  }
}
