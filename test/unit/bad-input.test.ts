import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { Testing, TerraformStack } from 'cdktf';
import { formatWarning, TopologyError } from '../../constructs/errors';
import { WARNING_IDS } from '../../constructs/rules';
import { buildStandbyStacks } from '../../stacks/standby-stacks';
import { PrimaryPatroniCluster, StandbyPatroniCluster } from '../../constructs/patroni-cluster';
import { StandbyLink } from '../../constructs/standby-link';
import { loadTopologyFile, parseTopology } from '../../stacks/topology-file';
import { Topology } from '../../constructs/types';
import { articleTopology, mutate } from './helpers';

// the article as published: examples/article.yaml acknowledges its missing WAL retention (so that
// the default synth prints no warning); the tests here count that warning, so it is taken out
const base: Topology = mutate(articleTopology(), (t) => delete t.link.acknowledgeWarnings);

function problemsOf(input: unknown, linkState?: string): string[] {
  try {
    parseTopology(stringify(input), 'bad.yaml', linkState);
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    // every problem says what is allowed and how to fix it, and the message has no stack
    for (const p of err.problems)
      expect({ path: p.path, allowed: p.allowed.length > 0, fix: p.fix.length > 0 }).toEqual({
        path: p.path,
        allowed: true,
        fix: true,
      });
    expect(err.message).not.toMatch(/\n\s+at /);
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

describe('one error listing every problem, with path, value, allowed and fix', () => {
  test.each<[string, (t: any) => void, string[]]>([
    ['misspelled key', (t) => (t.primary.scop = 'x'), ['primary.scop: unknown key "scop"']],
    [
      'wrong type',
      (t) => (t.primary.postgresql.port = '5432'),
      ['primary.postgresql.port: must be a whole number, not a string'],
    ],
    ['no nodes', (t) => (t.standby.nodes = []), ['standby.nodes: needs at least one node']],
    ['missing scope', (t) => delete t.standby.scope, ['standby.scope: is required']],
    [
      'unknown DCS type',
      (t) => (t.primary.dcs.type = 'etcd4'),
      ['primary.dcs.type: must be one of: etcd3, etcd, consul, zookeeper, kubernetes'],
    ],
    [
      'duplicate member across clusters',
      (t) => (t.standby.nodes[0].name = 'so1'),
      ['standby.nodes[0].name: member name is already used by primary.nodes[0]'],
    ],
    [
      'duplicate host',
      (t) => (t.standby.nodes[1].host = '192.168.122.97'),
      ['standby.nodes[1].host: host is already used by standby.nodes[0]'],
    ],
    [
      'host with a port',
      (t) => (t.primary.nodes[0].host = '10.0.0.1:5432'),
      ['primary.nodes[0].host: is not an IP address or host name'],
    ],
    ['port out of range', (t) => (t.link.port = 70000), ['link.port: is too big']],
    [
      'invalid slot name',
      (t) => (t.link.slotName = 'My-Slot'),
      ['link.slotName: is not a valid PostgreSQL replication slot name'],
    ],
    [
      'slot name equal to a member',
      (t) => (t.link.slotName = 'so1'),
      ['link.slotName: equals the slot Patroni keeps for member so1 (primary.nodes[0])'],
    ],
    [
      'slot missing with use_slots',
      (t) => delete t.link.slotName,
      [
        'link.slotName: is required while use_slots is on: without it the standby leader streams with no slot and the primary may recycle WAL it still needs',
      ],
    ],
    ['bad link state', (t) => (t.link.state = 'promoted'), ['link.state: must be one of: following, detached']],
    [
      'different major versions',
      (t) => (t.standby.postgresql.version = 15),
      ['standby.postgresql.version: differs from the primary: physical replication needs the same major version'],
    ],
    [
      'different replication user',
      (t) => (t.standby.users.replication = 'repl'),
      [
        "standby.users.replication: must equal the primary's replication user: the standby receives the users through the copy",
      ],
    ],
    [
      'shared DCS, another namespace: no collision',
      (t) => {
        t.standby.dcs = t.primary.dcs;
        t.standby.namespace = '/service/dr/';
      },
      [],
    ],
    ['config_dir inside data_dir', (t) => (t.primary.postgresql.configDir = '/var/lib/pgsql/16/pgcluster/conf'), []],
    [
      'shared DCS, same scope',
      (t) => (t.standby.dcs = t.primary.dcs),
      [
        'standby.scope: both clusters use the same DCS (192.168.122.237:2379, 192.168.122.93:2379, 192.168.122.128:2379) with the same scope and namespace: they would collide',
      ],
    ],
    [
      'timing rule',
      (t) => (t.standby.patroni = { ttl: 20, loopWait: 10, retryTimeout: 10 }),
      ['standby.patroni: loop_wait + 2 * retry_timeout must not exceed ttl, or the leader key expires during a retry'],
    ],
    [
      'config_dir beside data_dir (a prefix of its name, not a folder in it)',
      (t) => (t.primary.postgresql.configDir = '/var/lib/pgsql/16/pgcluster-conf'),
      [
        'primary.postgresql.configDir: is outside the data directory while the standby bootstraps with basebackup: the copy lacks postgresql.conf and the standby leader bootstrap fails',
      ],
    ],
    [
      'config_dir outside data_dir with basebackup',
      (t) => (t.primary.postgresql.configDir = '/etc/postgresql/16/main'),
      [
        'primary.postgresql.configDir: is outside the data directory while the standby bootstraps with basebackup: the copy lacks postgresql.conf and the standby leader bootstrap fails',
      ],
    ],
    [
      'unparsable pg_hba line',
      (t) => (t.primary.postgresql.pgHba = ['host all all 10.0.0.1 md5']),
      [
        'primary.postgresql.pgHba[0]: pg_hba line does not parse: address "10.0.0.1" needs a prefix length (like 10.0.0.1/32)',
      ],
    ],
    [
      'standby node not covered by pg_hba',
      (t) => (t.standby.nodes[0].hbaAddress = '10.9.0.0/16'),
      [
        'standby.nodes[0].hbaAddress: is a /16 network, not one host: the generated pg_hba lines would admit replication and pg_rewind connections from every IPv4 address in it',
        "standby.nodes[0].host: is not admitted by the primary's pg_hba for replication as replicator",
        "standby.nodes[0].host: is not admitted by the primary's pg_hba for the postgres database as rewinder",
      ],
    ],
    [
      'passthrough key the model names',
      (t) => (t.primary.patroni = { dynamic: { loop_wait: 5, failsafe_mode: true } }),
      ['primary.patroni.dynamic.loop_wait: is set through its own field, not through the passthrough'],
    ],
    [
      'link slot on a source without use_slots',
      (t) => (t.primary.patroni = { useSlots: false }),
      [
        'primary.patroni.useSlots: is false, but the link streams through slot my_standby_cluster_slot: Patroni keeps no permanent slot without use_slots, so the slot would never exist on the source',
      ],
    ],
    [
      'link slot also a permanent slot',
      (t) => (t.primary.patroni = { permanentSlots: { my_standby_cluster_slot: { type: 'physical' } } }),
      [
        "primary.patroni.permanentSlots.my_standby_cluster_slot: is the link's slot (link.slotName): the link creates and releases it, a permanent slot of the same name would keep it after a promotion",
      ],
    ],
    [
      'slot name equal to a member, as Patroni maps it',
      (t) => {
        t.standby.nodes[0].name = 'TA-1.dc2';
        t.link.slotName = 'ta_1_dc2';
      },
      ['link.slotName: equals the slot Patroni keeps for member TA-1.dc2 (standby.nodes[0])'],
    ],
    [
      'bad REST password variable name',
      (t) => (t.standby.patroni = { restApiUsername: 'patroni', restApiPasswordEnv: 'DC2 PASSWORD' }),
      ['standby.patroni.restApiPasswordEnv: must be an environment variable name'],
    ],
    [
      'password in overrides',
      (t) => (t.standby.nodes[0].overrides = { postgresql: { authentication: { replication: { password: 'x' } } } }),
      [
        'standby.nodes[0].overrides.postgresql.authentication.replication.password: a password must not be written into the topology: it would land in the plan, the state and the rendered files',
      ],
    ],
    [
      'existing cluster without pg_hba',
      (t) => (t.primary.mode = 'existing'),
      [
        'primary.postgresql.pgHba: is required for an existing cluster: a DCS patch replaces the whole pg_hba list, and lines not declared here would be dropped',
      ],
    ],
    [
      'monitoring address that pg_hba cannot take',
      (t) => (t.link.monitoring.addresses = ['10.0.0.0/33']),
      ['link.monitoring.addresses[0]: is not an address pg_hba can admit the monitoring role from'],
    ],
    [
      'monitoring from every address',
      (t) => (t.link.monitoring.addresses = ['all']),
      ['link.monitoring.addresses[0]: is not an address pg_hba can admit the monitoring role from'],
    ],
    [
      'two names for the monitoring role',
      (t) => (t.link.promotion = { user: 'gate' }),
      ['link.promotion.user: differs from link.monitoring.user (monitor): status and the gate connect as one role'],
    ],
    [
      'an SSH host key that is not a public key line',
      (t) => (t.primary.nodes[0].sshHostKey = '192.168.122.237 ssh-ed25519 AAAAC3Nz'),
      [
        'primary.nodes[0].sshHostKey: must be an OpenSSH public key like "ssh-ed25519 AAAAC3Nz..." (ssh-keyscan -t ed25519 HOST, without the host name)',
      ],
    ],
    [
      'a relative env file path',
      (t) => (t.standby.deploy = { secrets: { envFile: 'patroni.env' } }),
      ['standby.deploy.secrets.envFile: must be an absolute path on the nodes, like /etc/patroni/{configName}.env'],
    ],
    [
      'a REST certificate path that is not absolute',
      (t) => (t.standby.patroni = { restApiTls: { certFile: 'node.pem' } }),
      ['standby.patroni.restApiTls.certFile: must be an absolute path on the nodes, like /etc/patroni/tls/node.pem'],
    ],
    [
      'duplicate member within a cluster',
      (t) => (t.primary.nodes[1].name = 'so1'),
      ['primary.nodes[1].name: member name is already used by primary.nodes[0]'],
    ],
    [
      'invalid IPv4 address',
      (t) => (t.standby.nodes[2].host = '999.1.1.1'),
      ['standby.nodes[2].host: is not an IP address or host name'],
    ],
    [
      'host with a space',
      (t) => (t.standby.nodes[2].host = 'bad host'),
      ['standby.nodes[2].host: is not an IP address or host name'],
    ],
    ['PostgreSQL port 0', (t) => (t.primary.postgresql.port = 0), ['primary.postgresql.port: is too small']],
    [
      'DCS host without port',
      (t) => (t.primary.dcs.hosts = ['192.168.122.237']),
      ['primary.dcs.hosts[0]: must be host:port'],
    ],
    [
      'DCS hosts not a list',
      (t) => (t.primary.dcs.hosts = '192.168.122.237:2379'),
      ['primary.dcs.hosts: must be a list, not a string'],
    ],
    [
      'slot name longer than 63',
      (t) => (t.link.slotName = 'a'.repeat(64)),
      ['link.slotName: is not a valid PostgreSQL replication slot name'],
    ],
    [
      'misspelled link key',
      (t) => {
        t.link.slot_name = t.link.slotName;
        delete t.link.slotName;
      },
      ['link.slot_name: unknown key "slot_name"'],
    ],
    ['standby cluster missing', (t) => delete t.standby, ['standby: is required']],
    [
      'different rewind user',
      (t) => (t.standby.users.rewind = 'rewind2'),
      ["standby.users.rewind: must equal the primary's rewind user: the standby receives the users through the copy"],
    ],
    [
      'negative ttl',
      (t) => (t.primary.patroni = { ttl: -1 }),
      [
        "primary.patroni.ttl: is below Patroni's minimum ttl (20 s): Patroni raises it to 20 by itself, so the plan would not show what runs",
      ],
    ],
    [
      'ttl below what Patroni 4 keeps',
      (t) => (t.standby.patroni = { ttl: 15 }),
      [
        "standby.patroni.ttl: is below Patroni's minimum ttl (20 s): Patroni raises it to 20 by itself, so the plan would not show what runs",
      ],
    ],
    [
      'retry_timeout below what Patroni 4 keeps',
      (t) => (t.primary.patroni = { retryTimeout: 2 }),
      [
        "primary.patroni.retryTimeout: is below Patroni's minimum retry_timeout (3 s): Patroni raises it to 3 by itself, so the plan would not show what runs",
      ],
    ],
    [
      'wal_keep_size below what Patroni passes on',
      (t) => (t.primary.postgresql.parameters.wal_keep_size = '0'),
      [
        "primary.postgresql.parameters.wal_keep_size: is below Patroni's minimum wal_keep_size (16MB): Patroni runs PostgreSQL with its default, 128MB, instead, so the plan would not show what runs",
      ],
    ],
    [
      'wal_keep_size in kB',
      (t) => (t.standby.postgresql.parameters.wal_keep_size = '8192kB'),
      [
        "standby.postgresql.parameters.wal_keep_size: is below Patroni's minimum wal_keep_size (16MB): Patroni runs PostgreSQL with its default, 128MB, instead, so the plan would not show what runs",
      ],
    ],
    [
      'wal_keep_size 16MB and 1GB: accepted',
      (t) => {
        t.primary.postgresql.parameters.wal_keep_size = '16MB';
        t.standby.postgresql.parameters.wal_keep_size = '1GB';
      },
      [],
    ],
    ['loop_wait zero', (t) => (t.primary.patroni = { loopWait: 0 }), ['primary.patroni.loopWait: is too small']],
    [
      'unknown auth method',
      (t) => (t.primary.postgresql.authMethod = 'password'),
      ['primary.postgresql.authMethod: must be one of: scram-sha-256, md5, cert, trust'],
    ],
    [
      'disaster flag not a boolean',
      (t) => (t.link.promotion = { disaster: 'yes' }),
      ['link.promotion.disaster: must be true or false, not a string'],
    ],
    [
      'misspelled promotion key',
      (t) => (t.link.promotion = { keepSlot: true }),
      ['link.promotion.keepSlot: unknown key "keepSlot"'],
    ],
    [
      'several problems at once',
      (t) => {
        t.primary.scop = 1;
        t.link.state = 'x';
      },
      ['primary.scop: unknown key "scop"', 'link.state: must be one of: following, detached'],
    ],
  ])('%s', (_name, change, expected) => {
    expect(problemsOf(mutate(base, change))).toEqual(expected);
  });

  test('the full message shape: value, allowed, fix', () => {
    try {
      parseTopology(stringify(mutate(base, (t) => (t.primary.scop = 'x'))), 'bad.yaml');
      throw new Error('no error');
    } catch (err) {
      expect((err as Error).message).toBe(
        'bad.yaml has 1 problem:\n  1. primary.scop: unknown key "scop"\n    received: "x"\n    allowed:  one of mode, scope, namespace, dcs, nodes, postgresql, patroni, users, deploy, backup\n    fix:      rename "scop" to "scope"',
      );
    }
  });

  test('LINK_STATE other than following/detached', () => {
    expect(problemsOf(base, 'promote')).toEqual(['LINK_STATE (environment): is not a link state']);
  });

  test('file missing, empty, not YAML, not a mapping', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'topo-'));
    const write = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
    const msg = (file: string) => {
      try {
        loadTopologyFile(file);
        return 'no error';
      } catch (err) {
        return (err as TopologyError).problems.map((p) => p.message)[0];
      }
    };
    expect(msg(path.join(dir, 'absent.yaml'))).toBe('the topology file does not exist');
    expect(msg(write('empty.yaml', '  \n'))).toBe('the file is empty');
    expect(msg(path.join(__dirname, '..', 'fixtures', 'not-yaml.yaml'))).toMatch(/^is not valid YAML: /);
    expect(msg(write('list.yaml', '- a\n- b\n'))).toBe('the document is not a mapping');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    'max_connections',
    'max_worker_processes',
    'max_wal_senders',
    'max_prepared_transactions',
    'max_locks_per_transaction',
  ])(
    'standby %s below the source: a warning (Patroni runs the standby with the higher value, pending restart)',
    (name) => {
      const { warnings } = parseTopology(
        stringify(
          mutate(base, (t) => {
            t.primary.postgresql.parameters[name] = 1000;
            t.standby.postgresql.parameters[name] = 1;
          }),
        ),
        'w.yaml',
      );
      expect(warnings.filter((w) => w.path.endsWith(name)).map((w) => `${w.path}: ${w.message}`)).toEqual([
        `standby.postgresql.parameters.${name}: is below the source's ${name} (1000): Patroni starts the standby with the source's value instead, and it shows a pending restart`,
      ]);
    },
  );

  test("an existing source's running values are not known at synth: nothing is compared against PostgreSQL's defaults", () => {
    const existing = (t: any) => {
      t.primary.mode = 'existing';
      t.primary.postgresql = { version: 16, pgHba: ['host all all 10.0.0.0/8 scram-sha-256'], generatePgHba: true };
      t.standby.postgresql.parameters.max_connections = 40;
    };
    const { warnings } = parseTopology(stringify(mutate(base, existing)), 'w.yaml');
    expect(warnings.filter((w) => w.path.includes('max_connections'))).toEqual([]);
    // a managed source without the parameter runs PostgreSQL's default: that one is known
    const managed = parseTopology(
      stringify(mutate(base, (t) => (t.standby.postgresql.parameters.max_connections = 40))),
      'w.yaml',
    );
    expect(managed.warnings.map((w) => w.message).filter((m) => m.includes('max_connections'))).toEqual([
      "is below the source's max_connections (100, PostgreSQL's default on the managed source): Patroni starts the standby with the source's value instead, and it shows a pending restart",
    ]);
  });

  test('a monitoring role that the rendered pg_hba refuses from every address: a warning per cluster, naming the line', () => {
    const { warnings } = parseTopology(stringify(mutate(base, (t) => delete t.link.monitoring)), 'w.yaml');
    expect(warnings.filter((w) => w.path === 'link.monitoring').map((w) => w.message)).toEqual([
      'status and the promotion gate connect to primary as postgres over TCP, and its pg_hba line 16 "host all postgres all reject" refuses that from every address',
      'status and the promotion gate connect to standby as postgres over TCP, and its pg_hba line 16 "host all postgres all reject" refuses that from every address',
    ]);
    // an admitting line for the role before the reject line (here for everyone) silences it
    const open = parseTopology(
      stringify(
        mutate(base, (t) => {
          delete t.link.monitoring;
          t.primary.postgresql.pgHba = ['host all all 10.0.0.0/8 scram-sha-256'];
          t.standby.postgresql.pgHba = ['host all all 10.0.0.0/8 scram-sha-256'];
        }),
      ),
      'w.yaml',
    );
    expect(open.warnings.filter((w) => w.path.startsWith('link.monitoring'))).toEqual([]);
    const superuser = parseTopology(stringify(mutate(base, (t) => (t.link.monitoring.user = 'postgres'))), 'w.yaml');
    expect(
      superuser.warnings.filter((w) => w.path.startsWith('link.monitoring')).map((w) => `${w.path}: ${w.message}`),
    ).toEqual([
      "link.monitoring.user: is the superuser: the monitoring lines would admit postgres over TCP from 192.168.122.10/32, which the article's reject line exists to prevent",
    ]);
  });

  test('warnings for legal but risky setups', () => {
    const { warnings } = parseTopology(
      stringify(
        mutate(base, (t) => {
          t.primary.nodes = [t.primary.nodes[0]];
          t.primary.postgresql.initdb = ['encoding: UTF8'];
        }),
      ),
      'w.yaml',
    );
    expect(warnings.map((w) => w.path).sort()).toEqual([
      'link.sourceVip',
      'primary.postgresql',
      'primary.postgresql.parameters',
    ]);
  });
});

