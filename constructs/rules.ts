/**
 * Rules across objects (both clusters and the link), as a table. Every failing rule adds a
 * problem; all of them are reported together.
 */
import { isIP } from 'node:net';
import { Token } from 'cdktf';
import { HOT_STANDBY_DEFAULTS } from '../runtime/contract';
import { Problem } from './errors';
import { archiveRestoreCommand, primaryContribution, standbyContribution } from './planners/link';
import { BACKUP_PARAMETERS } from './planners/pgbackrest';
import { clusterPgHba, firstMatch, HbaLine, parseHbaLine } from './planners/pg-hba';
import { ResolvedCluster, ResolvedLink, ResolvedNode } from './resolve';

export interface RuleContext {
  readonly primary: ResolvedCluster;
  readonly standby: ResolvedCluster;
  readonly link: ResolvedLink;
  /** Where each part lives in the input: `primary`, `standby`, `link` for a file, construct paths for code. */
  readonly where: { readonly primary: string; readonly standby: string; readonly link: string };
  /** The clusters' own names (their data centers in the clusters: layout), for the fixes. */
  readonly names?: { readonly primary: string; readonly standby: string };
}

interface Rule {
  readonly id: string;
  readonly check: (ctx: RuleContext) => Problem[];
  /**
   * An error rule whose finding `link.acknowledgeWarnings` may accept by the rule's id: a setup
   * that is a slip far more often than it is meant, refused unless the topology says it is meant.
   */
  readonly acknowledgeable?: true;
}

const isToken = (s: string) => Token.isUnresolved(s);

/**
 * Patroni's own slot name for a member (slot_name_from_member_name): lower case, `-` and `.` as
 * underscores, any other character as `u` and its code point in four digits, at most 63 characters.
 */
export function memberSlotName(member: string): string {
  return member
    .toLowerCase()
    .replace(/[^a-z0-9_]/gu, (c) => (c === '-' || c === '.' ? '_' : `u${String(c.codePointAt(0)).padStart(4, '0')}`))
    .slice(0, 63);
}

/** Dynamic configuration keys that the model sets through its own fields. */
export const MODELLED_DYNAMIC_KEYS: Readonly<Record<string, string>> = {
  ttl: 'patroni.ttl',
  loop_wait: 'patroni.loopWait',
  retry_timeout: 'patroni.retryTimeout',
  maximum_lag_on_failover: 'patroni.maximumLagOnFailover',
  postgresql: 'postgresql.parameters, postgresql.pgHba, patroni.useSlots, patroni.usePgRewind',
  slots: 'patroni.permanentSlots (or the link, for its slot)',
  standby_cluster: 'the link (StandbyLink / link:)',
  managed_by_patroni_standby_cdktf: 'nothing: the deploy writes it to record what it owns',
};

export const SLOT_NAME_PATTERN = /^[a-z0-9_]{1,63}$/;
const HOST_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

/** A PostgreSQL memory size (`16MB`, `1GB`, `512kB`, a number in `unit`) in MB; undefined if unreadable. */
export function sizeInMb(value: unknown, unit: 'MB' = 'MB'): number | undefined {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*(kB|MB|GB|TB)?\s*$/.exec(String(value));
  if (!m) return undefined;
  const factor: Record<string, number> = { kB: 1 / 1024, MB: 1, GB: 1024, TB: 1024 * 1024 };
  return Number(m[1]) * factor[m[2] ?? unit];
}

/** A PostgreSQL time (`10s`, `500ms`, `1min`, a number of milliseconds) in ms; undefined if unreadable. */
function timeInMs(value: unknown): number | undefined {
  const m = /^\s*(\d+)\s*(ms|s|min|h)?\s*$/.exec(String(value));
  if (!m) return undefined;
  const factor: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 };
  return Number(m[1]) * factor[m[2] ?? 'ms'];
}

/** Commands that archive nothing: the article's placeholder `/bin/true` and its kin. */
const NO_OP_COMMANDS = new Set(['', 'true', '/bin/true', '/usr/bin/true', ':', 'exit 0']);

/** Why a cluster's parameters archive no WAL (archive_mode off, no command, a no-op one); undefined when they do. */
function noArchiveBecause(p: Readonly<Record<string, unknown>>): string | undefined {
  const mode = String(p.archive_mode ?? 'off');
  if (!['on', 'always'].includes(mode)) return `archive_mode is ${mode}`;
  if (p.archive_library !== undefined && String(p.archive_library).trim() !== '') return undefined;
  const command = p.archive_command === undefined ? '' : String(p.archive_command).trim();
  return NO_OP_COMMANDS.has(command)
    ? `archive_command ${command === '' ? 'is unset' : `${JSON.stringify(command)} archives nothing`}`
    : undefined;
}

/** An IP address or a DNS name: no scheme, no port, no digits-and-dots that are no IPv4 address. */
function isAddressOrName(value: string): boolean {
  return isIP(value) !== 0 || (HOST_PATTERN.test(value) && !/^[0-9.]+$/.test(value));
}

/** The address in `value` once a scheme, a user, a path and a port are taken off; undefined if none is left. */
function addressIn(value: string): { address: string; hadPort: boolean } | undefined {
  let v = value.trim();
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(v);
  if (scheme)
    v = v
      .slice(scheme[0].length)
      .replace(/\/.*$/, '')
      .replace(/^[^@]*@/, '');
  let hadPort = false;
  const bracketed = /^\[([^\]]+)\](:[0-9]*)?$/.exec(v);
  if (bracketed) [v, hadPort] = [bracketed[1], bracketed[2] !== undefined];
  else if (/^[^:]+:[0-9]*$/.test(v)) [v, hadPort] = [v.slice(0, v.lastIndexOf(':')), true];
  return v !== value && isAddressOrName(v) ? { address: v, hadPort } : undefined;
}

