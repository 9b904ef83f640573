/**
 * The fault suite's role changes (test/e2e/two-dc.ts) on Patroni 4.1.5, PostgreSQL 18 and etcd 3.5
 * from Debian forky's packages (the root `scripts/debian-root.sh forky` builds; every server runs
 * in it, inside its data center's network namespace): the planned switchover and switchback
 * across the 20 ms delay, with the synchronous handoff; before them fault 2c, where Patroni 4.1
 * rewinds the standby's replicas past the source's fork by itself (3.0 and 4.0 need a restart). Rows in
 * bench/out/reliability-patroni41.json (RELIABILITY.md).
 */
import { forky } from './harness';
import { twoDcSuite } from './two-dc';

twoDcSuite(forky(), ['2c', '8', '8c'], 'reliability-patroni41');
