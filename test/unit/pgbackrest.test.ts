/**
 * pgBackRest as a part of a cluster: the files each host gets, the archive and restore commands,
 * the resources and their order, the stanza step on the source's repository host, and what bad
 * input gets.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse, stringify } from 'yaml';
import { Testing } from 'cdktf';
import { formatProblem, TopologyError } from '../../constructs/errors';
import { nodeConfig, repositoryConfig, archiveCommand, restoreCommand } from '../../constructs/planners/pgbackrest';
import { firstBackupCommand } from '../../constructs/pgbackrest';
import { archiveRestoreCommand } from '../../constructs/planners/link';
import { resolveCluster } from '../../constructs/resolve';
import { ClusterSpec } from '../../constructs/types';
import { buildStandbyStacks } from '../../stacks/standby-stacks';
import { parseTopology } from '../../stacks/topology-file';

const TWO_DC = fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'two-dc.yaml'), 'utf8');

const tls = {
  caFile: '/etc/pgbackrest/tls/ca.crt',
  certFile: '/etc/pgbackrest/tls/host.crt',
  keyFile: '/etc/pgbackrest/tls/host.key',
  clients: ['pgbackrest-dc1', 'pgbackrest-dc2'],
};
const backupOf = (dc: 1 | 2) => ({
  stanza: 'payments',
  repository: { host: `10.${dc}.0.30` },
  tls: { ...tls, clients: [...tls.clients] },
});

/** examples/two-dc.yaml, with backup on both clusters unless `change` says otherwise. */
function twoDc(change: (t: any) => void = () => undefined): any {
  const t = parse(TWO_DC);
  t.clusters.dc1.backup = backupOf(1);
  t.clusters.dc2.backup = backupOf(2);
  change(t);
  return t;
}

function parsed(t: any, linkState?: string) {
  return parseTopology(stringify(t), 'topology.yaml', linkState);
}

function problems(t: any): string[] {
  try {
    parsed(t);
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    return err.problems.map(formatProblem);
  }
  throw new Error('no error');
}

function stacks(t: any, linkState?: string) {
  const app = Testing.app();
  const built = buildStandbyStacks(app, parsed(t, linkState).topology);
  // by the stacks' names (the data centers): the source's stack is dc2's after a switchover
  const out: Record<string, Record<string, any>> = {};
  for (const stack of [built.primaryStack, built.standbyStack])
    out[stack.node.id] = JSON.parse(Testing.synth(stack)).resource.terraform_data;
  return out as { dc1: Record<string, any>; dc2: Record<string, any> };
}

