/**
 * The article's own case: a primary cluster that runs already, started here from a hand-written
 * patroni.yml and never deployed by the stacks, gets a standby cluster in another data center.
 * The existing cluster has no slot, its own pg_hba (a line of its own and a reject line) and its
 * own parameters; the stacks add the link (the slot, the standby members' lines before its reject
 * line) and nothing else. Real etcd, Patroni 3.0.2, PostgreSQL 15 and Terraform.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import {
  ADMIN_ADDRESS,
  checkPrerequisites,
  Harness,
  MONITOR_PASSWORD,
  PASSWORDS,
  ROOT,
  SECRETS,
  suiteSteps,
  waitFor,
} from './harness';

const LEGACY = { x1: '127.0.5.1' };
const DR = { y1: '127.0.6.1', y2: '127.0.6.2' };
const h = new Harness({ primary: LEGACY, standby: DR, etcd: { primary: '127.0.5.10', standby: '127.0.6.10' } });
const { step } = suiteSteps(h);
jest.setTimeout(300_000);

/** The existing cluster's pg_hba, as its operators wrote it: the order matters, the reject line ends it. */
const LEGACY_HBA = [
  'local all postgres peer',
  'local replication replicator peer map=replicamap',
  // on one machine every loopback client (its own replicas' and the standby's) arrives from 127.0.0.1
  'host replication replicator 127.0.0.1/32 scram-sha-256',
  'host all postgres 127.0.9.9/32 scram-sha-256',
  'host all monitor 127.0.0.1/32 scram-sha-256',
  'host ledger ledger_app 10.44.0.0/16 scram-sha-256',
  'host all all 0.0.0.0/0 reject',
];
const LEGACY_PARAMETERS = {
  max_connections: 60,
  max_wal_senders: 10,
  max_replication_slots: 10,
  wal_keep_size: '64MB',
  shared_buffers: '32MB',
  work_mem: '12MB',
  log_min_duration_statement: 250,
  wal_log_hints: 'on',
};
const LINK_SLOT = 'dr_link';

const out = () => path.join(h.work, 'cdktf.out');
const stackDir = (name: string) => path.join(out(), 'stacks', name);
const legacyFile = () => path.join(h.work, 'cfg', 'x1.yml');
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The existing node's configuration, written by hand (not rendered by this project). */
function legacyPatroniYml(): string {
  const w = h.work;
  return stringify(
    {
      scope: 'ledger',
      namespace: '/legacy/',
      name: 'x1',
      restapi: { listen: '127.0.5.1:8008', connect_address: '127.0.5.1:8008', authentication: { username: 'ops' } },
      etcd3: { hosts: '127.0.5.10:2379' },
      bootstrap: {
        dcs: {
          ttl: 20,
          loop_wait: 2,
          retry_timeout: 5,
          postgresql: {
            use_pg_rewind: true,
            use_slots: true,
            parameters: LEGACY_PARAMETERS,
            pg_hba: LEGACY_HBA,
            pg_ident: ['replicamap postgres replicator'],
          },
        },
        initdb: [{ encoding: 'UTF8' }, 'data-checksums', { locale: 'C.UTF-8' }],
      },
      postgresql: {
        listen: '127.0.5.1:5432',
        connect_address: '127.0.5.1:5432',
        data_dir: `${w}/data/x1`,
        use_unix_socket: true,
        bin_dir: '/usr/lib/postgresql/15/bin',
        pgpass: `${w}/pgpass/x1`,
        authentication: {
          superuser: { username: 'postgres' },
          replication: { username: 'replicator' },
          rewind: { username: 'rewinder' },
        },
        parameters: { unix_socket_directories: `${w}/sock/x1` },
      },
      watchdog: { mode: 'off' },
      tags: { nofailover: false },
      // PyYAML reads YAML 1.1: 'on' must stay a string
    },
    { version: '1.1' },
  );
}

