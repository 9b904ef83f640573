/**
 * The link's lifecycle through `cdktf deploy '*'`: bootstrap, switchover and switchback under a
 * writer, a refused switchover, a disaster promotion and the rejoin of the diverged side
 * (test/e2e/lifecycle.ts).
 */
import { lifecycleSuite } from './lifecycle';

lifecycleSuite('cdktf');
