/**
 * What a change of configuration means for Patroni, whoever writes it (a member's patroni.yml, a
 * DCS patch, the link's slots): PostgreSQL parameters (a reload, or a restart this deploy does
 * not do), pg_hba lines that stop admitting replication, slots created or removed,
 * standby_cluster, the rest of a patch; and its unified diff.
 */
import { createTwoFilesPatch } from 'diff';
import { firstMatch, parseHbaLine, HbaLine } from '../../constructs/planners/pg-hba';
import { attention, Finding, info } from './model';
import { absent, obj, parseJson, str, strings, unique, Values } from './values';
import { changeOf, plural, shown } from './words';

/** PostgreSQL parameters read only at server start (context `postmaster`): a change needs a restart. */
export const RESTART_PARAMETERS: readonly string[] = [
  'archive_mode',
  'autovacuum_max_workers',
  'bonjour',
  'bonjour_name',
  'cluster_name',
  'config_file',
  'data_directory',
  'data_sync_retry',
  'dynamic_shared_memory_type',
  'event_source',
  'external_pid_file',
  'hba_file',
  'hot_standby',
  'huge_pages',
  'huge_page_size',
  'ident_file',
  'io_method',
  'jit_provider',
  'listen_addresses',
  'logging_collector',
  'max_connections',
  'max_files_per_process',
  'max_locks_per_transaction',
  'max_logical_replication_workers',
  'max_pred_locks_per_transaction',
  'max_prepared_transactions',
  'max_replication_slots',
  'max_wal_senders',
  'max_worker_processes',
  'min_dynamic_shared_memory',
  'old_snapshot_threshold',
  'port',
  'recovery_target',
  'recovery_target_action',
  'recovery_target_inclusive',
  'recovery_target_lsn',
  'recovery_target_name',
  'recovery_target_time',
  'recovery_target_timeline',
  'recovery_target_xid',
  'reserved_connections',
  'shared_buffers',
  'shared_memory_type',
  'shared_preload_libraries',
  'superuser_reserved_connections',
  'track_activity_query_size',
  'track_commit_timestamp',
  'unix_socket_directories',
  'unix_socket_group',
  'unix_socket_permissions',
  'wal_buffers',
  'wal_decode_buffer_size',
  'wal_level',
  'wal_log_hints',
];

export function unified(title: string, before: string, after: string): { title: string; diff: string } {
  const patch = createTwoFilesPatch(`${title} (before)`, `${title} (after)`, before, after, '', '', { context: 3 });
  return { title, diff: patch.split('\n').slice(3).join('\n').trimEnd() };
}

function pretty(value: unknown): string {
  return value === undefined ? '' : `${JSON.stringify(value, null, 2)}\n`;
}

/** What changes among PostgreSQL parameters, with a restart named where one is needed. */
export function parameterFindings(
  before: Values,
  after: Values,
  where: string,
): { findings: Finding[]; restart: string[] } {
  const findings: Finding[] = [];
  const restart: string[] = [];
  for (const name of unique([...Object.keys(before), ...Object.keys(after)]).sort()) {
    const what = changeOf(before[name], after[name]);
    if (what === undefined) continue;
    if (RESTART_PARAMETERS.includes(name)) {
      restart.push(name);
      findings.push(
        attention(
          `${where} parameter ${name} ${what}: needs a PostgreSQL restart, which this deploy does not do; Patroni shows the members as pending restart until one (patronictl restart)`,
        ),
      );
    } else {
      findings.push(info(`${where} parameter ${name} ${what}: Patroni applies it with a reload`));
    }
  }
  return { findings, restart };
}

/** A host address of a pg_hba line (a /32 or /128), as the client IP it admits. */
function hostOf(line: HbaLine): string | undefined {
  const m = /^(.+)\/(32|128)$/.exec(line.address ?? '');
  return m ? m[1] : undefined;
}

/** Replication lines removed whose address the new list no longer admits. */
function hbaFindings(before: string[], after: string[], memberOf: (ip: string) => string | undefined): Finding[] {
  const parsed = (lines: string[]) => lines.map(parseHbaLine).filter((l): l is HbaLine => !('error' in l));
  const now = parsed(after);
  const out: Finding[] = [];
  const removed = before.filter((l) => !after.includes(l));
  for (const line of removed) {
    const p = parseHbaLine(line);
    if ('error' in p) continue;
    const ip = hostOf(p);
    if (!ip || !p.databases.includes('replication')) {
      out.push(info(`pg_hba line removed: \`${line}\``));
      continue;
    }
    const user = p.users[0];
    const match = firstMatch(now, { clientIp: ip, database: 'replication', user });
    const member = memberOf(ip);
    const who = member ? `member ${member} (${ip})` : ip;
    if (!match || match.method === 'reject') {
      out.push(
        attention(
          `pg_hba stops admitting replication as ${user} from ${who}: \`${line}\` is removed and ${match ? 'a reject line matches instead' : 'no line matches any more'}; a standby or replica there can no longer stream`,
        ),
      );
    } else {
      const admitting = [match.type, match.databases.join(','), match.users.join(','), match.address, match.method]
        .filter((f) => f)
        .join(' ');
      out.push(info(`pg_hba line removed: \`${line}\` (${who} is still admitted by \`${admitting}\`)`));
    }
  }
  for (const line of after.filter((l) => !before.includes(l))) out.push(info(`pg_hba line added: \`${line}\``));
  return out;
}

