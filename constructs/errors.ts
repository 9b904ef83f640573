/**
 * One message shape for every problem: where, what is wrong, the value received, what is
 * allowed and how to fix it. All problems of an input are reported together, in one error.
 */
import { z } from 'zod';

/** A key whose value is likely a secret, however it is spelled: its value is never printed. */
const CREDENTIAL_KEY = /pas+(w|phrase)|pwd|secret|token|credential|private|api_?key/i;

export interface Problem {
  /** The rule's id, for a warning (what `link.acknowledgeWarnings` names). */
  readonly id?: string;
  /** Path in the topology, like `standby.nodes[1].host`. */
  readonly path: string;
  readonly message: string;
  readonly received: unknown;
  readonly allowed: string;
  readonly fix: string;
}

export function formatValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

export function formatProblem(p: Problem): string {
  return `${p.path || '(top level)'}: ${p.message}\n    received: ${formatValue(p.received)}\n    allowed:  ${p.allowed}\n    fix:      ${p.fix}`;
}

/** A warning as printed: its id first, and how to accept it on purpose. */
export function formatWarning(p: Problem): string {
  const accept = p.id
    ? `\n    accept:   link.acknowledgeWarnings: [{ id: ${p.id}, reason: <why this risk is accepted> }]`
    : '';
  return `${p.id ? `[${p.id}] ` : ''}${formatProblem(p)}${accept}`;
}

/**
 * A user error: the message is the whole report. Its stack is the message alone (an input error,
 * not a bug: no frames), and `problems` is not enumerable, so that an uncaught one, which Node
 * prints with its own enumerable properties, shows the report once.
 */
export class TopologyError extends Error {
  declare readonly problems: readonly Problem[];
  constructor(source: string, problems: readonly Problem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`${source} has ${count}:\n${problems.map((p, i) => `  ${i + 1}. ${formatProblem(p)}`).join('\n')}`);
    this.name = 'TopologyError';
    Object.defineProperty(this, 'problems', {
      value: problems,
      enumerable: false,
      writable: false,
      configurable: false,
    });
    Object.defineProperty(this, 'stack', {
      value: `${this.name}: ${this.message}`,
      enumerable: false,
      writable: true,
      configurable: true,
    });
  }
}

/** A path part standing for any item of a list: printed `[]`, as in `nodes[].host`. */
export const ANY_ITEM: unique symbol = Symbol('any item');

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (part === ANY_ITEM) out += '[]';
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const part of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[part as string];
  }
  return cur;
}

/** Edit distance (insertions, deletions, substitutions) between two words. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

/** The candidate nearest to `word` in spelling, if it is near enough to be meant. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const dist = (b: string) => distance(word.toLowerCase(), b.toLowerCase());
  const best = [...candidates].sort((a, b) => dist(a) - dist(b))[0];
  return best !== undefined && dist(best) <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** The kind of value the input holds, as a YAML user names it. */
function typeName(v: unknown): string {
  if (v === null) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number' && Number.isNaN(v)) return '.nan';
  if (typeof v === 'number' && !Number.isFinite(v)) return 'infinite';
  if (typeof v === 'boolean') return 'true/false';
  return `a ${typeof v}`;
}

/** The type error of a whole-number field (the schema sets it: zod names no integer for '5432'). */
export const WHOLE_NUMBER = 'must be a whole number';

/** Where each field's form is described. */
const REFERENCE = 'see the topology reference, docs/topology.md';

/** What zod's `expected` names, in the words of the topology reference. */
const KINDS: Readonly<Record<string, string>> = {
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  string: 'a string',
  array: 'a list',
  tuple: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
};

function kindOf(expected: string): string {
  return KINDS[expected] ?? `a ${expected}`;
}

