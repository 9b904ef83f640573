/**
 * A secured DCS: etcd with TLS files and user/password authentication, Consul with TLS files and
 * an ACL token. The password and the token are never in the topology, the rendered files or the
 * plan: the topology names the pipeline's variable (passwordEnv, tokenEnv), and the deploy writes
 * the value into each node's env file from an ephemeral variable. Every bad combination is one
 * problem with its path, what is allowed and the fix, and a secret written into the topology is
 * refused without its value being printed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { parse, stringify } from 'yaml';
import { App, TerraformStack, Testing } from 'cdktf';
import { TopologyError } from '../../constructs/errors';
import { PrimaryPatroniCluster } from '../../constructs/patroni-cluster';
import { dcsCredentials, dcsSection, renderNodeYaml } from '../../constructs/planners/patroni-yaml';
import { dcsResetCommand } from '../../constructs/planners/reseed';
import { resolveCluster } from '../../constructs/resolve';
import { dcsProblems } from '../../constructs/schema';
import { ClusterSpec, DcsSpec } from '../../constructs/types';
import { buildStandbyStacks } from '../../stacks/standby-stacks';
import { parseTopology } from '../../stacks/topology-file';
import { byPath } from './helpers';

const TWO_DC = fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'two-dc.yaml'), 'utf8');
const SECRET = 'pl41n-t3xt-s3cret';

const ETCD: DcsSpec = {
  type: 'etcd3',
  hosts: ['10.1.0.21:2379'],
  protocol: 'https',
  cacert: '/etc/patroni/tls/etcd-ca.pem',
  cert: '/etc/patroni/tls/dcs-client.pem',
  key: '/etc/patroni/tls/dcs-client.key',
  username: 'patroni',
  passwordEnv: 'ETCD_PASSWORD_DC1',
};
const CONSUL: DcsSpec = {
  type: 'consul',
  host: '127.0.0.1:8501',
  scheme: 'https',
  cacert: '/etc/patroni/tls/consul-ca.pem',
  cert: '/etc/patroni/tls/consul-client.pem',
  key: '/etc/patroni/tls/consul-client.key',
  tokenEnv: 'CONSUL_TOKEN_DC2',
};

const spec = (dcs: DcsSpec, over: Partial<ClusterSpec> = {}): ClusterSpec => ({
  scope: 'pg',
  dcs,
  nodes: [{ name: 'a1', host: '10.0.0.1' }],
  ...over,
});

/** The two-dc example with dc1's dcs (and dc2's) replaced, as a topology file's text. */
function twoDc(dc1: Record<string, unknown>, dc2?: Record<string, unknown>, secrets = true): string {
  const t = parse(TWO_DC);
  t.clusters.dc1.dcs = dc1;
  if (dc2) t.clusters.dc2.dcs = dc2;
  if (secrets)
    for (const c of Object.values(t.clusters) as Record<string, any>[])
      c.deploy = { secrets: { envFile: '/etc/patroni/{configName}.env' } };
  return stringify(t);
}

/** The problems of a topology file, as `path: message`, checking each has allowed and fix; and the whole message. */
function problemsOf(text: string): { lines: string[]; message: string } {
  try {
    parseTopology(text, 'bad.yaml');
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    for (const p of err.problems)
      expect({ path: p.path, allowed: !!p.allowed, fix: !!p.fix }).toMatchObject({ allowed: true, fix: true });
    return { lines: err.problems.map((p) => `${p.path}: ${p.message}`), message: err.message };
  }
  return { lines: [], message: '' };
}

