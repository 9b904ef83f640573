/**
 * The rendered patroni.yml read back by the parser Patroni itself uses (PyYAML, YAML 1.1), for
 * the article's topology and for values that YAML 1.1 reads differently from YAML 1.2: booleans
 * as words, sexagesimal numbers, exponents without a dot, octal-looking strings, control
 * characters. PyYAML comes with Debian's patroni package, which the test command installs.
 */
import { spawnSync } from 'node:child_process';
import { nodeConfig, renderNodeYaml } from '../../constructs/planners/patroni-yaml';
import { resolveCluster } from '../../constructs/resolve';
import { articleTopology } from '../unit/helpers';
import { toYaml } from '../../constructs/planners/yaml-emit';

function pyyaml(text: string): unknown {
  const res = spawnSync(
    'python3',
    ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'],
    { input: text, encoding: 'utf8' },
  );
  if (res.status !== 0)
    throw new Error(
      `PyYAML could not read the text (is python3-yaml installed? the README's test command installs it with patroni): ${res.stderr}`,
    );
  return JSON.parse(res.stdout);
}

test('every node of the article topology reads back identically in PyYAML', () => {
  const t = articleTopology();
  for (const spec of [t.primary, t.standby]) {
    const cluster = resolveCluster(spec);
    for (const node of cluster.nodes) {
      expect(pyyaml(renderNodeYaml(cluster, node, []))).toEqual(
        JSON.parse(JSON.stringify(nodeConfig(cluster, node, []))),
      );
    }
  }
});

test('values YAML 1.1 reads differently stay what they are', () => {
  const tricky = {
    words: ['on', 'off', 'yes', 'no', 'y', 'n', 'On', 'NO', '~', 'null', 'true'],
    numbers_as_text: [
      '1:30',
      '190:20:30',
      '0777',
      '0x1F',
      '1_000',
      '1e3',
      '.5',
      '-.inf',
      '.NaN',
      '2024-01-01',
      '12',
      '+1',
    ],
    numbers: [1e21, -2.5e-7, 0.1, 12, -3, 1048576, 5e-324],
    control: ['tab\there', 'bell\u0007', 'nul\u0000end', 'line\nbreak', 'quote"and\\backslash', 'unicode é ✓'],
    indicators: [
      '- dash',
      ': colon',
      '#hash',
      '&anchor',
      '*alias',
      '!tag',
      '%percent',
      '@at',
      '`tick',
      '{brace',
      '[bracket',
      "'single",
      '|pipe',
      '>fold',
      '?q',
      'a: b',
      'a #b',
      ' lead',
      'trail ',
    ],
    empty: ['', {}, []],
    'key: with colon': 'v',
    on: 'key that is a boolean word',
  };
  expect(pyyaml(toYaml(tricky as never))).toEqual(JSON.parse(JSON.stringify(tricky)));
});
