/**
 * Reads a topology file: YAML, the strict schema, the rules table, and the LINK_STATE override.
 * Every problem is reported in one TopologyError.
 */
import * as fs from 'node:fs';
import { Document, isMap, isPair, isScalar, isSeq, parseDocument, YAMLError } from 'yaml';
import { Problem, TopologyError } from '../constructs/errors';
import { Topology } from '../constructs/types';
import { validateTopology } from '../constructs/validate';
import { StateBackendSpec, stateBackendProblems } from './state-backend';

export interface LoadedTopology {
  readonly topology: Topology;
  readonly warnings: readonly Problem[];
  /** Where the stacks keep their state (the file's `state:`); undefined: a local file per stack. */
  readonly state?: StateBackendSpec;
}

/** What a topology file holds, the recommended layout first. */
const FILE_ALLOWED =
  'a YAML mapping: clusters: (two data centers, named after them) and link: (link.source names the source), or the older primary:, standby: and link:';

function fileProblem(message: string, received: unknown, fix: string): Problem {
  return { path: '(file)', message, received, allowed: FILE_ALLOWED, fix };
}

/** A YAML syntax error: the text of its line as received, and what YAML takes there as allowed. */
function syntaxProblem(message: string, line: string, allowed: string, fix: string): Problem {
  return { path: '(file)', message, received: line.trim(), allowed, fix };
}

/**
 * The character that keeps `value` from being a plain (unquoted) YAML value: an indicator it starts
 * with, ": " or " #" anywhere, and in a flow mapping or list also { } [ ] and ,; undefined if none.
 */
