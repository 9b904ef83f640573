/**
 * The article's walkthrough on this machine's Patroni 3.0.2, PostgreSQL 15 and etcd 3.4
 * (test/e2e/walkthrough.ts).
 */
import { walkthroughSuite } from './walkthrough';

walkthroughSuite();
