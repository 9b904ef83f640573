import {
  addressMatches,
  clusterPgHba,
  firstMatch,
  formatHbaLine,
  HbaLine,
  nodeAccessLines,
  parseHbaLine,
} from '../../constructs/planners/pg-hba';
import { resolveCluster } from '../../constructs/resolve';
import { articleTopology, byPath, mutate, synthTopology } from './helpers';

describe('pg_hba parsing', () => {
  test.each([
    [
      'host replication replicator 192.168.122.97/32 scram-sha-256',
      'host replication replicator 192.168.122.97/32 scram-sha-256',
    ],
    ['local   all  postgres   peer', 'local all postgres peer'],
    ['hostssl all all 10.0.0.0 255.255.0.0 md5', 'hostssl all all 10.0.0.0/16 md5'],
    ['host all postgres all reject', 'host all postgres all reject'],
    ['host all all ::1/128 trust', 'host all all ::1/128 trust'],
  ])('%s', (line, formatted) => {
    const parsed = parseHbaLine(line);
    expect('error' in parsed).toBe(false);
    expect(formatHbaLine(parsed as HbaLine)).toBe(formatted);
  });

  test.each([
    [
      'hots all all 10.0.0.1/32 md5',
      'connection type "hots" is not one of local, host, hostssl, hostnossl, hostgssenc, hostnogssenc',
    ],
    ['host all all 10.0.0.1 md5', 'address "10.0.0.1" needs a prefix length (like 10.0.0.1/32)'],
    ['host all all 10.0.0.1/40 md5', 'address "10.0.0.1/40" is not a valid CIDR (like 192.168.122.97/32)'],
    [
      'host all all 10.0.0.1/32 scram',
      'authentication method "scram" is not one of trust, reject, scram-sha-256, md5, password, gss, sspi, ident, peer, pam, ldap, radius, cert',
    ],
    ['local all', 'a local line needs: local DATABASE USER METHOD [OPTIONS]'],
    ['', 'the line is empty'],
    ['host all all', 'a host line needs: host DATABASE USER ADDRESS METHOD [OPTIONS]'],
    ['hostssl all all 10.0.0.0/8', 'a hostssl line needs: hostssl DATABASE USER ADDRESS METHOD [OPTIONS]'],
    ['host all all a..b md5', 'address "a..b" is neither a CIDR nor a host name'],
    ['host all all 10.0.0/8 md5', 'address "10.0.0/8" is not a valid CIDR (like 192.168.122.97/32)'],
    ['host all all 10.0.0.0/x md5', 'address "10.0.0.0/x" is not a valid CIDR (like 192.168.122.97/32)'],
    ['host all all ::1/129 md5', 'address "::1/129" is not a valid CIDR (like 192.168.122.97/32)'],
    ['host all all 10.0.0.0/-1 md5', 'address "10.0.0.0/-1" is not a valid CIDR (like 192.168.122.97/32)'],
    [
      'host all all 10.0.0.0 255.0.0.0',
      'authentication method "" is not one of trust, reject, scram-sha-256, md5, password, gss, sspi, ident, peer, pam, ldap, radius, cert',
    ],
  ])('rejects %j', (line, error) => {
    expect(parseHbaLine(line)).toEqual({ error });
  });
});

describe('pg_hba matching (first match wins)', () => {
  const lines = [
    'host all postgres all reject',
    'host replication replicator 10.1.0.0/16 scram-sha-256',
    'host all all 10.1.2.3/32 md5',
  ].map((l) => parseHbaLine(l) as HbaLine);
  test('replication is not covered by "all"', () => {
    expect(firstMatch(lines, { clientIp: '10.1.2.3', database: 'replication', user: 'replicator' })?.method).toBe(
      'scram-sha-256',
    );
    expect(firstMatch(lines, { clientIp: '10.2.0.1', database: 'replication', user: 'replicator' })).toBeUndefined();
  });
  test('a reject line that matches first wins', () => {
    expect(firstMatch(lines, { clientIp: '10.1.2.3', database: 'postgres', user: 'postgres' })?.method).toBe('reject');
  });
  test('CIDR arithmetic for IPv4 and IPv6', () => {
    expect(addressMatches('192.168.122.0/24', '192.168.122.97')).toBe(true);
    expect(addressMatches('192.168.122.97/32', '192.168.122.98')).toBe(false);
    expect(addressMatches('fd00::/8', 'fd12::1')).toBe(true);
    expect(addressMatches('fd00::/8', '10.0.0.1')).toBe(false);
  });
});

