/**
 * The same constructs and app on CDK Terrain: `cdktn deploy '*'` (cdktn-cli 0.24, on Node.js 22
 * as it requires) with the app built on the `cdktn` core. Bootstrap, a switchover under a writer
 * and the promotion (test/e2e/lifecycle.ts).
 */
import { lifecycleSuite } from './lifecycle';

lifecycleSuite('cdktn');
