/**
 * The link between two clusters: the permanent slot and pg_hba lines on the source, the
 * standby_cluster block on the standby; `detached` promotes the standby cluster.
 *
 * Two forms of props. The symmetric one, for clusters whose roles change: `clusters: [dc1, dc2]`
 * and `source: dc1`; a switchover is `source: dc2`, nothing else. The role-keyed one, for pairs
 * whose roles never change (the article's picture): `primary` (a PrimaryPatroniCluster) and
 * `standby` (a StandbyPatroniCluster).
 *
 * Whatever the form, everything the link adds to a cluster is created inside that cluster's
 * construct, in its own stack, under an id that does not depend on its role: its role change, its
 * link-slots step, and, on the standby, the promotion's detach and the re-seed. A switchover thus
 * moves no resource between stacks; only inputs change. The link itself holds no resource.
 *
 * Order, in the dependency graph whatever the user deploys: the source never gives up a slot
 * that the standby cluster's running configuration still names (its patch holds the removal, see
 * runtime/apply-config-patch.ts); the standby cluster is detached only by a patch that runs the
 * gate first; and the standby's link-slots step, after the standby's patch, completes on the
 * source what the standby has let go of (the slot after a promotion, the old slot after a rename).
 * The source's link-slots step is inactive (it runs nothing) until the roles flip.
 */
