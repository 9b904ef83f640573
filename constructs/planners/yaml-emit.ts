/**
 * A small block-style YAML emitter for JSON-like values, safe for PyYAML's YAML 1.1 reading
 * (what Patroni uses). A string stays plain only when no YAML 1.1 resolver could take it for
 * something else; every other string is written double-quoted with JSON escapes, which YAML
 * reads back unchanged. About ten times faster than building a YAML document and printing it,
 * which matters when a fleet of clusters is synthesized (see BENCHMARKS.md); the unit tests
 * check that the output parses back to the same value.
 */

type Value = string | number | boolean | null | undefined | readonly Value[] | { readonly [key: string]: Value };

/** YAML 1.1 booleans and nulls that a plain scalar would turn into. */
const RESERVED =
  /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$/;
/** Letters first, then letters, digits and `_ . / -`: never a number, date, anchor or indicator. */
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;

function scalar(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  // YAML 1.1 reads an exponent only after a dot (1.0e+21, not 1e+21): JavaScript's form is a string there
  if (typeof value === 'number')
    return Number.isFinite(value) ? String(value).replace(/^(-?\d+)e/, '$1.0e') : JSON.stringify(String(value));
  return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
}

function isCollection(value: Value): value is readonly Value[] | { readonly [key: string]: Value } {
  return value !== null && typeof value === 'object';
}

function isEmpty(value: readonly Value[] | { readonly [key: string]: Value }): boolean {
  return Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
}

function emitMap(map: { readonly [key: string]: Value }, indent: string, out: string[]): void {
  for (const [key, value] of Object.entries(map)) {
    if (value === undefined) continue;
    const head = `${indent}${scalar(key)}:`;
    if (!isCollection(value)) out.push(`${head} ${scalar(value)}`);
    else if (isEmpty(value)) out.push(`${head} ${Array.isArray(value) ? '[]' : '{}'}`);
    else {
      out.push(head);
      emit(value, `${indent}  `, out);
    }
  }
}

function emitSeq(seq: readonly Value[], indent: string, out: string[]): void {
  for (const item of seq) {
    if (!isCollection(item)) out.push(`${indent}- ${scalar(item)}`);
    else if (isEmpty(item)) out.push(`${indent}- ${Array.isArray(item) ? '[]' : '{}'}`);
    else {
      // the item's first line goes on the dash line, the rest two columns further in
      const lines: string[] = [];
      emit(item, `${indent}  `, lines);
      out.push(`${indent}- ${lines[0].slice(indent.length + 2)}`, ...lines.slice(1));
    }
  }
}

function emit(value: readonly Value[] | { readonly [key: string]: Value }, indent: string, out: string[]): void {
  if (Array.isArray(value)) emitSeq(value, indent, out);
  else emitMap(value as { readonly [key: string]: Value }, indent, out);
}

/** Block YAML of a mapping, one key per line, ending with a newline. */
export function toYaml(value: { readonly [key: string]: unknown }): string {
  const out: string[] = [];
  emitMap(value as { readonly [key: string]: Value }, '', out);
  return `${out.join('\n')}\n`;
}
