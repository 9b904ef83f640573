/**
 * One message shape for every problem: where, what is wrong, the value received, what is
 * allowed and how to fix it. All problems of an input are reported together, in one error.
 */
import { z } from 'zod';

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
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

export function formatProblem(p: Problem): string {
  return `${p.path || '(top level)'}: ${p.message}\n    received: ${formatValue(p.received)}\n    allowed:  ${p.allowed}\n    fix:      ${p.fix}`;
}

/** A warning as printed: its id first, and how to accept it on purpose. */
export function formatWarning(p: Problem): string {
  const accept = p.id ? `\n    accept:   link.acknowledgeWarnings: [{ id: ${p.id}, reason: <why this risk is accepted> }]` : '';
  return `${p.id ? `[${p.id}] ` : ''}${formatProblem(p)}${accept}`;
}

/** A user error: the message is the whole report; callers print it without a stack trace. */
export class TopologyError extends Error {
  readonly problems: readonly Problem[];
  constructor(source: string, problems: readonly Problem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`${source} has ${count}:\n${problems.map((p, i) => `  ${i + 1}. ${formatProblem(p)}`).join('\n')}`);
    this.name = 'TopologyError';
    this.problems = problems;
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
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

function closest(word: string, candidates: readonly string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
  };
  const best = [...candidates].sort((a, b) => dist(word.toLowerCase(), a.toLowerCase()) - dist(word.toLowerCase(), b.toLowerCase()))[0];
  return best !== undefined && dist(word.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

/** Turns zod's issues into problems, with the keys a strict object allows. */
export function zodProblems(
  error: z.ZodError,
  input: unknown,
  keysAt: (path: readonly PropertyKey[]) => string[] | undefined,
  prefix: readonly PropertyKey[] = [],
): Problem[] {
  const out: Problem[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    const received = valueAt(input, issue.path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = keysAt(issue.path) ?? [];
        for (const key of issue.keys) {
          const guess = closest(key, known);
          out.push({
            path: formatPath([...path, key]),
            message: `unknown key "${key}"`,
            received: valueAt(input, [...issue.path, key]),
            allowed: known.length ? `one of ${known.join(', ')}` : 'no other keys',
            fix: guess ? `rename "${key}" to "${guess}"` : `remove "${key}" or check its spelling`,
          });
        }
        break;
      }
      case 'invalid_type': {
        const expected = issue.expected;
        out.push({
          path: formatPath(path),
          message: received === undefined ? 'is required' : `must be ${expected === 'object' ? 'a mapping' : expected === 'array' ? 'a list' : `a ${expected}`}, not ${typeName(received)}`,
          received,
          allowed: expected === 'object' ? 'a mapping' : expected === 'array' ? 'a list' : `a ${expected}`,
          fix: received === undefined ? `add "${String(issue.path[issue.path.length - 1] ?? 'it')}"` : `write a ${expected} here`,
        });
        break;
      }
      case 'invalid_value': {
        const values = issue.values.map((v) => JSON.stringify(v));
        out.push({
          path: formatPath(path),
          message: 'is not an allowed value',
          received,
          allowed: `one of ${values.join(', ')}`,
          fix: `use one of ${values.join(', ')}`,
        });
        break;
      }
      case 'invalid_union': {
        const disc = (issue as { note?: string }).note;
        out.push({
          path: formatPath(path),
          message: disc?.includes('discriminator') ? 'is not an allowed value' : 'matches none of the allowed shapes',
          received,
          allowed: 'type: etcd3, etcd, consul, zookeeper or kubernetes, with its own keys',
          fix: 'set "type" to one of etcd3, etcd, consul, zookeeper, kubernetes',
        });
        break;
      }
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
        const what = issue.origin === 'array' ? 'items' : issue.origin === 'string' ? 'characters' : '';
        const allowed = `${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)}${what ? ` ${what}` : ''}`;
        out.push({
          path: formatPath(path),
          message: issue.message && !issue.message.startsWith('Too') ? issue.message : `is too ${issue.code === 'too_small' ? 'small' : 'big'}`,
          received,
          allowed,
          fix: `use a value ${allowed}`,
        });
        break;
      }
      case 'invalid_format':
        out.push({
          path: formatPath(path),
          message: issue.message,
          received,
          allowed: issue.message === 'must be host:port' ? 'host:port, e.g. 10.0.0.1:2379' : 'see the topology reference in README.md',
          fix: issue.message === 'must be host:port' ? 'add the port the DCS listens on' : 'correct the value',
        });
        break;
      default:
        out.push({ path: formatPath(path), message: issue.message, received, allowed: 'see the topology reference in README.md', fix: 'correct the value' });
    }
  }
  return out;
}
