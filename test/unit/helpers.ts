import * as path from 'node:path';
import { Testing } from 'cdktf';
import { parseTopology } from '../../stacks/topology-file';
import { buildStandbyStacks } from '../../stacks/standby-stacks';
import { Topology } from '../../constructs/types';
import * as fs from 'node:fs';

export const ARTICLE = path.join(__dirname, '..', '..', 'examples', 'article.yaml');

export function articleTopology(linkState?: string): Topology {
  return parseTopology(fs.readFileSync(ARTICLE, 'utf8'), 'examples/article.yaml', linkState).topology;
}

/**
 * Synthesizes both stacks of a topology; returns their parsed Terraform JSON. cdktf's own
 * validations (each `terraform_data` runs `terraform version` once) only where a test asks for
 * them: one test checks that they pass, the others need the JSON alone.
 */
export function synthTopology(topology: Topology, validate = false) {
  const app = Testing.app();
  const stacks = buildStandbyStacks(app, topology);
  const primary = JSON.parse(Testing.synth(stacks.primaryStack, validate));
  const standby = JSON.parse(Testing.synth(stacks.standbyStack, validate));
  return { app, stacks, primary, standby };
}

export type TfJson = { resource: Record<string, Record<string, Record<string, any>>> };

export function resourcesOf(json: TfJson, type = 'terraform_data'): Record<string, Record<string, any>> {
  return json.resource?.[type] ?? {};
}

export function byPath(json: TfJson, suffix: string, type = 'terraform_data'): Record<string, any> {
  const want = suffix.replace(/\//g, '_');
  const found = Object.entries(resourcesOf(json, type)).find(([key]) =>
    key.replace(/_[0-9A-F]{8}$/, '').endsWith(want),
  )?.[1];
  if (!found) throw new Error(`no resource at ${suffix}`);
  return found;
}

/** A deep copy of a plain topology with a change applied. */
export function mutate(topology: Topology, change: (t: any) => void): any {
  const copy = JSON.parse(JSON.stringify(topology));
  change(copy);
  return copy;
}

/**
 * A stack's JSON for a snapshot: asset folders carry the hash of the program's bytes, so a comment
 * edit in a program would change them; the snapshot keeps the folder and drops the hash.
 */
export function forSnapshot(json: unknown): unknown {
  return JSON.parse(JSON.stringify(json).replace(/(assets\/[^/"]+\/)[0-9A-F]{32}\//g, '$1<hash>/'));
}
