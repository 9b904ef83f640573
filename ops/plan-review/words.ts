/** Counts, lists and values in the words of the review. */
import { absent } from './values';

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
/** `dc1`, `dc1 and dc2`, `dc1, dc2 and dc3`. */
export function listed(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

export const shown = (x: unknown): string => JSON.stringify(x) ?? String(x);

/** A value's change in words; undefined when it does not change (absent and null are the same). */
export function changeOf(before: unknown, after: unknown): string | undefined {
  if (absent(before) && absent(after)) return undefined;
  if (JSON.stringify(before) === JSON.stringify(after)) return undefined;
  if (absent(after)) return `removed (was ${shown(before)})`;
  if (absent(before)) return `set to ${shown(after)}`;
  return `${shown(before)} -> ${shown(after)}`;
}
