/**
 * The programs that planned resources run on the deploying machine (shipped as Terraform
 * assets) and that `npm run status` loads: scripts/*.cjs, found from the compiled or the
 * TypeScript location.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function scriptPath(name: string): string {
  for (const up of ['..', path.join('..', '..'), path.join('..', '..', '..')]) {
    const candidate = path.resolve(__dirname, up, 'scripts', name);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`scripts/${name} is missing from the package`);
}
