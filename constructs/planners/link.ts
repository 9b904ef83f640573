/**
 * The standby link: what it adds to the primary (permanent slot, pg_hba for every standby node)
 * and to the standby cluster (the standby_cluster block, or its removal on promotion).
 */
import { ResolvedCluster, ResolvedLink, restUrl } from '../resolve';
import { LinkContribution } from './dynamic-config';
import { nodeAccessLines } from './pg-hba';
import { restoreCommand } from './pgbackrest';
import type { HealthNode, LinkHealthConfig, RoleChangeCluster, RoleChangeConfig } from '../../runtime/contract';

export type { HealthNode, LinkHealthConfig, RoleChangeCluster, RoleChangeConfig };

/** `standby_cluster.host`: the VIP, or every primary node as a comma list. */
export function sourceHosts(link: ResolvedLink, primary: ResolvedCluster): string {
  return link.sourceVip ?? primary.nodes.map((n) => n.host).join(',');
}

/**
 * The standby_cluster block. Unset optional keys are `null` so that a DCS patch removes a key
 * the topology dropped; bootstrap rendering leaves them out.
 */
export function standbyClusterBlock(
  link: ResolvedLink,
  primary: ResolvedCluster,
  standby?: ResolvedCluster,
): Record<string, unknown> {
  return {
    host: sourceHosts(link, primary),
    port: link.port,
    primary_slot_name: link.slotName ?? null,
    create_replica_methods: [...cloneMethods(link)],
    restore_command: link.restoreCommand ?? archiveRestoreCommand(primary, standby) ?? null,
    archive_cleanup_command: link.archiveCleanupCommand ?? null,
    recovery_min_apply_delay: link.recoveryMinApplyDelay ?? null,
  };
}

/**
 * How the standby leader is cloned (its bootstrap, a re-seed): the link's replica methods, but a
 * re-seed from the source clones by pg_basebackup across the link whatever they list.
 */
export function cloneMethods(link: ResolvedLink): readonly string[] {
  return link.reseed?.from === 'source' ? ['basebackup'] : link.createReplicaMethods;
}

/**
 * The hybrid standby: with backup on both clusters the source archives into the standby's
 * repository too, so the standby leader reads from there when its stream breaks.
 */
export function archiveRestoreCommand(primary: ResolvedCluster, standby?: ResolvedCluster): string | undefined {
  return primary.backup && standby?.backup ? restoreCommand(standby.backup) : undefined;
}

/**
 * The primary's side: the link slot and the standby nodes' pg_hba lines (grouped per user, as the
 * article). Once detached the slot is dropped (`null`): Patroni removes it as soon as it is
 * inactive, so an active stream is never cut by it. The pg_hba lines stay: they grant nothing
 * without the slot's stream and keep a later re-attachment possible.
 */
export function primaryContribution(
  link: ResolvedLink,
  primary: ResolvedCluster,
  standby: ResolvedCluster,
): LinkContribution {
  return {
    pgHbaLines: [
      ...nodeAccessLines(standby.nodes, primary.users, primary.postgresql.authMethod, 'per-user'),
      ...monitoringLines(link, primary),
    ],
    slots: link.slotName ? { [link.slotName]: releasesSlot(link) ? null : { type: 'physical' } } : {},
  };
}

/** Whether the detached link takes its slot off the source. */
export function releasesSlot(link: ResolvedLink): boolean {
  return link.state === 'detached' && !link.promotion.keepSourceSlot && link.slotName !== undefined;
}

/**
 * The standby's side: the block while following, `null` once detached (promotion); and a short
 * reconnect interval, which stays after a promotion (it only shortens reconnects).
 */
export function standbyContribution(
  link: ResolvedLink,
  primary: ResolvedCluster,
  standby: ResolvedCluster,
): LinkContribution {
  return {
    standbyCluster: link.state === 'detached' ? null : standbyClusterBlock(link, primary, standby),
    parameters: { wal_retrieve_retry_interval: link.walRetrieveRetryInterval },
    // the source's members are admitted as the source admits the standby's: the same lines in
    // both directions, so a switchover changes no pg_hba and the old source can follow at once
    pgHbaLines: [
      ...nodeAccessLines(primary.nodes, standby.users, standby.postgresql.authMethod, 'per-user'),
      ...monitoringLines(link, standby),
    ],
  };
}

/**
 * The monitoring role's access (status and the gate) from its declared addresses, to the
 * `postgres` database only; placed with the link's lines, before the cluster's reject line.
 */
export function monitoringLines(link: ResolvedLink, cluster: ResolvedCluster): string[] {
  return link.monitoring.addresses.map(
    (a) => `host postgres ${link.monitoring.user} ${a} ${cluster.postgresql.authMethod}`,
  );
}

function healthNodes(cluster: ResolvedCluster): HealthNode[] {
  return cluster.nodes.map((n) => ({
    name: n.name,
    host: n.host,
    port: cluster.postgresql.port,
    rest: restUrl(cluster, n.host),
  }));
}

export function linkHealthConfig(
  link: ResolvedLink,
  primary: ResolvedCluster,
  standby: ResolvedCluster,
  names = { primary: 'primary', standby: 'standby' },
): LinkHealthConfig {
  return {
    state: link.state,
    slotName: link.slotName,
    keepSourceSlot: link.promotion.keepSourceSlot,
    user: link.monitoring.user,
    disaster: link.promotion.disaster,
    settleSeconds: link.promotion.settleSeconds,
    catchUpTimeoutSeconds: link.promotion.catchUpTimeoutSeconds,
    source: { name: names.primary, ttl: primary.patroni.ttl, nodes: healthNodes(primary) },
    standby: { name: names.standby, ttl: standby.patroni.ttl, nodes: healthNodes(standby) },
    ...(link.restoreCommand !== undefined || archiveRestoreCommand(primary, standby) !== undefined
      ? { readsArchive: true as const }
      : {}),
  };
}

export function roleCluster(cluster: ResolvedCluster, name: string): RoleChangeCluster {
  return {
    name,
    scope: cluster.scope,
    restUser: cluster.patroni.restApiUsername,
    restPasswordEnv: cluster.patroni.restApiPasswordEnv,
    nodes: healthNodes(cluster),
  };
}

/**
 * The role change's configuration for `me`: as the source, what it needs to take the role from the
 * other cluster (switchover, rejoin); as the standby, only who the source is.
 */
export function roleConfig(
  link: ResolvedLink,
  role: 'source' | 'standby',
  me: ResolvedCluster,
  other: ResolvedCluster,
  names: { me: string; other: string },
): RoleChangeConfig {
  const source = role === 'source' ? me : other;
  const block = Object.fromEntries(
    Object.entries(standbyClusterBlock(link, source, role === 'source' ? other : me)).filter(([, v]) => v !== null),
  );
  return {
    role,
    ...(role === 'standby' ? { state: link.state } : {}),
    me: roleCluster(me, names.me),
    other: roleCluster(other, names.other),
    slotName: link.slotName,
    block,
    user: link.monitoring.user,
    ...link.roleChange,
  };
}
