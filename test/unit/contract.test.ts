/**
 * The contract between the stacks and the programs they run (runtime/contract.ts): every program
 * configuration that a synthesized stack hands a program, for every topology the tests use and
 * every variant (following, promotion, disaster, re-seed, switchover, an existing source, REST
 * authentication, null_resource), parses with that program's schema. A field renamed on one side
 * only fails here (or in the type check), not only in the end-to-end suites.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { buildStandbyStacks } from '../../stacks/standby-stacks';
import { parseTopology } from '../../stacks/topology-file';
import { Testing } from 'cdktf';
import { ConfigError, parseConfig, ProgramName, PROGRAMS } from '../../runtime/contract';
import { mutate } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** The topologies the tests use, as parsed YAML documents. */
function topologies(): Record<string, any> {
  const article = parse(read('examples/article.yaml'));
  const twoDc = parse(read('examples/two-dc.yaml'));
  const e2e = parse(read('test/e2e/topology.template.yaml').replace(/@WORK@/g, '/tmp/work'));
  const layout = (t: any, source: string) => ({
    clusters: { dc1: t.primary, dc2: t.standby },
    link: { ...t.link, source },
  });
  return {
    article,
    'article, promotion': mutate(article, (t) => (t.link.state = 'detached')),
    'article, disaster promotion keeping the slot': mutate(article, (t) =>
      Object.assign(t.link, { state: 'detached', promotion: { disaster: true, keepSourceSlot: true } }),
    ),
    'article, re-seed': mutate(article, (t) => (t.link.reseed = { cluster: 'standby', generation: 3 })),
    'article, REST authentication and null_resource': mutate(article, (t) => {
      for (const c of [t.primary, t.standby]) {
        c.patroni = { restApiUsername: 'patroni', restApiPasswordEnv: 'DC_REST_PASSWORD' };
        c.deploy = { resourceKind: 'null_resource' };
      }
    }),
    'article, an existing source': mutate(article, (t) => {
      t.primary = {
        mode: 'existing',
        scope: t.primary.scope,
        dcs: t.primary.dcs,
        nodes: t.primary.nodes,
        postgresql: { version: 16, pgHba: ['host replication replicator 192.168.122.97/32 scram-sha-256'] },
      };
    }),
    'two data centers, dc1 the source': twoDc,
    'two data centers after a switchover': mutate(twoDc, (t) => (t.link.source = 'dc2')),
    'the end-to-end topology': e2e,
    'the end-to-end topology as two data centers, dc2 the source': layout(e2e, 'dc2'),
  };
}

const unescape = (text: string) => text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');

/** Every configuration handed to a program in a stack's JSON: [program, where, text]. */
function configsOf(stack: string, json: any): [ProgramName, string, string][] {
  const out: [ProgramName, string, string][] = [];
  for (const [type, byName] of Object.entries(json.resource ?? {}) as [string, Record<string, any>][]) {
    for (const [name, r] of Object.entries(byName)) {
      const values = r.input ?? r.triggers ?? {};
      const where = `${stack}: ${type}.${name}`;
      if (values.role_config) out.push(['roleChange', where, unescape(values.role_config)]);
      if (values.reseed_config) out.push(['reseed', where, unescape(values.reseed_config)]);
      if (values.gate_config) out.push(['health', where, unescape(values.gate_config)]);
      for (const p of r.provisioner ?? []) {
        const env = p['local-exec']?.environment ?? {};
        if (env[PROGRAMS.patch.configEnv]) out.push(['patch', where, unescape(env[PROGRAMS.patch.configEnv])]);
      }
    }
  }
  return out;
}

describe('every program configuration a stack hands a program parses with its schema', () => {
  const all: [string, ProgramName, string, string][] = [];
  for (const [topologyName, doc] of Object.entries(topologies())) {
    const { topology } = parseTopology(stringify(doc), `${topologyName}.yaml`);
    const app = Testing.app();
    const built = buildStandbyStacks(app, topology);
    for (const stack of Object.values(built.stacks)) {
      for (const [program, where, text] of configsOf(stack.node.id, JSON.parse(Testing.synth(stack))))
        all.push([topologyName, program, where, text]);
    }
  }

  test('each program is handed a configuration somewhere', () => {
    expect([...new Set(all.map(([, program]) => program))].sort()).toEqual(['health', 'patch', 'reseed', 'roleChange']);
    expect(all.length).toBeGreaterThanOrEqual(50);
  });

  test.each(all.map(([t, program, where, text]) => [`${t} — ${program} — ${where}`, program, text] as const))(
    '%s',
    (_name, program, text) => {
      expect(() => parseConfig(program, text)).not.toThrow();
    },
  );
});

describe('a configuration that does not match is refused, naming the variable and the field', () => {
  test.each<[ProgramName, string | undefined, RegExp]>([
    ['roleChange', undefined, /^ROLE_CHANGE_CONFIG is not set/],
    ['health', '{"state":', /^LINK_HEALTH_CONFIG is not JSON/],
    [
      'patch',
      JSON.stringify({
        label: 'x',
        endpoint: ['http://a:8008'],
        timeoutSeconds: 5,
        sections: 'all',
        strict: true,
        optional: false,
        guardStandby: [],
        hotStandbySource: [],
        restPasswordEnv: 'P',
      }),
      /^PATRONI_PATCH_CONFIG does not match .*endpoints: .*; \(root\): Unrecognized key: "endpoint"/,
    ],
    ['reseed', JSON.stringify({ generation: 0 }), /^RESEED_CONFIG does not match .*generation: /],
  ])('%s', (program, text, expected) => {
    expect(() => parseConfig(program, text)).toThrow(ConfigError);
    expect(() => parseConfig(program, text)).toThrow(expected);
  });
});
