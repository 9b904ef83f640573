/**
 * `node link-health.cjs gate`: the promotion gate (LINK_HEALTH_CONFIG). Loaded as a module (by
 * `npm run status`, from the stack's bundle, which carries pg), it is link-health's API: the
 * status figures and report, the gate, and the LSN arithmetic they share.
 */
import { runGate } from '../gate';
import { errorText } from '../link-health';

export * from '../link-health';
export * from '../gate';
export * from '../lsn';

if (require.main === module) {
  if (process.argv[2] !== 'gate') {
    process.stderr.write(
      'usage: link-health.cjs gate (configured by LINK_HEALTH_CONFIG); for the status table run `npm run status`\n',
    );
    process.exit(2);
  }
  runGate(process.env, process.stdout, process.stderr).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`[promotion gate] FAILED: ${errorText(err)}\n`);
      process.exit(1);
    },
  );
}
