/**
 * Writes every node's patroni.yml and every DCS patch as plain files under
 * `<outdir>/rendered/<stack>/<cluster>/`, for review next to the Terraform JSON.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TerraformStack } from 'cdktf';
import { IConstruct } from 'constructs';
import { PatroniCluster } from '../constructs/patroni-cluster';

export const RENDERED_DIR = 'rendered';

export function renderedFilesOf(root: IConstruct): { path: string; content: string }[] {
  return root.node
    .findAll()
    .filter((c): c is PatroniCluster => c instanceof PatroniCluster)
    .flatMap((cluster) => {
      const stack = TerraformStack.of(cluster).node.id;
      return cluster.renderedFiles().map((f) => ({ path: path.join(stack, f.path), content: f.content }));
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}

export function writeRenderedFiles(root: IConstruct, outdir: string): string[] {
  const base = path.join(outdir, RENDERED_DIR);
  fs.rmSync(base, { recursive: true, force: true });
  return renderedFilesOf(root).map((f) => {
    const target = path.join(base, f.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, f.content);
    return target;
  });
}
