/**
 * One stack's plan reviewed: the clusters it holds and the links their role changes name, each
 * resource's findings, and which clusters the plan creates whole.
 */
import { ClusterFacts, reviewResource, StackContext } from './findings';
import { ResourceReview, StackReview } from './model';
import { Entry, entriesOf, Plan, roleConfigOf } from './resources';
import { obj, str, unique } from './values';

/** One stack's plan (`terraform show -json`), reviewed. `memberOf` names addresses (from all the plans). */
export function reviewPlan(
  stack: string,
  plan: Plan,
  memberOf: (ip: string) => string | undefined = () => undefined,
): StackReview {
  const entries = entriesOf(plan);
  // the names, from every role change and patch, changed or not
  const links: [string, string][] = [];
  const linkIds: string[] = [];
  const linkRoles: (string | undefined)[] = [];
  let me: string | undefined;
  let source: string | undefined;
  let patched: string | undefined;
  for (const e of entries) {
    if (e.kind === 'role') {
      const cfg = roleConfigOf(e);
      const m = str(obj(cfg.me).name);
      const o = str(obj(cfg.other).name);
      me ??= m;
      if (m && o && !links.some(([x, y]) => x === m && y === o)) {
        links.push([m, o]);
        linkRoles.push(str(e.v.role) ?? str(cfg.role));
        const id = (c: unknown, name: string) =>
          `${name}@${(Array.isArray(obj(c).nodes) ? (obj(c).nodes as unknown[]) : []).map((n) => str(obj(n).rest) ?? '').join(',')}`;
        linkIds.push([id(cfg.me, m), id(cfg.other, o)].sort().join('\u0000'));
      }
      if ((str(e.v.role) ?? str(cfg.role)) === 'standby') source ??= o;
    }
    if (e.kind === 'dcs-patch') patched ??= str(e.v.cluster);
  }
  const stopped = new Set(
    entries
      .filter((e) => e.kind === 'stop-on-destroy' && e.action === 'delete')
      .map((e) => str(e.v.member) ?? e.part)
      .filter((m): m is string => m !== undefined),
  );
  const cluster = me ?? patched ?? stack;
  const clusters = clustersOf(entries, cluster, source);
  const clusterOf = (e: Entry): ClusterFacts => clusters.get(e.prefix ?? NO_PREFIX)!;
  const ctx: StackContext = { stack, cluster, source, stopped, memberOf, clusterOf };
  const resources: ResourceReview[] = [];
  for (const e of entries) {
    if (e.action === 'no-op' || e.action === 'read') continue;
    const r = reviewResource(e, ctx);
    resources.push(clusterOf(e).fresh ? { ...r, fresh: true } : r);
  }
  const created = unique([...clusters.values()].filter((c) => c.fresh).map((c) => c.name));
  return { stack, cluster, links, linkIds, linkRoles, created, resources };
}

/** The key of the resources whose names do not show their cluster's construct path. */
const NO_PREFIX = '\u0000';

/**
 * The clusters of a stack, by the construct path above their resources' own components (one per
 * stack as `buildStandbyStacks` makes them; two when a stack holds both clusters of a link).
 * Resources whose names do not show it belong to the stack's cluster.
 *
 * A cluster is fresh when the plan creates it whole: it has members and every resource of it is
 * created (no state yet: a first deploy, or a standby cluster added to a running source). What
 * needs a reviewer's attention then: nothing that only creates it. Its members, its DCS patch
 * (what it starts with, no restart) and its role change are for information: no data exists there
 * yet, no running member is disturbed, and the headline says what bootstraps and what follows.
 * What the plan changes on a running cluster keeps its findings: a member *added* to a running
 * cluster is marked (it clones a full copy from its leader and then serves as a replica), and so
 * is anything a running source loses; a slot or pg_hba line it gains is information. The review
 * cannot see the machines: a cluster whose state was lost looks fresh too.
 */
function clustersOf(
  entries: readonly Entry[],
  stackCluster: string,
  stackSource: string | undefined,
): Map<string, ClusterFacts> {
  const groups = new Map<string, Entry[]>();
  for (const e of entries) {
    const key = e.prefix ?? NO_PREFIX;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  if (!groups.has(NO_PREFIX)) groups.set(NO_PREFIX, []);
  const out = new Map<string, ClusterFacts>();
  for (const [key, group] of groups) {
    const roles = group.filter((e) => e.kind === 'role').map((e) => ({ cfg: roleConfigOf(e), role: str(e.v.role) }));
    const named =
      roles.map((r) => str(obj(r.cfg.me).name)).find((n) => n !== undefined) ??
      group
        .filter((e) => e.kind === 'dcs-patch')
        .map((e) => str(e.v.cluster))
        .find((n) => n !== undefined);
    const name = named ?? stackCluster;
    // a standby of one link is a standby (a cluster follows one source), whatever else it feeds
    const following = roles.find((r) => (r.role ?? str(r.cfg.role)) === 'standby');
    const role = following
      ? 'standby'
      : roles.length > 0
        ? 'source'
        : name === stackCluster && stackSource !== undefined
          ? 'standby'
          : undefined;
    const source = following ? str(obj(following.cfg.other).name) : role === 'standby' ? stackSource : undefined;
    const members = group.filter((e) => e.kind === 'member');
    const fresh = members.length > 0 && group.every((e) => e.action === 'create');
    const first = fresh ? members.map((e) => str(e.v.member) ?? e.part).find((m) => m !== undefined) : undefined;
    out.set(key, { name, role, source, fresh, first });
  }
  return out;
}
