/**
 * WAL positions (LSNs, '16/B374D848') as numbers: read, written back, compared and subtracted.
 * As text they would compare wrongly (the two halves have no fixed number of digits).
 */

/** '16/B374D848' -> 0x16B374D848n; null stays null. */
export function lsn(text: string): bigint;
export function lsn(text: string | null | undefined): bigint | null;
export function lsn(text: string | null | undefined): bigint | null {
  if (text === null || text === undefined) return null;
  const [hi, lo] = String(text).split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/** 0x16B374D848n -> '16/B374D848', as PostgreSQL writes a position. */
export const lsnText = (n: bigint): string =>
  `${(n >> 32n).toString(16).toUpperCase()}/${(n & 0xffffffffn).toString(16).toUpperCase()}`;

/**
 * Whether position `a` is at or past `b`, compared as numbers: as text, '0/9000000' would pass
 * '0/10000000' (the digit counts differ), 117 MB behind. Unknown (null) is never at or past.
 */
export function lsnAtLeast(a: string | null | undefined, b: string | null | undefined): boolean {
  const x = lsn(a);
  const y = lsn(b);
  return x !== null && y !== null && x >= y;
}

/** Bytes from `behind` up to `ahead` (0 when `behind` is at or past it); null when one is unknown. */
export function bytesBetween(ahead: string | null, behind: string | null): number | null {
  if (ahead === null || behind === null) return null;
  const d = lsn(ahead) - lsn(behind);
  return d > 0n ? Number(d) : 0;
}
