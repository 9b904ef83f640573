/**
 * The rules' whole reports, word for word: what was received, what is allowed and the fix (the
 * bad-input table checks paths and messages), and the conditions at each rule's edge, one case
 * each: a warning that must not fire is as much a part of a rule as one that must.
 */
import { stringify } from 'yaml';
import { formatProblem, Problem, TopologyError } from '../../constructs/errors';
import { parseTopology } from '../../stacks/topology-file';
import { Topology } from '../../constructs/types';
import { articleTopology, mutate } from './helpers';

// the article as published: examples/article.yaml acknowledges its missing WAL retention (so that
// the default synth prints no warning); the warnings here are the rules' own, so it is taken out
const base: Topology = mutate(articleTopology(), (t) => delete t.link.acknowledgeWarnings);

/** Errors (a TopologyError) or warnings of a changed article topology, each formatted as printed. */
function report(change: (t: any) => void): { errors: string[]; warnings: Record<string, string> } {
  try {
    const { warnings } = parseTopology(stringify(mutate(base, change)), 'x.yaml');
    return { errors: [], warnings: Object.fromEntries(warnings.map((w: Problem) => [w.id!, formatProblem(w)])) };
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    return { errors: err.problems.map(formatProblem), warnings: {} };
  }
}

const WAL_RETENTION = (t: any) => (t.primary.postgresql.parameters.wal_keep_size = '1GB');

describe('errors, whole', () => {
  test('Patroni timing: the sum it found and the ttl it needs', () => {
    expect(report((t) => (t.primary.patroni = { ttl: 20, loopWait: 10, retryTimeout: 10 })).errors).toEqual([
      'primary.patroni: loop_wait + 2 * retry_timeout must not exceed ttl, or the leader key expires during a retry\n    received: {"ttl":20,"loopWait":10,"retryTimeout":10}\n    allowed:  loopWait + 2 * retryTimeout <= ttl (here 30 > 20)\n    fix:      raise ttl to at least 30, or lower loopWait/retryTimeout',
    ]);
    expect(report((t) => (t.primary.patroni = { ttl: 30, loopWait: 10, retryTimeout: 10 })).errors).toEqual([]);
  });

  test("a member name used twice: the fix prefixes the members with their clusters' names, not the article's", () => {
    expect(report((t) => (t.standby.nodes[0].name = 'so1')).errors).toEqual([
      'standby.nodes[0].name: member name is already used by primary.nodes[0]\n    received: "so1"\n    allowed:  a member name unique across the primary and the standby cluster\n    fix:      rename one of the members, e.g. prefix each member with its data center: primary-1, standby-1',
    ]);
  });

  test('a slot name: the fix is the name made valid', () => {
    expect(report((t) => (t.link.slotName = 'Bad-Slot.Name')).errors).toEqual([
      'link.slotName: is not a valid PostgreSQL replication slot name\n    received: "Bad-Slot.Name"\n    allowed:  lower-case letters, digits and underscore, 1 to 63 characters\n    fix:      use e.g. "bad_slot_name"',
    ]);
  });

  test('a shared DCS with the same scope and namespace: both named', () => {
    expect(report((t) => (t.standby.dcs = t.primary.dcs)).errors).toEqual([
      'standby.scope: both clusters use the same DCS (192.168.122.237:2379, 192.168.122.93:2379, 192.168.122.128:2379) with the same scope and namespace: they would collide\n    received: {"scope":"pgcluster","namespace":"/service/patroni/"}\n    allowed:  a different scope or namespace on a shared DCS, or a DCS of its own\n    fix:      give the standby cluster its own etcd, or a different scope (e.g. "pgcluster-standby")',
    ]);
  });

  test('a reject line that does not parse', () => {
    expect(report((t) => (t.primary.postgresql.rejectLine = 'host all postgres nowhere/99 reject')).errors).toEqual([
      'primary.postgresql.rejectLine: pg_hba line does not parse: address "nowhere/99" is not a valid CIDR (like 192.168.122.97/32)\n    received: "host all postgres nowhere/99 reject"\n    allowed:  TYPE DATABASE USER [ADDRESS] METHOD [OPTIONS], as in pg_hba.conf\n    fix:      correct the line, e.g. "host replication replicator 192.168.122.97/32 scram-sha-256"',
    ]);
  });

  test('hosts: digits and dots that are no IP are refused; a host name is fine', () => {
    expect(report((t) => (t.primary.nodes[0].host = '1.2.3')).errors).toEqual([
      'primary.nodes[0].host: is not an IP address or host name\n    received: "1.2.3"\n    allowed:  an IPv4/IPv6 address or a DNS name, without port or scheme\n    fix:      write only the address, e.g. 192.168.122.97 (ports are set in postgresql.port and patroni.restApiPort)',
    ]);
    expect(report((t) => (t.primary.nodes[0].host = '10.20.30.40.example')).errors).toEqual([]);
    expect(report((t) => (t.primary.nodes[0].host = 'db-1.example.com')).errors).toEqual([]);
  });
});

