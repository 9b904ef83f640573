/**
 * The programs that planned resources run on the deploying machine and that `npm run status`
 * loads: the runtime's entry points bundled into dist/programs/*.cjs (scripts/bundle-programs.cjs,
 * run by `npm run build`, the app command and the tests' setup), found from the compiled, the
 * bundled or the TypeScript location. A stack ships the whole folder once, as one Terraform asset.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Construct } from 'constructs';
import { AssetType, TerraformAsset, TerraformStack } from 'cdktf';
import { ProgramName, PROGRAMS } from '../runtime/contract';

export function programsDir(): string {
  for (const up of ['..', path.join('..', '..'), path.join('..', '..', '..')]) {
    for (const candidate of [
      path.resolve(__dirname, up, 'programs'),
      path.resolve(__dirname, up, 'dist', 'programs'),
    ]) {
      if (fs.existsSync(path.join(candidate, PROGRAMS.patch.file))) return candidate;
    }
  }
  throw new Error('the bundled programs (dist/programs/*.cjs) are missing: run `npm run build`');
}

export function programPath(name: string): string {
  return path.join(programsDir(), name);
}

/** The stack's copy of the programs folder (one asset per stack); a program's path in it. */
export function shippedProgram(scope: Construct, program: ProgramName): string {
  const name = PROGRAMS[program].file;
  const stack = TerraformStack.of(scope);
  const existing = stack.node.tryFindChild('programs') as TerraformAsset | undefined;
  const asset = existing ?? new TerraformAsset(stack, 'programs', { path: programsDir(), type: AssetType.DIRECTORY });
  return `${asset.path}/${name}`;
}
