/**
 * Reads a topology file: YAML, the strict schema, the rules table, and the LINK_STATE override.
 * Every problem is reported in one TopologyError.
 */
import * as fs from 'node:fs';
import { parseDocument } from 'yaml';
import { Problem, TopologyError } from '../constructs/errors';
import { Topology } from '../constructs/types';
import { validateTopology } from '../constructs/validate';

export interface LoadedTopology {
  readonly topology: Topology;
  readonly warnings: readonly Problem[];
}

function fileProblem(message: string, received: unknown, fix: string): Problem {
  return { path: '(file)', message, received, allowed: 'a YAML mapping with primary, standby and link', fix };
}

/** Parses and validates `text`; `source` names the file in messages. */
export function parseTopology(text: string, source: string, linkStateOverride?: string): LoadedTopology {
  if (text.trim() === '') {
    throw new TopologyError(source, [fileProblem('the file is empty', '', 'start from examples/article.yaml')]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new TopologyError(
      source,
      doc.errors.map((e) => fileProblem(`is not valid YAML: ${e.message.split('\n')[0]}`, e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : undefined, 'fix the YAML syntax at that position')),
    );
  }
  const input = doc.toJS() as unknown;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new TopologyError(source, [fileProblem('the document is not a mapping', input, 'write primary:, standby: and link: at the top level')]);
  }
  let withOverride = input as Record<string, unknown>;
  if (linkStateOverride !== undefined && linkStateOverride !== '') {
    if (linkStateOverride !== 'following' && linkStateOverride !== 'detached') {
      throw new TopologyError(source, [{
        path: 'LINK_STATE (environment)',
        message: 'is not a link state',
        received: linkStateOverride,
        allowed: '"following" or "detached"',
        fix: 'set LINK_STATE=detached for the promotion variant, or unset it',
      }]);
    }
    const link = withOverride.link;
    withOverride = { ...withOverride, link: { ...(typeof link === 'object' && link !== null ? link : {}), state: linkStateOverride } };
  }
  return validateTopology(withOverride, source);
}

export function loadTopologyFile(file: string, linkStateOverride?: string): LoadedTopology {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TopologyError(file, [{
      path: '(file)',
      message: code === 'ENOENT' ? 'the topology file does not exist' : `the topology file cannot be read (${code})`,
      received: file,
      allowed: 'a readable YAML file',
      fix: 'set TOPOLOGY to the path of a topology file, or unset it to use examples/article.yaml',
    }]);
  }
  return parseTopology(text, file, linkStateOverride);
}