describe('generated pg_hba', () => {
  test('own lines per node, extra lines, then the reject line', () => {
    const standby = resolveCluster(articleTopology().standby);
    expect(clusterPgHba(standby, ['host replication replicator 10.9.9.9/32 scram-sha-256'])).toEqual([
      'local all postgres peer',
      'local replication replicator peer map=replicamap',
      'local postgres rewinder peer map=rewindmap',
      'host replication replicator 192.168.122.97/32 scram-sha-256',
      'host postgres rewinder 192.168.122.97/32 scram-sha-256',
      'host replication replicator 192.168.122.198/32 scram-sha-256',
      'host postgres rewinder 192.168.122.198/32 scram-sha-256',
      'host replication replicator 192.168.122.172/32 scram-sha-256',
      'host postgres rewinder 192.168.122.172/32 scram-sha-256',
      'host replication replicator 10.9.9.9/32 scram-sha-256',
      'host all postgres all reject',
    ]);
  });
  test('a declared full list gets extra lines before its first reject line', () => {
    const existing = resolveCluster({
      ...articleTopology().primary,
      mode: 'existing',
      postgresql: { pgHba: ['local all postgres peer', 'host all all 0.0.0.0/0 reject', 'host all all ::/0 reject'] },
    });
    expect(clusterPgHba(existing, ['host replication replicator 10.9.9.9/32 scram-sha-256'])).toEqual([
      'local all postgres peer',
      'host replication replicator 10.9.9.9/32 scram-sha-256',
      'host all all 0.0.0.0/0 reject',
      'host all all ::/0 reject',
    ]);
  });
  test('authMethod and hbaAddress are honoured', () => {
    const t = articleTopology().standby;
    const c = resolveCluster({
      ...t,
      nodes: [{ name: 'x1', host: '10.0.0.1', hbaAddress: '10.0.0.0/24' }],
      postgresql: { authMethod: 'md5', pgHba: [] },
    });
    expect(clusterPgHba(c)).toEqual([
      'host replication replicator 10.0.0.0/24 md5',
      'host postgres rewinder 10.0.0.0/24 md5',
      'host all postgres all reject',
    ]);
  });
  test('least privilege: every generated host line is replication for the replication user, postgres for the rewind user or postgres for the monitoring role, never trust unless asked', () => {
    const { primary, standby } = synthTopology(articleTopology());
    for (const json of [primary, standby]) {
      const patch = JSON.parse(byPath(json, 'dcs-patch/apply').input.patch_json);
      const hostLines = (patch.postgresql.pg_hba as string[]).filter((l) => l.startsWith('host'));
      expect(hostLines[hostLines.length - 1]).toBe('host all postgres all reject');
      for (const line of hostLines.slice(0, -1)) {
        expect(line).toMatch(
          /^host (replication replicator|postgres rewinder|postgres monitor) \d+\.\d+\.\d+\.\d+\/32 scram-sha-256$/,
        );
      }
      // the monitoring role comes from the declared pipeline address only, before the reject line
      expect(hostLines.filter((l) => l.includes(' monitor '))).toEqual([
        'host postgres monitor 192.168.122.10/32 scram-sha-256',
      ]);
    }
    // the primary admits each of the 3 standby nodes (and its own 3 members) exactly once per user
    const primaryLines = JSON.parse(byPath(primary, 'dcs-patch/apply').input.patch_json).postgresql.pg_hba as string[];
    for (const ip of ['192.168.122.97', '192.168.122.198', '192.168.122.172']) {
      expect(primaryLines.filter((l) => l.includes(` ${ip}/32 `))).toEqual([
        `host replication replicator ${ip}/32 scram-sha-256`,
        `host postgres rewinder ${ip}/32 scram-sha-256`,
      ]);
    }
    const trusting = synthTopology(mutate(articleTopology(), (t) => (t.primary.postgresql.authMethod = 'trust')));
    const lines = JSON.parse(byPath(trusting.primary, 'dcs-patch/apply').input.patch_json).postgresql
      .pg_hba as string[];
    expect(lines.filter((l) => l.endsWith(' trust')).length).toBe(13);
  });
});

