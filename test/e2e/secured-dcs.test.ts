/**
 * The link's lifecycle on a secured DCS: each data center's etcd 3.4 serves clients on https only,
 * requires a client certificate of the suite's CA (`--client-cert-auth`) and has authentication
 * on (the user `patroni`, whose role reads and writes /service/ only). The topology gives each
 * cluster's dcs the CA, the nodes' client certificate and key and the user, and names the
 * pipeline's variable of the password (passwordEnv); the deploy writes the password into each
 * node's env file from an ephemeral variable. The whole lifecycle runs on it through `cdktf deploy
 * '*'` (test/e2e/lifecycle.ts: bootstrap, switchover and switchback under a writer, a refused
 * switchover, a disaster promotion and the rejoin), then status, the promotion of dc1, etcd's
 * refusals (no client certificate, no password, a wrong one; Patroni's own client without the
 * certificate), and a search for the etcd passwords in cdktf.out, the state, saved plans and logs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import {
  DC2_RESTAPI_PASSWORD,
  DEBIAN12,
  ETCD_PASSWORDS,
  ETCD_PASSWORD_ENVS,
  PASSWORDS,
  PRIMARY,
  SECRETS,
  STANDBY,
  waitFor,
} from './harness';
import { lifecycleSuite } from './lifecycle';

const { harness: h, step, promotion } = lifecycleSuite('cdktf', DEBIAN12, { securedDcs: true });
const CLUSTERS = { primary: PRIMARY, standby: STANDBY } as const;
const stackDir = (dc: string) => path.join(h.work, 'cdktf.out', 'stacks', dc);
const PATRONI = { primary: 'p1', standby: 's1' } as const;

beforeAll(() => {
  // fails, never skips: the suite talks to etcd with etcdctl
  const missing = ['/usr/bin/etcdctl', '/usr/bin/openssl'].filter((f) => !fs.existsSync(f));
  if (missing.length > 0) throw new Error(`end-to-end prerequisites missing: ${missing.join(', ')}`);
});

step('status: both clusters and the link healthy, every member on the secured etcd', async () => {
  const { value } = await waitFor('status healthy', 90_000, async () => {
    const s = h.status();
    return s.code === 0 && s.report.healthy ? s : undefined;
  });
  expect(value.report.problems).toEqual([]);
  expect(value.report.nodes).toHaveLength(6);
  // each cluster's members and leader are in its own etcd, behind the password
  for (const cluster of ['primary', 'standby'] as const) {
    const keys = h.etcdctl(cluster, ['get', '/service/patroni/pgcluster/', '--prefix', '--keys-only'], {
      user: `patroni:${ETCD_PASSWORDS[cluster]}`,
    });
    expect({ cluster, status: keys.status }).toEqual({ cluster, status: 0 });
    for (const member of Object.keys(CLUSTERS[cluster]))
      expect(keys.output).toContain(`/service/patroni/pgcluster/members/${member}`);
    expect(keys.output).toContain('/service/patroni/pgcluster/leader');
  }
});

step(
  "etcd refuses a client without the client certificate (etcdctl, and Patroni's own client), without the password, or with a wrong one",
  async () => {
    for (const cluster of ['primary', 'standby'] as const) {
      const log = path.join(h.work, 'logs', `etcd-${cluster}.log`);
      const before = fs.statSync(log).size;
      const user = `patroni:${ETCD_PASSWORDS[cluster]}`;
      const get = ['get', '/service/patroni/pgcluster/leader'];
      // the right password, no client certificate: the TLS handshake fails
      const noCert = h.etcdctl(cluster, get, { cert: false, user });
      expect({ cluster, status: noCert.status === 0 }).toEqual({ cluster, status: false });
      // the client certificate without a user, or with a wrong password: authentication refuses
      const noUser = h.etcdctl(cluster, get);
      expect({ cluster, status: noUser.status === 0, output: noUser.output }).toEqual({
        cluster,
        status: false,
        output: expect.stringMatching(/user name is empty|permission denied/),
      });
      const wrong = h.etcdctl(cluster, get, { user: 'patroni:not-the-password' });
      expect({ cluster, status: wrong.status === 0, output: wrong.output }).toEqual({
        cluster,
        status: false,
        output: expect.stringMatching(/authentication failed/),
      });
      // Patroni's client (patronictl, with the env file's password) with the member's own file works,
      // and without the certificate and key it is refused
      const member = PATRONI[cluster];
      expect(h.patronictl(member, ['list'])).toContain(member);
      const config = parse(fs.readFileSync(path.join(h.work, 'cfg', `${member}.yml`), 'utf8'));
      expect(config.etcd3).toMatchObject({ protocol: 'https', username: 'patroni' });
      delete config.etcd3.cert;
      delete config.etcd3.key;
      const noCertFile = path.join(h.work, 'cfg', `${member}-without-client-certificate.yml`);
      fs.writeFileSync(noCertFile, stringify(config));
      const refused = spawnSync('/usr/bin/patronictl', ['-c', noCertFile, 'list'], {
        encoding: 'utf8',
        // what the member's env file holds; only the client certificate is missing (from its file)
        env: {
          ...process.env,
          ...PASSWORDS,
          PATRONI_RESTAPI_PASSWORD: cluster === 'standby' ? DC2_RESTAPI_PASSWORD : PASSWORDS.PATRONI_RESTAPI_PASSWORD,
          PATRONI_ETCD3_PROTOCOL: 'https',
          PATRONI_ETCD3_PASSWORD: ETCD_PASSWORDS[cluster],
        },
        timeout: 20_000,
      });
      expect({ cluster, listed: refused.status === 0, stderr: refused.stderr }).toEqual({
        cluster,
        listed: false,
        stderr: expect.stringMatching(/Failed to get list of machines/),
      });
      // etcd's own log says why: no client certificate
      const added = fs.readFileSync(log).subarray(before).toString('utf8');
      expect({ cluster, rejected: /client didn't provide a certificate/.test(added) }).toEqual({
        cluster,
        rejected: true,
      });
    }
  },
);

step(
  'the nodes: patroni.yml has the etcd user and TLS files, never the password; the env file has it (mode 600); no role ETCD3',
  async () => {
    for (const cluster of ['primary', 'standby'] as const) {
      for (const member of Object.keys(CLUSTERS[cluster])) {
        const yml = fs.readFileSync(path.join(h.work, 'cfg', `${member}.yml`), 'utf8');
        expect(parse(yml).etcd3).toEqual({
          hosts: [`${cluster === 'primary' ? '127.0.1.10' : '127.0.2.10'}:2379`],
          protocol: 'https',
          cacert: path.join(h.work, 'tls', 'ca.pem'),
          cert: path.join(h.work, 'tls', 'dcs-client.pem'),
          key: path.join(h.work, 'tls', 'dcs-client.key'),
          username: 'patroni',
        });
        expect(Object.values(ETCD_PASSWORDS).filter((pw) => yml.includes(pw))).toEqual([]);
        const envFile = path.join(h.work, 'secrets', `${member}.env`);
        expect((fs.statSync(envFile).mode & 0o777).toString(8)).toBe('600');
        const lines = fs.readFileSync(envFile, 'utf8').split('\n');
        expect(lines).toEqual(
          expect.arrayContaining([
            `PATRONI_ETCD3_PASSWORD='${ETCD_PASSWORDS[cluster]}'`,
            "PATRONI_ETCD3_PROTOCOL='https'",
          ]),
        );
      }
    }
    // Patroni took the password as etcd's: alone, Patroni 3.0 would make it a database user's
    for (const host of [...Object.values(PRIMARY), ...Object.values(STANDBY)]) {
      expect(await h.sql(host, "select rolname from pg_roles where rolname ilike 'etcd%'")).toEqual([]);
    }
  },
);

promotion();

step(
  'no etcd password (nor any other) in cdktf.out, the state, saved plans, the rendered files or the logs',
  async () => {
    // each stack declares its own cluster's variable, ephemeral and sensitive, and reads it nowhere else
    for (const [dc, cluster] of [
      ['dc1', 'primary'],
      ['dc2', 'standby'],
    ] as const) {
      const stack = JSON.parse(fs.readFileSync(path.join(stackDir(dc), 'cdk.tf.json'), 'utf8'));
      const name = ETCD_PASSWORD_ENVS[cluster].toLowerCase();
      expect(stack.variable[name]).toMatchObject({ ephemeral: true, sensitive: true });
      expect(Object.keys(stack.variable).filter((v) => v.startsWith('etcd_'))).toEqual([name]);
    }
    // saved plans of both stacks, as a pipeline keeps them for review
    const plans = path.join(h.work, 'plans');
    fs.mkdirSync(plans, { recursive: true });
    for (const dc of ['dc1', 'dc2']) {
      const file = path.join(plans, `${dc}.tfplan`);
      const plan = h.terraform(stackDir(dc), ['plan', '-input=false', '-lock=false', `-out=${file}`], `plan-${dc}`);
      expect({ dc, status: plan.status, tail: plan.status === 0 ? '' : plan.output.slice(-2000) }).toEqual({
        dc,
        status: 0,
        tail: '',
      });
      const json = h.terraform(stackDir(dc), ['show', '-json', file], `show-${dc}`);
      expect(json.status).toBe(0);
      fs.writeFileSync(path.join(plans, `${dc}.json`), json.output);
      // the plan file is a zip: its entries, uncompressed, are searched too
      const entries = execFileSync(
        'python3',
        [
          '-c',
          'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor n in z.namelist(): sys.stdout.buffer.write(z.read(n))',
          file,
        ],
        { maxBuffer: 64 << 20 },
      );
      expect(entries.length).toBeGreaterThan(100);
      fs.writeFileSync(path.join(plans, `${dc}.tfplan.entries`), entries);
    }
    const hits: string[] = [];
    const searched: string[] = [];
    const search = (file: string) => {
      const text = fs.readFileSync(file).toString('latin1');
      searched.push(path.relative(h.work, file));
      for (const pw of SECRETS)
        if (text.includes(pw)) hits.push(`${path.relative(h.work, file)}: ${pw.slice(0, 9)}...`);
    };
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name !== '.terraform') walk(p);
        } else search(p);
      }
    };
    for (const dir of ['cdktf.out', 'plans', 'logs', 'cfg']) walk(path.join(h.work, dir));
    for (const f of fs.readdirSync(h.work).filter((x) => x.includes('tfstate') || x === 'topology.yaml'))
      search(path.join(h.work, f));
    // what was searched: both states, both plans, the deploys', Terraform's, status's, etcd's and Patroni's logs
    expect(searched).toEqual(
      expect.arrayContaining([
        'terraform.dc1.tfstate',
        'terraform.dc2.tfstate',
        'plans/dc1.tfplan.entries',
        'plans/dc2.json',
        'logs/etcd-primary.log',
        'logs/etcd-standby.log',
        'logs/p1.log',
        'logs/s1.log',
        'logs/status.log',
        'logs/cdktf-initial.log',
        'logs/cdktf-promotion.log',
        'cfg/p1.yml',
        'topology.yaml',
      ]),
    );
    expect(hits).toEqual([]);
  },
);
