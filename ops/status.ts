#!/usr/bin/env node
/**
 * `npm run status`: both clusters of the topology in one table (member, role, state, timeline,
 * receive and replay LSN, lag in bytes and seconds against the SOURCE cluster's leader) and the
 * link slot on the source. `--json` prints the same as JSON. Exit 0 when the link is healthy,
 * 1 when not (the reasons are printed), 2 when the topology is wrong.
 *
 * Reads TOPOLOGY and LINK_STATE as the app does. Connects as link.monitoring.user (or PGUSER);
 * the password comes from PGPASSWORD or a pgpass file and is never printed.
 */
import { formatWarning, TopologyError } from '../constructs/errors';
import { linkHealthConfig } from '../constructs/planners/link';
import { resolveCluster, resolveLink } from '../constructs/resolve';
import { programPath } from '../constructs/scripts';
import { LinkHealthConfig, PROGRAMS } from '../runtime/contract';
import { loadTopologyFile } from '../stacks/topology-file';

/**
 * What the shipped link-health bundle exports (it carries pg; the package does not): status uses
 * collect and formatReport.
 */
type LinkHealth = typeof import('../runtime/entries/link-health');

async function main(): Promise<number> {
  const json = process.argv.includes('--json') || process.env.npm_config_json === 'true';
  const file = process.env.TOPOLOGY || 'examples/article.yaml';
  let topologyConfig: LinkHealthConfig;
  try {
    const { topology, warnings } = loadTopologyFile(file, process.env.LINK_STATE);
    if (!json) for (const w of warnings) process.stderr.write(`warning: ${formatWarning(w)}\n`);
    const primary = resolveCluster(topology.primary);
    const standby = resolveCluster(topology.standby);
    topologyConfig = linkHealthConfig(resolveLink(topology.link, primary), primary, standby, topology.names);
  } catch (err) {
    if (err instanceof TopologyError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const cfg = { ...topologyConfig, user: process.env.PGUSER || topologyConfig.user, connectTimeoutMs: 3000 };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const health = require(programPath(PROGRAMS.health.file)) as LinkHealth;
  const report = await health.collect(cfg);
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${health.formatReport(report)}\n`);
  return report.healthy ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`status failed: ${err.message}\n`);
    process.exit(1);
  },
);
