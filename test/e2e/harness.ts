/**
 * End-to-end harness: a work directory, two etcd processes, the project's own synth and
 * Terraform, SQL through `pg`, and cleanup of every process it started (by pid).
 * Everything listens on loopback addresses only.
 */
import { createHash } from 'node:crypto';
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { makePki, Pki } from '../support/pki';

export const ROOT = path.resolve(__dirname, '..', '..');
export const PASSWORDS = {
  PATRONI_SUPERUSER_PASSWORD: 'e2e-Super-7d1f0c',
  PATRONI_REPLICATION_PASSWORD: 'e2e-Repl-93ab42',
  PATRONI_REWIND_PASSWORD: 'e2e-Rewind-5e66c1',
  PATRONI_RESTAPI_PASSWORD: 'e2e-Rest-4c2d9a',
};
/** The standby data center's REST API password: each data center has its own. */
export const DC2_RESTAPI_PASSWORD = 'e2e-Rest-dc2-81f7e3';
/** The monitoring role's password (link.monitoring.user): status and the gate connect with it. */
export const MONITOR_PASSWORD = 'e2e-Monitor-2b7e55';
/**
 * The secured DCS (HarnessOptions.securedDcs): each data center's etcd user `patroni` has its own
 * password, which the pipeline holds in ETCD_PASSWORD_DC1 / _DC2 (the topology's passwordEnv) and
 * hands to the deploy as TF_VAR_etcd_password_dc1 / _dc2; etcd's root user administers it.
 */
export const ETCD_PASSWORDS = { primary: 'e2e-Etcd-dc1-6a0f3e', standby: 'e2e-Etcd-dc2-c47b19' };
export const ETCD_ROOT_PASSWORD = 'e2e-EtcdRoot-95d2ab';
/** Every secret the suite hands out, for the secret search. */
export const SECRETS = [
  ...Object.values(PASSWORDS),
  DC2_RESTAPI_PASSWORD,
  MONITOR_PASSWORD,
  ...Object.values(ETCD_PASSWORDS),
  ETCD_ROOT_PASSWORD,
];
/**
 * The test's own administration client connects from this loopback address, the only one that the
 * topology's pg_hba admits the superuser from over TCP; status and the gate come from 127.0.0.1.
 */
export const ADMIN_ADDRESS = '127.0.9.9';
export const PRIMARY = { p1: '127.0.1.1', p2: '127.0.1.2', p3: '127.0.1.3' } as Record<string, string>;
export const STANDBY = { s1: '127.0.2.1', s2: '127.0.2.2', s3: '127.0.2.3' } as Record<string, string>;
const ETCD = { primary: '127.0.1.10', standby: '127.0.2.10' };

/** Where a suite's two clusters and their etcd listen (loopback addresses, or two data centers). */
export interface Layout {
  readonly primary: Record<string, string>;
  readonly standby: Record<string, string>;
  readonly etcd: { readonly primary: string; readonly standby: string };
  /** The address the test's own clients (SQL as the superuser, the writers) connect from. */
  readonly admin?: string;
  /** The network namespace each cluster's servers run in (scripts/two-dc-net.sh), if any. */
  readonly namespaces?: { readonly primary: string; readonly standby: string };
}
export const WALKTHROUGH_LAYOUT: Layout = { primary: PRIMARY, standby: STANDBY, etcd: ETCD };

