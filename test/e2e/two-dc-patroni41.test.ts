/**
 * The fault suite's role changes (test/e2e/two-dc.ts) on Patroni 4.1.5, PostgreSQL 18 and etcd 3.5
 * from Debian forky's packages (the root `scripts/debian-root.sh forky` builds; every server runs
 * in it, inside its data center's network namespace): the planned switchover and switchback
 * across the 20 ms delay, with the synchronous handoff. Rows in
 * bench/out/reliability-patroni41.json (RELIABILITY.md).
 */
import { forky } from './harness';
import { twoDcSuite } from './two-dc';

twoDcSuite(forky(), ['8', '8c'], 'reliability-patroni41');
