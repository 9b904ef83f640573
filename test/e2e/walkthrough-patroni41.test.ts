/**
 * The article's walkthrough on Patroni 4.1.5, PostgreSQL 18 and etcd 3.5 from Debian forky's
 * packages, in the Debian forky root that `scripts/debian-root.sh forky` builds (test/e2e/walkthrough.ts).
 */
import { forky } from './harness';
import { walkthroughSuite } from './walkthrough';

walkthroughSuite(forky());
