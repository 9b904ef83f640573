/**
 * The link's whole lifecycle on Patroni 4.0.7, PostgreSQL 17 and etcd 3.5 from Debian 13's
 * packages (a Debian 13 root that `scripts/debian-root.sh trixie` builds; every server runs in it and
 * shares this machine's loopback network), deployed from this machine through `cdktf deploy '*'`:
 * bootstrap, switchover and switchback under a writer, a refused switchover, a disaster promotion
 * and the rejoin of the diverged side, then the promotion (test/e2e/lifecycle.ts).
 */
import { debian13 } from './harness';
import { lifecycleSuite } from './lifecycle';

lifecycleSuite('cdktf', debian13());
