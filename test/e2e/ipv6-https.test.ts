/**
 * One Patroni cluster on the IPv6 loopback (::1) whose REST API speaks HTTPS and requires client
 * certificates, deployed by the constructs through Terraform with the passwords delivered as
 * ephemeral variables: real etcd, Patroni 3.0.2, PostgreSQL 15 and Terraform. It proves the
 * bracketed addresses Patroni is given, the programs' IPv6 URLs and their TLS client (CA bundle
 * and client certificate from the pipeline's environment), and a removal through HTTPS.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, LocalBackend, TerraformStack } from 'cdktf';
import { PrimaryPatroniCluster } from '../../constructs/patroni-cluster';
import { request } from '../../runtime/rest-client';
import { makePki, Pki } from '../support/pki';
import { checkPrerequisites, PASSWORDS, sleep, waitFor } from './harness';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'patroni-v6-'));
const REST = 'https://[::1]:8060';
let pki: Pki;
let etcd: ChildProcess | undefined;

function stackDir(): string {
  return path.join(work, 'out', 'stacks', 'v6');
}

/** The cluster's stack, synthesized into work/out with its programs folder. */
function synth(parameters: Record<string, string | number>): void {
  const app = new App({ outdir: path.join(work, 'out') });
  const stack = new TerraformStack(app, 'v6');
  new LocalBackend(stack, { path: path.join(work, 'terraform.v6.tfstate') });
  new PrimaryPatroniCluster(stack, 'cluster', {
    scope: 'v6',
    namespace: '/service/v6/',
    dcs: { type: 'etcd3', hosts: ['[::1]:2479'] },
    nodes: [
      {
        name: 'v6a',
        host: '::1',
        overrides: {
          postgresql: { pgpass: `${work}/pgpass/v6a`, parameters: { unix_socket_directories: `${work}/sock/v6a` } },
        },
      },
    ],
    postgresql: {
      version: 15,
      binDir: '/usr/lib/postgresql/15/bin',
      dataDir: `${work}/data/v6a`,
      port: 5460,
      initdb: [{ encoding: 'UTF8' }, 'data-checksums', { locale: 'C.UTF-8' }],
      parameters: { max_connections: 30, shared_buffers: '16MB', ...parameters },
    },
    patroni: {
      restApiPort: 8060,
      ttl: 20,
      loopWait: 2,
      retryTimeout: 5,
      watchdog: 'off',
      restApiUsername: 'patroni',
      restApiTls: {
        certFile: `${work}/tls/node.pem`,
        keyFile: `${work}/tls/node.key`,
        caFile: `${work}/tls/ca.pem`,
        verifyClient: 'required',
      },
    },
    deploy: {
      transport: 'local',
      configPath: `${work}/cfg/{name}.yml`,
      startCommand: `${work}/node-ctl.sh start {name}`,
      reloadCommand: `${work}/node-ctl.sh reload {name}`,
      statusCommand: `${work}/node-ctl.sh status {name}`,
      patchTimeoutSeconds: 90,
      secrets: { envFile: `${work}/secrets/{name}.env` },
    },
  });
  app.synth();
}

/** The pipeline: ephemeral variables for the env file, the REST password, the CA bundle and client certificate. */
function pipelineEnv(tls = true): NodeJS.ProcessEnv {
  const {
    PATRONI_REST_CACERT: _ca,
    PATRONI_REST_CERTFILE: _cert,
    PATRONI_REST_KEYFILE: _key,
    ...inherited
  } = process.env;
  return {
    ...inherited,
    TF_IN_AUTOMATION: '1',
    CHECKPOINT_DISABLE: '1',
    NO_COLOR: '1',
    TF_CLI_CONFIG_FILE: path.join(work, 'terraformrc'),
    TF_VAR_patroni_superuser_password: PASSWORDS.PATRONI_SUPERUSER_PASSWORD,
    TF_VAR_patroni_replication_password: PASSWORDS.PATRONI_REPLICATION_PASSWORD,
    TF_VAR_patroni_rewind_password: PASSWORDS.PATRONI_REWIND_PASSWORD,
    TF_VAR_patroni_restapi_password: PASSWORDS.PATRONI_RESTAPI_PASSWORD,
    PATRONI_RESTAPI_PASSWORD: PASSWORDS.PATRONI_RESTAPI_PASSWORD,
    ...(tls
      ? { PATRONI_REST_CACERT: pki.ca, PATRONI_REST_CERTFILE: pki.clientCert, PATRONI_REST_KEYFILE: pki.clientKey }
      : {}),
  };
}

