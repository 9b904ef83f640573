import { addressMatches, clusterPgHba, firstMatch, formatHbaLine, HbaLine, parseHbaLine } from '../../constructs/planners/pg-hba';
import { resolveCluster } from '../../constructs/resolve';
import { articleTopology, byPath, mutate, synthTopology } from './helpers';

describe('pg_hba parsing', () => {
  test.each([
    ['host replication replicator 192.168.122.97/32 scram-sha-256', 'host replication replicator 192.168.122.97/32 scram-sha-256'],
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
    ['hots all all 10.0.0.1/32 md5', 'connection type "hots" is not one of local, host, hostssl, hostnossl, hostgssenc, hostnogssenc'],
    ['host all all 10.0.0.1 md5', 'address "10.0.0.1" needs a prefix length (like 10.0.0.1/32)'],
    ['host all all 10.0.0.1/40 md5', 'address "10.0.0.1/40" is not a valid CIDR (like 192.168.122.97/32)'],
    ['host all all 10.0.0.1/32 scram', 'authentication method "scram" is not one of trust, reject, scram-sha-256, md5, password, gss, sspi, ident, peer, pam, ldap, radius, cert'],
    ['local all', 'a local line needs: local DATABASE USER METHOD [OPTIONS]'],
  ])('rejects %s', (line, error) => {
    expect(parseHbaLine(line)).toEqual({ error });
  });
});

describe('pg_hba matching (first match wins)', () => {
  const lines = ['host all postgres all reject', 'host replication replicator 10.1.0.0/16 scram-sha-256', 'host all all 10.1.2.3/32 md5'].map(
    (l) => parseHbaLine(l) as HbaLine,
  );
  test('replication is not covered by "all"', () => {
    expect(firstMatch(lines, { clientIp: '10.1.2.3', database: 'replication', user: 'replicator' })?.method).toBe('scram-sha-256');
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
    const c = resolveCluster({ ...t, nodes: [{ name: 'x1', host: '10.0.0.1', hbaAddress: '10.0.0.0/24' }], postgresql: { authMethod: 'md5', pgHba: [] } });
    expect(clusterPgHba(c)).toEqual(['host replication replicator 10.0.0.0/24 md5', 'host postgres rewinder 10.0.0.0/24 md5', 'host all postgres all reject']);
  });
  test('least privilege: every generated host line is replication for the replication user, postgres for the rewind user or postgres for the monitoring role, never trust unless asked', () => {
    const { primary, standby } = synthTopology(articleTopology());
    for (const json of [primary, standby]) {
      const patch = JSON.parse(byPath(json, 'dcs-patch/apply').input.patch_json);
      const hostLines = (patch.postgresql.pg_hba as string[]).filter((l) => l.startsWith('host'));
      expect(hostLines[hostLines.length - 1]).toBe('host all postgres all reject');
      for (const line of hostLines.slice(0, -1)) {
        expect(line).toMatch(/^host (replication replicator|postgres rewinder|postgres monitor) \d+\.\d+\.\d+\.\d+\/32 scram-sha-256$/);
      }
      // the monitoring role comes from the declared pipeline address only, before the reject line
      expect(hostLines.filter((l) => l.includes(' monitor '))).toEqual(['host postgres monitor 192.168.122.10/32 scram-sha-256']);
    }
    // the primary admits each of the 3 standby nodes (and its own 3 members) exactly once per user
    const primaryLines = JSON.parse(byPath(primary, 'dcs-patch/apply').input.patch_json).postgresql.pg_hba as string[];
    for (const ip of ['192.168.122.97', '192.168.122.198', '192.168.122.172']) {
      expect(primaryLines.filter((l) => l.includes(` ${ip}/32 `))).toEqual([`host replication replicator ${ip}/32 scram-sha-256`, `host postgres rewinder ${ip}/32 scram-sha-256`]);
    }
    const trusting = synthTopology(mutate(articleTopology(), (t) => (t.primary.postgresql.authMethod = 'trust')));
    const lines = JSON.parse(byPath(trusting.primary, 'dcs-patch/apply').input.patch_json).postgresql.pg_hba as string[];
    expect(lines.filter((l) => l.endsWith(' trust')).length).toBe(13);
  });
});
