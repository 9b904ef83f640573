/**
 * One node's patroni.yml, part by part: the DCS section of each DCS type, the per-node deep merge,
 * the REST API's TLS keys, and the file without bootstrap that the reload decision hashes.
 */
import { parse } from 'yaml';
import { dcsSection, deepMerge, renderNodeYaml } from '../../constructs/planners/patroni-yaml';
import { resolveCluster } from '../../constructs/resolve';
import { ClusterSpec, DcsSpec } from '../../constructs/types';

const spec = (dcs: DcsSpec, over: Partial<ClusterSpec> = {}): ClusterSpec => ({
  scope: 'pg',
  dcs,
  nodes: [{ name: 'a1', host: '10.0.0.1' }],
  ...over,
});

describe('the DCS section', () => {
  test.each<[DcsSpec, Record<string, unknown>]>([
    [{ type: 'etcd3', hosts: ['10.0.0.9:2379'] }, { etcd3: { hosts: ['10.0.0.9:2379'], protocol: 'http' } }],
    [
      { type: 'etcd', hosts: ['10.0.0.9:2379'], protocol: 'https' },
      { etcd: { hosts: ['10.0.0.9:2379'], protocol: 'https' } },
    ],
    [{ type: 'consul', host: '127.0.0.1:8500' }, { consul: { host: '127.0.0.1:8500', scheme: 'http' } }],
    [
      { type: 'consul', host: '127.0.0.1:8501', scheme: 'https' },
      { consul: { host: '127.0.0.1:8501', scheme: 'https' } },
    ],
    [{ type: 'zookeeper', hosts: ['10.0.0.9:2181'] }, { zookeeper: { hosts: ['10.0.0.9:2181'] } }],
    [{ type: 'kubernetes' } as DcsSpec, { kubernetes: { namespace: 'default', labels: { application: 'patroni' } } }],
    [
      { type: 'kubernetes', namespace: 'db', labels: { z: '1', a: '2' } } as DcsSpec,
      { kubernetes: { namespace: 'db', labels: { a: '2', z: '1' } } },
    ],
  ])('%j', (dcs, section) => {
    const out = dcsSection(resolveCluster(spec(dcs)));
    expect(out).toEqual(section);
    // labels in a stable order
    if ('kubernetes' in out)
      expect(Object.keys((out.kubernetes as { labels: object }).labels)).toEqual(
        Object.keys((section.kubernetes as { labels: object }).labels),
      );
  });
});

test('deepMerge: objects merge key by key, everything else (lists too) replaces', () => {
  const base = { a: { b: 1, c: { d: 2 } }, l: [1, 2], s: 'x' };
  expect(deepMerge(base, { a: { c: { e: 3 } }, l: [3], s: { now: 'object' }, n: null })).toEqual({
    a: { b: 1, c: { d: 2, e: 3 } },
    l: [3],
    s: { now: 'object' },
    n: null,
  });
  expect(base).toEqual({ a: { b: 1, c: { d: 2 } }, l: [1, 2], s: 'x' });
  expect(deepMerge({ a: [1] }, { a: { b: 1 } })).toEqual({ a: { b: 1 } });
});

test('the REST API: authentication user, TLS files, verify_client only when asked', () => {
  const yml = (tls?: object, user?: string) =>
    parse(
      renderNodeYaml(
        resolveCluster(
          spec(
            { type: 'etcd3', hosts: ['10.0.0.9:2379'] },
            { patroni: { restApiUsername: user, restApiTls: tls } as never },
          ),
        ),
        resolveCluster(spec({ type: 'etcd3', hosts: ['x:1'] })).nodes[0],
        [],
      ),
      { version: '1.1' },
    ).restapi;
  expect(yml()).toEqual({ listen: '10.0.0.1:8008', connect_address: '10.0.0.1:8008' });
  expect(yml(undefined, 'patroni').authentication).toEqual({ username: 'patroni' });
  expect(yml({ certFile: '/c.pem' })).toEqual({
    listen: '10.0.0.1:8008',
    connect_address: '10.0.0.1:8008',
    certfile: '/c.pem',
  });
  expect(yml({ certFile: '/c.pem', keyFile: '/k.pem', caFile: '/ca.pem', verifyClient: 'none' })).toEqual({
    listen: '10.0.0.1:8008',
    connect_address: '10.0.0.1:8008',
    certfile: '/c.pem',
    keyfile: '/k.pem',
    cafile: '/ca.pem',
  });
  expect(yml({ certFile: '/c.pem', verifyClient: 'optional' }).verify_client).toBe('optional');
});