/** The stacks' topology: the existing primary as it is (its whole pg_hba restated), a managed standby. */
function topology(): Record<string, unknown> {
  const w = h.work;
  const ctl = path.join(w, 'node-ctl.sh');
  const node = (name: string, host: string) => ({
    name,
    host,
    overrides: {
      postgresql: {
        data_dir: `${w}/data/${name}`,
        pgpass: `${w}/pgpass/${name}`,
        parameters: { unix_socket_directories: `${w}/sock/${name}` },
      },
    },
  });
  return {
    primary: {
      mode: 'existing',
      scope: 'ledger',
      namespace: '/legacy/',
      dcs: { type: 'etcd3', hosts: ['127.0.5.10:2379'] },
      nodes: [{ name: 'x1', host: LEGACY.x1 }],
      postgresql: { version: 15, pgHba: LEGACY_HBA },
      patroni: { restApiUsername: 'ops' },
      deploy: { patchTimeoutSeconds: 60 },
    },
    standby: {
      scope: 'ledger',
      namespace: '/dr/',
      dcs: { type: 'etcd3', hosts: ['127.0.6.10:2379'] },
      nodes: Object.entries(DR).map(([n, a]) => node(n, a)),
      postgresql: {
        version: 15,
        binDir: '/usr/lib/postgresql/15/bin',
        initdb: [{ encoding: 'UTF8' }, 'data-checksums', { locale: 'C.UTF-8' }],
        parameters: { ...LEGACY_PARAMETERS, wal_receiver_status_interval: '1s' },
        pgHba: [
          'local all postgres peer',
          'local replication replicator peer map=replicamap',
          'host replication replicator 127.0.0.1/32 scram-sha-256',
          'host postgres rewinder 127.0.0.1/32 scram-sha-256',
          `host all postgres ${ADMIN_ADDRESS}/32 scram-sha-256`,
        ],
      },
      patroni: {
        ttl: 20,
        loopWait: 2,
        retryTimeout: 5,
        watchdog: 'off',
        restApiUsername: 'patroni',
        restApiPasswordEnv: 'PATRONI_RESTAPI_PASSWORD_DC2',
      },
      deploy: {
        transport: 'local',
        configPath: `${w}/cfg/{name}.yml`,
        startCommand: `${ctl} start {name}`,
        reloadCommand: `${ctl} reload {name}`,
        statusCommand: `${ctl} status {name}`,
        patchTimeoutSeconds: 120,
        secrets: { envFile: `${w}/secrets/{name}.env` },
      },
    },
    link: {
      state: 'following',
      slotName: LINK_SLOT,
      createReplicaMethods: ['basebackup'],
      monitoring: { user: 'monitor', addresses: ['127.0.0.1/32'] },
    },
  };
}

beforeAll(async () => {
  checkPrerequisites();
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  h.setup();
  fs.writeFileSync(path.join(h.work, 'topology.yaml'), stringify(topology()));
  h.startEtcd();
  await h.waitEtcd();
}, 120_000);

afterAll(async () => {
  await h.teardown(process.env.E2E_KEEP_WORK === '1');
}, 120_000);

let legacySha = '';

step(
  'the existing primary: started by hand from its own patroni.yml, no slot, its own pg_hba and parameters',
  async () => {
    fs.writeFileSync(legacyFile(), legacyPatroniYml());
    // its operators' env file (the stacks never write this one)
    const env = Object.entries({ ...PASSWORDS })
      .map(([k, v]) => `${k}='${v}'`)
      .join('\n');
    fs.writeFileSync(path.join(h.work, 'secrets', 'x1.env'), `${env}\n`, { mode: 0o600 });
    legacySha = sha256(legacyFile());
    h.nodeCtl('start', 'x1');
    await waitFor('x1 is the leader of ledger', 90_000, async () =>
      (await h.members('primary')).find(
        (m) => m.name === 'x1' && ['master', 'leader', 'primary'].includes(m.role) && m.state === 'running',
      )
        ? true
        : undefined,
    );
    await h.sql(LEGACY.x1, `create role monitor login password '${MONITOR_PASSWORD}' in role pg_monitor`);
    await h.sql(LEGACY.x1, 'create table ledger(id int primary key, note text)');
    await h.sql(LEGACY.x1, "insert into ledger values (1, 'before the standby existed')");
    const config = await h.config('primary');
    expect(config.slots).toBeUndefined();
    expect(config.postgresql.pg_hba).toEqual(LEGACY_HBA);
  },
);

