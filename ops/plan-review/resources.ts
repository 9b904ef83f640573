/**
 * Reading a plan: its resource changes (terraform_data and null_resource), each with its action
 * and its inputs, classified by the last components of its construct path (or its inputs), and
 * the member addresses every plan names.
 */
import { ResourceKind } from './model';
import { parseJson, str, Values } from './values';

interface ResourceChange {
  address?: string;
  type?: string;
  name?: string;
  change?: { actions?: string[]; before?: Record<string, any> | null; after?: Record<string, any> | null };
}

/** What `terraform show -json` writes; only the resource changes are read. */
export interface Plan {
  resource_changes?: ResourceChange[];
}

/** The resource's own values: `input` of terraform_data, `triggers` of null_resource. */
function valuesOf(state: Record<string, any> | null | undefined): Values | undefined {
  if (!state || typeof state !== 'object') return undefined;
  const v = state.input ?? state.triggers;
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function actionOf(actions: unknown): string {
  if (!Array.isArray(actions)) return 'no-op';
  if (actions.includes('delete') && actions.includes('create')) return 'replace';
  return str(actions[0]) ?? 'no-op';
}

/** A resource change of the plan as the review reads it: its name, action, inputs and kind. */
export interface Entry {
  readonly name: string;
  readonly action: string;
  readonly before?: Values;
  readonly after?: Values;
  /** after, else before, else {}. */
  readonly v: Values;
  readonly kind: ResourceKind;
  /** The member (node-<member>), the re-seed step (reseed_<step>). */
  readonly part?: string;
  /** The construct path above the cluster's own components (`cluster`, `payments_db`), when the name shows it. */
  readonly prefix?: string;
}

/** The hash cdktf appends to a resource's name. */
export const HASH = /_[0-9A-F]{8}$/;

/** The last components of a construct path; whatever the ids above them. */
const PATTERNS: readonly (readonly [ResourceKind, RegExp])[] = [
  ['member', /(?:^|.*_)node-(.+)_config$/],
  ['env-file', /(?:^|.*_)node-(.+)_secrets$/],
  ['stop-on-destroy', /(?:^|.*_)node-(.+)_stop-on-destroy$/],
  ['dcs-patch', /(?:^|_)dcs-patch_apply$/],
  // link-slots; source-slots before (link_source-slots_apply)
  ['link-slots', /(?:^|_)(?:link|source)-slots_apply$/],
  ['detach', /(?:^|_)promotion_detach_apply$/],
  // role, or role-<link id> for a cluster in several links
  ['role', /(?:^|_)role(?:-[^_]+)?_apply$/],
  ['reseed', /(?:^|.*_)reseed_(.+)$/],
];

/** A cluster's own components, after the construct path of the cluster (captured). */
const PREFIXES: readonly RegExp[] = [
  /^(?:(.*)_)?node-.+_(?:config|secrets|stop-on-destroy)$/,
  /^(?:(.*)_)?dcs-patch_apply$/,
  /^(?:(.*)_)?link-slots_apply$/,
  /^(?:(.*)_)?promotion_detach_apply$/,
  /^(?:(.*)_)?role(?:-[^_]+)?_apply$/,
  /^(?:(.*)_)?reseed_.+$/,
];

function classify(name: string, v: Values): { kind: ResourceKind; part?: string; prefix?: string } {
  const base = name.replace(HASH, '');
  for (const [kind, re] of PATTERNS) {
    const m = re.exec(base);
    if (m) {
      const p = PREFIXES.map((r) => r.exec(base)).find((x) => x !== null);
      return { kind, part: m[1], ...(p ? { prefix: p[1] ?? '' } : {}) };
    }
  }
  if ('patroni_yml' in v) return { kind: 'member' };
  if ('gate_config' in v && base.includes('detach')) return { kind: 'detach' };
  if ('reseed_config' in v) return { kind: 'reseed' };
  if ('role_config' in v) return { kind: 'role' };
  if ('patch_json' in v) return { kind: base.includes('slots') ? 'link-slots' : 'dcs-patch' };
  return { kind: 'other' };
}

/** A role change's configuration: the one it has after the plan, else the one before. */
export function roleConfigOf(e: Entry): Values {
  const a = parseJson(e.after?.role_config);
  return Object.keys(a).length > 0 ? a : parseJson(e.before?.role_config);
}

/** The plan's terraform_data and null_resource changes, classified, in the plan's order. */
export function entriesOf(plan: Plan): Entry[] {
  const changes = Array.isArray(plan?.resource_changes) ? plan.resource_changes : [];
  const entries: Entry[] = [];
  for (const rc of changes) {
    if (!rc || (rc.type !== 'terraform_data' && rc.type !== 'null_resource')) continue;
    const name =
      str(rc.name) ??
      String(rc.address ?? '')
        .split('.')
        .pop() ??
      '';
    const before = valuesOf(rc.change?.before);
    const after = valuesOf(rc.change?.after);
    const v = after ?? before ?? {};
    entries.push({ name, action: actionOf(rc.change?.actions), before, after, v, ...classify(name, v) });
  }
  return entries;
}

/** Addresses of every member in the plans, for naming them in pg_hba findings. */
export function membersByAddress(plans: Plan[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const plan of plans) {
    for (const rc of Array.isArray(plan?.resource_changes) ? plan.resource_changes : []) {
      const v = valuesOf(rc?.change?.after) ?? valuesOf(rc?.change?.before);
      if (v && 'patroni_yml' in v && typeof v.host === 'string' && typeof v.member === 'string')
        out.set(v.host, v.member);
    }
  }
  return out;
}