describe("the DCS section of patroni.yml: TLS files and the user's name, never a secret", () => {
  test.each<[string, DcsSpec, Record<string, unknown>]>([
    [
      'etcd3 with TLS and authentication',
      ETCD,
      {
        etcd3: {
          hosts: ['10.1.0.21:2379'],
          protocol: 'https',
          cacert: '/etc/patroni/tls/etcd-ca.pem',
          cert: '/etc/patroni/tls/dcs-client.pem',
          key: '/etc/patroni/tls/dcs-client.key',
          username: 'patroni',
        },
      },
    ],
    [
      'etcd (v2) with the CA alone',
      { type: 'etcd', hosts: ['10.1.0.21:2379'], protocol: 'https', cacert: '/ca.pem' },
      { etcd: { hosts: ['10.1.0.21:2379'], protocol: 'https', cacert: '/ca.pem' } },
    ],
    [
      'Consul with TLS and a token',
      CONSUL,
      {
        consul: {
          host: '127.0.0.1:8501',
          scheme: 'https',
          cacert: '/etc/patroni/tls/consul-ca.pem',
          cert: '/etc/patroni/tls/consul-client.pem',
          key: '/etc/patroni/tls/consul-client.key',
        },
      },
    ],
    [
      'etcd3 as before: hosts and protocol only',
      { type: 'etcd3', hosts: ['10.1.0.21:2379'] },
      { etcd3: { hosts: ['10.1.0.21:2379'], protocol: 'http' } },
    ],
  ])('%s', (_name, dcs, section) => {
    const cluster = resolveCluster(spec(dcs));
    expect(dcsSection(cluster)).toEqual(section);
    const yml = renderNodeYaml(cluster, cluster.nodes[0], []);
    expect(parse(yml, { version: '1.1' })[Object.keys(section)[0]]).toEqual(Object.values(section)[0]);
    // user names only: no credential, nor the variables that hold them
    expect(yml).not.toMatch(/passwordEnv|tokenEnv|ETCD_PASSWORD|CONSUL_TOKEN|PATRONI_ETCD|PATRONI_CONSUL/);
    expect(JSON.stringify(dcsSection(cluster))).not.toMatch(/password|token/i);
  });
});