function slotFindings(before: Values, after: Values, where: string): Finding[] {
  const out: Finding[] = [];
  for (const name of Object.keys(after).sort()) {
    if (after[name] === null && !absent(before[name]))
      out.push(
        attention(
          `slot ${name} removed ${where}: the WAL it retained is released; a standby that streams through it must have moved to another slot (removals wait while a standby cluster still names it)`,
        ),
      );
    else if (after[name] === null) out.push(info(`slot ${name} removed ${where} (if it is still there)`));
    else if (before[name] === undefined)
      out.push(info(`slot ${name} created ${where}: it retains WAL for its consumer from now on`));
  }
  for (const name of Object.keys(before).sort())
    if (!(name in after))
      out.push(info(`slot ${name} no longer written ${where}: the patch program removes it when it wrote it before`));
  return out;
}

/** The keys of a DCS patch that are not reviewed part by part. */
const OTHER_KEYS = (patch: Values): string[] =>
  Object.keys(patch).filter(
    (k) => !['postgresql', 'slots', 'standby_cluster', 'managed_by_patroni_standby_cdktf'].includes(k),
  );

/**
 * The DCS patch of a cluster the plan creates whole: what the new cluster starts with, in a few
 * lines. Its members' bootstrap.dcs holds the same configuration, so nothing in it needs a reload
 * or a restart, and there is no running configuration to compare it with (the folded diff has
 * every line).
 */
function freshPatchFindings(a: Values, cluster: string): Finding[] {
  const ap = obj(a.postgresql);
  const params = Object.keys(obj(ap.parameters))
    .filter((k) => !absent(obj(ap.parameters)[k]))
    .sort();
  const hba = strings(ap.pg_hba).length;
  const parts = [
    ...(params.length > 0 ? [`${plural(params.length, 'parameter')} (${params.join(', ')})`] : []),
    ...(hba > 0 ? [plural(hba, 'pg_hba line')] : []),
    ...OTHER_KEYS(a)
      .filter((k) => !absent(a[k]))
      .map((k) => `${k} ${shown(a[k])}`),
  ];
  const findings = [
    info(
      `the new cluster's dynamic configuration${parts.length > 0 ? `: ${parts.join(', ')}` : ''}; its members' bootstrap.dcs has the same, so ${cluster} starts with it (nothing to reload or restart)`,
    ),
  ];
  findings.push(...slotFindings({}, obj(a.slots), `on ${cluster}`));
  const as = obj(a.standby_cluster);
  if (!absent(a.standby_cluster))
    findings.push(
      info(
        `standby_cluster: ${cluster} starts as a standby cluster, its standby leader following ${str(as.host) ?? 'its source'} through ${str(as.primary_slot_name) ?? 'no slot'}`,
      ),
    );
  return findings;
}

/**
 * A DCS patch of `cluster`: its JSON diff and what Patroni does with each part; `fresh` when the
 * plan creates the cluster whole.
 */
export function patchReview(
  before: Values | undefined,
  after: Values | undefined,
  cluster: string,
  memberOf: (ip: string) => string | undefined,
  title = 'DCS patch',
  fresh = false,
): { findings: Finding[]; restart: string[]; diff: { title: string; diff: string } } {
  const b = parseJson(before?.patch_json);
  const a = parseJson(after?.patch_json);
  const diff = unified(title, pretty(before ? b : undefined), pretty(after ? a : undefined));
  if (fresh && !before && after) return { findings: freshPatchFindings(a, cluster), restart: [], diff };
  const bp = obj(b.postgresql);
  const ap = obj(a.postgresql);
  const params = parameterFindings(obj(bp.parameters), obj(ap.parameters), 'cluster-wide');
  const findings: Finding[] = [...params.findings];
  if (bp.pg_hba || ap.pg_hba) findings.push(...hbaFindings(strings(bp.pg_hba), strings(ap.pg_hba), memberOf));
  findings.push(...slotFindings(obj(b.slots), obj(a.slots), `on ${cluster}`));
  const bs = b.standby_cluster;
  const as = a.standby_cluster;
  if (as && !bs) {
    const following = str(obj(as).host) ? ` (following ${as.host})` : '';
    findings.push(
      attention(
        `standby_cluster added${following}: ${cluster} becomes a standby cluster. The patch program refuses this on a running primary; a role change is done by the new source's role resource, after its gate`,
      ),
    );
  } else if (as && JSON.stringify(as) !== JSON.stringify(bs)) {
    const host = str(obj(as).host);
    findings.push(
      info(
        `standby_cluster changed: the standby leader of ${cluster} follows ${host ?? 'its source'} through ${str(obj(as).primary_slot_name) ?? 'no slot'} (Patroni rewrites its recovery settings and reconnects)`,
      ),
    );
  } else if (bs && as === null) {
    findings.push(
      attention(`standby_cluster removed: the standby leader is promoted, ${cluster} becomes an independent primary`),
    );
  }
  for (const key of OTHER_KEYS(a).sort()) {
    const what = changeOf(b[key], a[key]);
    if (what !== undefined) findings.push(info(`${key} ${what} (dynamic configuration, no restart)`));
  }
  return { findings, restart: params.restart, diff };
}