/** How to write the source's VIP that `value` is not. */
function sourceVipFix(value: string): string {
  const found = addressIn(value);
  if (found) return `write only the address: ${found.address}${found.hadPort ? ' (the port is set in link.port)' : ''}`;
  if (value.includes(','))
    return "write one address: the VIP or DNS name that always reaches the source's leader (without sourceVip the standby follows every primary node)";
  if (/^[0-9.]+$/.test(value))
    return "write the VIP's IPv4 address, four numbers from 0 to 255 (e.g. 192.168.122.200), or its DNS name";
  return "write the VIP's address or DNS name, e.g. 192.168.122.200 or pg-primary.example.com";
}

/** The node's own address as a pg_hba CIDR: /32 for IPv4, /128 for IPv6. */
const HOST_PREFIX: Readonly<Record<number, number>> = { 4: 32, 6: 128 };

function clusters(ctx: RuleContext): [string, ResolvedCluster][] {
  return [
    [ctx.where.primary, ctx.primary],
    [ctx.where.standby, ctx.standby],
  ];
}

function nodesWithPath(ctx: RuleContext): { path: string; node: ResolvedNode; cluster: string }[] {
  return clusters(ctx).flatMap(([where, c]) =>
    c.nodes.map((node, i) => ({ path: `${where}.nodes[${i}]`, node, cluster: where })),
  );
}

function hbaProblems(where: string, lines: readonly string[]): Problem[] {
  return lines.flatMap((line, i) => {
    const parsed = parseHbaLine(line);
    return 'error' in parsed
      ? [
          {
            path: `${where}[${i}]`,
            message: `pg_hba line does not parse: ${parsed.error}`,
            received: line,
            allowed: 'TYPE DATABASE USER [ADDRESS] METHOD [OPTIONS], as in pg_hba.conf',
            fix: 'correct the line, e.g. "host replication replicator 192.168.122.97/32 scram-sha-256"',
          },
        ]
      : [];
  });
}

function paramNumber(params: Readonly<Record<string, string | number | boolean>>, name: string): number | undefined {
  const v = params[name];
  if (v === undefined) return HOT_STANDBY_DEFAULTS[name];
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function findPasswords(value: unknown, path: string): string[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
    /password/i.test(k) ? [`${path}.${k}`] : findPasswords(v, `${path}.${k}`),
  );
}

function isInside(dir: string, parent: string): boolean {
  const norm = (p: string) => p.replace(/\/+$/, '');
  return norm(dir) === norm(parent) || norm(dir).startsWith(`${norm(parent)}/`);
}

