/**
 * One data center's Patroni cluster, whatever its role: validated props, one PatroniNode per
 * member (managed mode), and one DCS patch that carries the cluster's dynamic configuration and
 * what links add to it. Which cluster is the source is the link's to say (`StandbyLink`'s
 * `source`), so a switchover changes one property and moves no resource between stacks.
 * `PrimaryPatroniCluster` and `StandbyPatroniCluster` are the same construct with a role fixed
 * by its class, for pairs whose roles never change.
 */
import { Construct } from 'constructs';
import { ITerraformDependable, TerraformResource } from 'cdktf';
import { DcsConfigPatch, PatchPreStep } from './dcs-config-patch';
import { addDependency, PatroniNode } from './patroni-node';
import { PgBackRest } from './pgbackrest';
import { configPatch, JsonObject, LinkContribution } from './planners/dynamic-config';
import { renderNodeYaml } from './planners/patroni-yaml';
import { resolveCluster, ResolvedCluster, restUrl } from './resolve';
import { ClusterSpec } from './types';
import { validateClusterSpec } from './validate';
import { TopologyError } from './errors';

export interface PatroniClusterProps extends ClusterSpec {
  /**
   * The cluster's name, after its data center (`dc1`, `fra`): role changes, status, the plan review
   * and `link.reseed.cluster` call it so.
   * @default - the construct's path
   */
  readonly name?: string;
}

/** A file for review: a node's patroni.yml or a DCS patch body. */
export interface RenderedFile {
  /** Relative path, `<cluster id>/<file>`. */
  readonly path: string;
  readonly content: string;
}

/** What a link adds to one of its clusters (PatroniCluster.join). @internal */
export interface LinkMember {
  /** The link's construct path. */
  readonly link: string;
  readonly role: 'source' | 'standby';
  readonly contribution: LinkContribution;
  /** The other cluster's REST endpoints. */
  readonly peerEndpoints: readonly string[];
  /** Whether the link follows (not detached). */
  readonly following: boolean;
  /** The other cluster (its pgBackRest repository is this cluster's second one). */
  readonly peer: ResolvedCluster;
}

export class PatroniCluster extends Construct {
  /** The cluster's name (its data center). */
  readonly name: string;
  /** The props as given (validated), without `name`. */
  readonly spec: ClusterSpec;
  /** The props with every default filled in. */
  readonly resolved: ResolvedCluster;
  readonly scope: string;
  readonly namespace: string;
  /** Host of every member, in topology order. */
  readonly hosts: readonly string[];
  /** REST API base URL of every member. */
  readonly restEndpoints: readonly string[];
  /** PostgreSQL `host:port` of every member. */
  readonly postgresEndpoints: readonly string[];
  /** Deployed members (empty for an existing cluster), by member name. */
  readonly nodes: Readonly<Record<string, PatroniNode>> = {};
  /** pgBackRest's files, servers and stanza step (with `backup`). */
  readonly backup?: PgBackRest;
  /**
   * The link that feeds this cluster while it is a standby (a cluster follows one source).
   * @internal
   */
  linkedBy?: string;
  private readonly contributions: LinkContribution[] = [];
  /** The other cluster of the link, once joined. */
  private peer?: ResolvedCluster;
  private patch?: DcsConfigPatch;
  /**
   * Rendered texts, kept until a link contributes again: a node's YAML is asked for by its
   * resource, its hash and the rendered files, and rendering is the bulk of this library's work.
   */
  private readonly rendered = new Map<string, string>();

