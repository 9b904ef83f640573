/**
 * The link between a primary and a standby cluster: the permanent slot and pg_hba lines on the
 * primary, the standby_cluster block on the standby; `detached` promotes the standby cluster.
 *
 * Order, in the dependency graph whatever the user deploys: the source never gives up a slot
 * that the standby cluster's running configuration still names (its patch holds the removal, see
 * programs/apply-config-patch.cjs); the standby cluster is detached only by a patch that runs the
 * gate first; and the link's source-slots step, after the standby's patch, completes on the
 * source what the standby has let go of (the slot after a promotion, the old slot after a rename).
 */
import { Annotations, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { DcsConfigPatch } from './dcs-config-patch';
import { formatWarning, Problem, TopologyError } from './errors';
import { primaryContribution, roleConfig, sourceHosts, standbyContribution } from './planners/link';
import { PrimaryPatroniCluster, StandbyPatroniCluster } from './patroni-cluster';
import { addDependency } from './patroni-node';
import { Promotion } from './promotion';
import { reseedConfig } from './planners/reseed';
import { Reseed } from './reseed';
import { RoleStep } from './role-step';
import { resolveLink, ResolvedLink } from './resolve';
import { LinkSpec } from './types';
import { checkLink, validateLinkSpec } from './validate';

export interface StandbyLinkProps extends LinkSpec {
  readonly primary: PrimaryPatroniCluster;
  readonly standby: StandbyPatroniCluster;
  /** How the role steps name the clusters in their output. @default the clusters' construct paths */
  readonly names?: { readonly primary: string; readonly standby: string };
  /**
   * How problems name the two clusters and the link: a topology file's paths (`clusters.dc1`),
   * when the constructs are built from one. @default - the constructs' paths
   */
  readonly problemPaths?: { readonly primary: string; readonly standby: string; readonly link: string };
}

/** Slot names taken by links on each source cluster, to refuse a second link with the same slot. */
const linkSlots = new WeakMap<PrimaryPatroniCluster, Map<string, string>>();

function roleProblems(path: string, props: StandbyLinkProps): Problem[] {
  const problems: Problem[] = [];
  const describe = (c: unknown) => (c instanceof Construct ? `${c.constructor.name} ${c.node.path}` : typeof c);
  if (!(props.primary instanceof PrimaryPatroniCluster)) {
    problems.push({ path: `${path}.primary`, message: 'is not a PrimaryPatroniCluster', received: describe(props.primary), allowed: 'the source cluster (new PrimaryPatroniCluster(...))', fix: 'pass the source cluster as primary and the standby cluster as standby' });
  }
  if (!(props.standby instanceof StandbyPatroniCluster)) {
    problems.push({ path: `${path}.standby`, message: 'is not a StandbyPatroniCluster', received: describe(props.standby), allowed: 'the standby cluster (new StandbyPatroniCluster(...))', fix: 'pass the source cluster as primary and the standby cluster as standby' });
  } else if (props.standby.linkedBy !== undefined) {
    problems.push({ path: `${path}.standby`, message: `is already fed by the link ${props.standby.linkedBy}: a standby cluster follows one source`, received: props.standby.node.path, allowed: 'a standby cluster that no other link feeds', fix: 'remove one of the two links, or give it its own standby cluster' });
  }
  return problems;
}

export class StandbyLink extends Construct {
  readonly resolved: ResolvedLink;
  /** The slot on the primary that feeds the standby leader. */
  readonly slotName?: string;
  /** `standby_cluster.host`: the VIP or every primary node. */
  readonly sourceHosts: string;
  readonly state: ResolvedLink['state'];
  /** The gate before the detach; undefined while following. */
  readonly promotion?: Promotion;
  /** On the source, after the standby's patch: the link's slots as the topology has them now. */
  readonly sourceSlots: DcsConfigPatch;
  /** Each cluster's role step (in the cluster's own scope and stack). */
  readonly roles: { readonly primary: RoleStep; readonly standby: RoleStep };
  /** The standby cluster's re-seed (`reseed`), in the standby's stack; undefined without one. */
  readonly reseed?: Reseed;

  constructor(scope: Construct, id: string, props: StandbyLinkProps) {
    super(scope, id);
    const { primary, standby, names: _names, problemPaths, ...linkProps } = props;
    const roles = roleProblems(this.node.path, props);
    if (roles.length > 0) throw new TopologyError(this.node.path, roles);
    const spec = validateLinkSpec(linkProps, this.node.path);
    // how the role steps and a re-seed name the clusters
    const names = { primary: props.names?.primary ?? primary.node.path, standby: props.names?.standby ?? standby.node.path };
    const warnings = checkLink(
      primary.spec,
      standby.spec,
      spec,
      problemPaths ?? { primary: primary.node.path, standby: standby.node.path, link: this.node.path },
      this.node.path,
      names,
    );
    // printed once, by cdktf (synth, diff, deploy); acknowledged ones are left out
    for (const w of warnings) Annotations.of(this).addWarning(formatWarning(w));

    this.resolved = resolveLink(spec, primary.resolved);
    this.slotName = this.resolved.slotName;
    this.state = this.resolved.state;
    this.sourceHosts = sourceHosts(this.resolved, primary.resolved);
    this.claimSlot(primary);
    standby.linkedBy = this.node.path;

    // Primary side: slot and pg_hba must exist before the standby leader starts; a slot the
    // standby still names is never removed by it.
    const primaryPatch = primary.addLinkContribution(primaryContribution(this.resolved, primary.resolved, standby.resolved));
    primaryPatch.guardSlotsFor(standby.restEndpoints);
    // Standby side: the block in every node's bootstrap.dcs, and as a patch for a running cluster.
    const standbyPatch = standby.addLinkContribution(standbyContribution(this.resolved, primary.resolved, standby.resolved));
    // what synth cannot know (an existing source's running values) is compared at apply time
    if (this.state === 'following') standbyPatch.compareHotStandbyWith(primary.restEndpoints);

    if (this.state === 'detached') this.promotion = new Promotion(this, 'promotion', { primary, standby, link: this.resolved });

    // each cluster's role step, in its own stack: the source's runs a switchover or a rejoin
    // one role step per cluster; a cluster in several links (a source with two standby
    // clusters) gets one per link
    const roleId = (c: Construct) => (c.node.tryFindChild('role') ? `role-${this.node.id}` : 'role');
    this.roles = {
      primary: new RoleStep(primary, roleId(primary), { cluster: primary, config: roleConfig(this.resolved, 'source', primary.resolved, standby.resolved, { me: names.primary, other: names.standby }) }),
      standby: new RoleStep(standby, roleId(standby), { cluster: standby, config: roleConfig(this.resolved, 'standby', standby.resolved, primary.resolved, { me: names.standby, other: names.primary }) }),
    };

    if (this.resolved.reseed) {
      this.reseed = new Reseed(this, 'reseed', {
        cluster: standby,
        config: reseedConfig(this.resolved, primary.resolved, standby.resolved, { source: names.primary, standby: names.standby }),
        after: [this.roles.standby.resource],
      });
    }

    this.sourceSlots = new DcsConfigPatch(this, 'source-slots', {
      cluster: primary.resolved,
      label: `link slots on the source (${primary.resolved.scope})`,
      endpoints: primary.restEndpoints,
      sections: 'slots',
      renderJson: () => JSON.stringify({ slots: primary.renderPatch().slots ?? {} }, null, 2),
      dependsOn: [standbyPatch.resource],
      optional: true,
      timeoutSeconds: 20,
    });
    this.sourceSlots.guardSlotsFor(standby.restEndpoints);

    const primaryStack = TerraformStack.of(primary);
    const standbyStack = TerraformStack.of(standby);
    if (primaryStack === standbyStack) {
      for (const r of standby.nodeResources) addDependency(r, primaryPatch.resource);
    } else {
      standbyStack.addDependency(primaryStack);
    }
  }

  private claimSlot(primary: PrimaryPatroniCluster): void {
    const slot = this.resolved.slotName;
    if (slot === undefined) return;
    const taken = linkSlots.get(primary) ?? new Map<string, string>();
    linkSlots.set(primary, taken);
    const other = taken.get(slot);
    if (other !== undefined) {
      throw new TopologyError(this.node.path, [{
        path: `${this.node.path}.slotName`,
        message: `is already the slot of the link ${other} on the same source: two standby leaders cannot stream through one slot`,
        received: slot,
        allowed: 'a slot name of its own for each link',
        fix: 'give this link another slotName',
      }]);
    }
    taken.set(slot, this.node.path);
  }
}