step('the stacks add the link: the standby cluster streams through the new slot, rows arrive', async () => {
  h.synth(path.join(h.work, 'topology.yaml'), out());
  // the existing primary's stack holds only the link patch, its link-slots step (which runs nothing
  // while it is the source) and the role change: no member resource
  const json = JSON.parse(fs.readFileSync(path.join(stackDir('primary'), 'cdk.tf.json'), 'utf8'));
  expect(Object.keys(json.resource.terraform_data)).toEqual([
    expect.stringMatching(/^cluster_dcs-patch_apply_/),
    expect.stringMatching(/^cluster_link-slots_apply_/),
    expect.stringMatching(/^cluster_role_apply_/),
  ]);
  const deploy = h.cdktfDeploy(['*'], 'link');
  expect({ status: deploy.status, tail: deploy.status === 0 ? '' : deploy.output.slice(-3000) }).toEqual({
    status: 0,
    tail: '',
  });
  await waitFor('a standby leader and a replica, both streaming', 120_000, async () => {
    const m = await h.members('standby');
    return m.length === 2 &&
      m.some((x) => x.role === 'standby_leader' && ['running', 'streaming'].includes(x.state)) &&
      m.every((x) => ['running', 'streaming'].includes(x.state))
      ? true
      : undefined;
  });
  await waitFor(`the slot ${LINK_SLOT} active on x1`, 60_000, async () => {
    const rows = await h.sql<{ active: boolean }>(
      LEGACY.x1,
      `select active from pg_replication_slots where slot_name = '${LINK_SLOT}'`,
    );
    return rows[0]?.active === true ? true : undefined;
  });
  await h.sql(LEGACY.x1, "insert into ledger values (2, 'after the link')");
  for (const host of Object.values(DR)) {
    await waitFor(`both rows on ${host}`, 30_000, async () => {
      const rows = await h.sql<{ n: number }>(host, 'select count(*)::int as n from ledger');
      return rows[0]?.n === 2 ? true : undefined;
    });
  }
});

step(
  "what the existing cluster had survives: its pg_hba lines in order, its parameters, its file; the link's lines sit before its reject line",
  async () => {
    const config = await h.config('primary');
    const hba: string[] = config.postgresql.pg_hba;
    const standbyLines = Object.values(DR).flatMap((a) => [`host replication replicator ${a}/32 scram-sha-256`]);
    // every line of its own, in its order
    expect(hba.filter((l) => LEGACY_HBA.includes(l))).toEqual(LEGACY_HBA);
    // the link's lines for the standby members, before the reject line (which would not refuse
    // replication, but a later line of theirs might be a catch-all reject for replication too)
    const reject = hba.indexOf('host all all 0.0.0.0/0 reject');
    for (const line of standbyLines) {
      expect(hba).toContain(line);
      expect(hba.indexOf(line)).toBeLessThan(reject);
    }
    expect(hba.at(-1)).toBe('host all all 0.0.0.0/0 reject');
    // on disk too: the member wrote the same list into pg_hba.conf
    const onDisk = (
      await h.sql<{ line: string }>(
        LEGACY.x1,
        "select type || ' ' || array_to_string(database, ',') || ' ' || array_to_string(user_name, ',') as line from pg_hba_file_rules",
      )
    ).map((r) => r.line);
    expect(onDisk).toContain('host ledger ledger_app');
    // its parameters: none removed, none changed (the project owns no parameter of an existing cluster)
    for (const [k, v] of Object.entries(LEGACY_PARAMETERS))
      expect(String(config.postgresql.parameters[k])).toBe(String(v));
    const running = await h.sql<{ work_mem: string; lmds: string }>(
      LEGACY.x1,
      "select current_setting('work_mem') as work_mem, current_setting('log_min_duration_statement') as lmds",
    );
    expect(running).toEqual([{ work_mem: '12MB', lmds: '250ms' }]);
    // the slot is the link's, and the only one
    expect(config.slots).toEqual({ [LINK_SLOT]: { type: 'physical' } });
    // its hand-written file is untouched, and no project file appeared beside it
    expect(sha256(legacyFile())).toBe(legacySha);
    expect(fs.readdirSync(path.join(h.work, 'cfg')).filter((f) => f.startsWith('x1'))).toEqual(['x1.yml']);
    // an outsider address is still refused by its own reject line
    expect(await h.connectFrom('127.0.3.98', LEGACY.x1, 'monitor', MONITOR_PASSWORD)).toMatch(
      /pg_hba\.conf rejects connection for host "127\.0\.3\.98"/,
    );
    // status sees one healthy link
    const { code, report } = h.status();
    expect({ code, problems: report.problems }).toEqual({ code: 0, problems: [] });
    // and a second deploy plans nothing on either stack
    expect(h.planExitCode(stackDir('primary'), 'primary')).toBe(0);
    expect(h.planExitCode(stackDir('standby'), 'standby')).toBe(0);
  },
);

