/**
 * The YAML emitter: whatever it writes, a YAML 1.1 reader (as Patroni's PyYAML) reads back as
 * the same value; every node of both example topologies and a set of treacherous strings.
 */
import { parse } from 'yaml';
import { toYaml } from '../../constructs/planners/yaml-emit';
import { articleTopology, mutate, synthTopology } from './helpers';

const roundTrip = (value: Record<string, unknown>) => parse(toYaml(value), { version: '1.1' });

describe('toYaml', () => {
  test.each([
    'on',
    'off',
    'yes',
    'no',
    'y',
    'N',
    'true',
    'False',
    'null',
    '~',
    '',
    ' ',
    '5432',
    '0x1F',
    '1e3',
    '12:30',
    '1_000',
    '.inf',
    '-1',
    'a: b',
    'a:b',
    '#x',
    'x #y',
    '-x',
    '- x',
    '*a',
    '&a',
    '!t',
    '%x',
    '@x',
    '`x',
    '"q"',
    "it's",
    '[a]',
    '{a}',
    '|',
    '>',
    'multi\nline',
    'tab\there',
    '${VAR}',
    'üñí',
    'C.UTF-8',
    '/usr/lib/postgresql/15/bin',
    'host all postgres all reject',
    '2026-11-26',
  ])('string %j stays a string', (s) => {
    expect(roundTrip({ [s]: s, k: [s, { [s]: s }] })).toEqual({ [s]: s, k: [s, { [s]: s }] });
  });

  test('numbers, booleans, null, empty and nested collections', () => {
    const value = {
      n: 0,
      f: 1.5,
      neg: -3,
      t: true,
      f2: false,
      z: null,
      e: [],
      o: {},
      deep: [[1, [2]], [{ a: [{ b: {} }] }]],
      m: { x: { y: ['a', { c: 1, d: [] }] } },
    };
    expect(roundTrip(value)).toEqual(value);
  });

  test('every node of the article topology, both variants, reads back as its configuration', () => {
    for (const state of ['following', 'detached']) {
      const { stacks } = synthTopology(
        mutate(
          articleTopology(state),
          (t) =>
            (t.primary.postgresql.parameters = {
              ...t.primary.postgresql.parameters,
              archive_mode: 'on',
              search_path: '"$user", public',
            }),
        ),
      );
      for (const cluster of [stacks.primary, stacks.standby]) {
        for (const node of cluster.resolved.nodes) {
          const text = cluster.nodeYaml(node.name);
          expect(text).not.toMatch(/: (on|off|yes|no)$/m);
          expect(parse(text, { version: '1.1' })).toEqual(parse(text, { version: '1.2' }));
        }
      }
    }
  });
});

describe('toYaml writes the plainest form YAML 1.1 reads back unchanged', () => {
  test('exact output: plain where safe, double-quoted where a reader could take it for something else', () => {
    const value = {
      plain: 'C.UTF-8',
      path: '/usr/lib/postgresql/15/bin',
      under_score: '_x',
      dash: 'a-b',
      word: 'replicator',
      on: 'on',
      No: 'No',
      nul: 'null',
      tilde: '~',
      digits: '5432',
      spaced: 'a b',
      colon: 'a:b',
      dollar: '${X}',
      empty: '',
      n: 5432,
      f: 1.5,
      big: 1e21,
      tiny: -2e-7,
      inf: Infinity,
      nan: NaN,
      t: true,
      f2: false,
      z: null,
      skipped: undefined,
      '5432': 'numeric key',
      'on key': 1,
      list: ['a', 'on', 3, null, [], {}, ['x', ['y']], { k: 'v', l: [1] }],
      map: { e: [], o: {}, nested: { deep: 'x' } },
    };
    expect(toYaml(value)).toBe(
      [
        // JavaScript puts integer-like keys first
        '"5432": "numeric key"',
        'plain: C.UTF-8',
        'path: /usr/lib/postgresql/15/bin',
        'under_score: _x',
        'dash: a-b',
        'word: replicator',
        '"on": "on"',
        '"No": "No"',
        'nul: "null"',
        'tilde: "~"',
        'digits: "5432"',
        'spaced: "a b"',
        'colon: "a:b"',
        'dollar: "${X}"',
        'empty: ""',
        '"n": 5432', // n is false in YAML 1.1
        'f: 1.5',
        'big: 1.0e+21',
        'tiny: -2.0e-7',
        'inf: "Infinity"',
        'nan: "NaN"',
        't: true',
        'f2: false',
        'z: null',
        '"on key": 1',
        'list:',
        '  - a',
        '  - "on"',
        '  - 3',
        '  - null',
        '  - []',
        '  - {}',
        '  - - x',
        '    - - "y"',
        '  - k: v',
        '    l:',
        '      - 1',
        'map:',
        '  e: []',
        '  o: {}',
        '  nested:',
        '    deep: x',
        '',
      ].join('\n'),
    );
  });

  test.each([
    'y',
    'Y',
    'yes',
    'Yes',
    'YES',
    'n',
    'N',
    'no',
    'NO',
    'true',
    'True',
    'TRUE',
    'false',
    'False',
    'FALSE',
    'On',
    'ON',
    'off',
    'Off',
    'OFF',
    'Null',
    'NULL',
  ])('%s is quoted', (word) => {
    expect(toYaml({ k: word })).toBe(`k: "${word}"\n`);
  });
});

test('null, undefined, booleans and numbers as scalars, in maps and in lists', () => {
  expect(toYaml({ a: null, b: [null, true, false, 0, -1.5, 1e21], c: false } as never)).toBe(
    'a: null\nb:\n  - null\n  - true\n  - false\n  - 0\n  - -1.5\n  - 1.0e+21\nc: false\n',
  );
});
