/** `node role-change.cjs`: a cluster's role change (ROLE_CHANGE_CONFIG). */
import { runRoleChange } from '../role-change';

export * from '../role-change';
export * from '../cluster-io';

if (require.main === module)
  runRoleChange(process.env, process.stdout, process.stderr).then((code) => process.exit(code));