describe('warnings: each with its id, printed once, acknowledgeable', () => {
  const risky = (t: any) => {
    t.primary.nodes = [t.primary.nodes[0]];
    t.primary.postgresql.initdb = ['encoding: UTF8'];
  };

  test('each warning carries the id of its rule, and its text says how to accept it', () => {
    const { warnings } = parseTopology(stringify(mutate(base, risky)), 'w.yaml');
    expect(warnings.map((w) => `${w.id} ${w.path}`)).toEqual([
      'single-source-host link.sourceVip',
      'no-wal-retention primary.postgresql.parameters',
      'pg-rewind-impossible primary.postgresql',
    ]);
    for (const id of WARNING_IDS) expect(id).toMatch(/^[a-z][a-z0-9-]+$/);
    const text = formatWarning(warnings[0]);
    expect(text.startsWith('[single-source-host] link.sourceVip: ')).toBe(true);
    expect(text.split('\n').at(-1)).toBe(
      '    accept:   link.acknowledgeWarnings: [{ id: single-source-host, reason: <why this risk is accepted> }]',
    );
  });

  test('a slot limit on the source without tcp_user_timeout: a warning; with it, none', () => {
    // the archive's warning on the same limit has its own tests (rules-detail)
    const ids = (change: (t: any) => void) =>
      parseTopology(stringify(mutate(base, change)), 'w.yaml')
        .warnings.map((w) => w.id)
        .filter((id) => id !== 'slot-limit-without-archive');
    expect(ids((t) => (t.primary.postgresql.parameters.max_slot_wal_keep_size = '10GB'))).toEqual([
      'slot-limit-without-tcp-user-timeout',
    ]);
    expect(
      ids((t) =>
        Object.assign(t.primary.postgresql.parameters, { max_slot_wal_keep_size: '10GB', tcp_user_timeout: '10s' }),
      ),
    ).toEqual([]);
    expect(ids((t) => Object.assign(t.primary.postgresql.parameters, { max_slot_wal_keep_size: -1 }))).toEqual([]);
    const w = parseTopology(
      stringify(mutate(base, (t) => (t.primary.postgresql.parameters.max_slot_wal_keep_size = '10GB'))),
      'w.yaml',
    ).warnings.find((x) => x.id === 'slot-limit-without-tcp-user-timeout')!;
    expect(w.message).toMatch(
      /the checkpoint that invalidates it waits for the walsender still holding it, .* until TCP gives up/,
    );
    expect(w.fix).toBe("add tcp_user_timeout: 10s to the source's postgresql.parameters");
  });

  test('an acknowledged warning is left out; the others stay', () => {
    const acked = parseTopology(
      stringify(
        mutate(base, (t) => {
          risky(t);
          t.link.acknowledgeWarnings = [{ id: 'single-source-host', reason: 'one node in the lab' }];
        }),
      ),
      'w.yaml',
    );
    expect(acked.warnings.map((w) => w.id)).toEqual(['no-wal-retention', 'pg-rewind-impossible']);
  });

  test('an id that is no warning, or an acknowledgement without a reason, is an error', () => {
    expect(
      problemsOf(mutate(base, (t) => (t.link.acknowledgeWarnings = [{ id: 'single-source-hots', reason: 'lab' }]))),
    ).toEqual(['link.acknowledgeWarnings[0].id: is not the id of a warning: did you mean single-source-host?']);
    expect(problemsOf(mutate(base, (t) => (t.link.acknowledgeWarnings = [{ id: 'single-source-host' }])))).toEqual([
      'link.acknowledgeWarnings[0].reason: is required',
    ]);
  });

  test('a misspelled warning id: the closest id, whole; an id near none: every id, no guess', () => {
    const printed = (id: string) => {
      try {
        parseTopology(
          stringify(mutate(base, (t) => (t.link.acknowledgeWarnings = [{ id, reason: 'archive covers it' }]))),
          'w.yaml',
        );
      } catch (err) {
        return (err as TopologyError).problems.map((p) => `${p.path}: ${p.message} | ${p.fix}`);
      }
      return [];
    };
    expect(printed('no-wal-retension')).toEqual([
      'link.acknowledgeWarnings[0].id: is not the id of a warning: did you mean no-wal-retention? | write id: no-wal-retention, or remove this entry',
    ]);
    expect(printed('disk-full')).toEqual([
      'link.acknowledgeWarnings[0].id: is not the id of a warning | copy the id a warning prints in brackets, or remove this entry',
    ]);
  });

  test('examples/article.yaml, the default topology, synthesizes with no warning: it acknowledges its missing WAL retention, saying why', () => {
    const { topology, warnings } = parseTopology(
      fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'article.yaml'), 'utf8'),
      'examples/article.yaml',
    );
    expect(warnings).toEqual([]);
    expect(topology.link.acknowledgeWarnings).toEqual([
      {
        id: 'no-wal-retention',
        reason:
          "the article's setup, as published, leaves WAL retention unset; your topology should set wal_keep_size and max_slot_wal_keep_size (see examples/two-dc.yaml)",
      },
    ]);
  });

  test('the constructs annotate each warning once, with topology paths from the stack builder', () => {
    const app = Testing.app();
    buildStandbyStacks(app, parseTopology(stringify(mutate(base, risky)), 'w.yaml').topology);
    const warnings = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data)));
    expect(warnings.map((w) => w.split(':')[0])).toEqual([
      '[single-source-host] link.sourceVip',
      '[no-wal-retention] primary.postgresql.parameters',
      '[pg-rewind-impossible] primary.postgresql',
    ]);
  });
});