  constructor(scope: Construct, id: string, props: PatroniClusterProps) {
    super(scope, id);
    const { name, ...spec } = props;
    if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) {
      throw new TopologyError(this.node.path, [
        {
          path: `${this.node.path}.name`,
          message: 'must be a non-empty name',
          received: name,
          allowed: "the data center's name, e.g. dc1",
          fix: 'name the cluster after its data center, or leave name out (the construct path is used)',
        },
      ]);
    }
    this.name = name ?? this.node.path;
    this.spec = validateClusterSpec(spec, this.node.path);
    this.resolved = resolveCluster(this.spec);
    const r = this.resolved;
    this.scope = r.scope;
    this.namespace = r.namespace;
    this.hosts = r.nodes.map((n) => n.host);
    this.restEndpoints = r.nodes.map((n) => restUrl(r, n.host));
    this.postgresEndpoints = r.nodes.map((n) => `${n.host}:${r.postgresql.port}`);
    if (r.mode === 'managed') {
      const nodes: Record<string, PatroniNode> = {};
      for (const node of r.nodes) {
        nodes[node.name] = new PatroniNode(this, `node-${node.name}`, {
          cluster: r,
          node,
          renderYaml: () => this.nodeYaml(node.name),
          renderRuntimeYaml: () =>
            this.memo(`runtime:${node.name}`, () =>
              renderNodeYaml(this.resolved, node, this.contributions, { runtimeOnly: true }),
            ),
        });
      }
      this.nodes = nodes;
      if (r.backup) {
        const backup = new PgBackRest(this, 'pgbackrest', { cluster: r, peer: () => this.peer });
        for (const [member, node] of Object.entries(nodes)) backup.before(member, node.resource);
        this.backup = backup;
      }
      this.ensurePatch();
    }
  }

  /** Resources that deploy the members; empty for an existing cluster. */
  get nodeResources(): TerraformResource[] {
    return Object.values(this.nodes).map((n) => n.resource);
  }

  /** The resource that applies this cluster's DCS patch, once there is one. */
  get patchResource(): ITerraformDependable | undefined {
    return this.patch?.resource;
  }

  /** The DCS patch of this cluster (a managed cluster has one from the start; an existing one once linked). */
  get dcsPatch(): DcsConfigPatch | undefined {
    return this.patch;
  }

  /**
   * What a link adds to this cluster, declared here in one place (StandbyLink is the only caller):
   * its contribution to the configuration (slot and pg_hba lines on the source; the
   * standby_cluster block, pg_hba lines and parameters on the standby), and what the cluster's
   * patch must know of the other cluster. Returns the cluster's patch.
   * @internal
   */
  join(member: LinkMember): DcsConfigPatch {
    if (member.role === 'standby') this.linkedBy = member.link;
    this.peer = member.peer;
    this.contributions.push(member.contribution);
    this.rendered.clear();
    const patch = this.ensurePatch();
    // each repository host creates the stanza in its repository once the cluster's members and
    // configuration are in place (the standby's stack deploys after the source's)
    if (this.backup) this.backup.stanzaStep([...this.nodeResources, patch.resource]);
    // a slot the standby's running configuration still names is never removed by the source's patch
    if (member.role === 'source') patch.guardSlotsFor(member.peerEndpoints);
    // what synth cannot know (an existing source's running values) is compared at apply time
    else if (member.following) patch.compareHotStandbyWith(member.peerEndpoints);
    return patch;
  }

  /**
   * A step that must run before this cluster's members' files and its patch (its role change, a
   * promotion's detach): a refused step leaves both as they were. With a gate, the patch runs
   * the gate first too (every attempt, a retry included).
   * @internal
   */
  runsAfter(step: TerraformResource, gate?: PatchPreStep): void {
    for (const r of this.nodeResources) addDependency(r, step);
    if (!this.patch) return;
    if (gate) this.patch.runFirst(gate);
    addDependency(this.patch.resource, step);
  }

  /**
   * A re-seed reset the cluster's DCS state to its files' bootstrap section: the patch runs
   * again once its wait is over, with the generation in its trigger.
   * @internal
   */
  reseededBy(wait: TerraformResource, generation: string): void {
    if (!this.patch) return;
    addDependency(this.patch.resource, wait);
    const kind = this.resolved.deploy.resourceKind;
    this.patch.resource.addOverride(
      `${kind === 'null_resource' ? 'triggers' : 'triggers_replace'}.reseed_generation`,
      generation,
    );
  }

  private memo(key: string, render: () => string): string {
    let text = this.rendered.get(key);
    if (text === undefined) {
      text = render();
      this.rendered.set(key, text);
    }
    return text;
  }

  /** A member's patroni.yml, with every link's contribution. */
  nodeYaml(member: string): string {
    return this.memo(`node:${member}`, () =>
      renderNodeYaml(
        this.resolved,
        this.resolved.nodes.find((n) => n.name === member)!,
        this.contributions,
      ),
    );
  }

  /** The pretty-printed body of this cluster's `PATCH /config`. */
  patchJson(): string {
    return this.memo('patch', () => JSON.stringify(this.renderPatch(), null, 2));
  }

  private ensurePatch(): DcsConfigPatch {
    if (!this.patch) {
      this.patch = new DcsConfigPatch(this, 'dcs-patch', {
        cluster: this.resolved,
        clusterName: this.name,
        label: `DCS patch of ${this.name} (${this.resolved.scope})`,
        endpoints: this.restEndpoints,
        renderJson: () => this.patchJson(),
        // No dependency on the members: the patch goes through any member that answers, so a
        // member that is down fails its own resource without holding back the configuration of
        // the others; on a new cluster the program waits for the first member to answer
        // (deploy.patchTimeoutSeconds).
      });
    }
    return this.patch;
  }

  /** The body of this cluster's `PATCH /config`. */
  renderPatch(): JsonObject {
    return configPatch(this.resolved, this.contributions);
  }

  /** Every member's patroni.yml (managed mode) and the DCS patch, for review. */
  renderedFiles(): RenderedFile[] {
    const id = this.node.id;
    const files: RenderedFile[] = [];
    if (this.resolved.mode === 'managed') {
      for (const node of this.resolved.nodes) {
        files.push({ path: `${id}/${node.name}.patroni.yml`, content: this.nodeYaml(node.name) });
      }
    }
    if (this.patch) files.push({ path: `${id}/dcs-patch.json`, content: `${this.patchJson()}\n` });
    return files;
  }
}

/**
 * A cluster whose role is fixed as the source (the article's primary). Managed, or an existing cluster
 * that the stack only patches.
 */
export class PrimaryPatroniCluster extends PatroniCluster {
  /** Makes the two cluster classes distinct to the compiler: a primary is no standby. */
  private readonly clusterRole = 'primary' as const;
  constructor(scope: Construct, id: string, props: PatroniClusterProps) {
    super(scope, id, props);
    void this.clusterRole;
  }
}

/**
 * A cluster whose role is fixed as the standby: its nodes start as a standby cluster once a
 * StandbyLink connects it.
 */
export class StandbyPatroniCluster extends PatroniCluster {
  private readonly clusterRole = 'standby' as const;
  constructor(scope: Construct, id: string, props: PatroniClusterProps) {
    super(scope, id, props);
    void this.clusterRole;
  }
}

/** The role a cluster's class fixes, if it does. */
export function fixedRole(cluster: PatroniCluster): 'source' | 'standby' | undefined {
  if (cluster instanceof PrimaryPatroniCluster) return 'source';
  if (cluster instanceof StandbyPatroniCluster) return 'standby';
  return undefined;
}
