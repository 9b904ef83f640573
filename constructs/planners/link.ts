/**
 * The standby link: what it adds to the primary (permanent slot, pg_hba for every standby node)
 * and to the standby cluster (the standby_cluster block, or its removal on promotion).
 */
import { ResolvedCluster, ResolvedLink } from '../resolve';
import { LinkContribution } from './dynamic-config';
import { nodeAccessLines } from './pg-hba';

/** `standby_cluster.host`: the VIP, or every primary node as a comma list. */
export function sourceHosts(link: ResolvedLink, primary: ResolvedCluster): string {
  return link.sourceVip ?? primary.nodes.map((n) => n.host).join(',');
}

/**
 * The standby_cluster block. Unset optional keys are `null` so that a DCS patch removes a key
 * the topology dropped; bootstrap rendering leaves them out.
 */
export function standbyClusterBlock(link: ResolvedLink, primary: ResolvedCluster): Record<string, unknown> {
  return {
    host: sourceHosts(link, primary),
    port: link.port,
    primary_slot_name: link.slotName ?? null,
    create_replica_methods: [...link.createReplicaMethods],
    restore_command: link.restoreCommand ?? null,
    archive_cleanup_command: link.archiveCleanupCommand ?? null,
    recovery_min_apply_delay: link.recoveryMinApplyDelay ?? null,
  };
}

/** The primary's side: the link slot and the standby nodes' pg_hba lines (grouped per user, as the article). */
export function primaryContribution(link: ResolvedLink, primary: ResolvedCluster, standby: ResolvedCluster): LinkContribution {
  return {
    pgHbaLines: nodeAccessLines(standby.nodes, primary.users, primary.postgresql.authMethod, 'per-user'),
    slots: link.slotName ? { [link.slotName]: { type: 'physical' } } : {},
  };
}

/** The standby's side: the block while following, `null` once detached (promotion). */
export function standbyContribution(link: ResolvedLink, primary: ResolvedCluster): LinkContribution {
  return { standbyCluster: link.state === 'detached' ? null : standbyClusterBlock(link, primary) };
}