describe("the node's env file: the credential's Patroni variable, from the pipeline's", () => {
  test.each<[string, DcsSpec, ReturnType<typeof dcsCredentials>]>([
    [
      'etcd3: the password with the protocol (Patroni reads PATRONI_ETCD3_PASSWORD only next to another PATRONI_ETCD3_ setting)',
      ETCD,
      { line: 'PATRONI_ETCD3_PASSWORD', env: 'ETCD_PASSWORD_DC1', plain: { PATRONI_ETCD3_PROTOCOL: 'https' } },
    ],
    [
      'etcd v2: its own variables',
      { type: 'etcd', hosts: ['h:2379'], protocol: 'https', username: 'u', passwordEnv: 'E' },
      { line: 'PATRONI_ETCD_PASSWORD', env: 'E', plain: { PATRONI_ETCD_PROTOCOL: 'https' } },
    ],
    ['Consul: the token', CONSUL, { line: 'PATRONI_CONSUL_TOKEN', env: 'CONSUL_TOKEN_DC2', plain: {} }],
    ['no credential', { type: 'etcd3', hosts: ['h:2379'], protocol: 'https', cacert: '/ca.pem' }, undefined],
    ['zookeeper', { type: 'zookeeper', hosts: ['h:2181'] }, undefined],
  ])('%s', (_name, dcs, expected) => {
    expect(dcsCredentials(resolveCluster(spec(dcs)))).toEqual(expected);
  });

  test('deploy.secrets: one ephemeral variable per cluster, written into the env file with the protocol, read nowhere else', () => {
    const { topology } = parseTopology(
      twoDc(ETCD as Record<string, unknown>, { ...ETCD, hosts: ['10.2.0.21:2379'], passwordEnv: 'ETCD_PASSWORD_DC2' }),
      'secured.yaml',
    );
    const app = Testing.app();
    const stacks = buildStandbyStacks(app, topology);
    const dc1 = JSON.parse(Testing.synth(stacks.primaryStack));
    const dc2 = JSON.parse(Testing.synth(stacks.standbyStack));
    for (const [json, name] of [
      [dc1, 'etcd_password_dc1'],
      [dc2, 'etcd_password_dc2'],
    ] as const) {
      expect(Object.keys(json.variable).filter((v) => v.startsWith('etcd'))).toEqual([name]);
      expect(json.variable[name]).toMatchObject({ ephemeral: true, sensitive: true, nullable: false, type: 'string' });
      expect(json.variable[name].description).toMatch(
        /etcd password of cluster payments \(ETCD_PASSWORD_DC\d of the pipeline\)/,
      );
      // ssh: the staged file holds the password as a variable reference, with the protocol next to it
      const [, file] = byPath(json, `cluster/node-${json === dc1 ? 'pay-a1' : 'pay-b1'}/secrets`).provisioner;
      expect(file.file.content.split('\n')).toEqual(
        expect.arrayContaining([`PATRONI_ETCD3_PROTOCOL='https'`, `PATRONI_ETCD3_PASSWORD='\${var.${name}}'`]),
      );
      // the variable reaches no input, trigger or output: only the env file's provisioner
      const withoutProvisioners = Object.values(
        json.resource as Record<string, Record<string, Record<string, unknown>>>,
      ).flatMap((byType) => Object.values(byType).map(({ provisioner: _p, ...rest }) => rest));
      expect(JSON.stringify([withoutProvisioners, json.output ?? {}])).not.toMatch(/var\.etcd_/);
    }
  });

  test('local transport: the env file written by sh holds the password and the protocol, mode 600', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'secured-dcs-'));
    try {
      const app = new App({ outdir: work });
      const stack = new TerraformStack(app, 'local');
      new PrimaryPatroniCluster(stack, 'c', {
        ...spec(ETCD),
        deploy: { transport: 'local', secrets: { envFile: `${work}/{name}.env` } },
      });
      const json = JSON.parse(Testing.synth(stack));
      const [p] = byPath(json, 'c/node-a1/secrets').provisioner;
      const exec = p['local-exec'];
      expect(exec.environment.SECRET_PATRONI_ETCD3_PASSWORD).toBe('${var.etcd_password_dc1}');
      expect(exec.environment.SECRET_PATRONI_ETCD3_PROTOCOL).toBe('https');
      const file = path.join(work, 'a1.env');
      const secrets = Object.fromEntries(
        Object.keys(exec.environment)
          .filter((k) => k.startsWith('SECRET_'))
          .map((k) => [k, k === 'SECRET_PATRONI_ETCD3_PROTOCOL' ? 'https' : `${k.toLowerCase()}-value`]),
      );
      const run = spawnSync('/bin/sh', ['-c', exec.command], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, PATRONI_ENV_FILE: file, ...secrets },
      });
      expect(run.status).toBe(0);
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
      expect(fs.readFileSync(file, 'utf8').split('\n')).toEqual(
        expect.arrayContaining([
          "PATRONI_ETCD3_PROTOCOL='https'",
          "PATRONI_ETCD3_PASSWORD='secret_patroni_etcd3_password-value'",
        ]),
      );
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  test('Consul: PATRONI_CONSUL_TOKEN from TF_VAR_<tokenEnv in lower case>', () => {
    const { topology } = parseTopology(twoDc({ ...ETCD }, CONSUL as Record<string, unknown>), 'consul.yaml');
    const dc2 = JSON.parse(Testing.synth(buildStandbyStacks(Testing.app(), topology).standbyStack));
    expect(dc2.variable.consul_token_dc2).toMatchObject({ ephemeral: true, sensitive: true });
    expect(dc2.variable.consul_token_dc2.description).toMatch(/Consul ACL token of cluster payments/);
    const [, file] = byPath(dc2, 'cluster/node-pay-b1/secrets').provisioner;
    expect(file.file.content).toContain("PATRONI_CONSUL_TOKEN='${var.consul_token_dc2}'\n");
    expect(file.file.content).not.toMatch(/PATRONI_ETCD/);
  });

  test('without deploy.secrets nothing is declared: the env file is put on the hosts by something else', () => {
    const { topology } = parseTopology(twoDc(ETCD as Record<string, unknown>, undefined, false), 'x.yaml');
    const dc1 = JSON.parse(Testing.synth(buildStandbyStacks(Testing.app(), topology).primaryStack));
    expect(dc1.variable ?? {}).toEqual({});
  });

  test("the re-seed's DCS reset loads the env file, so patronictl has the password", () => {
    const c = resolveCluster(spec(ETCD, { deploy: { secrets: { envFile: '/etc/patroni/{name}.env' } } }));
    expect(dcsResetCommand(c, c.nodes[0])).toContain("set -a\n. '/etc/patroni/a1.env'\nset +a");
  });
});

