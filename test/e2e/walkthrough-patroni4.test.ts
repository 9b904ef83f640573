/**
 * The article's walkthrough on Patroni 4.0.7, PostgreSQL 17 and etcd 3.5 from Debian 13's
 * packages, in the Debian 13 root that `scripts/debian-root.sh trixie` builds (test/e2e/walkthrough.ts).
 */
import { debian13 } from './harness';
import { walkthroughSuite } from './walkthrough';

walkthroughSuite(debian13());
