/**
 * A cluster's dynamic configuration, exactly: bootstrap.dcs and the PATCH /config body of a
 * managed and of an existing cluster, with and without what a link contributes (pg_hba lines,
 * parameters, slots kept and dropped, a standby_cluster block, a detach).
 */
import { bootstrapDcs, configPatch, LinkContribution } from '../../constructs/planners/dynamic-config';
import { resolveCluster } from '../../constructs/resolve';
import { ClusterSpec } from '../../constructs/types';

const base: ClusterSpec = {
  scope: 'pg',
  dcs: { type: 'etcd3', hosts: ['10.0.0.9:2379'] },
  nodes: [{ name: 'a1', host: '10.0.0.1' }],
};
const managed = (over: Partial<ClusterSpec> = {}) => resolveCluster({ ...base, ...over } as ClusterSpec);
const existing = (over: Partial<ClusterSpec> = {}) =>
  resolveCluster({
    ...base,
    mode: 'existing',
    postgresql: { pgHba: ['local all postgres peer', 'host all all 0.0.0.0/0 reject'] },
    ...over,
  } as ClusterSpec);

const TIMING = { ttl: 30, loop_wait: 10, retry_timeout: 10, maximum_lag_on_failover: 1048576 };
const HBA = [
  'local all postgres peer',
  'local replication replicator peer map=replicamap',
  'local postgres rewinder peer map=rewindmap',
  'host replication replicator 10.0.0.1/32 scram-sha-256',
  'host postgres rewinder 10.0.0.1/32 scram-sha-256',
];
const REJECT = 'host all postgres all reject';
const IDENT = ['rewindmap postgres rewinder', 'replicamap postgres replicator'];
const section = (over: Record<string, unknown> = {}) => ({
  use_pg_rewind: true,
  use_slots: true,
  parameters: {},
  pg_hba: [...HBA, REJECT],
  pg_ident: IDENT,
  ...over,
});

const link: LinkContribution = {
  pgHbaLines: ['host replication replicator 10.0.2.1/32 scram-sha-256'],
  parameters: { wal_keep_size: '1GB', work_mem: '4MB' },
  slots: { link_slot: { type: 'physical' }, old_slot: null },
};

describe('bootstrap.dcs', () => {
  test('a cluster alone: its timing, the postgresql section, no slots, no standby_cluster', () => {
    expect(bootstrapDcs(managed(), [])).toEqual({ ...TIMING, postgresql: section() });
  });

  test("a link: its lines before the reject line, its parameters under the cluster's own, kept slots only", () => {
    const c = managed({ postgresql: { parameters: { work_mem: '64MB' } } } as Partial<ClusterSpec>);
    expect(bootstrapDcs(c, [link])).toEqual({
      ...TIMING,
      postgresql: section({
        parameters: { wal_keep_size: '1GB', work_mem: '64MB' },
        pg_hba: [...HBA, 'host replication replicator 10.0.2.1/32 scram-sha-256', REJECT],
      }),
      slots: { link_slot: { type: 'physical' } },
    });
  });

  test('only dropped slots: no slots key', () => {
    expect(bootstrapDcs(managed(), [{ slots: { gone: null } }]).slots).toBeUndefined();
  });

  test('the last standby_cluster block wins, without its null keys; a detach (null) leaves none', () => {
    const first = { standbyCluster: { host: '10.0.1.1', port: 5432 } };
    const last = { standbyCluster: { host: '10.0.1.2', port: 5433, restore_command: null } };
    expect(bootstrapDcs(managed(), [first, {}, last]).standby_cluster).toEqual({ host: '10.0.1.2', port: 5433 });
    expect('standby_cluster' in bootstrapDcs(managed(), [first, { standbyCluster: null }])).toBe(false);
  });

  test('patroni.dynamic keys, sorted, beside the timing', () => {
    const c = managed({
      patroni: { dynamic: { synchronous_mode: true, check_timeline: true } },
    } as Partial<ClusterSpec>);
    expect(Object.keys(bootstrapDcs(c, []))).toEqual([
      'ttl',
      'loop_wait',
      'retry_timeout',
      'maximum_lag_on_failover',
      'check_timeline',
      'synchronous_mode',
      'postgresql',
    ]);
  });

  test('pg_ident is a copy', () => {
    const c = managed();
    const dcs = bootstrapDcs(c, []);
    (dcs.postgresql as { pg_ident: string[] }).pg_ident.push('x');
    expect(c.postgresql.pgIdent).toEqual(IDENT);
  });
});

describe('PATCH /config body', () => {
  test('managed: the whole dynamic configuration, slots dropped as null', () => {
    expect(configPatch(managed(), [link])).toEqual({
      ...TIMING,
      postgresql: section({
        parameters: { wal_keep_size: '1GB', work_mem: '4MB' },
        pg_hba: [...HBA, 'host replication replicator 10.0.2.1/32 scram-sha-256', REJECT],
      }),
      slots: { link_slot: { type: 'physical' }, old_slot: null },
    });
  });

  test('managed: a detach sends standby_cluster null; no contribution, no key', () => {
    expect(configPatch(managed(), [{ standbyCluster: null }]).standby_cluster).toBeNull();
    expect('standby_cluster' in configPatch(managed(), [])).toBe(false);
  });

  test("existing: only what the project writes (pg_hba with the link's lines, slots, dynamic keys)", () => {
    const c = existing({ patroni: { dynamic: { loop_wait: 5 } } } as Partial<ClusterSpec>);
    expect(configPatch(c, [link])).toEqual({
      loop_wait: 5,
      postgresql: {
        pg_hba: [
          'local all postgres peer',
          'host replication replicator 10.0.2.1/32 scram-sha-256',
          'host all all 0.0.0.0/0 reject',
        ],
      },
      slots: { link_slot: { type: 'physical' }, old_slot: null },
    });
  });

  test('existing without link lines: no postgresql section at all; nothing contributed: an empty body', () => {
    expect(configPatch(existing(), [{ slots: { s: { type: 'physical' } } }])).toEqual({
      slots: { s: { type: 'physical' } },
    });
    expect(configPatch(existing(), [])).toEqual({});
  });
});