import { Annotations, TerraformResource, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { DcsConfigPatch } from './dcs-config-patch';
import { formatWarning, Problem, TopologyError } from './errors';
import { primaryContribution, roleConfig, sourceHosts, standbyContribution } from './planners/link';
import { fixedRole, PatroniCluster, PrimaryPatroniCluster, StandbyPatroniCluster } from './patroni-cluster';
import { addDependency, planResource } from './patroni-node';
import { Promotion } from './promotion';
import { reseedConfig } from './planners/reseed';
import { Reseed } from './reseed';
import { RoleChange } from './role-change';
import { resolveLink, ResolvedLink } from './resolve';
import { LinkSpec, LinkState } from './types';
import { checkLink, validateLinkSpec } from './validate';

export interface StandbyLinkProps extends LinkSpec {
  /**
   * The two clusters of the link, one per data center (symmetric form, with `source`).
   * @default - the role-keyed form: `primary` and `standby`
   */
  readonly clusters?: readonly [PatroniCluster, PatroniCluster];
  /**
   * The cluster of `clusters` that is (or becomes) the source; the other one follows it. A
   * switchover is a change of this property alone.
   * @default - required with `clusters`
   */
  readonly source?: PatroniCluster;
  /** The source, when its role never changes (role-keyed form, with `standby`). */
  readonly primary?: PrimaryPatroniCluster;
  /** The standby, when its role never changes (role-keyed form, with `primary`). */
  readonly standby?: StandbyPatroniCluster;
  /**
   * How role changes, status and problems name the two clusters, by role.
   * @default - each cluster's `name`
   * @deprecated name each cluster instead (`PatroniClusterProps.name`)
   */
  readonly names?: { readonly primary: string; readonly standby: string };
  /**
   * How problems name the two clusters and the link: a topology file's paths (`clusters.dc1`),
   * when the constructs are built from one. @default - the constructs' paths
   */
  readonly problemPaths?: { readonly primary: string; readonly standby: string; readonly link: string };
}

/** Slot names taken by links on each source cluster, to refuse a second link with the same slot. */
const linkSlots = new WeakMap<PatroniCluster, Map<string, string>>();

const describe = (c: unknown): string =>
  c instanceof Construct ? `${c.constructor.name} ${c.node.path}` : c === undefined ? '(missing)' : typeof c;

/** The two clusters by role, from either form of props, or every problem with them. */
function clustersOf(path: string, props: StandbyLinkProps): { source: PatroniCluster; standby: PatroniCluster } {
  const problems: Problem[] = [];
  const symmetric = props.clusters !== undefined || props.source !== undefined;
  const roleKeyed = props.primary !== undefined || props.standby !== undefined;
  const bothForms =
    'pass either clusters: [a, b] with source: a (roles that change), or primary: and standby: (roles fixed by class), not both';
  if (symmetric && roleKeyed) {
    throw new TopologyError(path, [
      {
        path,
        message: 'mixes the two forms of the link',
        received: 'clusters/source and primary/standby',
        allowed: 'one form',
        fix: bothForms,
      },
    ]);
  }
  let source: unknown;
  let standby: unknown;
  if (symmetric) {
    const pair = props.clusters;
    if (
      !Array.isArray(pair) ||
      pair.length !== 2 ||
      !pair.every((c) => c instanceof PatroniCluster) ||
      pair[0] === pair[1]
    ) {
      problems.push({
        path: `${path}.clusters`,
        message: 'is not two different clusters',
        received: Array.isArray(pair) ? pair.map(describe).join(', ') : describe(pair),
        allowed: "the two data centers' clusters: [new PatroniCluster(...), new PatroniCluster(...)]",
        fix: 'pass both clusters of the link, one per data center',
      });
    } else if (!pair.includes(props.source as PatroniCluster)) {
      problems.push({
        path: `${path}.source`,
        message: "is not one of the link's clusters",
        received: describe(props.source),
        allowed: pair.map((c) => c.name).join(' or '),
        fix: 'set source to the cluster of clusters that is (or becomes) the primary',
      });
    } else {
      source = props.source;
      standby = pair.find((c) => c !== props.source);
      for (const [cluster, role] of [
        [source, 'source'],
        [standby, 'standby'],
      ] as const) {
        const fixed = fixedRole(cluster as PatroniCluster);
        if (fixed !== undefined && fixed !== role) {
          problems.push({
            path: `${path}.source`,
            message: `makes ${describe(cluster)} the ${role}, but its class fixes it as the ${fixed}`,
            received: describe(props.source),
            allowed: 'a source whose class allows it',
            fix: 'build clusters whose role changes with new PatroniCluster(...), which any role fits',
          });
        }
      }
    }
  } else {
    source = props.primary;
    standby = props.standby;
    if (!(source instanceof PrimaryPatroniCluster)) {
      problems.push({
        path: `${path}.primary`,
        message: 'is not a PrimaryPatroniCluster',
        received: describe(source),
        allowed: 'the source cluster (new PrimaryPatroniCluster(...))',
        fix: `pass the source cluster as primary and the standby cluster as standby, or ${bothForms.replace('pass either ', '')}`,
      });
    }
    if (!(standby instanceof StandbyPatroniCluster)) {
      problems.push({
        path: `${path}.standby`,
        message: 'is not a StandbyPatroniCluster',
        received: describe(standby),
        allowed: 'the standby cluster (new StandbyPatroniCluster(...))',
        fix: 'pass the source cluster as primary and the standby cluster as standby',
      });
    }
  }
  if (standby instanceof PatroniCluster && standby.linkedBy !== undefined) {
    problems.push({
      path: `${path}.${symmetric ? 'clusters' : 'standby'}`,
      message: `is already fed by the link ${standby.linkedBy}: a standby cluster follows one source`,
      received: standby.node.path,
      allowed: 'a standby cluster that no other link feeds',
      fix: 'remove one of the two links, or give it its own standby cluster',
    });
  }
  if (problems.length > 0) throw new TopologyError(path, problems);
  return { source: source as PatroniCluster, standby: standby as PatroniCluster };
}

/** An id of the cluster's own, for what this link adds to it; a cluster in several links gets one per link. */
function idIn(cluster: Construct, base: string, linkId: string): string {
  return cluster.node.tryFindChild(base) ? `${base}-${linkId}` : base;
}

export class StandbyLink extends Construct {
  readonly resolved: ResolvedLink;
  /** The cluster that streams to the other one. */
  readonly sourceCluster: PatroniCluster;
  /** The cluster that follows `sourceCluster` (the standby cluster). */
  readonly standbyCluster: PatroniCluster;
  /** The slot on the source that feeds the standby leader. */
  readonly slotName?: string;
  /** `standby_cluster.host`: the VIP or every source node. */
  readonly sourceHosts: string;
  readonly state: LinkState;
  /** The gate before the detach, in the standby cluster; undefined while following. */
  readonly promotion?: Promotion;
  /** Each cluster's role change (in the cluster's own scope and stack). */
  readonly roles: { readonly primary: RoleChange; readonly standby: RoleChange };
  /**
   * Each cluster's link-slots step, by role: the standby's applies the link's slots to the source
   * after the standby's patch; the source's runs nothing until the roles flip.
   */
  readonly linkSlots: { readonly primary: TerraformResource; readonly standby: DcsConfigPatch };
  /** The standby cluster's re-seed (`reseed`), in the standby's scope; undefined without one. */
  readonly reseed?: Reseed;

  constructor(scope: Construct, id: string, props: StandbyLinkProps) {
    super(scope, id);
    const { primary: _p, standby: _s, clusters: _c, source: _src, names: _names, problemPaths, ...linkProps } = props;
    const { source, standby } = clustersOf(this.node.path, props);
    this.sourceCluster = source;
    this.standbyCluster = standby;
    const spec = validateLinkSpec(linkProps, this.node.path);
    // how the role changes and a re-seed name the clusters
    const names = { primary: props.names?.primary ?? source.name, standby: props.names?.standby ?? standby.name };
    const warnings = checkLink(
      source.spec,
      standby.spec,
      spec,
      problemPaths ?? { primary: source.node.path, standby: standby.node.path, link: this.node.path },
      this.node.path,
      names,
    );
    // printed once, by cdktf (synth, diff, deploy), which reads annotations inside stacks only;
    // acknowledged ones are left out
    const annotated = inStack(this) ? this : standby;
    for (const w of warnings) Annotations.of(annotated).addWarning(formatWarning(w));

    this.resolved = resolveLink(spec, source.resolved, standby.resolved);
    this.slotName = this.resolved.slotName;
    this.state = this.resolved.state;
    this.sourceHosts = sourceHosts(this.resolved, source.resolved);
    this.claimSlot(source);

    // What the link adds to each cluster, declared to the cluster in one place:
    // source side: slot and pg_hba must exist before the standby leader starts; a slot the
    // standby still names is never removed by it;
    const following = this.state === 'following';
    const sourcePatch = source.join({
      link: this.node.path,
      role: 'source',
      contribution: primaryContribution(this.resolved, source.resolved, standby.resolved),
      peerEndpoints: standby.restEndpoints,
      following,
      peer: standby.resolved,
    });
    // standby side: the block in every node's bootstrap.dcs, and as a patch for a running cluster
    const standbyPatch = standby.join({
      link: this.node.path,
      role: 'standby',
      contribution: standbyContribution(this.resolved, source.resolved, standby.resolved),
      peerEndpoints: source.restEndpoints,
      following,
      peer: source.resolved,
    });

    // the promotion (detached): the standby's members and patch follow the detach, which runs the gate
    if (!following) {
      this.promotion = new Promotion(standby, idIn(standby, 'promotion', id), {
        primary: source,
        standby,
        link: this.resolved,
        names,
      });
      standby.runsAfter(this.promotion.detach.resource, this.promotion.gate);
    }

    // each cluster's role change, in its own scope, before its members and patch: the source's runs
    // a switchover or a rejoin
    this.roles = {
      primary: new RoleChange(source, idIn(source, 'role', id), {
        cluster: source,
        config: roleConfig(this.resolved, 'source', source.resolved, standby.resolved, {
          me: names.primary,
          other: names.standby,
        }),
      }),
      standby: new RoleChange(standby, idIn(standby, 'role', id), {
        cluster: standby,
        config: roleConfig(this.resolved, 'standby', standby.resolved, source.resolved, {
          me: names.standby,
          other: names.primary,
        }),
      }),
    };
    source.runsAfter(this.roles.primary.resource);
    standby.runsAfter(this.roles.standby.resource);

    // a re-seed (its gate after the members' files and the role change); the patch runs again after it
    if (this.resolved.reseed) {
      this.reseed = new Reseed(standby, idIn(standby, 'reseed', id), {
        cluster: standby,
        config: reseedConfig(this.resolved, source.resolved, standby.resolved, {
          source: names.primary,
          standby: names.standby,
        }),
        after: [this.roles.standby.resource],
      });
      standby.reseededBy(this.reseed.wait, String(this.resolved.reseed.generation));
    }

    // the link's slots on the source, completed from the standby's stack after its patch
    const activeSlots = new DcsConfigPatch(standby, idIn(standby, 'link-slots', id), {
      cluster: source.resolved,
      clusterName: names.primary,
      label: `link slots on the source (${source.resolved.scope})`,
      endpoints: source.restEndpoints,
      sections: 'slots',
      renderJson: () => JSON.stringify({ slots: source.renderPatch().slots ?? {} }, null, 2),
      dependsOn: [standbyPatch.resource],
      optional: true,
      timeoutSeconds: 20,
    });
    activeSlots.guardSlotsFor(standby.restEndpoints);
    // the same address in the source's scope runs nothing while it is the source: a switchover
    // replaces both, so the step is always in the stack of the cluster that is the standby
    const idle = new Construct(source, idIn(source, 'link-slots', id));
    const { resource: idleSlots } = planResource(
      idle,
      'apply',
      source.resolved.deploy.resourceKind,
      {
        scope: source.resolved.scope,
        role: 'source',
        cluster: names.primary,
        note: `nothing to run while ${names.primary} is the source: ${names.standby}'s stack applies the link's slots here`,
      },
      { role: 'source' },
      [],
    );
    this.linkSlots = { primary: idleSlots, standby: activeSlots };

    const sourceStack = TerraformStack.of(source);
    const standbyStack = TerraformStack.of(standby);
    if (sourceStack === standbyStack) {
      for (const r of standby.nodeResources) addDependency(r, sourcePatch.resource);
    } else {
      standbyStack.addDependency(sourceStack);
    }
  }

  private claimSlot(source: PatroniCluster): void {
    const slot = this.resolved.slotName;
    if (slot === undefined) return;
    const taken = linkSlots.get(source) ?? new Map<string, string>();
    linkSlots.set(source, taken);
    const other = taken.get(slot);
    if (other !== undefined) {
      throw new TopologyError(this.node.path, [
        {
          path: `${this.node.path}.slotName`,
          message: `is already the slot of the link ${other} on the same source: two standby leaders cannot stream through one slot`,
          received: slot,
          allowed: 'a slot name of its own for each link',
          fix: 'give this link another slotName',
        },
      ]);
    }
    taken.set(slot, this.node.path);
  }
}

function inStack(c: Construct): boolean {
  return c.node.scopes.some((s) => TerraformStack.isStack(s));
}
