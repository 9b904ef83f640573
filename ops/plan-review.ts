#!/usr/bin/env node
/**
 * `npm run --silent plan-review -- <stack>=<plan.json> ...`: saved plans of the stacks
 * (`terraform show -json <plan>`, one per stack) as Markdown for a pull request comment.
 *
 * At the top, one line per environment (the pair of clusters a role change names; a stack without
 * one is its own): what the plan does to it, a NEW ENVIRONMENT (or a NEW STANDBY CLUSTER) on a
 * first deploy, a SWITCHOVER, a PROMOTION, a REJOIN, a RE-SEED, or no role change and how much
 * configuration changes. Then per stack and resource, named after the data center it touches:
 * the unified diff of patroni.yml and of the DCS patch, and in words what Patroni will do with it
 * (a reload; a parameter that needs a restart, which this deploy does not do; a promotion,
 * demotion or switchover and the gate that guards it; slots created or removed; pg_hba lines
 * that stop admitting replication from an address; members added or removed; on a cluster the
 * plan creates whole, which member bootstraps it and which clone).
 *
 * Resources are recognised by the last components of their construct path, whatever the ids
 * above them (`<cluster>_node-<member>_config`, `<cluster>_dcs-patch_apply`, `<cluster>_role_apply`,
 * `<cluster>_link-slots_apply`, `<cluster>_promotion_detach_apply`, `<cluster>_reseed_<step>`), and
 * by their inputs; the previous version's `link_source-slots_apply`, `link_promotion_detach_apply`
 * and `link_reseed_<step>` too. The path above those components (`<cluster>`) tells the clusters
 * of one stack apart.
 *
 * Exit 0: nothing needs a reviewer's attention; 2: something does (each such finding is marked
 * **attention**); 1: a plan could not be read. Pure except for `main`: `reviewPlan`,
 * `environments` and `reviewMarkdown` take and return values.
 *
 * This file is the command's entry and the review's public face; the work is in ops/plan-review/:
 * `resources` reads a plan and classifies its resource changes, `config-changes` says what a
 * change of configuration means, `findings` what each resource's change means for Patroni,
 * `stack` reviews one stack's plan, `environments` groups the stacks and writes their headlines,
 * `markdown` renders it all, and `cli` is the command (`model`, `values` and `words` are the
 * shapes and helpers they share).
 */
import { main } from './plan-review/cli';

export { main, needsAttention } from './plan-review/cli';
export { RESTART_PARAMETERS } from './plan-review/config-changes';
export { environments } from './plan-review/environments';
export { reviewMarkdown } from './plan-review/markdown';
export type { Environment, Finding, ResourceKind, ResourceReview, RoleEvent, StackReview } from './plan-review/model';
export { membersByAddress } from './plan-review/resources';
export type { Plan } from './plan-review/resources';
export { reviewPlan } from './plan-review/stack';

if (require.main === module) process.exitCode = main(process.argv.slice(2));