function unquotedIndicator(value: string, inFlow: boolean): string | undefined {
  if (value === '' || /^['"]/.test(value)) return undefined;
  if (/^[{[&*!|>%@`]/.test(value)) return value[0];
  const inner = (inFlow ? /[{}[\],]|: | #|:$/ : /: | #|:$/).exec(value);
  return inner ? inner[0].trim() || ':' : undefined;
}

/** How a message names the character: ": " for a colon, which ends a key. */
const shown = (char: string) => (char === ':' ? '": "' : `"${char}"`);

/** A YAML value quoted as written: single quotes, double quotes when it holds a single quote. */
function quoted(value: string): string {
  return value.includes("'") ? JSON.stringify(value) : `'${value}'`;
}

/**
 * The `key: value` pair of `line` that the 0-based column `at` falls in, with the value as the
 * user meant it: up to the next `, key:` or the closing brace in a flow mapping, to the end of the
 * line (without a comment) otherwise.
 */
function pairAt(line: string, at: number): { key: string; value: string; inFlow: boolean } | undefined {
  const pairs = [...line.matchAll(/(?:^|[\s{,[])([A-Za-z_][\w.-]*)\s*:(?:\s+|$)/g)].map((m) => ({
    key: m[1],
    keyAt: m.index + m[0].indexOf(m[1]),
    valueAt: m.index + m[0].length,
  }));
  const pair = pairs.filter((p) => p.valueAt <= at + 1).pop();
  if (!pair) return undefined;
  const inFlow = /[{[]/.test(line.slice(0, pair.keyAt));
  let rest = line.slice(pair.valueAt);
  if (inFlow) {
    const next = /,\s*[A-Za-z_][\w.-]*\s*:\s/.exec(rest);
    rest = next ? rest.slice(0, next.index) : rest.replace(/\s*[}\]]+\s*(#.*)?$/, '');
  } else {
    rest = rest.replace(/\s+#.*$/, '');
  }
  return { key: pair.key, value: rest.trim(), inFlow };
}

/** The parser's codes in the topology's words: what is wrong, what YAML takes there, and the fix. */
const SYNTAX: Readonly<Record<string, { readonly said?: string; readonly allowed: string; readonly fix: string }>> = {
  TAB_AS_INDENT: {
    said: 'a tab indents this line',
    allowed: 'spaces for indentation',
    fix: 'indent with spaces: YAML does not take tabs for indentation',
  },
  DUPLICATE_KEY: { allowed: 'each key once in a mapping', fix: 'keep one of the two keys of that name' },
  MULTIPLE_DOCS: {
    said: 'a second YAML document starts here',
    allowed: 'one YAML document',
    fix: 'keep one document: the topology is a single YAML document, without a second ---',
  },
  BAD_DQ_ESCAPE: {
    allowed: 'in double quotes, a backslash only as an escape (\\\\, \\", \\n, \\t)',
    fix: 'write the value in single quotes, or double each backslash inside double quotes',
  },
  BAD_INDENT: {
    allowed: 'the keys of one mapping at one column, each { or [ closed on its line',
    fix: 'indent the keys of one mapping to the same column, and close every { or [ on the line it opens',
  },
  MULTILINE_IMPLICIT_KEY: {
    said: 'a key without ": " after it',
    allowed: 'key: value, with a space after the colon',
    fix: 'write "key: value" with a space after the colon, and indent the keys of one mapping to the same column',
  },
  BLOCK_AS_IMPLICIT_KEY: {
    said: 'a mapping starts inside this value (a line below it is indented further)',
    allowed: 'the keys of one mapping at one column',
    fix: 'indent the keys of one mapping to the same column',
  },
  MISSING_CHAR: {
    allowed: 'a quote or bracket closed where the value ends',
    fix: 'close the quote or bracket where the value ends',
  },
};

/**
 * The first syntax error of a YAML text as one problem: where, the line with a caret under the
 * column, and the likely fix. The errors after the first one mostly follow from it.
 */
function yamlSyntaxProblem(text: string, error: YAMLError): Problem {
  const lines = text.split(/\r?\n/);
  let { line: lineNo, col } = error.linePos?.[0] ?? { line: 1, col: 1 };
  // at the end of the file (an unclosed quote or bracket): the last line that has text
  while (lineNo > 1 && (lines[lineNo - 1] ?? '').trim() === '' && lines.slice(lineNo).every((l) => l.trim() === '')) {
    lineNo -= 1;
    col = lines[lineNo - 1].length + 1;
  }
  // a quote that is not closed: where it opens
  const quote = error.code === 'MISSING_CHAR' ? /closing (['"])/.exec(error.message)?.[1] : undefined;
  let opened = false;
  if (quote) {
    for (let n = lineNo; n >= 1; n--) {
      const l = lines[n - 1] ?? '';
      if (l.split(quote).length % 2 === 0) {
        [lineNo, col, opened] = [n, l.lastIndexOf(quote) + 1, true];
        break;
      }
    }
  }
  const line = lines[lineNo - 1] ?? '';
  const gutter = String(lineNo);
  const snippet = `\n      ${gutter} | ${line}\n      ${' '.repeat(gutter.length)} | ${line.slice(0, col - 1).replace(/[^\t]/g, ' ')}^`;
  const where = `line ${lineNo}, column ${col}`;
  // an unquoted value with a character that ends or starts something else: quote it
  const pair = error.code === 'DUPLICATE_KEY' || error.code === 'TAB_AS_INDENT' ? undefined : pairAt(line, col - 1);
  if (pair && /^\[/.test(pair.value) && pair.value.indexOf('[') < col - 1) {
    // a flow list: the item the column falls in
    const open = Math.max(line.lastIndexOf('[', col - 1), line.lastIndexOf(',', col - 1));
    const close = line.indexOf(',', col - 1);
    const item = line
      .slice(open + 1, close >= 0 ? close : line.lastIndexOf(']') > open ? line.lastIndexOf(']') : undefined)
      .trim();
    const char = unquotedIndicator(item, true);
    if (char)
      return syntaxProblem(
        `is not valid YAML: ${where}: an item of ${pair.key} holds an unquoted ${shown(char)}${snippet}`,
        line,
        `an item that holds ${shown(char)} in quotes`,
        `quote the item: ${quoted(item)}`,
      );
  } else if (pair) {
    const char = unquotedIndicator(pair.value, pair.inFlow);
    if (char) {
      return syntaxProblem(
        `is not valid YAML: ${where}: the value of ${pair.key} holds an unquoted ${shown(char)}${pair.inFlow ? ' inside a flow mapping { ... }' : ''}${snippet}`,
        line,
        `a value that holds ${shown(char)} in quotes`,
        `quote the value: ${pair.key}: ${quoted(pair.value)}`,
      );
    }
  }
  const known = SYNTAX[error.code];
  const token =
    error.code === 'DUPLICATE_KEY'
      ? (/^[^\s:]+/.exec(line.slice(col - 1))?.[0] ?? '')
      : error.pos
        ? text.slice(error.pos[0], error.pos[1]).trim()
        : '';
  const parser = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?\s*$/, '');
  const said =
    (opened ? `this ${quote} opens a quoted value that is not closed` : undefined) ??
    known?.said ??
    (error.code === 'DUPLICATE_KEY' && token ? `the key "${token}" appears twice in one mapping` : undefined) ??
    (error.code === 'UNEXPECTED_TOKEN' && token
      ? `unexpected "${token}"`
      : `${parser.charAt(0).toLowerCase()}${parser.slice(1)}`);
  const allowed = opened ? `the closing ${quote} of the value` : (known?.allowed ?? 'valid YAML');
  return syntaxProblem(
    `is not valid YAML: ${where}: ${said}${snippet}`,
    line,
    allowed,
    known?.fix ?? 'fix the YAML syntax at that position (a value with {, }, [, ], ", \', # or ": " in it needs quotes)',
  );
}

/** A problem's printed path as the keys and indices of the document; undefined if it is no plain path. */
function pathParts(path: string): (string | number)[] | undefined {
  const parts = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
  return parts.length > 0 ? parts : undefined;
}

/**
 * A string written as `{...}` or `[...]`: YAML reads it as a mapping or a list, and the schema's
 * "must be a string, not a mapping" does not say why. The problem then names the braces, shows the
 * value as written, and quotes it.
 */
function flowCollectionProblem(p: Problem, doc: Document, text: string): Problem {
  const kind = /^must be a string\b.*, not (a mapping|a list)$/.exec(p.message)?.[1];
  const parts = kind ? pathParts(p.path) : undefined;
  const node = parts ? doc.getIn(parts, true) : undefined;
  if (!kind || !parts || !(isMap(node) || isSeq(node)) || !node.flow || !node.range) return p;
  const written = text.slice(node.range[0], node.range[1]);
  const [open, marks] = isMap(node) ? ['{', 'braces'] : ['[', 'brackets'];
  // `{cp /arch/%f %p}` is one key without a value: the text inside the braces was likely meant
  const one: unknown = node.items.length === 1 ? node.items[0] : undefined;
  const inner = isMap(node) ? isPair(one) && one.value === null : isScalar(one);
  const key = parts[parts.length - 1];
  const as = (value: string) => (typeof key === 'string' ? `${key}: ${quoted(value)}` : quoted(value));
  const fix = inner
    ? `quote it: ${as(written.slice(1, -1).trim())} (or ${quoted(written)}, if the ${marks} belong to the value)`
    : `quote it: ${as(written)}`;
  return {
    ...p,
    message: `${p.message}: YAML reads a value that starts with "${open}" as ${kind}`,
    received: written,
    fix,
  };
}

/** Parses and validates `text`; `source` names the file in messages. */
export function parseTopology(text: string, source: string, linkStateOverride?: string): LoadedTopology {
  if (text.trim() === '') {
    throw new TopologyError(source, [fileProblem('the file is empty', '', 'start from examples/two-dc.yaml')]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  // one slip, one problem: the parser's later errors mostly follow from the first
  if (doc.errors.length > 0) throw new TopologyError(source, [yamlSyntaxProblem(text, doc.errors[0])]);
  let input: unknown;
  try {
    input = doc.toJS();
  } catch (err) {
    // an alias without its anchor, or aliases beyond the parser's limit
    const message = (err as Error).message;
    throw new TopologyError(source, [
      fileProblem(
        `is not valid YAML: ${message}`,
        undefined,
        /alias/i.test(message)
          ? 'set the anchor (&name) above the alias (*name) that repeats it, or write the value out'
          : 'fix the YAML at that place',
      ),
    ]);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new TopologyError(source, [
      fileProblem(
        'the document is not a mapping',
        input,
        'write clusters: and link: at the top level (or the older primary:, standby: and link:)',
      ),
    ]);
  }
  let withOverride = input as Record<string, unknown>;
  if (linkStateOverride !== undefined && linkStateOverride !== '') {
    if (linkStateOverride !== 'following' && linkStateOverride !== 'detached') {
      throw new TopologyError(source, [
        {
          path: 'LINK_STATE (environment)',
          message: 'is not a link state',
          received: linkStateOverride,
          allowed: '"following" or "detached"',
          fix: 'set LINK_STATE=detached for the promotion variant, or unset it',
        },
      ]);
    }
    const link = withOverride.link;
    withOverride = {
      ...withOverride,
      link: { ...(typeof link === 'object' && link !== null ? link : {}), state: linkStateOverride },
    };
  }
  // state: is the stacks', not the clusters': checked here, reported with the topology's problems
  const { state, ...clustersAndLink } = withOverride;
  const stateProblems = state === undefined ? [] : stateBackendProblems(state);
  try {
    const loaded = validateTopology(clustersAndLink, source);
    if (stateProblems.length > 0) throw new TopologyError(source, []);
    return state === undefined ? loaded : { ...loaded, state: state as StateBackendSpec };
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    throw new TopologyError(source, [
      ...err.problems.map((p) => flowCollectionProblem(p, doc, text)),
      ...stateProblems,
    ]);
  }
}

export function loadTopologyFile(file: string, linkStateOverride?: string): LoadedTopology {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TopologyError(file, [
      {
        path: '(file)',
        message: code === 'ENOENT' ? 'the topology file does not exist' : `the topology file cannot be read (${code})`,
        received: file,
        allowed: 'a readable YAML file',
        fix: 'set TOPOLOGY to the path of a topology file, or unset it to use examples/article.yaml',
      },
    ]);
  }
  return parseTopology(text, file, linkStateOverride);
}
