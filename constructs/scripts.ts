/**
 * The programs that planned resources run on the deploying machine and that `npm run status`
 * loads: programs/*.cjs, found from the compiled or the TypeScript location. A stack ships the
 * whole folder once, as one Terraform asset, so the programs find each other next to them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Construct } from 'constructs';
import { AssetType, TerraformAsset, TerraformStack } from 'cdktf';

export function programsDir(): string {
  for (const up of ['..', path.join('..', '..'), path.join('..', '..', '..')]) {
    const candidate = path.resolve(__dirname, up, 'programs');
    if (fs.existsSync(path.join(candidate, 'apply-config-patch.cjs'))) return candidate;
  }
  throw new Error('the programs folder (programs/*.cjs) is missing from the package');
}

export function programPath(name: string): string {
  return path.join(programsDir(), name);
}

/** The stack's copy of the programs folder (one asset per stack); a program's path in it. */
export function shippedProgram(scope: Construct, name: string): string {
  const stack = TerraformStack.of(scope);
  const existing = stack.node.tryFindChild('programs') as TerraformAsset | undefined;
  const asset = existing ?? new TerraformAsset(stack, 'programs', { path: programsDir(), type: AssetType.DIRECTORY });
  return `${asset.path}/${name}`;
}
