/** `node switchover.cjs`: a cluster's role step (ROLE_CONFIG). */
import { runRoleStep } from '../switchover';

export * from '../switchover';
export * from '../cluster-io';

if (require.main === module)
  runRoleStep(process.env, process.stdout, process.stderr).then((code) => process.exit(code));