export const ERROR_RULES: readonly Rule[] = [
  {
    id: 'member-names-unique',
    check: (ctx) => {
      const seen = new Map<string, string>();
      return nodesWithPath(ctx).flatMap(({ path, node }) => {
        const first = seen.get(node.name);
        if (first === undefined) {
          seen.set(node.name, path);
          return [];
        }
        return [
          {
            path: `${path}.name`,
            message: `member name is already used by ${first}`,
            received: node.name,
            allowed: 'a member name unique across the primary and the standby cluster',
            fix: `rename one of the members, e.g. prefix each member with its data center: ${ctx.names?.primary ?? 'dc1'}-1, ${ctx.names?.standby ?? 'dc2'}-1`,
          },
        ];
      });
    },
  },
  {
    id: 'hosts-valid-and-unique',
    check: (ctx) => {
      const seen = new Map<string, string>();
      return nodesWithPath(ctx).flatMap(({ path, node }) => {
        if (isToken(node.host)) return [];
        if (!isAddressOrName(node.host)) {
          return [
            {
              path: `${path}.host`,
              message: 'is not an IP address or host name',
              received: node.host,
              allowed: 'an IPv4/IPv6 address or a DNS name, without port or scheme',
              fix: 'write only the address, e.g. 192.168.122.97 (ports are set in postgresql.port and patroni.restApiPort)',
            },
          ];
        }
        const first = seen.get(node.host);
        if (first === undefined) {
          seen.set(node.host, path);
          return [];
        }
        return [
          {
            path: `${path}.host`,
            message: `host is already used by ${first}`,
            received: node.host,
            allowed: 'one node per host',
            fix: 'give each node its own address',
          },
        ];
      });
    },
  },
  {
    // standby_cluster.host: libpq connects to it as written
    id: 'source-vip-valid',
    check: (ctx) => {
      const vip = ctx.link.sourceVip;
      if (vip === undefined || isToken(vip) || isAddressOrName(vip)) return [];
      return [
        {
          path: `${ctx.where.link}.sourceVip`,
          message: 'is not an IP address or host name',
          received: vip,
          allowed: "one IPv4/IPv6 address or DNS name (the source cluster's VIP), without scheme or port",
          fix: sourceVipFix(vip),
        },
      ];
    },
  },
  {
    // the generated pg_hba lines admit each node's replication and pg_rewind connections here
    id: 'hba-address-valid',
    check: (ctx) =>
      nodesWithPath(ctx).flatMap(({ path, node }) => {
        const hba = node.hbaAddress;
        // a host that is no address is reported as such; the default hbaAddress follows from it
        if (isToken(hba) || isToken(node.host) || !isAddressOrName(node.host)) return [];
        const own = isIP(node.host) ? `${node.host}/${HOST_PREFIX[isIP(node.host)]}` : undefined;
        const parsed = parseHbaLine(`host all all ${hba} trust`);
        if ('error' in parsed) {
          return [
            {
              path: `${path}.hbaAddress`,
              message: `is not an address pg_hba can take: ${parsed.error.replace(/^address "[^"]*" /, '')}`,
              received: hba,
              allowed: 'a CIDR that holds the node (192.168.122.97/32, 2001:db8::21/128) or a host name',
              fix: own
                ? `write ${own} (the node alone), or remove hbaAddress: that is the default`
                : 'write a CIDR like 192.168.122.97/32, or a host name',
            },
          ];
        }
        const family = isIP(hba.split('/')[0]);
        const hostFamily = isIP(node.host);
        if (!hba.includes('/') || family === 0 || hostFamily === 0 || family === hostFamily) return [];
        return [
          {
            path: `${path}.hbaAddress`,
            message: `is an IPv${family} CIDR, but the node's host ${node.host} is an IPv${hostFamily} address: pg_hba would never admit the node's connections from it`,
            received: hba,
            allowed: `an IPv${hostFamily} CIDR that holds ${node.host}`,
            fix: `write ${own} (the node alone), or remove hbaAddress: that is the default`,
          },
        ];
      }),
  },
  {
    id: 'hba-address-wider-than-host',
    acknowledgeable: true,
    check: (ctx) =>
      nodesWithPath(ctx).flatMap(({ path, node }) => {
        const hba = node.hbaAddress;
        if (
          isToken(hba) ||
          (!isToken(node.host) && !isAddressOrName(node.host)) ||
          !hba.includes('/') ||
          'error' in parseHbaLine(`host all all ${hba} trust`)
        )
          return [];
        const [ip, bits] = hba.split('/');
        const family = isIP(ip);
        const hostFamily = isToken(node.host) ? 0 : isIP(node.host);
        if (family === 0 || (hostFamily !== 0 && hostFamily !== family) || Number(bits) >= HOST_PREFIX[family])
          return [];
        const own = `${hostFamily === family ? node.host : ip}/${HOST_PREFIX[family]}`;
        return [
          {
            path: `${path}.hbaAddress`,
            message: `is a /${bits} network, not one host: the generated pg_hba lines would admit replication and pg_rewind connections from every IPv${family} address in it`,
            received: hba,
            allowed: `/${HOST_PREFIX[family]}, the node's own address (${own}), or a wider network acknowledged in link.acknowledgeWarnings`,
            fix: `write ${own} (the node alone), or, if the whole network is meant, acknowledge it: link.acknowledgeWarnings: [{ id: hba-address-wider-than-host, reason: <why the network is admitted> }]`,
          },
        ];
      }),
  },
  {
    id: 'slot-name-valid',
    check: (ctx) => {
      const slot = ctx.link.slotName;
      if (slot === undefined) return [];
      const problems: Problem[] = [];
      if (!SLOT_NAME_PATTERN.test(slot)) {
        problems.push({
          path: `${ctx.where.link}.slotName`,
          message: 'is not a valid PostgreSQL replication slot name',
          received: slot,
          allowed: 'lower-case letters, digits and underscore, 1 to 63 characters',
          fix: `use e.g. "${memberSlotName(slot).slice(0, 63) || 'standby_cluster_slot'}"`,
        });
      }
      const clash = nodesWithPath(ctx).find(({ node }) => memberSlotName(node.name) === slot);
      if (clash) {
        problems.push({
          path: `${ctx.where.link}.slotName`,
          message: `equals the slot Patroni keeps for member ${clash.node.name} (${clash.path})`,
          received: slot,
          allowed: 'a slot name that no member name maps to',
          fix: 'choose a distinct name such as "standby_cluster_slot"',
        });
      }
      return problems;
    },
  },
  {
    id: 'slot-required-with-use-slots',
    check: (ctx) =>
      ctx.primary.patroni.useSlots && !ctx.link.slotName
        ? [
            {
              path: `${ctx.where.link}.slotName`,
              message:
                'is required while use_slots is on: without it the standby leader streams with no slot and the primary may recycle WAL it still needs',
              received: ctx.link.slotName,
              allowed: 'a slot name (it becomes a permanent physical slot on the primary)',
              fix: 'add link.slotName, e.g. my_standby_cluster_slot',
            },
          ]
        : [],
  },
  {
    id: 'users-equal',
    check: (ctx) =>
      (['replication', 'rewind'] as const).flatMap((u) =>
        ctx.primary.users[u] === ctx.standby.users[u]
          ? []
          : [
              {
                path: `${ctx.where.standby}.users.${u}`,
                message: `must equal the primary's ${u} user: the standby receives the users through the copy`,
                received: ctx.standby.users[u],
                allowed: JSON.stringify(ctx.primary.users[u]),
                fix: `set ${u} to "${ctx.primary.users[u]}" in both clusters`,
              },
            ],
      ),
  },
  {
    id: 'same-major-version',
    check: (ctx) =>
      ctx.primary.postgresql.version === ctx.standby.postgresql.version
        ? []
        : [
            {
              path: `${ctx.where.standby}.postgresql.version`,
              message: 'differs from the primary: physical replication needs the same major version',
              received: ctx.standby.postgresql.version,
              allowed: String(ctx.primary.postgresql.version),
              fix: 'use the same major version; upgrade through logical replication or pg_upgrade instead',
            },
          ],
  },
  {
    id: 'shared-dcs-needs-distinct-scope',
    check: (ctx) => {
      const a = ctx.primary;
      const b = ctx.standby;
      if (a.dcs.type !== b.dcs.type) return [];
      const hostsOf = (c: ResolvedCluster) =>
        'hosts' in c.dcs ? c.dcs.hosts : 'host' in c.dcs ? [c.dcs.host] : ['(in-cluster)'];
      const shared = hostsOf(a).filter((h) => hostsOf(b).includes(h));
      if (shared.length === 0 || a.scope !== b.scope || a.namespace !== b.namespace) return [];
      return [
        {
          path: `${ctx.where.standby}.scope`,
          message: `both clusters use the same DCS (${shared.join(', ')}) with the same scope and namespace: they would collide`,
          received: { scope: b.scope, namespace: b.namespace },
          allowed: 'a different scope or namespace on a shared DCS, or a DCS of its own',
          fix: `give the standby cluster its own etcd, or a different scope (e.g. "${b.scope}-standby")`,
        },
      ];
    },
  },
  {
    id: 'patroni-timing',
    check: (ctx) =>
      clusters(ctx).flatMap(([where, c]) => {
        const p = c.patroni;
        return p.loopWait + 2 * p.retryTimeout <= p.ttl
          ? []
          : [
              {
                path: `${where}.patroni`,
                message: 'loop_wait + 2 * retry_timeout must not exceed ttl, or the leader key expires during a retry',
                received: { ttl: p.ttl, loopWait: p.loopWait, retryTimeout: p.retryTimeout },
                allowed: `loopWait + 2 * retryTimeout <= ttl (here ${p.loopWait + 2 * p.retryTimeout} > ${p.ttl})`,
                fix: `raise ttl to at least ${p.loopWait + 2 * p.retryTimeout}, or lower loopWait/retryTimeout`,
              },
            ];
      }),
  },
  {
    id: 'basebackup-needs-config-in-pgdata',
    check: (ctx) => {
      const pg = ctx.primary.postgresql;
      const usesBasebackup = ctx.link.createReplicaMethods.some((m) => m === 'basebackup' || m === 'pg_basebackup');
      if (!usesBasebackup || pg.configDir === undefined || isInside(pg.configDir, pg.dataDir)) return [];
      return [
        {
          path: `${ctx.where.primary}.postgresql.configDir`,
          message:
            'is outside the data directory while the standby bootstraps with basebackup: the copy lacks postgresql.conf and the standby leader bootstrap fails',
          received: pg.configDir,
          allowed: `a directory inside ${pg.dataDir}, or no configDir`,
          fix: `remove configDir (Patroni then keeps postgresql.conf in ${pg.dataDir}), or copy postgresql.conf into PGDATA on every primary node (the Debian layout) and drop configDir here`,
        },
      ];
    },
  },
  {
    id: 'pg-hba-parses',
    check: (ctx) =>
      clusters(ctx).flatMap(([where, c]) => [
        ...hbaProblems(`${where}.postgresql.pgHba`, c.postgresql.pgHba),
        ...(c.postgresql.generatePgHba
          ? hbaProblems(`${where}.postgresql.rejectLine`, [c.postgresql.rejectLine]).map((p) => ({
              ...p,
              path: `${where}.postgresql.rejectLine`,
            }))
          : []),
      ]),
  },
  {
    id: 'standby-covered-by-primary-pg-hba',
    check: (ctx) => {
      const merged = clusterPgHba(ctx.primary, primaryContribution(ctx.link, ctx.primary, ctx.standby).pgHbaLines);
      const parsed = merged.map(parseHbaLine).filter((l): l is HbaLine => !('error' in l));
      return ctx.standby.nodes.flatMap((node, i) => {
        const ip = node.host;
        if (isToken(ip) || isIP(ip) === 0) return [];
        return [
          { database: 'replication', user: ctx.primary.users.replication },
          { database: 'postgres', user: ctx.primary.users.rewind },
        ].flatMap((conn) => {
          const line = firstMatch(parsed, { clientIp: ip, ...conn });
          if (line && line.method !== 'reject') return [];
          return [
            {
              path: `${ctx.where.standby}.nodes[${i}].host`,
              message: `is not admitted by the primary's pg_hba for ${conn.database === 'replication' ? 'replication' : 'the postgres database'} as ${conn.user}${line ? ' (a reject line matches first)' : ''}`,
              received: ip,
              allowed: `a primary pg_hba in which the first line matching ${ip} admits ${conn.user}`,
              fix: `set ${ctx.where.standby}.nodes[${i}].hbaAddress to a CIDR that contains ${ip}, or move the reject line after the generated ones`,
            },
          ];
        });
      });
    },
  },
  {
    id: 'no-password-in-overrides',
    check: (ctx) =>
      nodesWithPath(ctx).flatMap(({ path, node }) =>
        findPasswords(node.overrides, `${path}.overrides`).map((p) => ({
          path: p,
          message:
            'a password must not be written into the topology: it would land in the plan, the state and the rendered files',
          received: '(hidden)',
          allowed: "no password keys; passwords come from the hosts' environment",
          fix: 'remove it and set PATRONI_SUPERUSER_PASSWORD, PATRONI_REPLICATION_PASSWORD, PATRONI_REWIND_PASSWORD in the env file read by the Patroni service',
        })),
      ),
  },
  {
    id: 'dynamic-keys-not-modelled',
    check: (ctx) =>
      clusters(ctx).flatMap(([where, c]) =>
        Object.keys(c.patroni.dynamic)
          .filter((k) => MODELLED_DYNAMIC_KEYS[k] !== undefined)
          .map((k) => ({
            path: `${where}.patroni.dynamic.${k}`,
            message: 'is set through its own field, not through the passthrough',
            received: c.patroni.dynamic[k],
            allowed:
              'dynamic configuration keys the model does not name (synchronous_mode, failsafe_mode, check_timeline, ...)',
            fix: `remove it here and use ${MODELLED_DYNAMIC_KEYS[k]}`,
          })),
      ),
  },
  {
    id: 'link-slot-needs-source-slots',
    check: (ctx) =>
      ctx.link.slotName !== undefined && !ctx.primary.patroni.useSlots
        ? [
            {
              path: `${ctx.where.primary}.patroni.useSlots`,
              message: `is false, but the link streams through slot ${ctx.link.slotName}: Patroni keeps no permanent slot without use_slots, so the slot would never exist on the source`,
              received: false,
              allowed: 'true while the link names a slot',
              fix: 'set patroni.useSlots: true on the source, or remove link.slotName (the standby then streams without a slot)',
            },
          ]
        : [],
  },
  {
    id: 'link-slot-not-a-permanent-slot',
    check: (ctx) => {
      const slot = ctx.link.slotName;
      return slot !== undefined && ctx.primary.patroni.permanentSlots[slot] !== undefined
        ? [
            {
              path: `${ctx.where.primary}.patroni.permanentSlots.${slot}`,
              message: `is the link's slot (${ctx.where.link}.slotName): the link creates and releases it, a permanent slot of the same name would keep it after a promotion`,
              received: ctx.primary.patroni.permanentSlots[slot],
              allowed: 'permanent slots with names the link does not use',
              fix: `remove ${slot} from patroni.permanentSlots, or give the link another slot name`,
            },
          ]
        : [];
    },
  },
  {
    id: 'monitoring-addresses-valid',
    check: (ctx) =>
      ctx.link.monitoring.addresses.flatMap((a, i) => {
        const parsed = parseHbaLine(`host postgres ${ctx.link.monitoring.user} ${a} scram-sha-256`);
        return 'error' in parsed || a === 'all' || a === 'samehost' || a === 'samenet'
          ? [
              {
                path: `${ctx.where.link}.monitoring.addresses[${i}]`,
                message: 'is not an address pg_hba can admit the monitoring role from',
                received: a,
                allowed: 'a CIDR (10.0.0.5/32), an IP address or a host name',
                fix: 'write the address of the machine that runs status and the promotion gate (the pipeline)',
              },
            ]
          : [];
      }),
  },
  {
    id: 'monitoring-user-one-name',
    check: (ctx) =>
      ctx.link.promotion.user !== ctx.link.monitoring.user
        ? [
            {
              path: `${ctx.where.link}.promotion.user`,
              message: `differs from ${ctx.where.link}.monitoring.user (${ctx.link.monitoring.user}): status and the gate connect as one role`,
              received: ctx.link.promotion.user,
              allowed: ctx.link.monitoring.user,
              fix: 'remove promotion.user and keep monitoring.user',
            },
          ]
        : [],
  },
  {
    id: 'existing-cluster-declares-pg-hba',
    check: (ctx) =>
      clusters(ctx).flatMap(([where, c]) =>
        c.mode === 'existing' && !c.postgresql.pgHbaDeclared
          ? [
              {
                path: `${where}.postgresql.pgHba`,
                message:
                  'is required for an existing cluster: a DCS patch replaces the whole pg_hba list, and lines not declared here would be dropped',
                received: undefined,
                allowed: "the cluster's current pg_hba lines (patronictl show-config)",
                fix: 'copy the current postgresql.pg_hba list of the running cluster into postgresql.pgHba',
              },
            ]
          : [],
      ),
  },
  {
    // Patroni checks wal_keep_size before it passes it on PostgreSQL's command line, and replaces
    // a value below 16MB with its default, 128MB, without a word (Patroni 3.0.2 and 4.0)
    id: 'wal-keep-size-patroni-minimum',
    check: (ctx) =>
      clusters(ctx).flatMap(([where, c]) => {
        const v = c.postgresql.parameters.wal_keep_size;
        const mb = v === undefined ? undefined : sizeInMb(v);
        return mb === undefined || mb >= 16
          ? []
          : [
              {
                path: `${where}.postgresql.parameters.wal_keep_size`,
                message:
                  "is below Patroni's minimum wal_keep_size (16MB): Patroni runs PostgreSQL with its default, 128MB, instead, so the plan would not show what runs",
                received: v,
                allowed: '16MB or more',
                fix: 'set it to 16MB (the smallest Patroni passes on), or remove it',
              },
            ];
      }),
  },
  {
    // PostgreSQL replays everything a standby has received once it is promoted: the delay ends
    // there, and the change it was kept for is replayed with the rest
    id: 'delayed-standby-promotion',
    acknowledgeable: true,
    check: (ctx) => {
      const delay = ctx.link.recoveryMinApplyDelay;
      if (ctx.link.state !== 'detached' || delay === undefined || isToken(delay) || !timeInMs(delay)) return [];
      return [
        {
          path: `${ctx.where.link}.state`,
          message: `promotes a delayed standby (recoveryMinApplyDelay ${delay}): a promotion replays at once everything it held back, a mistaken change the delay was kept for included; to take data from before such a change, read it from the standby cluster with its replay paused instead (docs/operations.md: A delayed standby)`,
          received: { state: ctx.link.state, recoveryMinApplyDelay: delay },
          allowed: 'following, or detached acknowledged in link.acknowledgeWarnings',
          fix: `keep state: following; or, to promote it with all it received: link.acknowledgeWarnings: [{ id: delayed-standby-promotion, reason: <why> }]`,
        },
      ];
    },
  },
  {
    id: 'restore-command-without-archive',
    acknowledgeable: true,
    check: (ctx) => {
      const command = ctx.link.restoreCommand;
      if (command === undefined || isToken(command)) return [];
      const why = ctx.primary.backup ? undefined : noArchiveBecause(ctx.primary.postgresql.parameters);
      return why === undefined
        ? []
        : [
            {
              path: `${ctx.where.link}.restoreCommand`,
              message: `reads WAL from an archive, but the source ${ctx.names?.primary ?? 'cluster'} archives none (${ctx.where.primary}.postgresql.parameters: ${why}): the standby would wait on WAL that never arrives there`,
              received: command,
              allowed:
                "a restore command with archive_mode 'on' and an archive_command (or archive_library) that archives on the source",
              fix: `set archive_mode: 'on' and an archive_command in ${ctx.where.primary}.postgresql.parameters, remove restoreCommand, or, if the source archives outside its Patroni configuration: link.acknowledgeWarnings: [{ id: restore-command-without-archive, reason: <where it archives> }]`,
            },
          ];
    },
  },
  {
    id: 'backup-needs-managed-cluster',
    check: (ctx) =>
      clusters(ctx).flatMap(([where, c]) =>
        c.backup && c.mode === 'existing'
          ? [
              {
                path: `${where}.backup`,
                message:
                  "needs a managed cluster: the stacks write pgBackRest's files on the nodes and set archive_command in the configuration they own, and an existing cluster's are not theirs",
                received: c.backup.stanza,
                allowed: 'backup on a managed cluster',
                fix: `remove ${where}.backup and keep pgBackRest as it is set up there, or manage the cluster (mode: managed)`,
              },
            ]
          : [],
      ),
  },
  {
    id: 'backup-owns-archive-parameters',
    check: (ctx) =>
      clusters(ctx).flatMap(([where, c]) => {
        if (!c.backup) return [];
        const keys = [...BACKUP_PARAMETERS, 'archive_library'];
        // a member's own parameters win over the cluster's in Patroni: an override counts too
        const places: [string, Readonly<Record<string, unknown>>][] = [
          [`${where}.postgresql.parameters`, c.postgresql.parameters],
          ...c.nodes.map((n, i): [string, Readonly<Record<string, unknown>>] => [
            `${where}.nodes[${i}].overrides.postgresql.parameters`,
            (n.overrides.postgresql as { parameters?: Record<string, unknown> } | undefined)?.parameters ?? {},
          ]),
        ];
        return places.flatMap(([at, params]) =>
          keys
            .filter((k) => params[k] !== undefined)
            .map((k) => ({
              path: `${at}.${k}`,
              message: `is set by ${where}.backup (pgBackRest archives the WAL): two settings for one thing`,
              received: params[k],
              allowed: 'no archive parameter where backup is set',
              fix: `remove ${k}; backup sets archive_mode: 'on' and archive_command: pgbackrest ... archive-push`,
            })),
        );
      }),
  },
  {
    id: 'backup-one-stanza',
    check: (ctx) => {
      const [a, b] = [ctx.primary.backup, ctx.standby.backup];
      return a && b && a.stanza !== b.stanza
        ? [
            {
              path: `${ctx.where.standby}.backup.stanza`,
              message: `differs from ${ctx.where.primary}.backup.stanza (${a.stanza}): both clusters are one database system, whose archive the standby reads under the stanza the source writes`,
              received: b.stanza,
              allowed: a.stanza,
              fix: `set stanza: ${a.stanza} in both clusters' backup`,
            },
          ]
        : [];
    },
  },
  {
    id: 'backup-repository-host-own',
    check: (ctx) => {
      const out: Problem[] = [];
      const members = new Map(
        clusters(ctx).flatMap(([where, c]) => c.nodes.map((n) => [n.host, `${where} member ${n.name}`] as const)),
      );
      const repos = clusters(ctx).filter(([, c]) => c.backup);
      for (const [where, c] of repos) {
        const host = c.backup!.repository.host;
        const member = members.get(host);
        if (member && !isToken(host))
          out.push({
            path: `${where}.backup.repository.host`,
            message: `is the address of ${member}: a repository on a database node is lost with it, and both pgBackRest servers would listen on ${host}:${c.backup!.serverPort}`,
            received: host,
            allowed: 'a host of its own in the data center',
            fix: "give the repository a host of its own (the data center's backup host)",
          });
      }
      if (repos.length === 2 && repos[0][1].backup!.repository.host === repos[1][1].backup!.repository.host)
        out.push({
          path: `${repos[1][0]}.backup.repository.host`,
          message: `is also ${repos[0][0]}'s repository host: one repository for both data centers is lost with the data center that holds it`,
          received: repos[1][1].backup!.repository.host,
          allowed: "a host in the cluster's own data center",
          fix: "give each data center's cluster the repository host of its own data center",
        });
      return out;
    },
  },
  {
    id: 'reseed-from-archive-needs-archive',
    check: (ctx) =>
      ctx.link.reseed?.from === 'archive' &&
      ctx.link.restoreCommand === undefined &&
      archiveRestoreCommand(ctx.primary, ctx.standby) === undefined
        ? [
            {
              path: `${ctx.where.link}.reseed.from`,
              message:
                'archive: the standby reads no archive (no backup on both clusters, no link.restoreCommand), so it cannot have caught up from one; renewing the slot alone leaves it where it stopped',
              received: 'archive',
              allowed: 'archive with an archive the standby reads; source otherwise',
              fix: 'set from: source (the members are cloned anew), or give both clusters backup first',
            },
          ]
        : [],
  },
  {
    id: 'reseed-from-backup-needs-backup',
    check: (ctx) => {
      if (ctx.link.reseed?.from !== 'backup') return [];
      if (!ctx.standby.backup)
        return [
          {
            path: `${ctx.where.link}.reseed.from`,
            message: `backup: ${ctx.where.standby} has no backup, so there is no repository in its data center to restore from`,
            received: 'backup',
            allowed: `backup with ${ctx.where.standby}.backup set; source otherwise`,
            fix: `set from: source (pg_basebackup across the link), or give both clusters backup and take a backup into ${ctx.where.standby}'s repository first`,
          },
        ];
      if (!ctx.link.createReplicaMethods.includes('pgbackrest'))
        return [
          {
            path: `${ctx.where.link}.createReplicaMethods`,
            message:
              'lists no pgbackrest while the re-seed restores from the backup: the standby leader would be cloned by these methods instead',
            received: [...ctx.link.createReplicaMethods],
            allowed: 'a list with pgbackrest (the default with backup: [pgbackrest, basebackup])',
            fix: 'remove createReplicaMethods (the default restores from the repository first), or set link.reseed.from: source',
          },
        ];
      return [];
    },
  },
  {
    // a repository host finds the primary among the members of both clusters only when both run
    // pgBackRest; and a switchover would leave the new source archiving nowhere
    id: 'backup-on-both-clusters',
    check: (ctx) => {
      const one = clusters(ctx).filter(([, c]) => c.backup);
      if (one.length !== 1) return [];
      const [withBackup] = one[0];
      const without = withBackup === ctx.where.primary ? ctx.where.standby : ctx.where.primary;
      return [
        {
          path: `${without}.backup`,
          message: `is not set while ${withBackup}.backup is: the archive would live in one data center only (lost with it), the standby could not read it, a switchover would leave the new source archiving nowhere, and a standby's repository host finds no primary to create its stanza with`,
          received: undefined,
          allowed: "backup on both clusters, each with its own data center's repository host, or on neither",
          fix: `add backup to ${without} with the same stanza and a repository host in its data center, or remove ${withBackup}.backup`,
        },
      ];
    },
  },
];

