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
    'on', 'off', 'yes', 'no', 'y', 'N', 'true', 'False', 'null', '~', '', ' ', '5432', '0x1F', '1e3', '12:30', '1_000', '.inf', '-1',
    'a: b', 'a:b', '#x', 'x #y', '-x', '- x', '*a', '&a', '!t', '%x', '@x', '`x', '"q"', "it's", '[a]', '{a}', '|', '>',
    'multi\nline', 'tab\there', '${VAR}', 'üñí', 'C.UTF-8', '/usr/lib/postgresql/15/bin', 'host all postgres all reject', '2026-11-26',
  ])('string %j stays a string', (s) => {
    expect(roundTrip({ [s]: s, k: [s, { [s]: s }] })).toEqual({ [s]: s, k: [s, { [s]: s }] });
  });

  test('numbers, booleans, null, empty and nested collections', () => {
    const value = { n: 0, f: 1.5, neg: -3, t: true, f2: false, z: null, e: [], o: {}, deep: [[1, [2]], [{ a: [{ b: {} }] }]], m: { x: { y: ['a', { c: 1, d: [] }] } } };
    expect(roundTrip(value)).toEqual(value);
  });

  test('every node of the article topology, both variants, reads back as its configuration', () => {
    for (const state of ['following', 'detached']) {
      const { stacks } = synthTopology(mutate(articleTopology(state), (t) => (t.primary.postgresql.parameters = { ...t.primary.postgresql.parameters, archive_mode: 'on', search_path: '"$user", public' })));
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