/** How to write `received` as the kind the schema wants, where that can be told. */
function typeFix(expected: string, received: unknown, key: string): string {
  const text = typeof received === 'string' ? received.trim() : undefined;
  if (
    (expected === 'number' || expected === 'int') &&
    text !== undefined &&
    text !== '' &&
    Number.isFinite(Number(text))
  ) {
    return `write ${text} without quotes`;
  }
  if (expected === 'int' && typeof received === 'number' && Number.isFinite(received))
    return `write a whole number, e.g. ${Math.round(received)}`;
  if (expected === 'boolean' && text !== undefined && /^(true|false|yes|no|on|off)$/i.test(text)) {
    return `write ${/^(true|yes|on)$/i.test(text) ? 'true' : 'false'}, without quotes`;
  }
  if (expected === 'boolean') return 'write true or false';
  if (expected === 'string' && (typeof received === 'number' || typeof received === 'boolean'))
    return `quote it: "${String(received)}"`;
  if ((expected === 'array' || expected === 'tuple') && received !== null && typeof received !== 'object')
    return `write it as a list: [${String(received)}]`;
  if (expected === 'object' || expected === 'record' || expected === 'map')
    return `write "${key}" as a mapping of key: value lines (or { key: value })`;
  return `write ${kindOf(expected)} here`;
}

/**
 * The keys a strict object allows at a path, and, for a key it does not allow, where a field of
 * that name is in the schema (paths relative to the object that holds both, nearest first).
 */
export type AllowedKeys = readonly string[] & { readonly elsewhere?: (key: string) => readonly Elsewhere[] };

/**
 * Where a key found in the wrong place belongs. `absolute` is below the object being checked, or,
 * with `across`, the whole path in the input: a key of the link found in a cluster, or the reverse.
 */
export interface Elsewhere {
  readonly relative: string;
  readonly absolute: readonly PropertyKey[];
  readonly across?: true;
}