/**
 * The first line that could match a TCP connection of `user` to the postgres database from an
 * unknown address: a line for every address (all, 0.0.0.0/0, ::/0) decides for all clients.
 */
function firstLineForAnyAddress(lines: readonly string[], user: string): { line: string; index: number } | undefined {
  for (const [index, line] of lines.entries()) {
    const l = parseHbaLine(line);
    if ('error' in l || l.type === 'local') continue;
    const users = l.users.includes('all') || l.users.includes(user);
    const dbs = l.databases.includes('all') || l.databases.includes('postgres');
    if (!users || !dbs) continue;
    if (l.method !== 'reject') return undefined; // some address may be admitted
    if (l.address === 'all' || l.address === '0.0.0.0/0' || l.address === '::/0') return { line, index };
  }
  return undefined;
}

/** Both clusters' rendered pg_hba, with the link's lines. */
function renderedHba(ctx: RuleContext): [string, string[]][] {
  return [
    [ctx.where.primary, clusterPgHba(ctx.primary, primaryContribution(ctx.link, ctx.primary, ctx.standby).pgHbaLines)],
    [ctx.where.standby, clusterPgHba(ctx.standby, standbyContribution(ctx.link, ctx.primary, ctx.standby).pgHbaLines)],
  ];
}

export const WARNING_RULES: readonly Rule[] = [
  {
    // the re-seed copies the whole database across the link; the archive holds what the slot lost
    id: 'slot-limit-without-archive',
    check: (ctx) => {
      const p = ctx.primary.postgresql.parameters;
      const limit = p.max_slot_wal_keep_size === undefined ? undefined : sizeInMb(p.max_slot_wal_keep_size);
      const restore = ctx.link.restoreCommand ?? archiveRestoreCommand(ctx.primary, ctx.standby);
      return limit === undefined || limit < 0 || restore !== undefined
        ? []
        : [
            {
              path: `${ctx.where.primary}.postgresql.parameters.max_slot_wal_keep_size`,
              message: `lets the source drop WAL the standby still needs when the link is down longer than ${String(p.max_slot_wal_keep_size)} of writes, and the standby reads no archive: it then comes back only by a re-seed, a copy of the whole database across the link`,
              received: p.max_slot_wal_keep_size,
              allowed: 'a standby that can read the archive (backup on both clusters, or link.restoreCommand)',
              fix: `add backup (pgBackRest) to both clusters, so the standby catches up from the archive (docs/archive.md); or link.acknowledgeWarnings: [{ id: slot-limit-without-archive, reason: <why a re-seed is acceptable> }]`,
            },
          ];
    },
  },
  {
    // tried on pgBackRest 2.45: past the queue limit the segments are dropped from every
    // repository, the reachable one included, and reported archived
    id: 'archive-push-queue-max-drops-wal',
    check: (ctx) =>
      clusters(ctx).flatMap(([where, c]) =>
        c.backup?.options['archive-push-queue-max'] === undefined
          ? []
          : [
              {
                path: `${where}.backup.options.archive-push-queue-max`,
                message:
                  'drops WAL once the queue passes it: pgBackRest then removes the queued segments from every repository, the reachable one included, and reports them archived, so a point-in-time restore and the hybrid standby meet a gap that info does not show',
                received: c.backup.options['archive-push-queue-max'],
                allowed: 'no queue limit: size the disk for the longest outage of the other data center',
                fix: `remove archive-push-queue-max, or acknowledge: link.acknowledgeWarnings: [{ id: archive-push-queue-max-drops-wal, reason: <why losing archived WAL is acceptable> }]`,
              },
            ],
      ),
  },
  {
    // Seen in the fault suite: the link cut, the slot past max_slot_wal_keep_size, the next
    // checkpoint signals the walsender that holds the slot and waits for it to let go; that
    // walsender, ending, blocks writing to the cut-off standby until TCP gives up (about 15 min
    // with Linux's defaults). No checkpoint completes meanwhile, and WAL piles up.
    id: 'slot-limit-without-tcp-user-timeout',
    check: (ctx) => {
      const p = ctx.primary.postgresql.parameters;
      const limit = p.max_slot_wal_keep_size === undefined ? undefined : sizeInMb(p.max_slot_wal_keep_size);
      const tcp = p.tcp_user_timeout === undefined ? 0 : timeInMs(p.tcp_user_timeout);
      return limit === undefined || limit < 0 || (tcp !== undefined && tcp > 0)
        ? []
        : [
            {
              path: `${ctx.where.primary}.postgresql.parameters`,
              message:
                'sets max_slot_wal_keep_size without tcp_user_timeout: when the link is cut and the slot goes past the limit, the checkpoint that invalidates it waits for the walsender still holding it, and that walsender waits on a write to the cut-off standby until TCP gives up (about 15 minutes by default); no checkpoint completes meanwhile',
              received: {
                max_slot_wal_keep_size: p.max_slot_wal_keep_size,
                tcp_user_timeout: p.tcp_user_timeout ?? null,
              },
              allowed: 'tcp_user_timeout set (e.g. 10s) wherever max_slot_wal_keep_size is',
              fix: "add tcp_user_timeout: 10s to the source's postgresql.parameters",
            },
          ];
    },
  },
  {
    // status and the gate connect over TCP; a pg_hba that rejects their role from every address
    // (the article's `host all postgres all reject` with the default superuser) makes both fail.
    id: 'monitoring-role-admitted',
    check: (ctx) =>
      renderedHba(ctx).flatMap(([where, lines]) => {
        const m = ctx.link.monitoring;
        const rejected = firstLineForAnyAddress(lines, m.user);
        if (!rejected) return [];
        return [
          {
            path: `${ctx.where.link}.monitoring`,
            message: `status and the promotion gate connect to ${where} as ${m.user} over TCP, and its pg_hba line ${rejected.index + 1} "${rejected.line}" refuses that from every address`,
            received: { user: m.user, addresses: m.addresses },
            allowed: 'a role that the rendered pg_hba admits from the addresses status and the gate run on',
            fix: 'create a monitoring role (CREATE ROLE monitor LOGIN IN ROLE pg_monitor) and set link.monitoring: {user: monitor, addresses: [<pipeline address>]}',
          },
        ];
      }),
  },
  {
    id: 'monitoring-as-superuser',
    check: (ctx) => {
      const m = ctx.link.monitoring;
      return m.addresses.length > 0 && m.user === ctx.primary.users.superuser
        ? [
            {
              path: `${ctx.where.link}.monitoring.user`,
              message: `is the superuser: the monitoring lines would admit ${m.user} over TCP from ${m.addresses.join(', ')}, which the article's reject line exists to prevent`,
              received: m.user,
              allowed: 'a role with pg_monitor',
              fix: 'CREATE ROLE monitor LOGIN IN ROLE pg_monitor; then set link.monitoring.user: monitor',
            },
          ]
        : [];
    },
  },
  {
    // Patroni starts a replica with the higher of its configured value and pg_controldata's for
    // these parameters, so a lower standby value does not stop it: it runs with the source's and
    // shows a pending restart. Only values the topology knows are compared: an existing source's
    // running values are not known at synth.
    id: 'hot-standby-parameters',
    check: (ctx) =>
      Object.keys(HOT_STANDBY_DEFAULTS).flatMap((name) => {
        const known = ctx.primary.mode === 'managed' || ctx.primary.postgresql.parameters[name] !== undefined;
        const source = known ? paramNumber(ctx.primary.postgresql.parameters, name) : undefined;
        const standby = paramNumber(ctx.standby.postgresql.parameters, name);
        if (source === undefined || standby === undefined || standby >= source) return [];
        const declared = ctx.primary.postgresql.parameters[name] !== undefined;
        return [
          {
            path: `${ctx.where.standby}.postgresql.parameters.${name}`,
            message: `is below the source's ${name} (${source}${declared ? '' : ", PostgreSQL's default on the managed source"}): Patroni starts the standby with the source's value instead, and it shows a pending restart`,
            received: standby,
            allowed: `>= ${source}`,
            fix: `set ${name} to at least ${source} on the standby cluster`,
          },
        ];
      }),
  },
  {
    id: 'single-source-host',
    check: (ctx) =>
      ctx.primary.nodes.length === 1 && ctx.link.sourceVip === undefined
        ? [
            {
              path: `${ctx.where.link}.sourceVip`,
              message: 'the standby cluster has a single source host and no VIP: it cannot follow a primary switchover',
              received: undefined,
              allowed: 'a VIP, or several primary nodes',
              fix: 'set link.sourceVip or list every primary node',
            },
          ]
        : [],
  },
  {
    id: 'no-wal-retention',
    check: (ctx) => {
      const p = ctx.primary.postgresql.parameters;
      return p.wal_keep_size === undefined && p.max_slot_wal_keep_size === undefined
        ? [
            {
              path: `${ctx.where.primary}.postgresql.parameters`,
              message:
                'neither wal_keep_size nor max_slot_wal_keep_size is set: the slot may retain WAL without bound, and nothing protects the link while a new leader recreates the slot',
              received: undefined,
              allowed: 'wal_keep_size and/or max_slot_wal_keep_size',
              fix: 'set e.g. wal_keep_size: 1GB and max_slot_wal_keep_size: 50GB',
            },
          ]
        : [];
    },
  },
  {
    id: 'pg-rewind-impossible',
    check: (ctx) =>
      clusters(ctx).flatMap(([where, c]) => {
        const checksums = c.postgresql.initdb.some((o) => o === 'data-checksums');
        const hints = ['on', 'true', true, 1, '1'].includes(c.postgresql.parameters.wal_log_hints as never);
        return c.patroni.usePgRewind && !checksums && !hints
          ? [
              {
                path: `${where}.postgresql`,
                message: 'data checksums and wal_log_hints are both off: pg_rewind cannot work',
                received: { initdb: c.postgresql.initdb, wal_log_hints: c.postgresql.parameters.wal_log_hints },
                allowed: "'data-checksums' in initdb or wal_log_hints: 'on'",
                fix: "set parameters.wal_log_hints: 'on'",
              },
            ]
          : [];
      }),
  },
];

/** The ids a topology may acknowledge: every warning's, and the acknowledgeable errors'. */
export const WARNING_IDS: readonly string[] = [...WARNING_RULES, ...ERROR_RULES.filter((r) => r.acknowledgeable)].map(
  (r) => r.id,
);

/**
 * Every rule's findings. `acknowledged` holds the ids of `link.acknowledgeWarnings`: an
 * acknowledgeable error named there is left out (the warnings are filtered by the caller).
 */
export function checkRules(
  ctx: RuleContext,
  acknowledged: readonly string[] = [],
): { errors: Problem[]; warnings: Problem[] } {
  return {
    errors: ERROR_RULES.flatMap((r) =>
      !r.acknowledgeable
        ? r.check(ctx)
        : acknowledged.includes(r.id)
          ? []
          : r.check(ctx).map((p) => ({ id: r.id, ...p })),
    ),
    warnings: WARNING_RULES.flatMap((r) => r.check(ctx).map((p) => ({ id: r.id, ...p }))),
  };
}
