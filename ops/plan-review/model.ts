/**
 * What a plan review is: the findings, the reviewed resources and stacks, the environments they
 * are grouped into, and the role events the headlines name. Types and the two ways of making a
 * finding only; every other module of the review speaks in these.
 */

export interface Finding {
  readonly attention: boolean;
  readonly text: string;
}

/** What a planned resource is, recognised by its construct path's last components (or its inputs). */
export type ResourceKind =
  'member' | 'env-file' | 'stop-on-destroy' | 'dcs-patch' | 'link-slots' | 'role' | 'detach' | 'reseed' | 'other';

/**
 * A role change a resource runs (or, for the new standby's role resource, that the other stack
 * runs): what a headline says.
 */
export type RoleEvent =
  | { readonly kind: 'switchover'; readonly from: string; readonly to: string }
  | { readonly kind: 'promotion'; readonly cluster: string; readonly disaster: boolean }
  | { readonly kind: 'rejoin'; readonly cluster: string; readonly to?: string }
  | { readonly kind: 'reseed'; readonly cluster: string; readonly generation?: string };

export interface ResourceReview {
  readonly kind: ResourceKind;
  /** What the resource is, in words: `member so1`, `DCS patch`, `role change`, `re-seed gate`... */
  readonly subject: string;
  /**
   * The data center it touches, and the stack it runs from where that is not the same one:
   * `of dc2`, `on dc1 (run from dc2's stack)`, `(in dc2's stack; touches dc1 and dc2)`; empty
   * when there is nothing to say.
   */
  readonly where: string;
  readonly action: string;
  readonly findings: readonly Finding[];
  /** Unified diffs, titled. */
  readonly diffs: readonly { readonly title: string; readonly diff: string }[];
  readonly event?: RoleEvent;
  /** The data center whose configuration it changes (a member's file, a DCS patch, link slots). */
  readonly target?: string;
  /** A member's file: whether Patroni is reloaded; undefined when the plan does not say. */
  readonly reload?: boolean;
  /** Parameters whose change needs a PostgreSQL restart. */
  readonly restart?: readonly string[];
  /** The link slots step of the source's stack, which runs nothing. */
  readonly inactive?: boolean;
  /**
   * Created with its cluster, which the plan creates whole (a first deploy): counted in the headline's
   * NEW, not as configuration.
   */
  readonly fresh?: boolean;
}

export interface StackReview {
  readonly stack: string;
  /**
   * The data center whose cluster the stack holds: its role change's name for it, else its DCS patch's,
   * else the stack's name.
   */
  readonly cluster: string;
  /** The pairs of clusters its role changes name, [this one, the other one]: its environments. */
  readonly links: readonly (readonly [string, string])[];
  /**
   * For each of `links`, the pair's identity: each cluster's name with its members' REST
   * endpoints, so that two environments whose data centers have the same names stay apart.
   */
  readonly linkIds?: readonly string[];
  /** For each of `links`, the role its role change gives this stack's cluster after the plan: `source` or `standby`. */
  readonly linkRoles?: readonly (string | undefined)[];
  /** The clusters of the stack that the plan creates whole (every resource of theirs created, no state yet). */
  readonly created?: readonly string[];
  readonly resources: readonly ResourceReview[];
}

/**
 * An environment: the pair of clusters a link joins (as their role changes name them), or a stack
 * without a role change.
 */
export interface Environment {
  /** `dc1 and dc2`, or the stack's name. */
  readonly name: string;
  /** The pair, sorted; undefined for a stack of its own. */
  readonly clusters?: readonly [string, string];
  /** The given stacks that belong to it. */
  readonly stacks: readonly string[];
  /** In one line, what the plan does to it. */
  readonly headline: string;
}

/** A finding a reviewer must look at (marked **attention**; the command exits 2), and one for information. */
export const attention = (text: string): Finding => ({ attention: true, text });
export const info = (text: string): Finding => ({ attention: false, text });

/** How a role change that does not name the other cluster of its link speaks of it. */
export const UNNAMED = 'the other cluster';