step(
  "the existing cluster's own change to its pg_hba, restated in the topology, is applied; one it does not restate is refused at synth",
  async () => {
    const topo = parse(fs.readFileSync(path.join(h.work, 'topology.yaml'), 'utf8'));
    const added = 'host ledger report_app 10.45.0.0/16 scram-sha-256';
    topo.primary.postgresql.pgHba = [...LEGACY_HBA.slice(0, -1), added, LEGACY_HBA.at(-1)];
    fs.writeFileSync(path.join(h.work, 'topology.yaml'), stringify(topo));
    const deploy = h.cdktfDeploy(['primary'], 'legacy-line');
    expect({ status: deploy.status, tail: deploy.status === 0 ? '' : deploy.output.slice(-3000) }).toEqual({
      status: 0,
      tail: '',
    });
    const hba: string[] = (await h.config('primary')).postgresql.pg_hba;
    expect(hba.indexOf(added)).toBeGreaterThan(hba.indexOf('host ledger ledger_app 10.44.0.0/16 scram-sha-256'));
    expect(hba.indexOf(added)).toBeLessThan(hba.indexOf('host all all 0.0.0.0/0 reject'));
    // without pgHba, the stacks would replace the whole list: refused before anything is planned
    delete topo.primary.postgresql.pgHba;
    const bad = path.join(h.work, 'no-hba.yaml');
    fs.writeFileSync(bad, stringify(topo));
    expect(() => h.synth(bad, path.join(h.work, 'cdktf.out.bad'))).toThrow(
      /primary\.postgresql\.pgHba: is required for an existing cluster/,
    );
    expect(fs.existsSync(path.join(h.work, 'cdktf.out.bad', 'stacks'))).toBe(false);
    expect(sha256(legacyFile())).toBe(legacySha);
  },
);

step('secrets: no password in the stacks, plans, state or logs', async () => {
  const hits: string[] = [];
  const searched: string[] = [];
  const search = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        // not the nodes' own secrets: env files, pgpass files, data and DCS directories
        if (!['.terraform', 'data', 'etcd', 'secrets', 'pgpass', 'sock'].includes(e.name)) search(p);
      } else if (e.isFile()) {
        searched.push(path.relative(h.work, p));
        const text = fs.readFileSync(p).toString('latin1');
        for (const pw of SECRETS) if (text.includes(pw)) hits.push(`${p}: ${pw.slice(0, 8)}...`);
      }
    }
  };
  search(h.work);
  // Patroni's logs (with PostgreSQL's output), etcd's, Terraform's and the CLI's, the state and the stacks
  expect(searched).toEqual(
    expect.arrayContaining([
      'logs/x1.log',
      'logs/y1.log',
      'logs/y2.log',
      'logs/cdktf-link.log',
      'terraform.primary.tfstate',
      'terraform.standby.tfstate',
      'cdktf.out/stacks/standby/cdk.tf.json',
      'topology.yaml',
    ]),
  );
  expect(hits).toEqual([]);
  expect(fs.existsSync(path.join(ROOT, 'cdktf.out', 'stacks', 'ledger'))).toBe(false);
});