/** A resource by the end of its construct path (its key without the hash: `pgbackrest_stanza`). */
const named = (key: string, suffix: string) => key.replace(/_[0-9A-F]{8}$/, '').endsWith(suffix.replace(/\//g, '_'));
function at(resources: Record<string, any>, suffix: string): any {
  const found = Object.entries(resources).find(([k]) => named(k, suffix));
  if (!found) throw new Error(`no resource at ${suffix}: ${Object.keys(resources).join(', ')}`);
  return found[1];
}
const keyOf = (resources: Record<string, any>, suffix: string) =>
  `terraform_data.${Object.keys(resources).find((k) => named(k, suffix))!}`;

const cluster = (spec: Partial<ClusterSpec> = {}) =>
  resolveCluster({
    scope: 'payments',
    dcs: { type: 'etcd3', hosts: ['10.1.0.21:2379'] },
    nodes: [
      { name: 'a1', host: '10.1.0.11' },
      {
        name: 'a2',
        host: '10.1.0.12',
        overrides: { postgresql: { data_dir: '/srv/a2', parameters: { unix_socket_directories: '/run/a2,/tmp' } } },
      },
    ],
    postgresql: { version: 16, port: 5433 },
    backup: backupOf(1),
    ...spec,
  } as ClusterSpec);

describe('the files', () => {
  test("a node's file: its repository as repo1, the other data center's as repo2, its TLS server, its PostgreSQL", () => {
    const dc1 = cluster();
    const dc2 = cluster({ backup: backupOf(2) });
    expect(nodeConfig(dc1, dc1.nodes[0], dc2)).toBe(
      [
        '# pgBackRest, rendered by the stacks: edit the topology, not this file',
        '[global]',
        'repo1-host=10.1.0.30',
        'repo1-host-type=tls',
        'repo1-host-port=8432',
        'repo1-host-ca-file=/etc/pgbackrest/tls/ca.crt',
        'repo1-host-cert-file=/etc/pgbackrest/tls/host.crt',
        'repo1-host-key-file=/etc/pgbackrest/tls/host.key',
        'repo1-path=/var/lib/pgbackrest',
        'repo2-host=10.2.0.30',
        'repo2-host-type=tls',
        'repo2-host-port=8432',
        'repo2-host-ca-file=/etc/pgbackrest/tls/ca.crt',
        'repo2-host-cert-file=/etc/pgbackrest/tls/host.crt',
        'repo2-host-key-file=/etc/pgbackrest/tls/host.key',
        'repo2-path=/var/lib/pgbackrest',
        'tls-server-address=10.1.0.11',
        'tls-server-port=8432',
        'tls-server-ca-file=/etc/pgbackrest/tls/ca.crt',
        'tls-server-cert-file=/etc/pgbackrest/tls/host.crt',
        'tls-server-key-file=/etc/pgbackrest/tls/host.key',
        'tls-server-auth=pgbackrest-dc1=payments',
        'tls-server-auth=pgbackrest-dc2=payments',
        '',
        '[global:archive-push]',
        'io-timeout=10',
        'protocol-timeout=30',
        '',
        '[global:archive-get]',
        'io-timeout=5',
        'protocol-timeout=30',
        '',
        '[payments]',
        'pg1-path=/var/lib/pgsql/16/payments',
        'pg1-port=5433',
        'pg1-user=postgres',
        '',
      ].join('\n'),
    );
    // without a peer with backup: one repository; a node's own data and socket directories
    const alone = nodeConfig(dc1, dc1.nodes[1], cluster({ backup: undefined }));
    expect(alone).not.toContain('repo2');
    expect(alone).toContain(
      '\n[payments]\npg1-path=/srv/a2\npg1-port=5433\npg1-user=postgres\npg1-socket-path=/run/a2\n',
    );
  });

  test("the repository host's file: its own repository alone, its TLS server, every member of both clusters as pgN (its own first); options sorted, booleans as y/n", () => {
    const dc1 = cluster({ backup: { ...backupOf(1), options: { 'process-max': 4, 'archive-async': true } } });
    const peer = resolveCluster({
      scope: 'payments',
      dcs: { type: 'etcd3', hosts: ['10.2.0.21:2379'] },
      nodes: [{ name: 'b1', host: '10.2.0.11' }],
      postgresql: { version: 16 },
      backup: { ...backupOf(2), serverPort: 8433 },
    });
    const text = repositoryConfig(dc1, peer);
    expect(text).toMatch(/^\[global\]\nrepo1-path=\/var\/lib\/pgbackrest\ntls-server-address=10\.1\.0\.30\n/m);
    // pgBackRest refuses a remote repository next to remote databases
    expect(text).not.toMatch(/repo[0-9]-host/);
    expect(text).toContain('tls-server-auth=pgbackrest-dc2=payments\narchive-async=y\nprocess-max=4\n');
    expect(text).toContain('pg1-host=10.1.0.11\npg1-host-type=tls\npg1-host-port=8432\n');
    expect(text).toContain('pg2-path=/srv/a2\npg2-port=5433\npg2-user=postgres\npg2-socket-path=/run/a2\n');
    // the other data center's member, with its own port and paths, this host's client files
    expect(text).toContain(
      'pg3-host=10.2.0.11\npg3-host-type=tls\npg3-host-port=8433\npg3-host-ca-file=/etc/pgbackrest/tls/ca.crt\npg3-host-cert-file=/etc/pgbackrest/tls/host.crt\npg3-host-key-file=/etc/pgbackrest/tls/host.key\npg3-path=/var/lib/pgsql/16/payments\npg3-port=5432\n',
    );
    expect(repositoryConfig(dc1, undefined)).not.toContain('pg3-');
  });

  test('the commands name the file only when it is one path on every node and not the default', () => {
    const b = cluster().backup!;
    expect(archiveCommand(b)).toBe('pgbackrest --stanza=payments archive-push "%p"');
    expect(restoreCommand(b)).toBe('pgbackrest --stanza=payments archive-get %f "%p"');
    expect(archiveCommand({ ...b, configPath: '/etc/pgbackrest/payments.conf' })).toBe(
      'pgbackrest --config=/etc/pgbackrest/payments.conf --stanza=payments archive-push "%p"',
    );
    expect(archiveCommand({ ...b, configPath: '/srv/{name}/pgbackrest.conf' })).toBe(
      'pgbackrest --stanza=payments archive-push "%p"',
    );
  });
});

/** A member's bootstrap.dcs, as its rendered patroni.yml holds it. */
const dcs = (resources: Record<string, any>, member: string) =>
  parse(at(resources, `node-${member}/config`).input.patroni_yml as string).bootstrap.dcs;

describe('the configuration Patroni gets', () => {
  test('archive_mode and archive_command from backup; the hybrid standby reads its own repository', () => {
    const { dc1, dc2 } = stacks(twoDc());
    expect(dcs(dc1, 'pay-a1').postgresql.parameters).toMatchObject({
      archive_mode: 'on',
      archive_command: 'pgbackrest --stanza=payments archive-push "%p"',
    });
    expect(dcs(dc2, 'pay-b1').standby_cluster.restore_command).toBe('pgbackrest --stanza=payments archive-get %f "%p"');
    // dc2 archives too once it is the source (a standby leader does not archive with archive_mode on)
    expect(dcs(dc2, 'pay-b1').postgresql.parameters.archive_mode).toBe('on');
  });

  test("link.restoreCommand wins; a standby without backup, or a source without it, gets no archive's restore command", () => {
    const own = stacks(twoDc((t) => (t.link.restoreCommand = '/usr/local/bin/fetch-wal %f %p')));
    expect(dcs(own.dc2, 'pay-b1').standby_cluster.restore_command).toBe('/usr/local/bin/fetch-wal %f %p');
    // the archive's restore command needs both: the source archives into the standby's repository
    const [withB, without] = [cluster(), cluster({ backup: undefined })];
    expect(archiveRestoreCommand(withB, without)).toBeUndefined();
    expect(archiveRestoreCommand(without, withB)).toBeUndefined();
    expect(archiveRestoreCommand(withB, withB)).toBe('pgbackrest --stanza=payments archive-get %f "%p"');
  });
});

/** The problems of a re-seed `from` something when neither cluster has backup. */
const withoutBackup = (from: string) =>
  problems(
    twoDc((t) => {
      delete t.clusters.dc1.backup;
      delete t.clusters.dc2.backup;
      t.link.reseed = { cluster: 'dc2', generation: 1, from };
    }),
  ).join('\n');

describe('members created from the backup', () => {
  /** A member's patroni.yml as Patroni reads it. */
  const yml = (resources: Record<string, any>, member: string) =>
    parse(at(resources, `node-${member}/config`).input.patroni_yml as string);

  test("every member restores from its own data center's repository first, then pg_basebackup; replicas fall back to the archive", () => {
    const { dc1, dc2 } = stacks(twoDc());
    for (const [r, m] of [
      [dc1, 'pay-a2'],
      [dc2, 'pay-b1'],
    ] as const)
      expect(yml(r, m).postgresql).toMatchObject({
        create_replica_methods: ['pgbackrest', 'basebackup'],
        pgbackrest: {
          command: 'pgbackrest --stanza=payments --repo=1 --delta --type=standby restore',
          keep_data: true,
          no_params: true,
        },
        recovery_conf: { restore_command: 'pgbackrest --stanza=payments archive-get %f "%p"' },
      });
    // the standby leader: its data center's repository first, the source across the link after
    expect(dcs(dc2, 'pay-b1').standby_cluster.create_replica_methods).toEqual(['pgbackrest', 'basebackup']);
    // without backup: as before, pg_basebackup only, no method or restore command of pgBackRest
    const none = stacks(
      twoDc((t) => {
        delete t.clusters.dc1.backup;
        delete t.clusters.dc2.backup;
        t.link.acknowledgeWarnings = [{ id: 'slot-limit-without-archive', reason: 'tested' }];
      }),
    );
    expect(yml(none.dc2, 'pay-b1').postgresql).not.toHaveProperty('create_replica_methods');
    expect(yml(none.dc2, 'pay-b1').postgresql).not.toHaveProperty('recovery_conf');
    expect(dcs(none.dc2, 'pay-b1').standby_cluster.create_replica_methods).toEqual(['basebackup']);
    // the link's own list wins
    const own = stacks(twoDc((t) => (t.link.createReplicaMethods = ['basebackup'])));
    expect(dcs(own.dc2, 'pay-b1').standby_cluster.create_replica_methods).toEqual(['basebackup']);
  });

  test('the first backup step: after the stanza, a full backup only when the repository has none, from a standby of its own data center first', () => {
    const { dc1, dc2 } = stacks(twoDc());
    const step = at(dc2, 'pgbackrest/first-backup');
    expect(step.depends_on).toEqual([keyOf(dc2, 'pgbackrest/stanza')]);
    const pb = 'runuser -u postgres -- pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=payments';
    // what it does with pgBackRest's answers: the stand-in tests below
    for (const line of [
      `if ${pb} --output=json info | grep -q '"backup":\\[{'; then`,
      `full() { rc=0; ${pb} --type=full --start-fast --io-timeout=5 --archive-timeout=30 "$@" backup || rc=$?; }`,
      'echo "repository (10.2.0.30): no backup of payments yet: a full backup, from a standby of this data center"',
    ])
      expect(step.input.command.split('\n')).toContain(line);
    // the same command in the planner's function, for the cluster it is given
    expect(firstBackupCommand(cluster())).toContain(
      'runuser -u postgres -- pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=payments --output=json info',
    );
    expect(step.provisioner[0]['remote-exec'].inline).toEqual(['set -eu', '${self.input.command}']);
    // re-run when the repository changes, like the stanza
    expect(step.triggers_replace.repository_sha256).toBe(
      at(dc2, 'pgbackrest/stanza').triggers_replace.repository_sha256,
    );
    expect(at(dc1, 'pgbackrest/first-backup').input.host).toBe('10.1.0.30');
  });
});

describe('the first backup step, run against a stand-in pgbackrest', () => {
  /**
   * Runs the step's command as its provisioner does (`set -eu`), with a `pgbackrest` on PATH that
   * prints `info` (with or without a backup) and exits with the next of `codes` for each backup;
   * what it printed, its exit code, and the backups it was asked for.
   */
  function run(info: string, codes: number[]): { out: string; status: number | null; calls: string[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'first-backup-'));
    try {
      fs.writeFileSync(path.join(dir, 'codes'), codes.join('\n') + '\n');
      fs.writeFileSync(
        path.join(dir, 'pgbackrest'),
        [
          '#!/bin/sh',
          `d=${dir}`,
          'case "$*" in *" info") echo \'' + info + "'; exit 0 ;; esac",
          'echo "$*" >> "$d/calls"',
          'code=$(head -n 1 "$d/codes"); sed -i 1d "$d/codes"; exit "$code"',
        ].join('\n'),
        { mode: 0o755 },
      );
      const command = firstBackupCommand(cluster({ deploy: { sshUser: 'postgres' } } as Partial<ClusterSpec>));
      const res = spawnSync('/bin/sh', ['-c', `set -eu\n${command}`], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      });
      const calls = fs.existsSync(path.join(dir, 'calls'))
        ? fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n')
        : [];
      return {
        out: res.stdout + res.stderr,
        status: res.status,
        calls: calls.map((c) => c.replace(/^.* --io-timeout=5 --archive-timeout=30 ?/, '')),
      };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const NONE = '[{"archive":[],"backup":[],"name":"payments"}]';
  const ONE = '[{"archive":[],"backup":[{"label":"20261206-010203F"}],"name":"payments"}]';

  test('a repository with a backup: none taken', () => {
    expect(run(ONE, [])).toEqual({
      out: expect.stringContaining('payments has a backup; none taken'),
      status: 0,
      calls: [],
    });
  });

  test('from a standby; from the primary only when no standby answers (56)', () => {
    const standby = run(NONE, [0]);
    expect(standby).toMatchObject({ status: 0, calls: ['--backup-standby backup'] });
    expect(standby.out).toContain('first full backup of payments taken');
    const primary = run(NONE, [56, 0]);
    expect(primary).toMatchObject({ status: 0, calls: ['--backup-standby backup', 'backup'] });
    expect(primary.out).toContain('no standby answers: a full backup from the primary');
  });

  test('another failure of the standby copy is not retried from the primary (across the link)', () => {
    expect(run(NONE, [28, 0])).toMatchObject({ status: 28, calls: ['--backup-standby backup'] });
  });

  test('WAL not archived (82): passes without a backup, saying so; archive_mode off (87): fails, naming the restart', () => {
    const stalled = run(NONE, [56, 82]);
    expect(stalled.status).toBe(0);
    expect(stalled.out).toContain("the backup's WAL did not reach this repository within 30 s");
    expect(stalled.out).not.toContain('taken');
    const off = run(NONE, [87]);
    expect(off.status).toBe(1);
    expect(off.out).toContain('archive_mode is off on the primary: restart the members (patronictl restart payments');
  });
});

describe('a re-seed from the backup', () => {
  test('the default with backup: the members set aside and restored; the standby block restores from the repository first', () => {
    const { dc2 } = stacks(twoDc((t) => (t.link.reseed = { cluster: 'dc2', generation: 1 })));
    const gate = JSON.parse(at(dc2, 'reseed/gate').input.reseed_config);
    expect(gate.from).toBe('backup');
    expect(Object.keys(gate.setAside)).toEqual(['pay-b1', 'pay-b2']);
    expect(at(dc2, 'reseed/pay-b1-set-aside')).toBeDefined();
    expect(dcs(dc2, 'pay-b1').standby_cluster.create_replica_methods).toEqual(['pgbackrest', 'basebackup']);
  });

  test('from: source clones by pg_basebackup across the link, whatever the link lists', () => {
    const { dc2 } = stacks(twoDc((t) => (t.link.reseed = { cluster: 'dc2', generation: 1, from: 'source' })));
    expect(JSON.parse(at(dc2, 'reseed/gate').input.reseed_config).from).toBe('source');
    expect(dcs(dc2, 'pay-b1').standby_cluster.create_replica_methods).toEqual(['basebackup']);
    // the running cluster's DCS gets the same list through its patch
    expect(at(dc2, 'dcs-patch/apply').input.patch_json).toContain(
      '"create_replica_methods": [\n      "basebackup"\n    ]',
    );
  });

  test('refused without backup, or with a method list that has no pgbackrest', () => {
    const none = withoutBackup('backup');
    expect(none).toContain(
      'link.reseed.from: backup: clusters.dc2 has no backup, so there is no repository in its data center to restore from',
    );
    expect(none).toContain('fix:      set from: source (pg_basebackup across the link), or give both clusters backup');
    const list = problems(
      twoDc((t) => {
        t.link.createReplicaMethods = ['basebackup'];
        t.link.reseed = { cluster: 'dc2', generation: 1, from: 'backup' };
      }),
    ).join('\n');
    expect(list).toContain('link.createReplicaMethods: lists no pgbackrest while the re-seed restores from the backup');
    expect(list).toContain('received: ["basebackup"]');
  });
});

describe('the resources', () => {
  test("each node's file before its Patroni; the stanza step on the source's repository host, after every file and the patch", () => {
    const { dc1, dc2 } = stacks(twoDc());
    expect(at(dc1, 'node-pay-a1/config').depends_on).toContain(keyOf(dc1, 'pgbackrest/node-pay-a1'));
    const stanza = at(dc1, 'pgbackrest/stanza');
    expect(stanza.input).toEqual({
      host: '10.1.0.30',
      stanza: 'payments',
      command:
        'runuser -u postgres -- pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=payments --io-timeout=5 stanza-create',
    });
    expect(stanza.connection).toMatchObject({ type: 'ssh', host: '${self.input.host}', user: 'root' });
    // a changed repository (another path) creates the stanza there again
    const moved = stacks(twoDc((t) => (t.clusters.dc1.backup.repository.path = '/srv/pgbackrest')));
    expect(at(moved.dc1, 'pgbackrest/stanza').triggers_replace.repository_sha256).not.toBe(
      stanza.triggers_replace.repository_sha256,
    );
    for (const dep of ['pgbackrest/repository', 'pgbackrest/node-pay-a3', 'node-pay-a2/config', 'dcs-patch/apply'])
      expect(stanza.depends_on).toContain(keyOf(dc1, dep));
    // the standby's repository host: its own file, server and stanza step
    expect(at(dc2, 'pgbackrest/repository').input.pgbackrest_conf).toContain('tls-server-address=10.2.0.30');
    expect(at(dc2, 'pgbackrest/stanza').input.host).toBe('10.2.0.30');
  });

  test('a switchover changes nothing of pgBackRest: no file, no step moves or changes', () => {
    const before = stacks(twoDc());
    const after = stacks(twoDc((t) => (t.link.source = 'dc2')));
    for (const dc of ['dc1', 'dc2'] as const) {
      const steps = (r: Record<string, any>) =>
        Object.entries(r)
          .filter(([k]) => /pgbackrest_/.test(k))
          .map(([k, v]) => [k, v.input]);
      expect(steps(after[dc]).length).toBe(dc === 'dc1' ? 6 : 5);
      expect(steps(after[dc])).toEqual(steps(before[dc]));
    }
  });

  test('over SSH as the repository user the stanza step needs no runuser; the file reaches the host over SSH', () => {
    const { dc1 } = stacks(
      twoDc((t) => {
        t.clusters.dc1.deploy = { sshUser: 'pgbackrest' };
        t.clusters.dc1.backup.repository.user = 'pgbackrest';
      }),
    );
    expect(at(dc1, 'pgbackrest/stanza').input.command).toMatch(/^pgbackrest --config=/);
    const repo = at(dc1, 'pgbackrest/repository');
    // the directory first: Debian's package has no /etc/pgbackrest
    expect(repo.provisioner[0]['remote-exec'].inline).toEqual([
      `mkdir -p "$(dirname '/etc/pgbackrest/pgbackrest.conf')"`,
    ]);
    expect(repo.provisioner[1].file.destination).toBe('${self.input.config_path}.tf-new');
    expect(repo.provisioner[2]['remote-exec'].inline.join('\n')).toContain(
      'pgBackRest server runs: restarting"; systemctl restart pgbackrest.service',
    );
  });
});

describe('bad input', () => {
  test('an option that holds a secret is refused without its value; one the model writes, with the field that sets it', () => {
    const out = problems(
      twoDc((t) => (t.clusters.dc1.backup.options = { 'repo1-cipher-pass': 'hunter2', 'repo1-path': '/x' })),
    );
    expect(out.join('\n')).not.toContain('hunter2');
    expect(out).toEqual([
      expect.stringMatching(
        /^clusters\.dc1\.backup\.options\.repo1-cipher-pass: holds a secret: .*\n {4}received: "\(hidden: the key holds a secret\)"\n.*\n {4}fix: {6}remove repo1-cipher-pass; set PGBACKREST_REPO1_CIPHER_PASS in the environment of pgBackRest on the hosts$/,
      ),
      expect.stringMatching(/^clusters\.dc1\.backup\.options\.repo1-path: is written by the model/),
    ]);
  });

  test('an option key that is no plain name (trailing space, capitals, a line break) is refused, its value never shown', () => {
    for (const key of ['repo1-s3-key ', 'Repo1-Cipher-Pass', 'archive-async\n[payments]\npg1-path']) {
      const out = problems(twoDc((t) => (t.clusters.dc1.backup.options = { [key]: 'hunter2' })));
      expect(out.join('\n')).not.toContain('hunter2');
      expect(out).toEqual([
        expect.stringContaining(': is not a pgBackRest option name (lower-case letters, digits and dashes'),
      ]);
    }
  });

  test('db-timeout in the options: the commands the model times out keep their protocol-timeout above it', () => {
    const dc1 = cluster({ backup: { ...backupOf(1), options: { 'db-timeout': 600 } } });
    expect(nodeConfig(dc1, dc1.nodes[0])).toContain('[global:archive-push]\nio-timeout=10\nprotocol-timeout=630\n');
    expect(nodeConfig(dc1, dc1.nodes[0])).toContain('[global:archive-get]\nio-timeout=5\nprotocol-timeout=630\n');
  });

  test("a member's own archive_command next to backup is refused too (Patroni would prefer it)", () => {
    const out = problems(
      twoDc(
        (t) => (t.clusters.dc1.nodes[0].overrides = { postgresql: { parameters: { archive_command: '/bin/true' } } }),
      ),
    ).join('\n');
    expect(out).toContain(
      'clusters.dc1.nodes[0].overrides.postgresql.parameters.archive_command: is set by clusters.dc1.backup',
    );
  });

  test('missing TLS clients, a bad stanza name, a relative path: each named', () => {
    const out = problems(
      twoDc((t) => {
        t.clusters.dc1.backup.tls.clients = [];
        t.clusters.dc1.backup.stanza = 'pay ments';
        t.clusters.dc1.backup.repository.path = 'backups';
      }),
    ).join('\n');
    expect(out).toContain('clusters.dc1.backup.stanza: must be a stanza name');
    expect(out).toContain('clusters.dc1.backup.repository.path: must be an absolute path');
    expect(out).toContain('clusters.dc1.backup.tls.clients: needs at least one client common name');
  });

  test('archive parameters next to backup, two stanzas, a repository on a member or shared: refused', () => {
    const out = problems(
      twoDc((t) => {
        t.clusters.dc1.postgresql.parameters.archive_command = '/bin/true';
        t.clusters.dc2.backup.stanza = 'other';
        t.clusters.dc1.backup.repository.host = '10.1.0.12';
      }),
    ).join('\n');
    expect(out).toContain(
      'clusters.dc1.postgresql.parameters.archive_command: is set by clusters.dc1.backup (pgBackRest archives the WAL)',
    );
    expect(out).toContain('clusters.dc2.backup.stanza: differs from clusters.dc1.backup.stanza (payments)');
    expect(out).toContain('clusters.dc1.backup.repository.host: is the address of clusters.dc1 member pay-a2');
    const shared = problems(twoDc((t) => (t.clusters.dc2.backup.repository.host = '10.1.0.30'))).join('\n');
    expect(shared).toContain("clusters.dc2.backup.repository.host: is also clusters.dc1's repository host");
  });

  test('backup on an existing cluster is refused', () => {
    const out = problems(
      twoDc((t) => {
        t.clusters.dc1.mode = 'existing';
        t.clusters.dc1.postgresql.pgHba = ['local all postgres peer'];
      }),
    ).join('\n');
    expect(out).toContain('clusters.dc1.backup: needs a managed cluster');
  });
});

describe('warnings', () => {
  const ids = (t: any) => parsed(t).warnings.map((w) => w.id);
  test('a slot limit without an archive the standby reads; quiet with backup on both or a restore command', () => {
    const none = twoDc((t) => {
      delete t.clusters.dc1.backup;
      delete t.clusters.dc2.backup;
    });
    expect(ids(none)).toEqual(['slot-limit-without-archive']);
    expect(ids(twoDc())).toEqual([]);
    // no limit, no warning
    delete none.clusters.dc1.postgresql.parameters.max_slot_wal_keep_size;
    expect(ids(none)).toEqual([]);
  });

  test('backup on one cluster only: refused, whichever it is', () => {
    for (const without of ['dc1', 'dc2']) {
      const out = problems(twoDc((t) => delete t.clusters[without].backup));
      expect(out).toEqual([
        expect.stringMatching(
          new RegExp(
            `^clusters\\.${without}\\.backup: is not set while clusters\\.dc[12]\\.backup is: the archive would live in one data center only`,
          ),
        ),
      ]);
    }
  });
});

describe('a re-seed from the archive', () => {
  test('two steps in the standby stack, gate then wait: nothing stopped, set aside or cloned', () => {
    const { dc2 } = stacks(twoDc((t) => (t.link.reseed = { cluster: 'dc2', generation: 1, from: 'archive' })));
    const steps = Object.keys(dc2).filter((k) => /_reseed_/.test(k));
    expect(steps.map((k) => k.replace(/_[0-9A-F]{8}$/, ''))).toEqual(['cluster_reseed_gate', 'cluster_reseed_wait']);
    const wait = at(dc2, 'reseed/wait');
    expect(wait.depends_on).toEqual([keyOf(dc2, 'reseed/gate')]);
    expect(JSON.parse(wait.input.reseed_config)).toMatchObject({
      from: 'archive',
      setAside: {},
      // status and the gate know the standby reads an archive (a lost slot then needs no copy)
      health: { readsArchive: true },
    });
    const none = stacks(
      twoDc((t) => {
        delete t.clusters.dc1.backup;
        delete t.clusters.dc2.backup;
        t.link.reseed = { cluster: 'dc2', generation: 1 };
        t.link.acknowledgeWarnings = [{ id: 'slot-limit-without-archive', reason: 'tested' }];
      }),
    ).dc2;
    expect(JSON.parse(at(none, 'reseed/gate').input.reseed_config).health).not.toHaveProperty('readsArchive');
  });

  test('refused where the standby reads no archive', () => {
    const out = withoutBackup('archive');
    expect(out).toContain('link.reseed.from: archive: the standby reads no archive');
    expect(out).toContain(
      'fix:      set from: source (the members are cloned anew), or give both clusters backup first',
    );
  });
});

test('archive-push-queue-max: a warning naming the WAL it drops', () => {
  const w = parsed(twoDc((t) => (t.clusters.dc1.backup.options = { 'archive-push-queue-max': '10GB' }))).warnings;
  expect(w.map((x) => [x.id, x.path])).toEqual([
    ['archive-push-queue-max-drops-wal', 'clusters.dc1.backup.options.archive-push-queue-max'],
  ]);
  expect(parsed(twoDc((t) => (t.clusters.dc1.backup.options = { 'archive-async': true }))).warnings).toEqual([]);
});
