/**
 * The stacks grouped into environments (the pair of clusters a link joins, or a stack of its
 * own), each with its headline: a new environment or cluster, the role events, or how much
 * configuration changes.
 */
import { Environment, ResourceKind, ResourceReview, RoleEvent, StackReview, UNNAMED } from './model';
import { unique } from './values';
import { listed, plural } from './words';

function eventText(e: RoleEvent, given: ReadonlySet<string>): string {
  switch (e.kind) {
    case 'switchover':
      return `SWITCHOVER ${e.from} -> ${e.to}${given.has(e.to) ? '' : ` (run from ${e.to === UNNAMED ? 'its' : `${e.to}'s`} stack, whose plan is not among these)`}`;
    case 'promotion':
      return e.disaster ? `DISASTER PROMOTION of ${e.cluster}` : `PROMOTION of ${e.cluster} (detach)`;
    case 'rejoin':
      return `REJOIN of ${e.cluster} to ${e.to ?? 'its source'}`;
    case 'reseed':
      return `RE-SEED of ${e.cluster}${e.generation ? ` (generation ${e.generation})` : ''}`;
  }
}

/** The clusters an event names (a role change that does not name the other cluster stands for it with UNNAMED). */
const eventClusters = (e: RoleEvent): string[] =>
  (e.kind === 'switchover'
    ? [e.from, e.to]
    : e.kind === 'rejoin'
      ? [e.cluster, ...(e.to ? [e.to] : [])]
      : [e.cluster]
  ).filter((c) => c !== UNNAMED);

/** What changes besides roles, counted: `3 members reloaded`, `DCS patch of dc1 changed`... */
function configuration(resources: readonly ResourceReview[]): string[] {
  const out: string[] = [];
  const members = resources.filter((r) => r.kind === 'member');
  const count = (n: number, text: string) => n > 0 && out.push(text);
  const rewritten = members.filter((r) => r.action === 'update' || r.action === 'replace');
  const added = members.filter((r) => r.action === 'create').length;
  const removed = members.filter((r) => r.action === 'delete').length;
  const reloaded = rewritten.filter((r) => r.reload === true).length;
  count(added, `${plural(added, 'member')} added`);
  count(removed, `${plural(removed, 'member')} removed`);
  count(reloaded, `${plural(reloaded, 'member')} reloaded`);
  count(
    rewritten.length - reloaded,
    `${plural(rewritten.length - reloaded, 'member file')} rewritten without a reload`,
  );
  const restart = unique(resources.flatMap((r) => r.restart ?? [])).sort();
  count(restart.length, `a PostgreSQL restart needed for ${listed(restart)}`);
  const patched = unique(resources.filter((r) => r.kind === 'dcs-patch' && r.target).map((r) => r.target!));
  count(patched.length, `${patched.length === 1 ? 'DCS patch' : 'DCS patches'} of ${listed(patched)} changed`);
  const slots = unique(
    resources.filter((r) => r.kind === 'link-slots' && !r.inactive && r.target).map((r) => r.target!),
  );
  count(slots.length, `link slots on ${listed(slots)} changed`);
  const named = (kind: ResourceKind, one: string, many: string) => {
    const n = resources.filter((r) => r.kind === kind && !r.event).length;
    count(n, `${n} ${n === 1 ? one : many}`);
  };
  named('env-file', 'env file rewritten', 'env files rewritten');
  named('stop-on-destroy', 'stop-on-destroy step changed', 'stop-on-destroy steps changed');
  named(
    'role',
    'role resource replaced without a change of roles',
    'role resources replaced without a change of roles',
  );
  named('reseed', 're-seed step changed', 're-seed steps changed');
  named('detach', 'detach step changed', 'detach steps changed');
  named('other', 'other resource changed', 'other resources changed');
  const inactive = resources.filter((r) => r.kind === 'link-slots' && r.inactive).length;
  count(inactive, `${plural(inactive, 'inactive link slots step')} changed`);
  return out;
}

/** The environments of the given stacks, each with its headline, in the order their stacks come. */
export function environments(reviews: readonly StackReview[]): Environment[] {
  const groups = new Map<
    string,
    { clusters?: [string, string]; stacks: StackReview[]; source?: string; standby?: string }
  >();
  const add = (
    key: string,
    clusters: [string, string] | undefined,
    s: StackReview,
    roles: { source?: string; standby?: string } = {},
  ) => {
    const g = groups.get(key) ?? { clusters, stacks: [] };
    if (!g.stacks.includes(s)) g.stacks.push(s);
    g.source ??= roles.source;
    g.standby ??= roles.standby;
    groups.set(key, g);
  };
  for (const s of reviews) {
    if (s.links.length === 0) add(`stack\u0000${s.stack}`, undefined, s);
    s.links.forEach(([me, other], i) => {
      const pair = [me, other].sort() as [string, string];
      const role = s.linkRoles?.[i];
      const roles =
        role === 'source' ? { source: me, standby: other } : role === 'standby' ? { source: other, standby: me } : {};
      add(`pair\u0000${s.linkIds?.[i] ?? `${pair[0]}\u0000${pair[1]}`}`, pair, s, roles);
    });
  }
  return [...groups.values()].map(({ clusters, stacks, source, standby }) => {
    const resources = stacks.flatMap((s) => s.resources);
    const given = new Set(stacks.map((s) => s.cluster));
    const created = new Set(stacks.flatMap((s) => s.created ?? []));
    const events = unique(
      resources
        .map((r) => r.event)
        .filter(
          (e): e is RoleEvent => e !== undefined && (!clusters || eventClusters(e).every((c) => clusters.includes(c))),
        )
        .map((e) => eventText(e, given)),
    );
    const fresh = clusters
      ? newLink(source, standby, created, given)
      : created.has(stacks[0].cluster)
        ? `NEW CLUSTER ${stacks[0].cluster} bootstraps`
        : undefined;
    // on a first deploy the new clusters' resources, and the link's steps created with them, are
    // the NEW one; what else changes (on a running source) is counted as configuration
    const config = configuration(
      fresh
        ? resources.filter(
            (r) => !r.fresh && !(r.action === 'create' && (r.kind === 'role' || r.kind === 'link-slots')),
          )
        : resources,
    );
    const headline = fresh
      ? [fresh, ...events].join('; ') + (config.length > 0 ? `; configuration: ${config.join(', ')}` : '')
      : events.length > 0
        ? events.join('; ')
        : `no role change; ${config.length > 0 ? `configuration only: ${config.join(', ')}` : 'no changes'}`;
    return {
      name: clusters ? listed(clusters) : stacks[0].stack,
      clusters,
      stacks: stacks.map((s) => s.stack),
      headline,
    };
  });
}

/**
 * The headline of a link whose clusters the plans create (both: a first deploy; one: a cluster
 * added to a running one), from the source and the standby its role changes name; undefined when
 * neither is new.
 */
function newLink(
  source: string | undefined,
  standby: string | undefined,
  created: ReadonlySet<string>,
  given: ReadonlySet<string>,
): string | undefined {
  if (source === undefined || standby === undefined) return undefined;
  const missing = (c: string) => (given.has(c) ? '' : ` (${c}'s plan is not among these)`);
  if (created.has(source) && created.has(standby))
    return `NEW ENVIRONMENT: ${source} bootstraps as the source, ${standby} follows it (its standby leader clones from ${source} across the link)`;
  if (created.has(standby)) return `NEW STANDBY CLUSTER ${standby} follows ${source}${missing(source)}`;
  if (created.has(source)) return `NEW SOURCE CLUSTER ${source} bootstraps, ${standby} follows it${missing(standby)}`;
  return undefined;
}
