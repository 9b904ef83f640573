/** `node reseed.cjs gate|wait`: the re-seed's pipeline steps (RESEED_CONFIG). */
import { runReseed } from '../reseed';

export * from '../reseed';

if (require.main === module) {
  const phase = process.argv[2];
  if (phase !== 'gate' && phase !== 'wait') {
    process.stderr.write(`usage: reseed.cjs gate|wait (got ${phase})\n`);
    process.exit(2);
  }
  runReseed(phase, process.env, process.stdout, process.stderr).then((code) => process.exit(code));
}
