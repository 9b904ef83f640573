/** `node apply-config-patch.cjs`: one DCS patch (PATRONI_PATCH, PATRONI_PATCH_CONFIG). */
import { main } from '../apply-config-patch';

export * from '../apply-config-patch';

if (require.main === module) main(process.env, process.stdout).then((code) => process.exit(code));