function terraform(args: string[], env = pipelineEnv()): { status: number; output: string } {
  const res = spawnSync('terraform', [...args, '-no-color'], {
    cwd: stackDir(),
    env,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const output = `${res.stdout}${res.stderr}`;
  fs.appendFileSync(path.join(work, 'logs', 'terraform.log'), `$ terraform ${args.join(' ')}\n${output}\n`);
  return { status: res.status ?? -1, output };
}

/** A REST call as the pipeline makes it: HTTPS verified against the CA, with the client certificate. */
async function rest(pathName: string): Promise<Record<string, any> | undefined> {
  Object.assign(process.env, {
    PATRONI_REST_CACERT: pki.ca,
    PATRONI_REST_CERTFILE: pki.clientCert,
    PATRONI_REST_KEYFILE: pki.clientKey,
  });
  try {
    const res = await request(`${REST}${pathName}`, { timeoutMs: 2000 });
    return res.status === 200 ? JSON.parse(res.text) : undefined;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  checkPrerequisites();
  fs.chmodSync(work, 0o755);
  for (const d of ['cfg', 'logs', 'pids', 'secrets', 'etcd', 'tls', 'pki'])
    fs.mkdirSync(path.join(work, d), { recursive: true });
  execFileSync('install', [
    '-d',
    '-o',
    'postgres',
    '-g',
    'postgres',
    '-m',
    '700',
    `${work}/data`,
    `${work}/sock`,
    `${work}/pgpass`,
  ]);
  fs.copyFileSync(path.join(__dirname, 'node-ctl.sh'), path.join(work, 'node-ctl.sh'));
  fs.chmodSync(path.join(work, 'node-ctl.sh'), 0o755);
  fs.writeFileSync(path.join(work, 'terraformrc'), '');
  pki = makePki(path.join(work, 'pki'), ['::1']);
  // the node's certificate, key and CA where the topology says, readable by the Patroni user only
  for (const [from, to] of [
    [pki.serverCert, 'node.pem'],
    [pki.serverKey, 'node.key'],
    [pki.ca, 'ca.pem'],
  ]) {
    execFileSync('install', ['-o', 'postgres', '-g', 'postgres', '-m', '600', from, path.join(work, 'tls', to)]);
  }
  const log = fs.openSync(path.join(work, 'logs', 'etcd.log'), 'a');
  etcd = spawn(
    'etcd',
    [
      '--name',
      'v6',
      '--data-dir',
      path.join(work, 'etcd', 'v6'),
      '--listen-client-urls',
      'http://[::1]:2479',
      '--advertise-client-urls',
      'http://[::1]:2479',
      '--listen-peer-urls',
      'http://[::1]:2480',
      '--initial-advertise-peer-urls',
      'http://[::1]:2480',
      '--initial-cluster',
      'v6=http://[::1]:2480',
      '--initial-cluster-state',
      'new',
      '--logger',
      'zap',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', log, log], detached: true },
  );
  etcd.unref();
  await waitFor('etcd on [::1]:2479', 30_000, async () => (await fetch('http://[::1]:2479/health')).ok);
});

afterAll(async () => {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const pidFile = path.join(work, 'pids', 'v6a.pid');
  const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : undefined;
  if (pid && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 150 && alive(pid); i++) await sleep(200);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  const pm = path.join(work, 'data', 'v6a', 'postmaster.pid');
  const pmPid = fs.existsSync(pm) ? Number(fs.readFileSync(pm, 'utf8').split('\n')[0]) : undefined;
  if (pmPid && alive(pmPid) && fs.readFileSync(`/proc/${pmPid}/cmdline`, 'utf8').includes(work))
    process.kill(pmPid, 'SIGQUIT');
  if (etcd?.pid && alive(etcd.pid)) process.kill(etcd.pid, 'SIGTERM');
  await sleep(300);
  if (process.env.E2E_KEEP_WORK !== '1') fs.rmSync(work, { recursive: true, force: true });
}, 60_000);

test('an IPv6 cluster with an HTTPS REST API that requires client certificates: deployed, patched, a removal, nothing secret stored', async () => {
  synth({ work_mem: '8MB' });
  const yml = fs.readFileSync(path.join(stackDir(), 'cdk.tf.json'), 'utf8');
  expect(yml).toContain('https://[::1]:8060');
  expect(terraform(['init', '-input=false']).status).toBe(0);
  const first = terraform(['apply', '-auto-approve', '-input=false']);
  expect({ status: first.status, tail: first.status === 0 ? '' : first.output.slice(-3000) }).toEqual({
    status: 0,
    tail: '',
  });
  // Patroni took the bracketed addresses: a Leader, reached over HTTPS with the client certificate
  const { value: patroni } = await waitFor('the v6a leader over HTTPS', 90_000, async () => {
    const p = await rest('/patroni');
    return p && p.state === 'running' && ['master', 'primary', 'leader'].includes(p.role) ? p : undefined;
  });
  expect(patroni.patroni.scope).toBe('v6');
  const member = ((await rest('/cluster'))!.members as { name: string; api_url: string; host: string }[])[0];
  expect(member).toMatchObject({ name: 'v6a', api_url: 'https://[::1]:8060/patroni', host: '::1' });
  // the patch went through HTTPS: the parameter is in the running configuration
  expect((await rest('/config'))!.postgresql.parameters.work_mem).toBe('8MB');
  // without a client certificate the node refuses (verify_client: required)
  delete process.env.PATRONI_REST_CERTFILE;
  delete process.env.PATRONI_REST_KEYFILE;
  await expect(request(`${REST}/config`, { timeoutMs: 2000 })).rejects.toThrow();
  // a CA that did not sign the node's certificate: refused by the pipeline, with the variable named
  process.env.PATRONI_REST_CACERT = pki.otherCa;
  await expect(request(`${REST}/config`, { timeoutMs: 2000 })).rejects.toThrow(
    /TLS verification failed .*PATRONI_REST_CACERT/,
  );
  // the env file came from the ephemeral variables, mode 600
  const envFile = path.join(work, 'secrets', 'v6a.env');
  expect((fs.statSync(envFile).mode & 0o777).toString(8)).toBe('600');
  expect(fs.readFileSync(envFile, 'utf8')).toContain(
    `PATRONI_RESTAPI_PASSWORD='${PASSWORDS.PATRONI_RESTAPI_PASSWORD}'`,
  );

  // a removed parameter leaves the running cluster through the HTTPS patch; no reload needed
  synth({});
  const second = terraform(['apply', '-auto-approve', '-input=false']);
  expect({ status: second.status, tail: second.status === 0 ? '' : second.output.slice(-3000) }).toEqual({
    status: 0,
    tail: '',
  });
  expect(second.output).toMatch(/removing what the topology no longer has: postgresql\.parameters\.work_mem/);
  expect(second.output).toMatch(
    /\(local-exec\): patroni runs; only bootstrap-time settings changed: file refreshed, no reload/,
  );
  expect((await rest('/config'))!.postgresql.parameters.work_mem).toBeUndefined();
  expect(terraform(['plan', '-detailed-exitcode', '-input=false']).status).toBe(0);
  // the pipeline without the CA bundle: the patch fails and names the variable (nothing sent)
  synth({ work_mem: '16MB' });
  const noCa = terraform(['apply', '-auto-approve', '-input=false'], pipelineEnv(false));
  expect(noCa.status).not.toBe(0);
  expect(noCa.output).toMatch(/PATRONI_REST_CACERT/);
  expect((await rest('/config'))!.postgresql.parameters.work_mem).toBeUndefined();

  // no password in the state, the stack or the logs
  const secrets = Object.values(PASSWORDS);
  const texts = [
    path.join(work, 'terraform.v6.tfstate'),
    path.join(stackDir(), 'cdk.tf.json'),
    path.join(work, 'logs', 'terraform.log'),
    path.join(work, 'logs', 'v6a.log'),
  ];
  for (const file of texts) {
    const text = fs.readFileSync(file, 'utf8');
    expect({ file, hits: secrets.filter((s) => text.includes(s)).map((s) => s.slice(0, 8)) }).toEqual({
      file,
      hits: [],
    });
  }
}, 300_000);
