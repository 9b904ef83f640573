/**
 * The fault suite (test/e2e/two-dc.ts) on this machine's Patroni 3.0.2, PostgreSQL 15 and etcd
 * 3.4: every fault, its rows in bench/out/reliability.json (RELIABILITY.md).
 */
import { DEBIAN12 } from './harness';
import { twoDcSuite } from './two-dc';

twoDcSuite(DEBIAN12, ['1', '2', '2b', '2c', '3', '4', '5', '6', '9', '8a', '8', '8c', '7']);
