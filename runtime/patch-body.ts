/**
 * The patch program's pure part: the body it sends (the desired configuration plus a null for
 * what it no longer owns, and its marker), the slot removals it holds for a standby, whether a
 * body could demote a running primary, the hot-standby parameters a standby would run below its
 * source's, and what a verification finds missing. No I/O: apply-config-patch.ts reads the
 * running configuration and calls these.
 */
import { HOT_STANDBY_DEFAULTS, MARKER, NEVER_IMPLICIT, type PatchConfig } from './contract';

/** A JSON object: a patch body, a running dynamic configuration. */
export type JsonObject = Record<string, unknown>;

/** Which part of the configuration the body owns (PatchConfig.sections). */
export type Sections = PatchConfig['sections'];

/** What this program records under MARKER: the slots, parameters and top-level keys it set. */
export interface Marker {
  slots: string[];
  parameters?: string[];
  keys?: string[];
}

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
export const keysOf = (v: unknown): string[] => (isObject(v) ? Object.keys(v) : []);
/** A property of any non-null object (arrays too), undefined otherwise. */
export const prop = (v: unknown, key: string): unknown =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
/** The strings of an array property of a marker; anything else counts as none. */
export const stringsAt = (v: JsonObject, key: string): string[] => {
  const list = v[key];
  return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
};
/** postgresql.parameters of a body or configuration, when both are objects. */
export const parametersOf = (v: JsonObject): JsonObject | undefined =>
  isObject(v.postgresql) && isObject(v.postgresql.parameters) ? v.postgresql.parameters : undefined;

/**
 * Whether `actual` shows every key of the merge patch: null means absent, objects recurse, values
 * compare as text (Patroni may give back a number as a string).
 */
export function mismatches(expected: JsonObject, actual: unknown, path: string): string[] {
  const out: string[] = [];
  for (const [key, want] of Object.entries(expected)) {
    const have = prop(actual, key);
    const where = path ? `${path}.${key}` : key;
    if (want === null) {
      if (have !== undefined && have !== null) out.push(`${where} should be absent`);
    } else if (isObject(want)) {
      out.push(...mismatches(want, have || {}, where));
    } else if (String(want) !== String(have)) {
      out.push(`${where}: want ${JSON.stringify(want)}, have ${JSON.stringify(have)}`);
    }
  }
  return out;
}

/** The body to send and what it removes (`desiredPatch`). */
export interface DesiredPatch {
  body: JsonObject;
  removed: string[];
}

/**
 * The body to send: `desired` plus a null for everything to remove (see the header), and the
 * marker of what this program now owns. Pure: `current` is the running configuration.
 */
export function desiredPatch(
  desiredBody: JsonObject,
  current: JsonObject,
  opts: { strict: boolean; sections: Sections },
): DesiredPatch {
  const body = JSON.parse(JSON.stringify(desiredBody)) as JsonObject;
  if (opts.sections === 'exact') return { body, removed: [] };
  const prev = isObject(current[MARKER]) ? current[MARKER] : {};
  const removed: string[] = [];
  const owned = (key: 'parameters' | 'slots', have: string[]): string[] =>
    opts.strict ? have : stringsAt(prev, key).filter((k) => have.includes(k));
  const wantParameters = parametersOf(desiredBody);
  const bodyParameters = parametersOf(body); // a copy of wantParameters (undefined together)
  if (opts.sections === 'all' && bodyParameters !== undefined) {
    const have = keysOf(prop(current.postgresql, 'parameters'));
    for (const k of owned('parameters', have)) {
      if (!(k in bodyParameters)) {
        bodyParameters[k] = null;
        removed.push(`postgresql.parameters.${k}`);
      }
    }
  }
  if (opts.sections === 'all') {
    for (const k of stringsAt(prev, 'keys').filter((x) => !NEVER_IMPLICIT.includes(x))) {
      if (!(k in desiredBody) && k in current) {
        body[k] = null;
        removed.push(k);
      }
    }
  }
  const wantSlots = isObject(desiredBody.slots) ? desiredBody.slots : {};
  for (const k of owned('slots', keysOf(current.slots))) {
    if (!(k in wantSlots)) {
      const slots = isObject(body.slots) ? body.slots : {};
      slots[k] = null;
      body.slots = slots;
      removed.push(`slots.${k}`);
    }
  }
  const marker: Marker = {
    slots: Object.keys(wantSlots)
      .filter((k) => wantSlots[k] !== null)
      .sort(),
  };
  if (opts.sections === 'all') {
    marker.parameters =
      wantParameters === undefined
        ? []
        : Object.keys(wantParameters)
            .filter((k) => wantParameters[k] !== null)
            .sort();
    marker.keys = Object.keys(desiredBody)
      .filter((k) => !NEVER_IMPLICIT.includes(k) && desiredBody[k] !== null)
      .sort();
  }
  body[MARKER] = marker;
  return { body, removed };
}

