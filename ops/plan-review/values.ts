/**
 * The plan's values read without trusting their shape: a string, a number, an object, a list of
 * strings, JSON from a string, or nothing (and a list without its repeats).
 */

export type Values = Record<string, any>;

/** A non-empty string, else undefined. */
export const str = (x: unknown): string | undefined => (typeof x === 'string' && x.length > 0 ? x : undefined);
/** A finite number (also from a string), else undefined. */
export function num(x: unknown): number | undefined {
  const n = typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x) : NaN;
  return Number.isFinite(n) ? n : undefined;
}
/** An object, else an empty one. */
export const obj = (x: unknown): Values =>
  x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Values) : {};
/** The list without its repeats, in order. */
export const unique = <T>(xs: readonly T[]): T[] => [...new Set(xs)];

/** A JSON object from a plan's string (its template escapes undone); {} for anything else. */
export function parseJson(text: unknown): Values {
  if (typeof text !== 'string' || !text) return {};
  try {
    return obj(JSON.parse(text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{')));
  } catch {
    return {};
  }
}

/** Undefined or null: absent from a plan's JSON. */
export const absent = (x: unknown): boolean => x === undefined || x === null;
/** The strings of a list; [] for anything else. */
export const strings = (x: unknown): string[] =>
  Array.isArray(x) ? x.filter((l): l is string => typeof l === 'string') : [];
