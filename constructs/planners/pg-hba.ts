/**
 * pg_hba: parse, generate and evaluate lines the way PostgreSQL reads them (first match wins).
 */
import { isIP } from 'node:net';
import { ResolvedCluster, ResolvedNode } from '../resolve';

export type HbaConnType = 'local' | 'host' | 'hostssl' | 'hostnossl' | 'hostgssenc' | 'hostnogssenc';

export interface HbaLine {
  readonly type: HbaConnType;
  readonly databases: readonly string[];
  readonly users: readonly string[];
  /** CIDR, host name or keyword (all, samehost, samenet); absent for local lines. */
  readonly address?: string;
  readonly method: string;
}

const CONN_TYPES: readonly string[] = ['local', 'host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc'];
const METHODS: readonly string[] = [
  'trust',
  'reject',
  'scram-sha-256',
  'md5',
  'password',
  'gss',
  'sspi',
  'ident',
  'peer',
  'pam',
  'ldap',
  'radius',
  'cert',
];

/** Parses one pg_hba line; returns an error text instead of throwing. */
export function parseHbaLine(line: string): HbaLine | { error: string } {
  const fields = line
    .trim()
    .split(/\s+/)
    .filter((f) => f.length > 0);
  if (fields.length === 0) return { error: 'the line is empty' };
  const [type, db, user] = fields;
  if (!CONN_TYPES.includes(type)) {
    return { error: `connection type "${type}" is not one of ${CONN_TYPES.join(', ')}` };
  }
  const isLocal = type === 'local';
  const minFields = isLocal ? 4 : 5;
  if (fields.length < minFields) {
    return {
      error: isLocal
        ? 'a local line needs: local DATABASE USER METHOD [OPTIONS]'
        : `a ${type} line needs: ${type} DATABASE USER ADDRESS METHOD [OPTIONS]`,
    };
  }
  let address: string | undefined;
  let methodIndex = 3;
  if (!isLocal) {
    address = fields[3];
    methodIndex = 4;
    // "ADDRESS MASK" form
    if (isIP(address) && fields[4] !== undefined && isIP(fields[4])) {
      address = `${address}/${maskBits(fields[4])}`;
      methodIndex = 5;
    }
    const addrError = checkAddress(address);
    if (addrError) return { error: addrError };
  }
  const method = fields[methodIndex];
  if (method === undefined || !METHODS.includes(method)) {
    return { error: `authentication method "${method ?? ''}" is not one of ${METHODS.join(', ')}` };
  }
  return { type: type as HbaConnType, databases: db.split(','), users: user.split(','), address, method };
}

/** The prefix length a netmask stands for (its one bits): 255.255.255.0 is 24, ffff:ffff:: is 32. */
function maskBits(mask: string): number {
  return [...ipToBigInt(mask).toString(2)].filter((bit) => bit === '1').length;
}

function checkAddress(address: string): string | undefined {
  // all, samehost and samenet pass as host names
  const slash = address.indexOf('/');
  if (slash >= 0) {
    const ip = address.slice(0, slash);
    const bits = Number(address.slice(slash + 1));
    const family = isIP(ip);
    const max = family === 4 ? 32 : 128;
    if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > max) {
      return `address "${address}" is not a valid CIDR (like 192.168.122.97/32)`;
    }
    return undefined;
  }
  if (isIP(address)) return `address "${address}" needs a prefix length (like ${address}/32)`;
  if (!/^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(address))
    return `address "${address}" is neither a CIDR nor a host name`;
  return undefined;
}

export function formatHbaLine(line: HbaLine): string {
  const parts: string[] = [line.type, line.databases.join(','), line.users.join(',')];
  if (line.address !== undefined) parts.push(line.address);
  parts.push(line.method);
  return parts.join(' ');
}

function ipToBigInt(ip: string): bigint {
  if (isIP(ip) === 4) return ip.split('.').reduce((n, o) => (n << 8n) + BigInt(Number(o)), 0n);
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

/** True when the CIDR contains the client IP. Host names and samehost/samenet never match (unknowable at synth). */
export function addressMatches(address: string, clientIp: string): boolean {
  if (address === 'all') return true;
  const slash = address.indexOf('/');
  if (slash < 0) return false;
  const net = address.slice(0, slash);
  const bits = Number(address.slice(slash + 1));
  const family = isIP(net);
  if (family === 0 || family !== isIP(clientIp)) return false;
  const width = family === 4 ? 32 : 128;
  const shift = BigInt(width - bits);
  return ipToBigInt(net) >> shift === ipToBigInt(clientIp) >> shift;
}

function listMatches(list: readonly string[], value: string, isReplication: boolean, kind: 'db' | 'user'): boolean {
  return list.some((item) => {
    if (kind === 'db') {
      if (item === 'replication') return isReplication;
      if (isReplication) return false; // "all" does not cover replication connections
      return item === 'all' || item === value;
    }
    return item === 'all' || item === value;
  });
}

/**
 * The first line that matches a TCP connection, as PostgreSQL picks it; undefined when none does.
 * `database` is 'replication' for a physical replication connection.
 */
export function firstMatch(
  lines: readonly HbaLine[],
  conn: { readonly clientIp: string; readonly database: string; readonly user: string },
): HbaLine | undefined {
  const isReplication = conn.database === 'replication';
  return lines.find(
    (l) =>
      l.type !== 'local' &&
      l.address !== undefined &&
      addressMatches(l.address, conn.clientIp) &&
      listMatches(l.databases, conn.database, isReplication, 'db') &&
      listMatches(l.users, conn.user, isReplication, 'user'),
  );
}

/** Lines that let nodes reach a cluster: replication for the replication user, `postgres` for the rewind user. */
export function nodeAccessLines(
  nodes: readonly ResolvedNode[],
  users: ResolvedCluster['users'],
  method: string,
  grouping: 'per-node' | 'per-user',
): string[] {
  const repl = (n: ResolvedNode) => `host replication ${users.replication} ${n.hbaAddress} ${method}`;
  const rewind = (n: ResolvedNode) => `host postgres ${users.rewind} ${n.hbaAddress} ${method}`;
  if (grouping === 'per-node') return nodes.flatMap((n) => [repl(n), rewind(n)]);
  return [...nodes.map(repl), ...nodes.map(rewind)];
}

/**
 * A cluster's pg_hba: the topology's own lines, the generated lines for its nodes, extra lines
 * (the link's lines for standby nodes on the primary), then the reject line.
 */
export function clusterPgHba(cluster: ResolvedCluster, extra: readonly string[] = []): string[] {
  const pg = cluster.postgresql;
  if (pg.generatePgHba) {
    const own = nodeAccessLines(cluster.nodes, cluster.users, pg.authMethod, 'per-node');
    return dedupe([...pg.pgHba, ...own, ...extra, pg.rejectLine]);
  }
  // The topology's list is the whole list: extra lines go before its first reject line, if any.
  const firstReject = pg.pgHba.findIndex((l) => /\sreject(\s|$)/.test(l.trim()));
  const at = firstReject < 0 ? pg.pgHba.length : firstReject;
  return dedupe([...pg.pgHba.slice(0, at), ...extra, ...pg.pgHba.slice(at)]);
}

function dedupe(lines: readonly string[]): string[] {
  const seen = new Set<string>();
  return lines.filter((l) => {
    const key = l.trim().split(/\s+/).join(' ');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