describe('the delayed standby and the archive: errors a topology may acknowledge', () => {
  const acknowledged = (id: string) => (t: any) => (t.link.acknowledgeWarnings = [{ id, reason: 'meant' }]);

  test('promoting a delayed standby: refused, what a promotion of it replays, and how to accept it', () => {
    const promote = (t: any) => {
      t.link.recoveryMinApplyDelay = '30min';
      t.link.state = 'detached';
    };
    expect(report(promote).errors).toEqual([
      'link.state: promotes a delayed standby (recoveryMinApplyDelay 30min): a promotion replays at once everything it held back, a mistaken change the delay was kept for included; to take data from before such a change, read it from the standby cluster with its replay paused instead (docs/operations.md: A delayed standby)\n    received: {"state":"detached","recoveryMinApplyDelay":"30min"}\n    allowed:  following, or detached acknowledged in link.acknowledgeWarnings\n    fix:      keep state: following; or, to promote it with all it received: link.acknowledgeWarnings: [{ id: delayed-standby-promotion, reason: <why> }]',
    ]);
    expect(report((t) => (promote(t), acknowledged('delayed-standby-promotion')(t))).errors).toEqual([]);
    // a delayed standby that follows, or a delay of zero, is no promotion of a delayed standby
    expect(report((t) => (t.link.recoveryMinApplyDelay = '30min')).errors).toEqual([]);
    expect(report((t) => (promote(t), (t.link.recoveryMinApplyDelay = '0'))).errors).toEqual([]);
  });

  test('a restore command without an archive on the source: refused (the article archives to /bin/true); a real archive, or an acknowledgement, passes', () => {
    const restore = (t: any) => (t.link.restoreCommand = 'pgbackrest --stanza=main archive-get %f "%p"');
    expect(report(restore).errors).toEqual([
      `link.restoreCommand: reads WAL from an archive, but the source primary archives none (primary.postgresql.parameters: archive_command "/bin/true" archives nothing): the standby would wait on WAL that never arrives there\n    received: "pgbackrest --stanza=main archive-get %f \\"%p\\""\n    allowed:  a restore command with archive_mode 'on' and an archive_command (or archive_library) that archives on the source\n    fix:      set archive_mode: 'on' and an archive_command in primary.postgresql.parameters, remove restoreCommand, or, if the source archives outside its Patroni configuration: link.acknowledgeWarnings: [{ id: restore-command-without-archive, reason: <where it archives> }]`,
    ]);
    const params = (over: Record<string, unknown>) => (t: any) => {
      restore(t);
      const p = t.primary.postgresql.parameters;
      delete p.archive_mode;
      delete p.archive_command;
      Object.assign(p, over);
    };
    const errorOf = (over: Record<string, unknown>) =>
      report(params(over)).errors.map((e) => /archives none \(([^)]*)\)/.exec(e)?.[1]);
    expect(errorOf({})).toEqual(['primary.postgresql.parameters: archive_mode is off']);
    expect(errorOf({ archive_mode: 'off', archive_command: 'pgbackrest archive-push %p' })).toEqual([
      'primary.postgresql.parameters: archive_mode is off',
    ]);
    expect(errorOf({ archive_mode: 'on' })).toEqual(['primary.postgresql.parameters: archive_command is unset']);
    for (const mode of ['on', 'always'])
      expect(errorOf({ archive_mode: mode, archive_command: 'pgbackrest --stanza=main archive-push %p' })).toEqual([]);
    expect(errorOf({ archive_mode: 'on', archive_library: 'basic_archive' })).toEqual([]);
    expect(report((t) => (restore(t), acknowledged('restore-command-without-archive')(t))).errors).toEqual([]);
  });
});