const TF_ENV = { TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', NO_COLOR: '1' };

/** The role-change program's name for the figures it produced: the hash of its two source files. */
export function roleChangeProgram(): string {
  return ['role-change.ts', 'cluster-io.ts']
    .reduce((hash, f) => hash.update(fs.readFileSync(path.join(ROOT, 'runtime', f))), createHash('sha256'))
    .digest('hex')
    .slice(0, 12);
}

export function now(): number {
  return Number(process.hrtime.bigint() / 1000000n);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a truthy value; returns it and the time it took. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false | null>,
): Promise<{ value: T; ms: number }> {
  const t0 = now();
  let lastError = '';
  while (now() - t0 < timeoutMs) {
    try {
      const value = await check();
      if (value) return { value, ms: now() - t0 };
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`,
  );
}

/**
 * A `pg` client whose socket is bound to the loopback address `source`, so the server's pg_hba
 * sees that address (on one machine every client would otherwise come from 127.0.0.1).
 */
export function clientFrom(
  source: string,
  target: string,
  user: string,
  password: string,
  extra: Record<string, unknown> = {},
): Client {
  const stream = () => {
    const socket = new net.Socket();
    const connect = socket.connect.bind(socket) as (o: net.TcpSocketConnectOpts) => net.Socket;
    (socket as unknown as { connect: (port: number, host: string) => net.Socket }).connect = (
      port: number,
      host: string,
    ) => connect({ port, host, localAddress: source });
    return socket;
  };
  return new Client({ host: target, port: 5432, user, password, database: 'postgres', stream, ...extra } as never);
}

/**
 * Appends one run's timings to the ignored bench/out/e2e-timings.json (`npm run bench:report`
 * copies the runs into the tracked bench/e2e-timings.json and BENCHMARKS.md).
 */
export function recordTimings(
  suite: string,
  config: Record<string, string>,
  timingsMs: Record<string, number>,
  passed: boolean,
): void {
  if (Object.keys(timingsMs).length === 0) return;
  const file = path.join(ROOT, 'bench', 'out', 'e2e-timings.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tracked = path.join(ROOT, 'bench', 'e2e-timings.json');
  const from = fs.existsSync(file) ? file : tracked;
  const runs = fs.existsSync(from) ? (JSON.parse(fs.readFileSync(from, 'utf8')).runs ?? []) : [];
  runs.push({ suite, config, timingsMs, passed });
  fs.writeFileSync(
    file,
    `${JSON.stringify({ machine: '2 cores, loopback, patroni 3.0.2, etcd 3.4, PostgreSQL 15', runs: runs.slice(-60) }, null, 2)}\n`,
  );
}

/**
 * A suite's steps: each runs only when every earlier one passed (later steps build on their
 * state), and a failing step prints the logs and both member lists.
 */
export function suiteSteps(h: Harness): {
  step: (name: string, fn: () => Promise<void>) => void;
  failed: () => boolean;
} {
  let failed = false;
  const step = (name: string, fn: () => Promise<void>): void => {
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
  };
  return { step, failed: () => failed };
}

/** The CLI a suite deploys with: cdktf, or CDK Terrain's cdktn. */
export type Cli = 'cdktf' | 'cdktn';

/**
 * The Node.js that runs cdktn-cli 0.24 (it requires >= 22.19): CDKTN_NODE, which the README's test
 * command sets when the machine's node is older, or this one when it is recent enough.
 */
export function cdktnNode(): string | undefined {
  if (process.env.CDKTN_NODE) return process.env.CDKTN_NODE;
  const [major, minor] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 19) ? process.execPath : undefined;
}

/**
 * Where a suite's Patroni, PostgreSQL and etcd come from: this machine's packages (Debian 12:
 * Patroni 3.0.2, PostgreSQL 15, etcd 3.4), or a Debian root (scripts/debian-root.sh: Debian 13's
 * Patroni 4.0.7, PostgreSQL 17, etcd 3.5; Debian forky's Patroni 4.1.5, PostgreSQL 18, etcd 3.5)
 * that every server runs in through test/e2e/in-root.sh, sharing this machine's network.
 */
export interface Platform {
  readonly name: string;
  readonly root?: string;
  readonly pgVersion: number;
  /** What the members' `GET /patroni` reports: Patroni's version and the server's major version. */
  readonly patroniVersion: string;
}
export const DEBIAN12: Platform = {
  name: 'patroni 3.0.2, etcd 3.4, PostgreSQL 15',
  pgVersion: 15,
  patroniVersion: '3.0.2',
};
export function debian13(): Platform {
  return {
    name: 'patroni 4.0.7, etcd 3.5, PostgreSQL 17 (Debian 13 root)',
    root: process.env.DEBIAN13_ROOT || path.join(ROOT, '.tools', 'debian13'),
    pgVersion: 17,
    patroniVersion: '4.0.7',
  };
}
export function forky(): Platform {
  return {
    name: 'patroni 4.1.5, etcd 3.5, PostgreSQL 18 (Debian forky root)',
    root: process.env.FORKY_ROOT || path.join(ROOT, '.tools', 'forky'),
    pgVersion: 18,
    patroniVersion: '4.1.5',
  };
}

/** Fails (never skips) when something the suite needs is missing. */
export function checkPrerequisites(cli: Cli = 'cdktf', platform: Platform = DEBIAN12): void {
  const missing: string[] = [];
  if (cli === 'cdktn' && !cdktnNode()) missing.push('Node.js >= 22.19 for cdktn-cli (CDKTN_NODE)');
  const base = platform.root ?? '';
  for (const bin of [
    '/usr/bin/patroni',
    '/usr/bin/patronictl',
    '/usr/bin/etcd',
    `/usr/lib/postgresql/${platform.pgVersion}/bin/postgres`,
  ]) {
    if (!fs.existsSync(`${base}${bin}`)) missing.push(`${base}${bin}`);
  }
  if (spawnSync('terraform', ['version'], { stdio: 'ignore' }).status !== 0) missing.push('terraform');
  if (process.getuid?.() !== 0) missing.push('root (Patroni is started as the postgres user through setpriv)');
  if (missing.length > 0) {
    throw new Error(
      `end-to-end prerequisites missing: ${missing.join(', ')}. Run the README's test command, which installs them.`,
    );
  }
}

/** The part of `npm run status --json` the suite reads. */
export interface StatusReport {
  healthy: boolean;
  problems: string[];
  state: string;
  source: { leader: string | null; currentLsn: string | null };
  standby: { leader: string | null };
  nodes: {
    cluster: string;
    member: string;
    role: string;
    lagBytes: number | null;
    lagSeconds: number | null;
    timeline: number | null;
  }[];
  slot: { present: boolean; active?: boolean; walStatus?: string } | null;
}

export interface HarnessOptions {
  /**
   * Each cluster's etcd on https only, requiring client certificates (`--client-cert-auth`) from
   * the suite's CA, with authentication on: the topology's dcs gets protocol https, the CA, the
   * nodes' client certificate and key (tls/ in the work directory) and the user `patroni`, whose
   * password comes from the pipeline (passwordEnv: ETCD_PASSWORD_DC1 / _DC2) through the env file.
   */
  readonly securedDcs?: boolean;
}

/** The pipeline's variable of each cluster's etcd password (the topology's dcs.passwordEnv) with securedDcs. */
export const ETCD_PASSWORD_ENVS = { primary: 'ETCD_PASSWORD_DC1', standby: 'ETCD_PASSWORD_DC2' };

export class Harness {
  readonly work: string;
  private readonly etcdPids = new Map<string, number>();
  /** securedDcs: the suite's CA, etcd's server certificate and the nodes' client certificate. */
  private pki?: Pki & { readonly nodeCert: string; readonly nodeKey: string };
  /** securedDcs: the etcd servers whose authentication is on already. */
  private readonly etcdAuthOn = new Set<string>();

  constructor(
    readonly layout: Layout = WALKTHROUGH_LAYOUT,
    readonly cli: Cli = 'cdktf',
    readonly platform: Platform = DEBIAN12,
    readonly options: HarnessOptions = {},
  ) {
    this.work = fs.mkdtempSync(path.join(os.tmpdir(), 'patroni-e2e-'));
  }

  setup(): void {
    const w = this.work;
    fs.chmodSync(w, 0o755);
    for (const d of ['cfg', 'logs', 'pids', 'secrets', 'etcd']) fs.mkdirSync(path.join(w, d), { recursive: true });
    execFileSync('install', [
      '-d',
      '-o',
      'postgres',
      '-g',
      'postgres',
      '-m',
      '700',
      `${w}/data`,
      `${w}/sock`,
      `${w}/pgpass`,
    ]);
    for (const script of ['node-ctl.sh', 'in-root.sh']) {
      fs.copyFileSync(path.join(__dirname, script), path.join(w, script));
      fs.chmodSync(path.join(w, script), 0o755);
    }
    // node-ctl.sh starts Patroni in the platform's root, if it has one
    const ns = this.layout.namespaces;
    const nodeNs = ns
      ? [
          ...Object.keys(this.layout.primary).map((n) => `NS_${n}='${ns.primary}'`),
          ...Object.keys(this.layout.standby).map((n) => `NS_${n}='${ns.standby}'`),
        ]
      : [];
    fs.writeFileSync(path.join(w, 'platform.env'), [`ROOTFS='${this.platform.root ?? ''}'`, ...nodeNs, ''].join('\n'));
    // no env file here: the deploy writes each node's from the pipeline's ephemeral variables
    fs.writeFileSync(path.join(w, 'terraformrc'), '');
    if (this.options.securedDcs) this.makeDcsPki();
    fs.writeFileSync(path.join(w, 'topology.yaml'), this.topologyText());
  }

  /**
   * securedDcs: a throw-away CA, etcd's server certificate for both etcd addresses, and the nodes'
   * client certificate, which carries no Common Name: with client-cert-auth and authentication on,
   * etcd refuses a gRPC-gateway request (Patroni's etcd3 client uses the gateway) whose client
   * certificate has one. The CA, certificate and key go where the topology says (tls/), owned by
   * the Patroni user, mode 600.
   */
  private makeDcsPki(): void {
    const dir = path.join(this.work, 'pki');
    fs.mkdirSync(dir, { recursive: true });
    const pki = makePki(dir, Object.values(this.layout.etcd));
    const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(['req', ...ec, '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/O=patroni-e2e-node']);
    const sign = ['-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2'];
    openssl(['x509', '-req', '-in', 'node.csr', ...sign, '-out', 'node.pem']);
    fs.mkdirSync(path.join(this.work, 'tls'), { recursive: true });
    for (const [from, to] of [
      [pki.ca, 'ca.pem'],
      [path.join(dir, 'node.pem'), 'dcs-client.pem'],
      [path.join(dir, 'node.key'), 'dcs-client.key'],
    ]) {
      execFileSync('install', ['-o', 'postgres', '-g', 'postgres', '-m', '600', from, path.join(this.work, 'tls', to)]);
    }
    this.pki = { ...pki, nodeCert: path.join(dir, 'node.pem'), nodeKey: path.join(dir, 'node.key') };
  }

  topologyText(): string {
    const text = fs
      .readFileSync(path.join(__dirname, 'topology.template.yaml'), 'utf8')
      .replace(/@WORK@/g, this.work)
      .replace(/@CTL@/g, path.join(this.work, 'node-ctl.sh'))
      .replace(/version: 15\n/, `version: ${this.platform.pgVersion}\n`)
      .replace(/postgresql\/15\/bin/g, `postgresql/${this.platform.pgVersion}/bin`);
    if (!this.options.securedDcs) return text;
    // each cluster's etcd on https with the nodes' client certificate, and its own user's password
    return text.replace(/dcs: \{ type: etcd3, hosts: \['([0-9.]+):2379'\] \}/g, (_m, ip: string) => {
      const cluster = ip === this.layout.etcd.primary ? 'primary' : 'standby';
      const dcs = {
        type: 'etcd3',
        hosts: [`${ip}:2379`],
        protocol: 'https',
        cacert: path.join(this.work, 'tls', 'ca.pem'),
        cert: path.join(this.work, 'tls', 'dcs-client.pem'),
        key: path.join(this.work, 'tls', 'dcs-client.key'),
        username: 'patroni',
        passwordEnv: ETCD_PASSWORD_ENVS[cluster],
      };
      return `dcs: ${JSON.stringify(dcs)}`;
    });
  }

  /**
   * etcdctl against a cluster's etcd (securedDcs): the CA always, the nodes' client certificate
   * unless `cert` is false, and a user (`name:password`) when given. Never logged: a password is
   * on its command line.
   */
  etcdctl(
    cluster: 'primary' | 'standby',
    args: string[],
    opts: { cert?: boolean; user?: string; timeoutMs?: number } = {},
  ): { status: number; output: string } {
    const pki = this.pki!;
    const res = spawnSync(
      ...this.inNamespace(
        cluster,
        ...this.onPlatform('etcdctl', [
          '--endpoints',
          `https://${this.layout.etcd[cluster]}:2379`,
          '--cacert',
          pki.ca,
          ...(opts.cert === false ? [] : ['--cert', pki.nodeCert, '--key', pki.nodeKey]),
          ...(opts.user ? ['--user', opts.user] : []),
          '--dial-timeout',
          '3s',
          '--command-timeout',
          '10s',
          ...args,
        ]),
      ),
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: opts.timeoutMs ?? 30_000 },
    );
    return { status: res.status ?? -1, output: `${res.stdout ?? ''}${res.stderr ?? ''}` };
  }

  /**
   * securedDcs: authentication on in a cluster's etcd, once: the root user, and the user `patroni`
   * with a role that reads and writes the keys below /service/ (the topology's namespace) only.
   */
  private enableEtcdAuth(cluster: 'primary' | 'standby'): void {
    if (this.etcdAuthOn.has(cluster)) return;
    for (const args of [
      ['user', 'add', `root:${ETCD_ROOT_PASSWORD}`],
      ['user', 'grant-role', 'root', 'root'],
      ['user', 'add', `patroni:${ETCD_PASSWORDS[cluster]}`],
      ['role', 'add', 'patroni'],
      ['role', 'grant-permission', 'patroni', '--prefix=true', 'readwrite', '/service/'],
      ['user', 'grant-role', 'patroni', 'patroni'],
      ['auth', 'enable'],
    ]) {
      const res = this.etcdctl(cluster, args);
      if (res.status !== 0) throw new Error(`etcdctl ${args.slice(0, 2).join(' ')} failed: ${res.output}`);
    }
    this.etcdAuthOn.add(cluster);
  }

  /** A command line run in a cluster's network namespace, if the layout has them. */
  inNamespace(cluster: 'primary' | 'standby', cmd: string, args: string[]): [string, string[]] {
    const ns = this.layout.namespaces?.[cluster];
    return ns ? ['ip', ['netns', 'exec', ns, cmd, ...args]] : [cmd, args];
  }

  /** A command line run on the platform: as it is, or inside its root (in-root.sh). */
  onPlatform(cmd: string, args: string[]): [string, string[]] {
    return this.platform.root
      ? [path.join(this.work, 'in-root.sh'), [this.platform.root, this.work, cmd, ...args]]
      : [cmd, args];
  }

  /** Starts the clusters' etcd (each its own, on its data directory in the work directory). */
  startEtcd(which: ('primary' | 'standby')[] = ['primary', 'standby']): void {
    for (const [name, ip] of Object.entries(this.layout.etcd).filter(([n]) =>
      which.includes(n as 'primary' | 'standby'),
    )) {
      const log = fs.openSync(path.join(this.work, 'logs', `etcd-${name}.log`), 'a');
      // securedDcs: clients on https only, with a certificate of the suite's CA
      const scheme = this.options.securedDcs ? 'https' : 'http';
      const tls = this.options.securedDcs
        ? [
            '--cert-file',
            this.pki!.serverCert,
            '--key-file',
            this.pki!.serverKey,
            '--trusted-ca-file',
            this.pki!.ca,
            '--client-cert-auth',
          ]
        : [];
      const child = spawn(
        ...this.inNamespace(
          name as 'primary' | 'standby',
          ...this.onPlatform('etcd', [
            '--name',
            name,
            '--data-dir',
            path.join(this.work, 'etcd', name),
            '--listen-client-urls',
            `${scheme}://${ip}:2379`,
            '--advertise-client-urls',
            `${scheme}://${ip}:2379`,
            ...tls,
            '--listen-peer-urls',
            `http://${ip}:2380`,
            '--initial-advertise-peer-urls',
            `http://${ip}:2380`,
            '--initial-cluster',
            `${name}=http://${ip}:2380`,
            '--initial-cluster-state',
            'new',
            '--logger',
            'zap',
            '--log-level',
            'warn',
          ]),
        ),
        { stdio: ['ignore', log, log], detached: true },
      );
      this.etcdPids.set(name, child.pid!);
      child.unref();
    }
  }

  /** Stops one cluster's etcd (SIGKILL: the data center loses it), by the pid this harness started. */
  async stopEtcd(cluster: 'primary' | 'standby'): Promise<void> {
    const pid = this.etcdPids.get(cluster);
    if (pid === undefined || !this.alive(pid)) return;
    process.kill(pid, 'SIGKILL');
    while (this.alive(pid)) await sleep(50);
  }

  async waitEtcd(): Promise<void> {
    if (this.options.securedDcs) {
      // https with a client certificate: etcdctl; then authentication on (once per etcd)
      for (const cluster of ['primary', 'standby'] as const) {
        await waitFor(
          `etcd on ${this.layout.etcd[cluster]} (https, client certificate)`,
          30000,
          async () =>
            this.etcdctl(cluster, ['endpoint', 'health'], {
              user: this.etcdAuthOn.has(cluster) ? `root:${ETCD_ROOT_PASSWORD}` : undefined,
            }).status === 0,
        );
        this.enableEtcdAuth(cluster);
      }
      return;
    }
    for (const ip of Object.values(this.layout.etcd)) {
      await waitFor(`etcd on ${ip}`, 30000, async () => (await fetch(`http://${ip}:2379/health`)).ok);
    }
  }

  /** The project's own app, as the cdktf CLI runs it (cdktf.json's command). */
  synth(topologyFile: string, outdir: string, linkState?: string): void {
    const res = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'app.cjs')], {
      cwd: ROOT,
      env: { ...process.env, TOPOLOGY: topologyFile, CDKTF_OUTDIR: outdir, LINK_STATE: linkState ?? '' },
      encoding: 'utf8',
    });
    if (res.status !== 0) throw new Error(`synth failed: ${res.stderr}`);
  }

  /**
   * The deploying pipeline's environment: the REST API password for the patches and the
   * database password for the gate (as PGPASSWORD). No NODE_PATH: the stacks' programs are
   * bundled and need nothing but node (this suite's cdktf.out lives outside the project).
   */
  private tfEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      ...TF_ENV,
      TF_CLI_CONFIG_FILE: path.join(this.work, 'terraformrc'),
      PATRONI_RESTAPI_PASSWORD: PASSWORDS.PATRONI_RESTAPI_PASSWORD,
      PATRONI_RESTAPI_PASSWORD_DC2: DC2_RESTAPI_PASSWORD,
      PGPASSWORD: MONITOR_PASSWORD,
      // deploy.secrets: Terraform's ephemeral variables, written into each node's env file
      TF_VAR_patroni_superuser_password: PASSWORDS.PATRONI_SUPERUSER_PASSWORD,
      TF_VAR_patroni_replication_password: PASSWORDS.PATRONI_REPLICATION_PASSWORD,
      TF_VAR_patroni_rewind_password: PASSWORDS.PATRONI_REWIND_PASSWORD,
      TF_VAR_patroni_restapi_password: PASSWORDS.PATRONI_RESTAPI_PASSWORD,
      TF_VAR_patroni_restapi_password_dc2: DC2_RESTAPI_PASSWORD,
      // securedDcs: each cluster's etcd password (dcs.passwordEnv), for its nodes' env files
      ...(this.options.securedDcs
        ? {
            TF_VAR_etcd_password_dc1: ETCD_PASSWORDS.primary,
            TF_VAR_etcd_password_dc2: ETCD_PASSWORDS.standby,
          }
        : {}),
    };
  }

  /** `npm run status` as an operator runs it (JSON), with the monitoring role's password in PGPASSWORD. */
  status(linkState = '', npm = false, extraEnv: NodeJS.ProcessEnv = {}): { code: number; report: StatusReport } {
    const env = {
      ...process.env,
      TOPOLOGY: path.join(this.work, 'topology.yaml'),
      LINK_STATE: linkState,
      PGPASSWORD: MONITOR_PASSWORD,
      ...extraEnv,
    };
    const res = npm
      ? spawnSync('npm', ['run', '--silent', 'status', '--json'], { cwd: ROOT, env, encoding: 'utf8' })
      : spawnSync(process.execPath, [path.join(ROOT, 'dist', 'ops', 'status.js'), '--json'], {
          cwd: ROOT,
          env,
          encoding: 'utf8',
        });
    fs.appendFileSync(path.join(this.work, 'logs', 'status.log'), `${res.stdout}${res.stderr}\n`);
    try {
      return { code: res.status ?? -1, report: JSON.parse(res.stdout) as StatusReport };
    } catch {
      throw new Error(`status printed no JSON (exit ${res.status}): ${res.stdout}${res.stderr}`);
    }
  }

  /**
   * Connects to `target` FROM the loopback address `source` (the client socket is bound to it),
   * so the server's pg_hba sees that address and its /32 lines match for real on one machine.
   * Resolves to 'admitted' or to the server's refusal message.
   */
  async connectFrom(
    source: string,
    target: string,
    user: string,
    password: string,
    opts: { database?: string; replication?: boolean } = {},
  ): Promise<string> {
    const client = clientFrom(source, target, user, password, {
      replication: opts.replication ? 'true' : undefined,
      database: opts.database ?? 'postgres',
      connectionTimeoutMillis: 3000,
    });
    try {
      await client.connect();
      await client.query(opts.replication ? 'IDENTIFY_SYSTEM' : 'select 1');
      return 'admitted';
    } catch (err) {
      return (err as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Runs terraform in a stack folder; output goes to a log file that the secret test can search. */
  terraform(stackDir: string, args: string[], label: string): { status: number; output: string } {
    const res = spawnSync('terraform', args, {
      cwd: stackDir,
      env: this.tfEnv(),
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const output = `${res.stdout}${res.stderr}`;
    fs.appendFileSync(
      path.join(this.work, 'logs', `terraform-${label}.log`),
      `$ terraform ${args.join(' ')}\n${output}\n`,
    );
    return { status: res.status ?? -1, output };
  }

  /** The same, without blocking the event loop (to measure while it runs). */
  terraformAsync(stackDir: string, args: string[], label: string): Promise<{ status: number; output: string }> {
    return new Promise((resolve) => {
      const child: ChildProcess = spawn('terraform', args, { cwd: stackDir, env: this.tfEnv() });
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      child.on('close', (code) => {
        fs.appendFileSync(
          path.join(this.work, 'logs', `terraform-${label}.log`),
          `$ terraform ${args.join(' ')}\n${output}\n`,
        );
        resolve({ status: code ?? -1, output });
      });
    });
  }

  apply(stackDir: string, label: string): void {
    const init = this.terraform(stackDir, ['init', '-input=false'], label);
    if (init.status !== 0) throw new Error(`terraform init failed in ${stackDir}:\n${init.output}`);
    const res = this.terraform(stackDir, ['apply', '-auto-approve', '-input=false'], label);
    if (res.status !== 0) throw new Error(`terraform apply failed in ${stackDir}:\n${res.output.slice(-4000)}`);
  }

  /**
   * `cdktf deploy` as a pipeline runs it (the cdktf CLI synthesizes the app and applies the named
   * stacks in its dependency order), with the suite's topology and LINK_STATE.
   */
  cdktfDeploy(
    stacks: string[],
    label: string,
    linkState = '',
    topologyFile = path.join(this.work, 'topology.yaml'),
  ): { status: number; output: string } {
    const { cli, args, env } = this.cdktfCommand(stacks, linkState, topologyFile);
    const res = spawnSync(cli, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 300_000 });
    return this.logCdktf(label, args, `${res.stdout}${res.stderr}`, res.status ?? -1);
  }

  /**
   * The same, without blocking the event loop (writers and probes keep running meanwhile). With
   * `interrupt`, the deploy gets SIGINT (its whole process group, as Ctrl-C or a cancelled CI job
   * sends it) once its output matches `interrupt.when`.
   */
  cdktfDeployAsync(
    stacks: string[],
    label: string,
    linkState = '',
    topologyFile = path.join(this.work, 'topology.yaml'),
    interrupt?: { when: RegExp },
  ): Promise<{ status: number; output: string; interrupted?: boolean }> {
    const { cli, args, env } = this.cdktfCommand(stacks, linkState, topologyFile);
    return new Promise((resolve) => {
      const child = spawn(cli, args, { cwd: ROOT, env, detached: Boolean(interrupt) });
      let output = '';
      let interrupted = false;
      // the output as it comes, so that a deploy that hangs shows where
      const live = path.join(this.work, 'logs', `${this.cli}-${label}.live.log`);
      fs.writeFileSync(live, `$ ${this.cli} ${args.join(' ')}\n`);
      const seen = (d: Buffer) => {
        output += d;
        fs.appendFileSync(live, d);
        if (interrupt && !interrupted && interrupt.when.test(output)) {
          interrupted = true;
          process.kill(-child.pid!, 'SIGINT');
        }
      };
      child.stdout!.on('data', seen);
      child.stderr!.on('data', seen);
      child.on('close', (code) => resolve({ ...this.logCdktf(label, args, output, code ?? -1), interrupted }));
    });
  }

  /**
   * `cdktf deploy` as another runner would run it: its own working copy's cdktf.out (`outdir`),
   * the topology file of its own checkout, and what its environment adds (`env`: a remote state's
   * connection, the lock timeout). Non-blocking, as cdktfDeployAsync.
   */
  runnerDeploy(
    runner: { readonly name: string; readonly outdir: string; readonly env?: NodeJS.ProcessEnv },
    stacks: string[],
    label: string,
    topologyFile: string,
  ): Promise<{ status: number; output: string }> {
    const { cli, args, env } = this.cdktfCommand(stacks, '', topologyFile);
    const out = args.indexOf('--output');
    args[out + 1] = runner.outdir;
    const runEnv = { ...env, ...runner.env, CDKTF_OUTDIR: runner.outdir };
    return new Promise((resolve) => {
      const child = spawn(cli, args, { cwd: ROOT, env: runEnv });
      let output = '';
      const live = path.join(this.work, 'logs', `${this.cli}-${runner.name}-${label}.live.log`);
      fs.writeFileSync(live, `$ ${this.cli} ${args.join(' ')}\n`);
      const seen = (d: Buffer) => {
        output += d;
        fs.appendFileSync(live, d);
      };
      child.stdout!.on('data', seen);
      child.stderr!.on('data', seen);
      child.on('close', (code) => resolve(this.logCdktf(`${runner.name}-${label}`, args, output, code ?? -1)));
    });
  }

  /**
   * The deploy command line. cdktf: the app compiled by the build. cdktn: cdktn-cli on Node.js 22
   * (first on PATH, so the app runs on it too), the app built on the cdktn core by scripts/app.cjs.
   */
  private cdktfCommand(
    stacks: string[],
    linkState: string,
    topologyFile: string,
  ): { cli: string; args: string[]; env: NodeJS.ProcessEnv } {
    const cli = path.join(ROOT, 'node_modules', '.bin', this.cli);
    const app =
      this.cli === 'cdktn'
        ? `node ${path.join(ROOT, 'scripts', 'app.cjs')} --cdktn`
        : `${process.execPath} ${path.join(ROOT, 'dist', 'main.js')}`;
    const args = [
      'deploy',
      ...stacks,
      '--auto-approve',
      '--no-color',
      '--app',
      app,
      '--output',
      path.join(this.work, 'cdktf.out'),
    ];
    const env: NodeJS.ProcessEnv = {
      ...this.tfEnv(),
      TOPOLOGY: topologyFile,
      LINK_STATE: linkState,
      CDKTF_OUTDIR: path.join(this.work, 'cdktf.out'),
      DISABLE_VERSION_CHECK: 'true',
      CDKTF_DISABLE_PLUGIN_CACHE_ENV: 'true',
      CI: '1',
    };
    if (this.cli === 'cdktn') env.PATH = `${path.dirname(cdktnNode()!)}${path.delimiter}${process.env.PATH}`;
    return { cli, args, env };
  }

  private logCdktf(label: string, args: string[], output: string, status: number): { status: number; output: string } {
    fs.appendFileSync(
      path.join(this.work, 'logs', `${this.cli}-${label}.log`),
      `$ ${this.cli} ${args.join(' ')}\n${output}\n`,
    );
    return { status, output };
  }

  /** A cluster's dynamic configuration as its REST API shows it (GET /config). */
  async config(cluster: 'primary' | 'standby'): Promise<Record<string, any>> {
    for (const host of Object.values(this.layout[cluster])) {
      try {
        const res = await fetch(`http://${host}:8008/config`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return (await res.json()) as Record<string, any>;
      } catch {
        // next node
      }
    }
    throw new Error(`no ${cluster} node answered GET /config`);
  }

  /** Exit code of `terraform plan -detailed-exitcode`: 0 no change, 2 changes. */
  planExitCode(stackDir: string, label: string): number {
    return this.terraform(stackDir, ['plan', '-detailed-exitcode', '-input=false', '-lock=false'], label).status;
  }

  /** A superuser client of the test, from ADMIN_ADDRESS (not yet connected). */
  adminClient(host: string, applicationName = 'e2e', extra: Record<string, unknown> = {}): Client {
    return clientFrom(this.layout.admin ?? ADMIN_ADDRESS, host, 'postgres', PASSWORDS.PATRONI_SUPERUSER_PASSWORD, {
      application_name: applicationName,
      connectionTimeoutMillis: 2000,
      ...extra,
    });
  }

  /** pgbench as the postgres OS user, through the member's unix socket (the article's peer line). */
  pgbenchArgs(member: string, args: string[]): [string, string[]] {
    return [
      'setpriv',
      [
        '--reuid=postgres',
        '--regid=postgres',
        '--init-groups',
        '/usr/lib/postgresql/15/bin/pgbench',
        ...args,
        '-h',
        path.join(this.work, 'sock', member),
        '-U',
        'postgres',
        'postgres',
      ],
    ];
  }

  async sql<T = Record<string, unknown>>(host: string, text: string): Promise<T[]> {
    const client = this.adminClient(host);
    await client.connect();
    try {
      return (await client.query(text)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** Members as Patroni's REST API reports them (role is `master` on 3.0). */
  async members(
    cluster: 'primary' | 'standby',
  ): Promise<{ name: string; role: string; state: string; host: string; timeline?: number }[]> {
    const hosts = Object.values(this.layout[cluster]);
    for (const host of hosts) {
      try {
        const res = await fetch(`http://${host}:8008/cluster`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return ((await res.json()) as { members: never[] }).members;
      } catch {
        // next node
      }
    }
    return [];
  }

  async leader(cluster: 'primary' | 'standby'): Promise<string | undefined> {
    const m = await this.members(cluster);
    return m.find((x) => ['leader', 'master', 'primary', 'standby_leader'].includes(x.role))?.name;
  }

  patronictl(node: string, args: string[]): string {
    const rest = node in this.layout.standby ? { PATRONI_RESTAPI_PASSWORD: DC2_RESTAPI_PASSWORD } : {};
    // securedDcs: the etcd password as the node's env file has it (with the protocol Patroni needs next to it)
    const dcs = this.options.securedDcs
      ? {
          PATRONI_ETCD3_PROTOCOL: 'https',
          PATRONI_ETCD3_PASSWORD: ETCD_PASSWORDS[node in this.layout.standby ? 'standby' : 'primary'],
        }
      : {};
    return execFileSync(
      ...this.onPlatform('/usr/bin/patronictl', ['-c', path.join(this.work, 'cfg', `${node}.yml`), ...args]),
      {
        encoding: 'utf8',
        env: { ...process.env, ...PASSWORDS, ...rest, ...dcs },
        timeout: 30_000,
      },
    );
  }

  pidOf(node: string): number | undefined {
    try {
      return Number(fs.readFileSync(path.join(this.work, 'pids', `${node}.pid`), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  postmasterPid(node: string): number | undefined {
    try {
      return Number(fs.readFileSync(path.join(this.work, 'data', node, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  }

  nodeCtl(action: string, node: string): void {
    execFileSync(path.join(this.work, 'node-ctl.sh'), [action, node]);
  }

  /** Logs of the nodes and both clusters' member lists, for a failing step. */
  diagnostics(nodes: string[] = [...Object.keys(this.layout.primary), ...Object.keys(this.layout.standby)]): string {
    const parts: string[] = [];
    for (const [cluster, node] of [
      ['primary', Object.keys(this.layout.primary)[0]],
      ['standby', Object.keys(this.layout.standby)[0]],
    ]) {
      try {
        parts.push(`--- patronictl list (${cluster})\n${this.patronictl(node, ['list'])}`);
      } catch (err) {
        parts.push(`--- patronictl list (${cluster}) failed: ${(err as Error).message}`);
      }
    }
    for (const n of nodes) {
      const file = path.join(this.work, 'logs', `${n}.log`);
      if (fs.existsSync(file))
        parts.push(`--- ${n}.log (tail)\n${fs.readFileSync(file, 'utf8').split('\n').slice(-30).join('\n')}`);
    }
    return parts.join('\n');
  }

  private alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Stops every Patroni and etcd this suite started (by pid), then removes the work directory. */
  async teardown(keepWork = false): Promise<void> {
    const nodes = [...Object.keys(this.layout.standby), ...Object.keys(this.layout.primary)];
    const patroniPids = nodes.map((n) => this.pidOf(n)).filter((p): p is number => p !== undefined && this.alive(p));
    for (const pid of patroniPids) process.kill(pid, 'SIGTERM');
    const t0 = now();
    while (patroniPids.some((p) => this.alive(p)) && now() - t0 < 30000) await sleep(200);
    for (const pid of patroniPids) if (this.alive(pid)) process.kill(pid, 'SIGKILL');
    // A postmaster left behind by a killed Patroni (ours: its data dir is in our work dir).
    for (const n of nodes) {
      const pm = this.postmasterPid(n);
      if (pm && this.alive(pm) && fs.readFileSync(`/proc/${pm}/cmdline`, 'utf8').includes(this.work))
        process.kill(pm, 'SIGQUIT');
    }
    for (const pid of this.etcdPids.values()) if (this.alive(pid)) process.kill(pid, 'SIGTERM');
    // pgBackRest's TLS servers (the archive suite), by the pids node-ctl.sh kept
    const pids = path.join(this.work, 'pids');
    for (const f of fs.existsSync(pids) ? fs.readdirSync(pids) : []) {
      if (!f.endsWith('.pgbackrest.pid')) continue;
      const pid = Number(fs.readFileSync(path.join(pids, f), 'utf8'));
      if (pid > 0 && this.alive(pid)) process.kill(pid, 'SIGTERM');
    }
    await sleep(500);
    // the mount point in-root.sh made for the work directory (mounted only in the servers' namespaces)
    if (this.platform.root && fs.existsSync(`${this.platform.root}${this.work}`))
      fs.rmdirSync(`${this.platform.root}${this.work}`);
    if (!keepWork) fs.rmSync(this.work, { recursive: true, force: true });
  }
}

/** Waits for `p`, or `ms` at most; the timer is cleared either way, so that no timer holds the test run open. */
async function atMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const giveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([p, giveUp]).finally(() => clearTimeout(timer));
}

/**
 * Ends a client, politely when its server answers; its socket is destroyed after 2 s otherwise
 * (ending a connection whose packets are dropped never completes, and would keep jest alive).
 */
async function closeClient(client: Client | undefined): Promise<void> {
  if (!client) return;
  await atMost(
    client.end().catch(() => undefined),
    2000,
  );
  (client as unknown as { connection?: { stream?: net.Socket } }).connection?.stream?.destroy();
}

/** Inserts rows into one host as fast as it acknowledges them, reconnecting on errors; records each acknowledgement. */
export class Writer {
  readonly acked: { id: number; at: number }[] = [];
  private stopped = false;
  private done?: Promise<void>;
  constructor(
    private readonly h: Harness,
    private readonly host: string,
    private next: number,
    private readonly table = 'lifecycle',
  ) {}
  start(): this {
    this.done = (async () => {
      let client: Client | undefined;
      while (!this.stopped) {
        try {
          if (!client) {
            // an insert that gets no answer (its server cut off, packets dropped) gives up after 5 s
            client = this.h.adminClient(this.host, 'writer', { query_timeout: 5000 });
            client.on('error', () => undefined); // a server going away: the next query fails and reconnects
            await client.connect();
          }
          const id = this.next++;
          await client.query(`insert into ${this.table}(id) values ($1)`, [id]);
          this.acked.push({ id, at: now() });
        } catch {
          void closeClient(client);
          client = undefined;
          await sleep(20);
        }
        await sleep(5);
      }
      await closeClient(client);
    })();
    return this;
  }
  /**
   * Stops the writer: at once when its last insert has returned, else after at most 15 s (an
   * insert whose server was cut off may never return; what it acknowledged is kept either way).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await atMost(this.done!, 15_000);
  }
}