test('runtimeOnly leaves out bootstrap and nothing else', () => {
  const c = resolveCluster(spec({ type: 'etcd3', hosts: ['10.0.0.9:2379'] }));
  const full = parse(renderNodeYaml(c, c.nodes[0], []), { version: '1.1' });
  const runtime = parse(renderNodeYaml(c, c.nodes[0], [], { runtimeOnly: true }), { version: '1.1' });
  const { bootstrap, ...rest } = full;
  expect(bootstrap).toBeDefined();
  expect(runtime).toEqual(rest);
});

describe("every option of a node's patroni.yml", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { nodeConfig } = require('../../constructs/planners/patroni-yaml');
  const rich = resolveCluster(
    spec({ type: 'etcd3', hosts: ['10.0.0.9:2379'] }, {
      users: { superuser: 'dba', replication: 'repl', rewind: 'rw' },
      postgresql: {
        configDir: '/etc/pg',
        authMethod: 'scram-sha-256',
        initdb: ['data-checksums', { encoding: 'UTF8' }],
      },
      patroni: { bootstrapPgHba: true, watchdog: 'automatic', restApiTls: { certFile: '/c.pem' } },
    } as Partial<ClusterSpec>),
  );
  const plain = resolveCluster(
    spec({ type: 'etcd3', hosts: ['10.0.0.9:2379'] }, {
      postgresql: { authMethod: 'md5' },
      patroni: { bootstrapPgHba: false },
    } as Partial<ClusterSpec>),
  );

  test('users, scram, config_dir, initdb, bootstrap pg_hba and watchdog where set', () => {
    const c = nodeConfig(rich, rich.nodes[0], []);
    expect(c.postgresql.config_dir).toBe('/etc/pg');
    expect(c.postgresql.parameters).toEqual({ password_encryption: 'scram-sha-256' });
    expect(c.postgresql.authentication).toEqual({
      replication: { username: 'repl' },
      superuser: { username: 'dba' },
      rewind: { username: 'rw' },
    });
    expect(c.bootstrap.initdb).toEqual(['data-checksums', { encoding: 'UTF8' }]);
    // a copy: the rendered file never shares an object with the topology
    expect(c.bootstrap.initdb[1]).not.toBe(rich.postgresql.initdb[1]);
    expect(c.bootstrap.pg_hba).toEqual(c.bootstrap.dcs.postgresql.pg_hba);
    expect(c.bootstrap.pg_hba).not.toBe(c.bootstrap.dcs.postgresql.pg_hba);
    expect(c.watchdog).toEqual({ mode: 'automatic' });
    expect(c.restapi).toEqual({ listen: '10.0.0.1:8008', connect_address: '10.0.0.1:8008', certfile: '/c.pem' });
    expect(Object.keys(c)).toEqual([
      'scope',
      'namespace',
      'name',
      'restapi',
      'etcd3',
      'bootstrap',
      'postgresql',
      'watchdog',
      'tags',
    ]);
    expect(Object.keys(c.postgresql)).toEqual([
      'listen',
      'connect_address',
      'data_dir',
      'config_dir',
      'bin_dir',
      'pgpass',
      'use_unix_socket',
      'use_unix_socket_repl',
      'parameters',
      'authentication',
    ]);
  });

  test('unset, they are absent: no config_dir, no password_encryption, no bootstrap pg_hba, no watchdog', () => {
    const c = nodeConfig(plain, plain.nodes[0], []);
    expect('config_dir' in c.postgresql).toBe(false);
    expect(c.postgresql.parameters).toEqual({});
    expect('pg_hba' in c.bootstrap).toBe(false);
    expect('watchdog' in c).toBe(false);
  });
});
