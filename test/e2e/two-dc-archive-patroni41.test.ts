/**
 * The archive after a planned switchover, on Patroni 4.1.5 / PostgreSQL 18 / pgBackRest 2.60 in the
 * Debian forky root (scripts/debian-root.sh; every server, and the repository hosts' pgBackRest
 * commands, from the root, each in its data center's network namespace): a backup in each
 * repository, the switchover dc1 -> dc2 across the 20 ms delay (Patroni 4.1's clean demotion
 * archives the old source's last segment), then dc1's data broken and re-seeded from its own
 * repository alone. Rows in bench/out/reliability-archive-patroni41.json (RELIABILITY.md).
 */
import { forky } from './harness';
import { twoDcSuite } from './two-dc';

twoDcSuite(forky(), ['6e'], 'reliability-archive-patroni41', { archive: true });