describe('bad combinations: one problem each, with the field, the value and the fix', () => {
  const etcd = (over: Record<string, unknown>) => ({ type: 'etcd3', hosts: ['10.1.0.21:2379'], ...over });
  test.each<[string, Record<string, unknown>, string[]]>([
    [
      'TLS files over http',
      etcd({ cacert: '/ca.pem' }),
      [
        'clusters.dc1.dcs.protocol: must be https with cacert: Patroni would talk plain http to the DCS and never use the TLS files',
      ],
    ],
    [
      'a client certificate over an explicit http',
      etcd({ protocol: 'http', cert: '/c.pem', key: '/k.pem' }),
      [
        'clusters.dc1.dcs.protocol: must be https with cert, key: Patroni would talk plain http to the DCS and never use the TLS files',
      ],
    ],
    [
      'authentication over http',
      etcd({ username: 'patroni', passwordEnv: 'ETCD_PASSWORD' }),
      [
        "clusters.dc1.dcs.protocol: must be https with username, passwordEnv: etcd's password authentication over http sends the password in clear text",
      ],
    ],
    [
      'a certificate without its key',
      etcd({ protocol: 'https', cert: '/c.pem' }),
      ['clusters.dc1.dcs.key: is required with cert: the client certificate goes with its private key'],
    ],
    [
      'a key without its certificate',
      etcd({ protocol: 'https', key: '/k.pem' }),
      ['clusters.dc1.dcs.cert: is required with key: the private key goes with its client certificate'],
    ],
    [
      'a user without its password',
      etcd({ protocol: 'https', username: 'patroni' }),
      [
        "clusters.dc1.dcs.passwordEnv: is required with username: etcd authenticates patroni with a password, which comes from the pipeline's variable named here",
      ],
    ],
    [
      'a password variable without a user',
      etcd({ protocol: 'https', passwordEnv: 'ETCD_PASSWORD' }),
      ['clusters.dc1.dcs.username: is required with passwordEnv: etcd authenticates a user by name and password'],
    ],
    [
      'the superuser password as the etcd password',
      etcd({ protocol: 'https', username: 'patroni', passwordEnv: 'PATRONI_SUPERUSER_PASSWORD' }),
      [
        "clusters.dc1.dcs.passwordEnv: is the variable of a PostgreSQL user's password: the DCS password would be that password",
      ],
    ],
    [
      'a relative TLS path',
      etcd({ protocol: 'https', cacert: 'tls/ca.pem' }),
      ['clusters.dc1.dcs.cacert: must be an absolute path on the nodes, like /etc/patroni/tls/node.pem'],
    ],
    [
      'a variable name that is none',
      etcd({ protocol: 'https', username: 'patroni', passwordEnv: 'etcd-password' }),
      ['clusters.dc1.dcs.passwordEnv: must be an environment variable name'],
    ],
    [
      'Consul TLS over http',
      { type: 'consul', host: '127.0.0.1:8500', cacert: '/ca.pem', tokenEnv: 'CONSUL_TOKEN' },
      [
        'clusters.dc1.dcs.scheme: must be https with cacert: Patroni would talk plain http to the DCS and never use the TLS files',
      ],
    ],
    [
      'Consul: a token variable over http is fine (the local agent), an etcd field is not',
      { type: 'consul', host: '127.0.0.1:8500', tokenEnv: 'CONSUL_TOKEN', username: 'patroni' },
      ['clusters.dc1.dcs.username: unknown key "username"'],
    ],
  ])('%s', (_name, dcs, expected) => {
    expect(problemsOf(twoDc(dcs)).lines).toEqual(expected);
  });

  test('several at once: every problem of the file in one error, nothing synthesized', () => {
    const { lines } = problemsOf(
      twoDc(etcd({ cert: '/c.pem', username: 'patroni' }), {
        type: 'consul',
        host: '127.0.0.1:8500',
        key: '/k.pem',
      }),
    );
    expect(lines).toEqual([
      "clusters.dc1.dcs.protocol: must be https with cert, username: Patroni would talk plain http to the DCS and never use the TLS files; etcd's password authentication over http sends the password in clear text",
      'clusters.dc1.dcs.key: is required with cert: the client certificate goes with its private key',
      "clusters.dc1.dcs.passwordEnv: is required with username: etcd authenticates patroni with a password, which comes from the pipeline's variable named here",
      'clusters.dc2.dcs.scheme: must be https with key: Patroni would talk plain http to the DCS and never use the TLS files',
      'clusters.dc2.dcs.cert: is required with key: the private key goes with its client certificate',
    ]);
  });
});