/**
 * Takes out of `body` every slot removal that a standby cluster still needs: its configuration
 * names the slot as primary_slot_name, or it cannot be asked (then every removal waits).
 * `standbyConfigs`: each standby cluster's GET /config, undefined when it did not answer.
 */
export function holdSlots(body: JsonObject, standbyConfigs: readonly unknown[]): string[] {
  const held: string[] = [];
  const slots = body.slots;
  if (!isObject(slots)) return held;
  const unknown = standbyConfigs.some((c) => c === undefined);
  const inUse = standbyConfigs
    .filter(isObject)
    .map((c) => isObject(c.standby_cluster) && c.standby_cluster.primary_slot_name);
  for (const [name, value] of Object.entries(slots)) {
    if (value !== null || (!unknown && !inUse.includes(name))) continue;
    delete slots[name];
    const marker = body[MARKER];
    if (isObject(marker) && Array.isArray(marker.slots) && !marker.slots.includes(name))
      marker.slots = [...marker.slots, name].sort();
    held.push(name);
  }
  if (Object.keys(slots).length === 0) delete body.slots;
  return held;
}

/**
 * Whether this patch could demote a cluster: it carries a standby_cluster block, which makes a
 * cluster that runs as a primary a standby cluster. Such a patch is sent only through a node whose
 * running configuration has just been read and shows no demotion (`demotes`).
 */
export function couldDemote(desiredBody: unknown): desiredBody is JsonObject & { standby_cluster: JsonObject } {
  return isObject(desiredBody) && isObject(desiredBody.standby_cluster);
}

/**
 * Why this patch must not be sent: it would add standby_cluster to a cluster that runs as a
 * primary (a demotion, the fence of a switchover). Only a role change does that, after its gate.
 * `current` undefined (not read) is no answer: the caller sends nothing that `couldDemote` then.
 */
export function demotes(desiredBody: unknown, current: unknown): string | undefined {
  if (!couldDemote(desiredBody) || !isObject(current) || isObject(current.standby_cluster)) return undefined;
  return `this patch would make a running primary cluster a standby cluster (standby_cluster -> ${String(desiredBody.standby_cluster.host)}): a role change runs only in the new source's role resource, after its gate. Deploy that stack first; nothing was sent`;
}

/**
 * The hot-standby parameters that the standby would run below the source's running value, as
 * messages. Pure: each side's parameters are what its dynamic configuration has (a parameter it
 * does not set has PostgreSQL's default, which Patroni uses).
 */
export function hotStandbyWarnings(standbyParams: unknown, sourceParams: unknown): string[] {
  const value = (params: unknown, name: string): number => {
    const set = prop(params, name);
    return set !== undefined && set !== null ? Number(set) : HOT_STANDBY_DEFAULTS[name];
  };
  return Object.keys(HOT_STANDBY_DEFAULTS).flatMap((name) => {
    const mine = value(standbyParams, name);
    const theirs = value(sourceParams, name);
    return Number.isFinite(mine) && Number.isFinite(theirs) && mine < theirs
      ? [
          `${name} ${mine} on the standby is below the source's running ${theirs}: Patroni starts the standby with ${theirs} and shows a pending restart; set ${name}: ${theirs} or more on the standby cluster`,
        ]
      : [];
  });
}