describe('the constructs report the same problems the same way', () => {
  test('cross-object rules name construct paths', () => {
    const stack = new TerraformStack(Testing.app(), 'env');
    const primary = new PrimaryPatroniCluster(stack, 'dc1', base.primary);
    const standby = new StandbyPatroniCluster(stack, 'dc2', {
      ...base.standby,
      nodes: [{ name: 'so1', host: '10.1.1.1' }],
    });
    expect(() => new StandbyLink(stack, 'link', { primary, standby, ...base.link, slotName: 'Bad-Slot' })).toThrow(
      new TopologyError('env/link', [
        {
          path: 'env/dc2.nodes[0].name',
          message: 'member name is already used by env/dc1.nodes[0]',
          received: 'so1',
          allowed: '',
          fix: '',
        },
        {
          path: 'env/link.slotName',
          message: 'is not a valid PostgreSQL replication slot name',
          received: 'Bad-Slot',
          allowed: '',
          fix: '',
        },
      ]).message.split('\n')[0],
    );
  });
  test('a primary where a standby is expected, and a second link into one standby cluster, are refused', () => {
    const stack = new TerraformStack(Testing.app(), 'env');
    const primary = new PrimaryPatroniCluster(stack, 'dc1', base.primary);
    const standby = new StandbyPatroniCluster(stack, 'dc2', base.standby);
    // @ts-expect-error: the compiler refuses a primary cluster as the standby
    expect(() => new StandbyLink(stack, 'swapped', { primary, standby: primary, ...base.link })).toThrow(
      'env/swapped.standby: is not a StandbyPatroniCluster',
    );
    new StandbyLink(stack, 'link', { primary, standby, ...base.link });
    expect(() => new StandbyLink(stack, 'again', { primary, standby, ...base.link, slotName: 'other_slot' })).toThrow(
      'env/again.standby: is already fed by the link env/link: a standby cluster follows one source',
    );
    const third = new StandbyPatroniCluster(stack, 'dc3', {
      ...base.standby,
      nodes: [{ name: 'tc1', host: '10.3.0.1' }],
    });
    expect(() => new StandbyLink(stack, 'third', { primary, standby: third, ...base.link })).toThrow(
      'env/third.slotName: is already the slot of the link env/link on the same source: two standby leaders cannot stream through one slot',
    );
    // a link with its own slot is fine, and the primary's patch then guards both standby clusters
    const ok = new StandbyLink(stack, 'third-ok', { primary, standby: third, ...base.link, slotName: 'dc3_slot' });
    expect(ok.slotName).toBe('dc3_slot');
    expect(JSON.parse(primary.patchJson()).slots).toEqual({
      dc3_slot: { type: 'physical' },
      my_standby_cluster_slot: { type: 'physical' },
    });
  });

  test('schema errors from props', () => {
    const stack = new TerraformStack(Testing.app(), 'env');
    expect(() => new PrimaryPatroniCluster(stack, 'dc1', { ...base.primary, nodes: [] })).toThrow(
      'env/dc1.nodes: needs at least one node',
    );
  });
});

