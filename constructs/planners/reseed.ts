/**
 * A re-seed of the standby cluster, as plain data: the configuration of runtime/reseed.ts (its
 * gate before anything is touched, its wait after the members are started) and the shell commands
 * each member's host runs in between. Nothing here is deleted: a member's data directory is set
 * aside as `<data_dir>.reseed-<generation>`, for its owners to remove once the cluster is back.
 */
import type { ReseedConfig } from '../../runtime/contract';
import { linkHealthConfig, roleCluster } from './link';
import { dataDir, expandPlaceholders, ResolvedCluster, ResolvedLink, ResolvedNode } from '../resolve';
import { nodeCommands } from './provisioners';

/** The re-seed program's configuration (runtime/contract.ts); no password. */
export type { ReseedConfig };

export function reseedConfig(
  link: ResolvedLink,
  source: ResolvedCluster,
  standby: ResolvedCluster,
  names: { source: string; standby: string },
): ReseedConfig {
  const reseed = link.reseed!;
  return {
    generation: reseed.generation,
    timeoutSeconds: reseed.timeoutSeconds,
    slotName: link.slotName,
    standby: roleCluster(standby, names.standby),
    source: roleCluster(source, names.source),
    health: linkHealthConfig(link, source, standby, { primary: names.source, standby: names.standby }),
    setAside:
      reseed.from === 'archive'
        ? {}
        : Object.fromEntries(standby.nodes.map((n) => [n.name, setAsidePath(standby, n, reseed.generation)])),
    from: reseed.from,
  };
}

export { dataDir };

export function setAsidePath(cluster: ResolvedCluster, node: ResolvedNode, generation: number): string {
  return `${dataDir(cluster, node)}.reseed-${generation}`;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Loads the member's env file (DCS credentials for patronictl) when the topology has one. */
function envFileLines(cluster: ResolvedCluster, node: ResolvedNode): string[] {
  const secrets = cluster.deploy.secrets;
  return secrets ? ['set -a', `. ${quote(expandPlaceholders(secrets.envFile, cluster, node))}`, 'set +a'] : [];
}

/**
 * On a member's host: stop Patroni (and with it PostgreSQL), check that it stopped, and set its
 * data directory aside. A retry finds it set aside already and moves nothing twice.
 */
export function setAsideCommand(cluster: ResolvedCluster, node: ResolvedNode, generation: number): string {
  const c = nodeCommands(cluster, node);
  return [
    'set -eu',
    c.stop,
    `if ${c.status}; then echo "${node.name}: Patroni still runs after its stop command; nothing was moved" >&2; exit 1; fi`,
    `d=${quote(dataDir(cluster, node))}`,
    `a=${quote(setAsidePath(cluster, node, generation))}`,
    `if [ -e "$a" ]; then echo "${node.name}: the data directory was set aside already ($a)"; elif [ -d "$d" ]; then mv "$d" "$a"; echo "${node.name}: data directory $d set aside as $a"; else echo "${node.name}: no data directory at $d"; fi`,
  ].join('\n');
}

/**
 * On the first member's host, once every member is stopped: the cluster's state in its DCS is
 * removed (`patronictl remove`), so that the first member to start bootstraps a new standby
 * leader from the source. A leader key left by a member that did not stop cleanly expires after
 * ttl: the removal is tried until then.
 */
export function dcsResetCommand(cluster: ResolvedCluster, node: ResolvedNode): string {
  const c = nodeCommands(cluster, node);
  const scope = quote(cluster.scope);
  const tries = Math.ceil((cluster.patroni.ttl + cluster.patroni.loopWait) / 2) + 1;
  return [
    'set -eu',
    ...envFileLines(cluster, node),
    `n=0`,
    `until printf '%s\\nYes I am aware\\n' ${scope} | patronictl -c ${quote(c.configPath)} remove ${scope} >/dev/null; do`,
    `  n=$((n + 1)); if [ "$n" -ge ${tries} ]; then echo "the DCS state of ${cluster.scope} could not be removed (patronictl remove): is a member still running?" >&2; exit 1; fi; sleep 2`,
    'done',
    `echo "${cluster.scope}: its state in the DCS removed; the first member to start clones the source"`,
  ].join('\n');
}

/** On a member's host: start Patroni (which clones, as its data directory is empty). */
export function reseedStartCommand(cluster: ResolvedCluster, node: ResolvedNode): string {
  return ['set -eu', nodeCommands(cluster, node).start, `echo "${node.name}: Patroni started"`].join('\n');
}