describe('pg_hba edges', () => {
  test('fields: lists, host names, keywords, the ADDRESS MASK form, options after the method', () => {
    expect(parseHbaLine('host db1,db2 u1,u2 db.example.com md5 clientcert=verify-full')).toEqual({
      type: 'host',
      databases: ['db1', 'db2'],
      users: ['u1', 'u2'],
      address: 'db.example.com',
      method: 'md5',
    });
    expect(parseHbaLine('host all all samehost trust')).toMatchObject({ address: 'samehost' });
    expect(parseHbaLine('host all all .example.com trust')).toMatchObject({ address: '.example.com' });
    expect(parseHbaLine('host all all 10.1.2.0 255.255.255.0 md5')).toMatchObject({
      address: '10.1.2.0/24',
      method: 'md5',
    });
    expect(parseHbaLine('host all all 10.0.0.0 255.0.0.0 md5')).toMatchObject({ address: '10.0.0.0/8' });
    expect(parseHbaLine('host all all 10.1.2.3 255.255.255.255 md5')).toMatchObject({ address: '10.1.2.3/32' });
    expect(parseHbaLine('local all all peer map=x')).toEqual({
      type: 'local',
      databases: ['all'],
      users: ['all'],
      address: undefined,
      method: 'peer',
    });
    expect(formatHbaLine(parseHbaLine('local all all peer') as HbaLine)).toBe('local all all peer');
  });

  test('matching: local lines never match TCP, lists, user all, a database named like the client', () => {
    const lines = [
      'local all all trust',
      'host app a,b 10.0.0.0/8 md5',
      'host replication all 10.0.0.0/8 scram-sha-256',
      'host db.example.com all db.example.com trust',
      'host all all all reject',
    ].map((l) => parseHbaLine(l) as HbaLine);
    const m = (database: string, user: string, clientIp = '10.1.1.1') =>
      firstMatch(lines, { clientIp, database, user });
    expect(m('app', 'b')?.databases).toEqual(['app']);
    expect(m('app', 'c')?.method).toBe('reject');
    expect(m('replication', 'anyone')?.method).toBe('scram-sha-256');
    expect(m('replication', 'anyone', '192.168.1.1')).toBeUndefined();
    expect(m('other', 'a', '192.168.1.1')?.method).toBe('reject');
  });

  test('address arithmetic: /0, host names never match, IPv6 written in its short and long forms', () => {
    expect(addressMatches('0.0.0.0/0', '203.0.113.7')).toBe(true);
    expect(addressMatches('all', '::1')).toBe(true);
    expect(addressMatches('db.example.com', '10.0.0.1')).toBe(false);
    expect(addressMatches('samehost', '10.0.0.1')).toBe(false);
    expect(addressMatches('10.0.0.0/8', 'fd00::1')).toBe(false);
    expect(addressMatches('fd12:0:0:0:0:0:0:1/128', 'fd12::1')).toBe(true);
    expect(addressMatches('fd12::/16', 'fd12:ffff::1')).toBe(true);
    expect(addressMatches('fd12::/16', 'fd13::1')).toBe(false);
    expect(addressMatches('::1/128', '::1')).toBe(true);
    expect(addressMatches('10.1.2.128/25', '10.1.2.127')).toBe(false);
    expect(addressMatches('10.1.2.128/25', '10.1.2.255')).toBe(true);
  });

  test("node access lines, per node (a cluster's own) and per user (the link's)", () => {
    const c = resolveCluster({
      ...articleTopology().standby,
      nodes: [
        { name: 'x1', host: '10.0.0.1' },
        { name: 'x2', host: 'fd00::2' },
      ],
    });
    expect(nodeAccessLines(c.nodes, c.users, 'md5', 'per-node')).toEqual([
      'host replication replicator 10.0.0.1/32 md5',
      'host postgres rewinder 10.0.0.1/32 md5',
      'host replication replicator fd00::2/128 md5',
      'host postgres rewinder fd00::2/128 md5',
    ]);
    expect(nodeAccessLines(c.nodes, c.users, 'md5', 'per-user')).toEqual([
      'host replication replicator 10.0.0.1/32 md5',
      'host replication replicator fd00::2/128 md5',
      'host postgres rewinder 10.0.0.1/32 md5',
      'host postgres rewinder fd00::2/128 md5',
    ]);
  });

  test('duplicates (the same line up to spaces) are written once', () => {
    const c = resolveCluster({
      ...articleTopology().standby,
      nodes: [{ name: 'x1', host: '10.0.0.1' }],
      postgresql: { pgHba: ['host  replication replicator 10.0.0.1/32 scram-sha-256'] },
    });
    expect(clusterPgHba(c, ['host replication  replicator 10.0.0.1/32 scram-sha-256'])).toEqual([
      'host  replication replicator 10.0.0.1/32 scram-sha-256',
      'host postgres rewinder 10.0.0.1/32 scram-sha-256',
      'host all postgres all reject',
    ]);
  });
});