describe('the app prints one error and no stack trace', () => {
  const root = path.join(__dirname, '..', '..');
  // the command the cdktf CLI runs (cdktf.json's "app")
  const [command, ...args] = (JSON.parse(fs.readFileSync(path.join(root, 'cdktf.json'), 'utf8')).app as string).split(
    ' ',
  );
  const app = (env: Record<string, string>) =>
    spawnSync(command === 'node' ? process.execPath : command, args, {
      cwd: root,
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });

  test('the app command with a bad topology writes no stack', () => {
    const file = path.join(os.tmpdir(), `bad-topology-${process.pid}.yaml`);
    fs.writeFileSync(
      file,
      stringify(
        mutate(base, (t) => {
          t.primary.scop = 1;
          t.standby.nodes[0].name = 'so1';
        }),
      ),
    );
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'out-'));
    const run = app({ TOPOLOGY: file, CDKTF_OUTDIR: outdir });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `${file} has 1 problem:\n  1. primary.scop: unknown key "scop"\n    received: 1\n    allowed:  one of mode, scope, namespace, dcs, nodes, postgresql, patroni, users, deploy, backup\n    fix:      rename "scop" to "scope"\n`,
    );
    expect(fs.existsSync(path.join(outdir, 'stacks'))).toBe(false);
    fs.rmSync(file);
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  test('the app command with a YAML slip: one problem, its line and caret, printed once', () => {
    const file = path.join(os.tmpdir(), `slip-topology-${process.pid}.yaml`);
    fs.writeFileSync(
      file,
      'clusters:\n  fra:\n    deploy: { configPath: /etc/patroni/{configName}.yml }\nlink: { source: fra }\n',
    );
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'out-'));
    const run = app({ TOPOLOGY: file, CDKTF_OUTDIR: outdir });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `${file} has 1 problem:\n  1. (file): is not valid YAML: line 3, column 40: the value of configPath holds an unquoted "{" inside a flow mapping { ... }\n      3 |     deploy: { configPath: /etc/patroni/{configName}.yml }\n        |                                        ^\n    received: "deploy: { configPath: /etc/patroni/{configName}.yml }"\n    allowed:  a value that holds "{" in quotes\n    fix:      quote the value: configPath: '/etc/patroni/{configName}.yml'\n`,
    );
    fs.rmSync(file);
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  test("a TopologyError not caught by an app of one's own: Node prints its message alone, no stack frame, no problems array", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uncaught-'));
    const entry = path.join(dir, 'app.ts');
    const problem = {
      path: 'link.slotName',
      message: 'is not a valid PostgreSQL replication slot name',
      received: 'My-Slot',
      allowed: 'lower-case letters, digits and underscore',
      fix: 'use e.g. "my_slot"',
    };
    fs.writeFileSync(
      entry,
      `import { TopologyError } from ${JSON.stringify(path.join(root, 'constructs', 'errors'))};\nthrow new TopologyError('my-app', [${JSON.stringify(problem)}]);\n`,
    );
    const bundle = path.join(dir, 'app.js');
    // esbuild (a dev dependency) bundles the module and zod into one script, in a process of its own
    const build =
      "require('esbuild').buildSync({ entryPoints: [process.argv[1]], bundle: true, platform: 'node', outfile: process.argv[2], logLevel: 'error' })";
    expect(spawnSync(process.execPath, ['-e', build, entry, bundle], { cwd: root, encoding: 'utf8' })).toMatchObject({
      status: 0,
      stderr: '',
    });
    const run = spawnSync(process.execPath, [bundle], { encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'TopologyError: my-app has 1 problem:\n  1. link.slotName: is not a valid PostgreSQL replication slot name\n    received: "My-Slot"',
    );
    expect(run.stderr).not.toMatch(/^ {4}at /m);
    expect(run.stderr).not.toMatch(/^\s*problems:/m);
    // in the process: the stack is the message, and problems is still there, not enumerable
    const err = new TopologyError('my-app', [problem]);
    expect(err.stack).toBe(`TopologyError: ${err.message}`);
    expect(err.problems).toEqual([problem]);
    expect(Object.keys(err)).not.toContain('problems');
  });

  test('the app command with a risky topology: no stderr; each warning once, as a cdktf annotation that the CLI prints', () => {
    const file = path.join(os.tmpdir(), `risky-topology-${process.pid}.yaml`);
    fs.writeFileSync(file, stringify(mutate(base, (t) => (t.primary.nodes = [t.primary.nodes[0]]))));
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'out-'));
    const run = app({ TOPOLOGY: file, CDKTF_OUTDIR: outdir });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
    const notes = Object.values(
      manifest.stacks as Record<string, { annotations: { level: string; message: string }[] }>,
    ).flatMap((st) => st.annotations);
    expect(notes.map((n) => `${n.level} ${n.message.split(':')[0]}`)).toEqual([
      '@cdktf/warn [single-source-host] link.sourceVip',
      '@cdktf/warn [no-wal-retention] primary.postgresql.parameters',
    ]);
    fs.rmSync(file);
    fs.rmSync(outdir, { recursive: true, force: true });
  });
});
