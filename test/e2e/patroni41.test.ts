/**
 * The link's whole lifecycle on Patroni 4.1.5, PostgreSQL 18 and etcd 3.5 from Debian forky's
 * packages (a Debian forky root that `scripts/debian-root.sh forky` builds; every server runs in it
 * and shares this machine's loopback network), deployed from this machine through
 * `cdktf deploy '*'`: bootstrap, switchover and switchback under a writer, a refused switchover, a
 * disaster promotion and the rejoin of the diverged side, then the promotion (test/e2e/lifecycle.ts).
 */
import { forky } from './harness';
import { lifecycleSuite } from './lifecycle';

lifecycleSuite('cdktf', forky());