/** The values of an enum or a discriminator, as the user writes them. */
function listValues(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** Turns zod's issues into problems in the topology's words (none of zod's own texts reach the user). */
export function zodProblems(
  error: z.ZodError,
  input: unknown,
  keysAt: (path: readonly PropertyKey[]) => AllowedKeys | undefined,
  prefix: readonly PropertyKey[] = [],
): Problem[] {
  const out: Problem[] = [];
  const issues = error.issues as readonly z.core.$ZodIssue[];
  const add = (issue: z.core.$ZodIssue, base: readonly PropertyKey[]): void => {
    const local = [...base, ...issue.path];
    const path = [...prefix, ...local];
    const received = valueAt(input, local);
    const key = String(local[local.length - 1] ?? 'it');
    // zod's wording stays out: a message of the schema's own (custom) is kept, its defaults are not
    const own = (m: string | undefined) =>
      m && !/^(Invalid|Too (small|big)|Expected|Unrecognized)\b/.test(m) ? m : undefined;
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowedKeys = keysAt(local);
        const known = [...(allowedKeys ?? [])];
        for (const k of issue.keys) {
          const guess = closest(k, known);
          const near = guess !== undefined && distance(k.toLowerCase(), guess.toLowerCase()) <= 1;
          const where = near ? [] : (allowedKeys?.elsewhere?.(k) ?? []).slice(0, 3);
          const base = {
            path: formatPath([...path, k]),
            // a misspelled credential (`pasword: ...`) is not echoed into a log
            received: CREDENTIAL_KEY.test(k)
              ? '(hidden: the key looks like a credential)'
              : valueAt(input, [...local, k]),
            allowed: known.length ? `one of ${known.join(', ')}` : 'no other keys',
          };
          if (where.length > 0) {
            const full = (w: Elsewhere) => formatPath(w.across ? w.absolute : [...prefix, ...w.absolute]);
            // a field of an object around this one (a node's "scope"), or of the other part of the
            // topology (the link's "slotName" in a cluster), reads best as its whole path
            const shown = (w: Elsewhere) => (!w.across && /[.[]/.test(w.relative) ? w.relative : full(w));
            out.push({
              ...base,
              message: `unknown key "${k}" here: did you mean ${orList(where.map(shown))}?`,
              fix: `move "${k}" to ${orList(where.map(full))}`,
            });
          } else {
            out.push({
              ...base,
              message: `unknown key "${k}"`,
              fix: guess ? `rename "${k}" to "${guess}"` : `remove "${k}" or check its spelling`,
            });
          }
        }
        break;
      }
      case 'invalid_type': {
        // a whole-number field says so (zod's `expected` is "number" for '5432' there too)
        const expected = issue.message === WHOLE_NUMBER ? 'int' : issue.expected;
        const kind = kindOf(expected);
        const wanted = `must be ${kind}`;
        if (received === undefined) {
          out.push({ path: formatPath(path), message: 'is required', received, allowed: kind, fix: `add "${key}"` });
          break;
        }
        // 1.5 where a whole number goes: the value shows what is wrong with it
        const sameType =
          typeof received === 'number' && Number.isFinite(received) && (expected === 'number' || expected === 'int');
        out.push({
          path: formatPath(path),
          message: sameType ? wanted : `${wanted}, not ${typeName(received)}`,
          received,
          allowed: kind,
          fix: typeFix(expected, received, key),
        });
        break;
      }
      case 'invalid_value': {
        const values = listValues(issue.values);
        out.push({
          path: formatPath(path),
          message: `must be one of: ${values}`,
          received,
          allowed: `one of ${values}`,
          fix: `use one of ${values}`,
        });
        break;
      }
      case 'invalid_union': {
        if (issue.discriminator !== undefined && 'options' in issue && issue.options) {
          // a discriminated union: the discriminator's value picks the shape
          const values = listValues(issue.options);
          out.push({
            path: formatPath(path),
            message: received === undefined ? 'is required' : `must be one of: ${values}`,
            received,
            allowed: `one of ${values}, each with its own keys`,
            fix: `set "${key}" to one of ${values}`,
          });
          break;
        }
        // a value of the right kind that fails inside one shape: that shape's problems
        const branches = issue.errors.filter((branch) => branch.length > 0);
        const typed = branches.filter(
          (branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0),
        );
        if (typed.length === 1) {
          for (const inner of typed[0]) add(inner, local);
          break;
        }
        // in a list of kinds, true/false reads better than "true or false"
        const kinds = [
          ...new Set(
            branches.flatMap((branch) =>
              branch.filter((i) => i.code === 'invalid_type').map((i) => (i as { expected: string }).expected),
            ),
          ),
        ].map((e) => (e === 'boolean' ? 'true/false' : kindOf(e)));
        out.push({
          path: formatPath(path),
          message: `must be ${orList(kinds)}, not ${typeName(received)}`,
          received,
          allowed: orList(kinds),
          fix: `write ${orList(kinds)} here`,
        });
        break;
      }
      case 'too_small':
      case 'too_big': {
        // the safe-integer bound of a whole number says nothing beyond the field's own bound
        if (issue.origin === 'int' && issues.some((i) => i !== issue && i.path.join('.') === issue.path.join('.')))
          break;
        const small = issue.code === 'too_small';
        const bound = small ? issue.minimum : issue.maximum;
        const n = Number(bound);
        const what =
          issue.origin === 'array'
            ? n === 1
              ? 'item'
              : 'items'
            : issue.origin === 'string'
              ? n === 1
                ? 'character'
                : 'characters'
              : '';
        const allowed = `${small ? 'at least' : 'at most'} ${String(bound)}${what ? ` ${what}` : ''}`;
        const message =
          own(issue.message) ??
          (issue.origin === 'array'
            ? `needs ${allowed}`
            : issue.origin === 'string'
              ? `must have ${allowed}`
              : `is too ${small ? 'small' : 'big'}`);
        out.push({
          path: formatPath(path),
          message,
          received,
          allowed,
          fix:
            issue.origin === 'array'
              ? `list ${allowed}`
              : issue.origin === 'string'
                ? `write ${allowed}`
                : `use a value of ${allowed}`,
        });
        break;
      }
      case 'invalid_format':
        out.push({
          path: formatPath(path),
          message: own(issue.message) ?? 'is not in the form this field takes',
          received,
          allowed: REFERENCE,
          fix: 'correct the value',
        });
        break;
      case 'custom': {
        // the schema's own checks carry what is allowed and the fix
        const params = (issue.params ?? {}) as { allowed?: string; fix?: string; secret?: boolean };
        out.push({
          path: formatPath(path),
          message: own(issue.message) ?? 'is not valid here',
          // a secret refused by its key is never echoed into a log
          received: params.secret ? '(hidden: the key holds a secret)' : received,
          allowed: params.allowed ?? REFERENCE,
          fix: params.fix ?? 'correct the value',
        });
        break;
      }
      default:
        out.push({
          path: formatPath(path),
          message: own(issue.message) ?? 'is not valid here',
          received,
          allowed: REFERENCE,
          fix: 'correct the value',
        });
    }
  };
  for (const issue of issues) add(issue, []);
  return out;
}