describe('warnings, whole, and where they stop', () => {
  test('no WAL retention: fires without either parameter, quiet with one', () => {
    expect(report(() => undefined).warnings['no-wal-retention']).toBe(
      'primary.postgresql.parameters: neither wal_keep_size nor max_slot_wal_keep_size is set: the slot may retain WAL without bound, and nothing protects the link while a new leader recreates the slot\n    received: (missing)\n    allowed:  wal_keep_size and/or max_slot_wal_keep_size\n    fix:      set e.g. wal_keep_size: 1GB and max_slot_wal_keep_size: 50GB',
    );
    expect(report(WAL_RETENTION).warnings).toEqual({});
    expect(
      report((t) => {
        Object.assign(t.primary.postgresql.parameters, { max_slot_wal_keep_size: '50GB', tcp_user_timeout: '10s' });
        t.link.acknowledgeWarnings = [{ id: 'slot-limit-without-archive', reason: 'tested elsewhere' }];
      }).warnings,
    ).toEqual({});
  });

  test('the monitoring role as the superuser: the user and the addresses it would open', () => {
    expect(
      report((t) => (t.link.monitoring = { user: 'postgres', addresses: ['192.168.122.10/32'] })).warnings[
        'monitoring-as-superuser'
      ],
    ).toBe(
      'link.monitoring.user: is the superuser: the monitoring lines would admit postgres over TCP from 192.168.122.10/32, which the article\'s reject line exists to prevent\n    received: "postgres"\n    allowed:  a role with pg_monitor\n    fix:      CREATE ROLE monitor LOGIN IN ROLE pg_monitor; then set link.monitoring.user: monitor',
    );
  });

  test('pg_rewind impossible: no checksums and no wal_log_hints; on, true or 1 count as hints', () => {
    const noChecksums = (t: any) => (t.standby.postgresql.initdb = ['encoding: UTF8']);
    expect(report(noChecksums).warnings['pg-rewind-impossible']).toBe(
      "standby.postgresql: data checksums and wal_log_hints are both off: pg_rewind cannot work\n    received: {\"initdb\":[\"encoding: UTF8\"]}\n    allowed:  'data-checksums' in initdb or wal_log_hints: 'on'\n    fix:      set parameters.wal_log_hints: 'on'",
    );
    for (const hints of ['on', 'true', true, 1, '1']) {
      expect([
        hints,
        report((t) => {
          noChecksums(t);
          t.standby.postgresql.parameters.wal_log_hints = hints;
        }).warnings['pg-rewind-impossible'],
      ]).toEqual([hints, undefined]);
    }
    expect(
      report((t) => {
        noChecksums(t);
        t.standby.postgresql.parameters.wal_log_hints = 'off';
      }).warnings['pg-rewind-impossible'],
    ).toContain('"wal_log_hints":"off"');
    expect(
      report((t) => {
        noChecksums(t);
        t.standby.patroni = { usePgRewind: false };
      }).warnings['pg-rewind-impossible'],
    ).toBeUndefined();
  });

  test('a single source host: only without a VIP', () => {
    const single = (t: any) => (t.primary.nodes = [t.primary.nodes[0]]);
    expect(report(single).warnings['single-source-host']).toBe(
      'link.sourceVip: the standby cluster has a single source host and no VIP: it cannot follow a primary switchover\n    received: (missing)\n    allowed:  a VIP, or several primary nodes\n    fix:      set link.sourceVip or list every primary node',
    );
    expect(
      report((t) => {
        single(t);
        t.link.sourceVip = '192.168.122.200';
      }).warnings['single-source-host'],
    ).toBeUndefined();
    expect(report(() => undefined).warnings['single-source-host']).toBeUndefined();
  });

  test("hot-standby parameters: the standby below the managed source's default", () => {
    expect(
      report((t) => {
        WAL_RETENTION(t);
        t.standby.postgresql.parameters.max_connections = 50;
      }).warnings,
    ).toEqual({
      'hot-standby-parameters':
        "standby.postgresql.parameters.max_connections: is below the source's max_connections (100, PostgreSQL's default on the managed source): Patroni starts the standby with the source's value instead, and it shows a pending restart\n    received: 50\n    allowed:  >= 100\n    fix:      set max_connections to at least 100 on the standby cluster",
    });
    expect(
      report((t) => {
        WAL_RETENTION(t);
        t.standby.postgresql.parameters.max_connections = 100;
      }).warnings,
    ).toEqual({});
  });
});

describe("basebackup with the primary's configuration outside PGDATA", () => {
  const outside = (t: any) => (t.primary.postgresql.configDir = '/etc/postgresql/16/main');
  const MESSAGE =
    'primary.postgresql.configDir: is outside the data directory while the standby bootstraps with basebackup: the copy lacks postgresql.conf and the standby leader bootstrap fails\n    received: "/etc/postgresql/16/main"\n    allowed:  a directory inside /var/lib/pgsql/16/pgcluster, or no configDir\n    fix:      remove configDir (Patroni then keeps postgresql.conf in /var/lib/pgsql/16/pgcluster), or copy postgresql.conf into PGDATA on every primary node (the Debian layout) and drop configDir here';
  const problems = (change: (t: any) => void) => {
    const r = report(change);
    return [...r.errors, ...Object.values(r.warnings)].filter((p) => p.startsWith('primary.postgresql.configDir'));
  };

  test('basebackup or pg_basebackup: reported', () => {
    expect(problems(outside)).toEqual([MESSAGE]);
    expect(
      problems((t) => {
        outside(t);
        t.link.createReplicaMethods = ['pg_basebackup'];
      }),
    ).toEqual([MESSAGE]);
  });

  test('another method, or a folder inside PGDATA (trailing slashes too), or PGDATA itself: quiet', () => {
    expect(
      problems((t) => {
        outside(t);
        t.link.createReplicaMethods = ['pgbackrest'];
      }),
    ).toEqual([]);
    expect(problems((t) => (t.primary.postgresql.configDir = '/var/lib/pgsql/16/pgcluster/conf//'))).toEqual([]);
    expect(problems((t) => (t.primary.postgresql.configDir = '/var/lib/pgsql/16/pgcluster//'))).toEqual([]);
    // a sibling whose name starts like PGDATA is outside it
    expect(problems((t) => (t.primary.postgresql.configDir = '/var/lib/pgsql/16/pgcluster2'))).toHaveLength(1);
  });
});
