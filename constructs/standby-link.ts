/**
 * The link between a primary and a standby cluster: the permanent slot and pg_hba lines on the
 * primary, the standby_cluster block on the standby; `detached` promotes the standby cluster.
 */
import { Annotations, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { formatProblem } from './errors';
import { primaryContribution, sourceHosts, standbyContribution } from './planners/link';
import { PrimaryPatroniCluster, StandbyPatroniCluster } from './patroni-cluster';
import { addDependency } from './patroni-node';
import { Promotion } from './promotion';
import { resolveLink, ResolvedLink } from './resolve';
import { LinkSpec } from './types';
import { checkLink, validateLinkSpec } from './validate';

export interface StandbyLinkProps extends LinkSpec {
  readonly primary: PrimaryPatroniCluster;
  readonly standby: StandbyPatroniCluster;
}

export class StandbyLink extends Construct {
  readonly resolved: ResolvedLink;
  /** The slot on the primary that feeds the standby leader. */
  readonly slotName?: string;
  /** `standby_cluster.host`: the VIP or every primary node. */
  readonly sourceHosts: string;
  readonly state: ResolvedLink['state'];
  /** The gate and the slot release of the promotion variant; undefined while following. */
  readonly promotion?: Promotion;

  constructor(scope: Construct, id: string, props: StandbyLinkProps) {
    super(scope, id);
    const { primary, standby, ...linkProps } = props;
    const spec = validateLinkSpec(linkProps, this.node.path);
    const warnings = checkLink(
      primary.spec,
      standby.spec,
      spec,
      { primary: primary.node.path, standby: standby.node.path, link: this.node.path },
      this.node.path,
    );
    for (const w of warnings) Annotations.of(this).addWarning(formatProblem(w));

    this.resolved = resolveLink(spec, primary.resolved);
    this.slotName = this.resolved.slotName;
    this.state = this.resolved.state;
    this.sourceHosts = sourceHosts(this.resolved, primary.resolved);

    // Primary side: slot and pg_hba must exist before the standby leader starts.
    const primaryPatch = primary.addLinkContribution(primaryContribution(this.resolved, primary.resolved, standby.resolved));
    // Standby side: the block in every node's bootstrap.dcs, and as a patch for a running cluster.
    standby.addLinkContribution(standbyContribution(this.resolved, primary.resolved));

    if (this.state === 'detached') this.promotion = new Promotion(this, 'promotion', { primary, standby, link: this.resolved });

    const primaryStack = TerraformStack.of(primary);
    const standbyStack = TerraformStack.of(standby);
    if (primaryStack === standbyStack) {
      for (const r of standby.nodeResources) addDependency(r, primaryPatch.resource);
    } else {
      standbyStack.addDependency(primaryStack);
    }
  }
}