describe('pg_hba: more edges, one each', () => {
  test('the ADDRESS MASK form: IPv6 masks count their bits; a keyword or host name never takes a mask', () => {
    expect(parseHbaLine('host all all fe80:: ffff:ffff:ffff:ffff:: md5')).toMatchObject({
      address: 'fe80::/64',
      method: 'md5',
    });
    expect(parseHbaLine('host all all 10.0.0.0 255.255.240.0 md5')).toMatchObject({ address: '10.0.0.0/20' });
    // samehost is no IP: what follows it is the method, and a mask there is no method
    expect(parseHbaLine('host all all samehost 255.255.255.255 md5')).toEqual({
      error:
        'authentication method "255.255.255.255" is not one of trust, reject, scram-sha-256, md5, password, gss, sspi, ident, peer, pam, ldap, radius, cert',
    });
    // the mask form without a method
    expect(parseHbaLine('host all all 10.0.0.1 255.0.0.0')).toEqual({
      error:
        'authentication method "" is not one of trust, reject, scram-sha-256, md5, password, gss, sspi, ident, peer, pam, ldap, radius, cert',
    });
  });

  test('an address that starts with "/" is no CIDR', () => {
    expect(parseHbaLine('host all all /32 md5')).toEqual({
      error: 'address "/32" is not a valid CIDR (like 192.168.122.97/32)',
    });
  });

  test('an IPv4 line never matches an IPv6 client, however wide', () => {
    expect(addressMatches('0.0.0.0/0', '::1')).toBe(false);
    expect(addressMatches('::/0', '10.0.0.1')).toBe(false);
  });

  test('users: a line for another user does not match', () => {
    const lines = ['host all alice 10.0.0.0/8 md5', 'host all all 10.0.0.0/8 reject'].map(
      (l) => parseHbaLine(l) as HbaLine,
    );
    expect(firstMatch(lines, { clientIp: '10.1.1.1', database: 'app', user: 'bob' })?.method).toBe('reject');
    expect(firstMatch(lines, { clientIp: '10.1.1.1', database: 'app', user: 'alice' })?.method).toBe('md5');
  });

  test('a declared list: extra lines go before a reject line that comes first, or in the middle; at the end when there is none', () => {
    const declared = (pgHba: string[]) =>
      resolveCluster({ ...articleTopology().primary, mode: 'existing', postgresql: { pgHba } });
    const extra = ['host replication replicator 10.9.9.9/32 scram-sha-256'];
    expect(clusterPgHba(declared(['host all all 0.0.0.0/0 reject', 'local all postgres peer']), extra)).toEqual([
      extra[0],
      'host all all 0.0.0.0/0 reject',
      'local all postgres peer',
    ]);
    expect(
      clusterPgHba(
        declared(['local all postgres peer', 'host all all 0.0.0.0/0 reject', 'host all all 10.0.0.0/8 md5']),
        extra,
      ),
    ).toEqual(['local all postgres peer', extra[0], 'host all all 0.0.0.0/0 reject', 'host all all 10.0.0.0/8 md5']);
    expect(clusterPgHba(declared(['local all postgres peer', 'host all all 10.0.0.0/8 md5']), extra)).toEqual([
      'local all postgres peer',
      'host all all 10.0.0.0/8 md5',
      extra[0],
    ]);
  });

  test('duplicates up to leading spaces and tabs are written once', () => {
    const c = resolveCluster({
      ...articleTopology().primary,
      mode: 'existing',
      postgresql: { pgHba: ['local all postgres peer'] },
    });
    expect(clusterPgHba(c, ['  local\tall postgres peer', 'host all all 10.0.0.0/8 md5'])).toEqual([
      'local all postgres peer',
      'host all all 10.0.0.0/8 md5',
    ]);
  });
});