describe('a password or token written into the topology: refused, its value never printed', () => {
  test.each<[string, Record<string, unknown>, string, RegExp]>([
    [
      'etcd password',
      { ...ETCD, passwordEnv: undefined, password: SECRET },
      'clusters.dc1.dcs.passwordEnv: replaces "password": a secret written into the topology would land in the plan, the state and the rendered files (its value is not shown here)',
      /fix: +remove password, set passwordEnv: ETCD3_PASSWORD and export the password there \(TF_VAR_etcd3_password for deploy\.secrets, which writes it into each node's env file as PATRONI_ETCD3_PASSWORD\)/,
    ],
    [
      'etcd password next to its variable',
      { ...ETCD, password: SECRET },
      'clusters.dc1.dcs.passwordEnv: replaces "password": a secret written into the topology would land in the plan, the state and the rendered files (its value is not shown here)',
      /fix: +remove password: passwordEnv \(ETCD_PASSWORD_DC1\) names the variable that holds the password/,
    ],
    [
      'Consul token',
      { ...CONSUL, tokenEnv: undefined, token: SECRET },
      'clusters.dc1.dcs.tokenEnv: replaces "token": a secret written into the topology would land in the plan, the state and the rendered files (its value is not shown here)',
      /fix: +remove token, set tokenEnv: CONSUL_TOKEN and export the token there \(TF_VAR_consul_token for deploy\.secrets/,
    ],
    [
      'a password and a token',
      { ...ETCD, password: SECRET, token: SECRET },
      'clusters.dc1.dcs.passwordEnv: replaces "password" and "token": a secret written into the topology would land in the plan, the state and the rendered files (their values are not shown here)',
      /fix: +remove password and token/,
    ],
    [
      'ZooKeeper password',
      { type: 'zookeeper', hosts: ['10.1.0.21:2181'], password: SECRET },
      'clusters.dc1.dcs.type: takes no password from the topology: a secret written into the topology would land in the plan, the state and the rendered files (its value is not shown here)',
      /fix: +remove password; give Patroni the DCS credentials through the env file its service reads/,
    ],
  ])('%s', (_name, dcs, line, fix) => {
    const { lines, message } = problemsOf(twoDc(JSON.parse(JSON.stringify(dcs))));
    expect(lines).toEqual([line]);
    expect(message).toMatch(fix);
    expect(message).not.toContain(SECRET);
  });

  test('another unknown key lists neither password nor token as allowed, and a misplaced one is not sent there', () => {
    const { message } = problemsOf(twoDc({ ...ETCD, pasword: SECRET.slice(0, 3) }));
    expect(message).toContain('allowed:  one of type, hosts, protocol, cacert, cert, key, username, passwordEnv\n');
    const t = parse(twoDc(ETCD as Record<string, unknown>));
    t.clusters.dc1.postgresql.token = 'x';
    const other = problemsOf(stringify(t)).message;
    expect(other).toContain('clusters.dc1.postgresql.token: unknown key "token"');
    expect(other).not.toMatch(/dcs\.token/);
  });

  test('the constructs refuse it the same way (TypeScript props)', () => {
    const stack = new TerraformStack(Testing.app(), 's');
    expect(() => new PrimaryPatroniCluster(stack, 'c', spec({ ...ETCD, password: SECRET } as never))).toThrow(
      /dcs\.passwordEnv: replaces "password"/,
    );
    try {
      new PrimaryPatroniCluster(
        new TerraformStack(Testing.app(), 't'),
        'c',
        spec({ ...ETCD, password: SECRET } as never),
      );
    } catch (err) {
      expect((err as Error).message).not.toContain(SECRET);
    }
  });

  test('dcsProblems: a section without any of it has none', () => {
    expect(dcsProblems(ETCD)).toEqual([]);
    expect(dcsProblems(CONSUL)).toEqual([]);
    expect(dcsProblems({ type: 'kubernetes' })).toEqual([]);
  });
});

test('docs/topology.md shows a secured DCS that synthesizes without a problem', () => {
  const page = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'topology.md'), 'utf8');
  const block = /```yaml\n(# A secured DCS[\s\S]*?)```/.exec(page);
  expect(block).not.toBeNull();
  const t = parse(TWO_DC);
  const dcs = parse(block![1]).dcs;
  t.clusters.dc1.dcs = dcs;
  t.clusters.dc1.deploy = { secrets: { envFile: '/etc/patroni/{configName}.env' } };
  const { topology } = parseTopology(stringify(t), 'docs/topology.md');
  const dc1 = JSON.parse(Testing.synth(buildStandbyStacks(Testing.app(), topology).primaryStack));
  expect(Object.keys(dc1.variable)).toContain(dcs.passwordEnv.toLowerCase());
});

test('a misspelled credential key is refused without its value in the message', () => {
  const text = fs
    .readFileSync(path.join(__dirname, '..', '..', 'examples', 'two-dc.yaml'), 'utf8')
    .replace(
      'dcs: { type: etcd3, hosts: [10.1.0.21:2379',
      'dcs: { type: etcd3, pasword: hunter2-Secret, hosts: [10.1.0.21:2379',
    );
  let message = '';
  try {
    parseTopology(text, 'two-dc.yaml');
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toContain('clusters.dc1.dcs.pasword');
  expect(message).toContain('(hidden: the key looks like a credential)');
  expect(message).not.toContain('hunter2');
});
