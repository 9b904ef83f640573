/**
 * What the user reads for a slip in the topology, word for word: a YAML syntax error as one
 * problem under its line, addresses written the way they are used (the source's VIP, a node's
 * pg_hba address, an IPv6 DCS host), a key in the wrong place named where it belongs, and the
 * schema's checks in the topology's own words, never zod's.
 */
import { stringify } from 'yaml';
import { formatProblem, TopologyError } from '../../constructs/errors';
import { resolveCluster, resolveLink } from '../../constructs/resolve';
import { checkRules, WARNING_IDS } from '../../constructs/rules';
import { parseTopology } from '../../stacks/topology-file';
import { articleTopology, mutate } from './helpers';

const base = articleTopology();

/** The article's clusters in the clusters: layout, fra the source, ber its standby, with a change. */
function layout(change: (t: any) => void = () => undefined): any {
  const copy = JSON.parse(
    JSON.stringify({ clusters: { fra: base.primary, ber: base.standby }, link: { ...base.link, source: 'fra' } }),
  );
  change(copy);
  return copy;
}

/** The TopologyError of a YAML text; fails when there is none. */
function errorOf(text: string, source = 'x.yaml'): TopologyError {
  try {
    parseTopology(text, source);
  } catch (err) {
    if (err instanceof TopologyError) return err;
    throw err;
  }
  throw new Error('no error');
}

/** Each problem as `path: message`; none for a topology that passes. */
function problemsOf(input: unknown): string[] {
  try {
    parseTopology(stringify(input), 'x.yaml');
    return [];
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
}

/** Each problem whole, as printed. */
function printed(input: unknown): string[] {
  try {
    parseTopology(stringify(input), 'x.yaml');
    return [];
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    return err.problems.map(formatProblem);
  }
}

/** Each problem as its message and fix, for the tables. */
function messageAndFix(input: unknown): { message: string; fix: string }[] {
  try {
    parseTopology(stringify(input), 'x.yaml');
    return [];
  } catch (err) {
    if (!(err instanceof TopologyError)) throw err;
    return err.problems.map((p) => ({ message: `${p.path}: ${p.message}`, fix: p.fix }));
  }
}

const FILE_ALLOWED =
  'a YAML mapping: clusters: (two data centers, named after them) and link: (link.source names the source), or the older primary:, standby: and link:';

describe('a YAML slip is one problem: its line, a caret under the column, the likely fix', () => {
  // a clusters: topology whose deploy block has an unquoted {configName} inside a flow mapping
  const SLIP = `clusters:
  fra:
    scope: pgcluster
    dcs: { type: etcd3, hosts: ['10.1.0.21:2379'] }
    nodes:
      - { name: fra1, host: 10.1.0.11 }
    deploy: { configPath: /etc/patroni/{configName}.yml }
  ber:
    scope: pgcluster
    dcs: { type: etcd3, hosts: ['10.2.0.21:2379'] }
    nodes:
      - { name: ber1, host: 10.2.0.11 }
link:
  source: fra
  slotName: ber_slot
`;
  const MESSAGE = [
    'x.yaml has 1 problem:',
    '  1. (file): is not valid YAML: line 7, column 40: the value of configPath holds an unquoted "{" inside a flow mapping { ... }',
    '      7 |     deploy: { configPath: /etc/patroni/{configName}.yml }',
    '        |                                        ^',
    '    received: "deploy: { configPath: /etc/patroni/{configName}.yml }"',
    '    allowed:  a value that holds "{" in quotes',
    "    fix:      quote the value: configPath: '/etc/patroni/{configName}.yml'",
  ].join('\n');

  test('an unquoted {configName} in a flow mapping: the first error alone, the line, the caret and the quoting', () => {
    expect(errorOf(SLIP).message).toBe(MESSAGE);
  });

  test('the fix it names is the fix: quoted, the same topology parses', () => {
    const fixed = SLIP.replace(
      'configPath: /etc/patroni/{configName}.yml',
      "configPath: '/etc/patroni/{configName}.yml'",
    );
    expect(parseTopology(fixed, 'x.yaml').topology.primary.deploy?.configPath).toBe('/etc/patroni/{configName}.yml');
  });

  // received: the text of the line, trimmed; allowed: what YAML takes there (the layout is no matter here)
  test.each<[string, string, string, string, string, string]>([
    [
      '": " in a plain value',
      'link:\n  restoreCommand: cp /wal/%f %p; echo note: done\n',
      'is not valid YAML: line 2, column 19: the value of restoreCommand holds an unquoted ": "\n      2 |   restoreCommand: cp /wal/%f %p; echo note: done\n        |                   ^',
      'restoreCommand: cp /wal/%f %p; echo note: done',
      'a value that holds ": " in quotes',
      "quote the value: restoreCommand: 'cp /wal/%f %p; echo note: done'",
    ],
    [
      '"{" in an item of a flow list',
      'link:\n  createReplicaMethods: [ /x/{name} ]\n',
      'is not valid YAML: line 2, column 30: an item of createReplicaMethods holds an unquoted "{"\n      2 |   createReplicaMethods: [ /x/{name} ]\n        |                              ^',
      'createReplicaMethods: [ /x/{name} ]',
      'an item that holds "{" in quotes',
      "quote the item: '/x/{name}'",
    ],
    [
      'a value that starts with "{"',
      'link:\n  restoreCommand: {cmd} %f\n',
      'is not valid YAML: line 2, column 25: the value of restoreCommand holds an unquoted "{"\n      2 |   restoreCommand: {cmd} %f\n        |                         ^',
      'restoreCommand: {cmd} %f',
      'a value that holds "{" in quotes',
      "quote the value: restoreCommand: '{cmd} %f'",
    ],
    [
      'a tab as indentation',
      'link:\n\tport: 5432\n',
      'is not valid YAML: line 2, column 1: a tab indents this line\n      2 | \tport: 5432\n        | ^',
      'port: 5432',
      'spaces for indentation',
      'indent with spaces: YAML does not take tabs for indentation',
    ],
    [
      'a key twice',
      'link:\n  port: 5432\n  port: 5433\n',
      'is not valid YAML: line 3, column 3: the key "port" appears twice in one mapping\n      3 |   port: 5433\n        |   ^',
      'port: 5433',
      'each key once in a mapping',
      'keep one of the two keys of that name',
    ],
    [
      'a quote not closed: where it opens',
      "link:\n  slotName: 'dr_slot\n  port: 5432\n",
      "is not valid YAML: line 2, column 13: this ' opens a quoted value that is not closed\n      2 |   slotName: 'dr_slot\n        |             ^",
      "slotName: 'dr_slot",
      "the closing ' of the value",
      'close the quote or bracket where the value ends',
    ],
    [
      'a second document',
      'link:\n  port: 5432\n---\nlink: {}\n',
      'is not valid YAML: line 3, column 1: a second YAML document starts here\n      3 | ---\n        | ^',
      '---',
      'one YAML document',
      'keep one document: the topology is a single YAML document, without a second ---',
    ],
  ])('%s', (_name, text, message, received, allowed, fix) => {
    const err = errorOf(text);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toEqual({ path: '(file)', message, received, allowed, fix });
  });

  test('a syntax error of another kind: the line as received, and "valid YAML" as allowed', () => {
    expect(formatProblem(errorOf('link:\n  port: 5432\n  ]\n').problems[0])).toBe(
      '(file): is not valid YAML: line 3, column 3: unexpected "]"\n      3 |   ]\n        |   ^\n    received: "]"\n    allowed:  valid YAML\n    fix:      fix the YAML syntax at that position (a value with {, }, [, ], ", \', # or ": " in it needs quotes)',
    );
  });

  test('an alias without its anchor: a problem, not a stack trace', () => {
    const err = errorOf('link:\n  slotName: *slot\n');
    expect(formatProblem(err.problems[0])).toBe(
      `(file): is not valid YAML: Unresolved alias (the anchor must be set before the alias): slot\n    received: (missing)\n    allowed:  ${FILE_ALLOWED}\n    fix:      set the anchor (&name) above the alias (*name) that repeats it, or write the value out`,
    );
  });

  test('not a mapping: the fix names the clusters: layout first', () => {
    expect(formatProblem(errorOf('- fra\n- ber\n').problems[0])).toBe(
      `(file): the document is not a mapping\n    received: ["fra","ber"]\n    allowed:  ${FILE_ALLOWED}\n    fix:      write clusters: and link: at the top level (or the older primary:, standby: and link:)`,
    );
  });
});

describe('link.sourceVip is an address, as a node host is', () => {
  test('a scheme: refused, whole', () => {
    expect(printed(layout((t) => (t.link.sourceVip = 'http://10.20.1.100')))).toEqual([
      'link.sourceVip: is not an IP address or host name\n    received: "http://10.20.1.100"\n    allowed:  one IPv4/IPv6 address or DNS name (the source cluster\'s VIP), without scheme or port\n    fix:      write only the address: 10.20.1.100',
    ]);
  });

  test.each<[string, string]>([
    ['10.20.1.300', "write the VIP's IPv4 address, four numbers from 0 to 255 (e.g. 192.168.122.200), or its DNS name"],
    ['10.20.1.100:5432', 'write only the address: 10.20.1.100 (the port is set in link.port)'],
    ['[2001:db8::100]:5432', 'write only the address: 2001:db8::100 (the port is set in link.port)'],
    ['https://pg-vip.example.com:5432/', 'write only the address: pg-vip.example.com (the port is set in link.port)'],
    [
      '192.168.122.237,192.168.122.93',
      "write one address: the VIP or DNS name that always reaches the source's leader (without sourceVip the standby follows every primary node)",
    ],
    ['pg vip', "write the VIP's address or DNS name, e.g. 192.168.122.200 or pg-primary.example.com"],
  ])('%s: refused', (vip, fix) => {
    expect(messageAndFix(layout((t) => (t.link.sourceVip = vip)))).toEqual([
      { message: 'link.sourceVip: is not an IP address or host name', fix },
    ]);
  });

  test.each(['10.20.1.100', '2001:db8::100', 'pg-vip.example.com'])('%s: accepted', (vip) => {
    expect(problemsOf(layout((t) => (t.link.sourceVip = vip)))).toEqual([]);
  });
});

describe("a node's hbaAddress admits the node, not a network, unless acknowledged", () => {
  const WIDER =
    'is a /32 network, not one host: the generated pg_hba lines would admit replication and pg_rewind connections from every IPv6 address in it';

  test('an IPv6 node with a /32: refused, whole', () => {
    expect(
      printed(
        layout((t) => Object.assign(t.clusters.ber.nodes[0], { host: '2001:db8::21', hbaAddress: '2001:db8::21/32' })),
      ),
    ).toEqual([
      `clusters.ber.nodes[0].hbaAddress: ${WIDER}\n    received: "2001:db8::21/32"\n    allowed:  /128, the node's own address (2001:db8::21/128), or a wider network acknowledged in link.acknowledgeWarnings\n    fix:      write 2001:db8::21/128 (the node alone), or, if the whole network is meant, acknowledge it: link.acknowledgeWarnings: [{ id: hba-address-wider-than-host, reason: <why the network is admitted> }]`,
    ]);
  });

  test('an IPv4 node with a /24: refused the same way', () => {
    expect(messageAndFix(layout((t) => (t.clusters.fra.nodes[1].hbaAddress = '192.168.122.0/24')))).toEqual([
      {
        message:
          'clusters.fra.nodes[1].hbaAddress: is a /24 network, not one host: the generated pg_hba lines would admit replication and pg_rewind connections from every IPv4 address in it',
        fix: 'write 192.168.122.93/32 (the node alone), or, if the whole network is meant, acknowledge it: link.acknowledgeWarnings: [{ id: hba-address-wider-than-host, reason: <why the network is admitted> }]',
      },
    ]);
  });

  test("another address family than the host's, or no prefix: refused", () => {
    expect(messageAndFix(layout((t) => (t.clusters.fra.nodes[0].hbaAddress = '2001:db8::21/128')))).toEqual([
      {
        message:
          "clusters.fra.nodes[0].hbaAddress: is an IPv6 CIDR, but the node's host 192.168.122.237 is an IPv4 address: pg_hba would never admit the node's connections from it",
        fix: 'write 192.168.122.237/32 (the node alone), or remove hbaAddress: that is the default',
      },
    ]);
    expect(
      messageAndFix(
        layout((t) => Object.assign(t.clusters.fra.nodes[0], { host: '2001:db8::21', hbaAddress: '192.168.122.0/32' })),
      ),
    ).toEqual([
      {
        message:
          "clusters.fra.nodes[0].hbaAddress: is an IPv4 CIDR, but the node's host 2001:db8::21 is an IPv6 address: pg_hba would never admit the node's connections from it",
        fix: 'write 2001:db8::21/128 (the node alone), or remove hbaAddress: that is the default',
      },
    ]);
    expect(messageAndFix(layout((t) => (t.clusters.fra.nodes[0].hbaAddress = '192.168.122.237')))).toEqual([
      {
        message:
          'clusters.fra.nodes[0].hbaAddress: is not an address pg_hba can take: needs a prefix length (like 192.168.122.237/32)',
        fix: 'write 192.168.122.237/32 (the node alone), or remove hbaAddress: that is the default',
      },
    ]);
  });

  test("the node's own /32 or /128, the default, or a host name: accepted", () => {
    expect(
      problemsOf(
        layout((t) => Object.assign(t.clusters.ber.nodes[0], { host: '2001:db8::21', hbaAddress: '2001:db8::21/128' })),
      ),
    ).toEqual([]);
    expect(problemsOf(layout((t) => (t.clusters.ber.nodes[0].host = '2001:db8::21')))).toEqual([]);
    expect(problemsOf(layout((t) => (t.clusters.ber.nodes[0].hbaAddress = '192.168.122.97/32')))).toEqual([]);
    expect(problemsOf(layout((t) => (t.clusters.fra.nodes[0].hbaAddress = 'so1.example.com')))).toEqual([]);
  });

  test('the rule is acknowledgeable: its id is one link.acknowledgeWarnings takes, and an acknowledgement leaves it out', () => {
    expect(WARNING_IDS).toContain('hba-address-wider-than-host');
    const wide = layout((t) => (t.clusters.fra.nodes[1].hbaAddress = '192.168.122.0/24'));
    const acknowledged = mutate(
      wide,
      (t) =>
        (t.link.acknowledgeWarnings = [
          { id: 'hba-address-wider-than-host', reason: 'the nodes take addresses from DHCP' },
        ]),
    );
    expect(problemsOf(acknowledged).filter((p) => p.startsWith('link.acknowledgeWarnings'))).toEqual([]);
    expect(problemsOf(acknowledged)).toEqual([]);
    // the rules themselves, with and without the acknowledgement
    const primary = resolveCluster(wide.clusters.fra);
    const ctx = {
      primary,
      standby: resolveCluster(wide.clusters.ber),
      link: resolveLink(wide.link, primary),
      where: { primary: 'clusters.fra', standby: 'clusters.ber', link: 'link' },
    };
    expect(checkRules(ctx).errors.map((e) => `${e.id} ${e.path}`)).toEqual([
      'hba-address-wider-than-host clusters.fra.nodes[1].hbaAddress',
    ]);
    expect(checkRules(ctx, ['hba-address-wider-than-host']).errors).toEqual([]);
  });
});

describe('an IPv6 DCS host is written in brackets', () => {
  test.each<[string, string, string]>([
    [
      '2001:db8::10:2379',
      'must be host:port; an IPv6 address is written in brackets, [2001:db8::10]:2379',
      'write [2001:db8::10]:2379',
    ],
    ['::1:2379', 'must be host:port; an IPv6 address is written in brackets, [::1]:2379', 'write [::1]:2379'],
    [
      '2001:db8::10',
      'must be host:port; an IPv6 address is written in brackets, [2001:db8::10]:2379',
      'write [2001:db8::10]:2379 (with the port the DCS listens on)',
    ],
    ['[2001:db8::10]', 'must be host:port', 'add the port the DCS listens on, e.g. [2001:db8::10]:2379'],
    [
      'http://192.168.122.237:2379',
      'must be host:port, without a scheme',
      'write 192.168.122.237:2379 (dcs.protocol or dcs.scheme sets http or https)',
    ],
    [
      '192.168.122.237:99999',
      'must be host:port with a port from 1 to 65535',
      'write the port the DCS listens on, e.g. 192.168.122.237:2379',
    ],
    ['192.168.122.237', 'must be host:port', 'add the port the DCS listens on'],
  ])('%s', (host, message, fix) => {
    expect(messageAndFix(layout((t) => (t.clusters.fra.dcs.hosts = [host])))).toEqual([
      { message: `clusters.fra.dcs.hosts[0]: ${message}`, fix },
    ]);
  });

  test('the allowed forms name the bracketed one', () => {
    expect(printed(layout((t) => (t.clusters.fra.dcs.hosts = ['2001:db8::10:2379'])))[0].split('\n')[2]).toBe(
      '    allowed:  host:port, e.g. 10.0.0.1:2379, or [2001:db8::10]:2379 for an IPv6 address',
    );
  });

  test.each(['[2001:db8::10]:2379', 'etcd-1.example.com:2379'])('%s: accepted', (host) => {
    expect(problemsOf(layout((t) => (t.clusters.fra.dcs.hosts = [host])))).toEqual([]);
  });
});

describe('a key in the wrong place: where it belongs', () => {
  test.each<[string, (t: any) => void, string, string]>([
    [
      'port on the cluster',
      (t) => (t.clusters.fra.port = 5432),
      'clusters.fra.port: unknown key "port" here: did you mean postgresql.port?',
      'move "port" to clusters.fra.postgresql.port',
    ],
    [
      'ttl on the cluster',
      (t) => (t.clusters.fra.ttl = 30),
      'clusters.fra.ttl: unknown key "ttl" here: did you mean patroni.ttl?',
      'move "ttl" to clusters.fra.patroni.ttl',
    ],
    [
      'ttl under postgresql',
      (t) => (t.clusters.fra.postgresql.ttl = 30),
      'clusters.fra.postgresql.ttl: unknown key "ttl" here: did you mean patroni.ttl?',
      'move "ttl" to clusters.fra.patroni.ttl',
    ],
    [
      'port on a node',
      (t) => (t.clusters.ber.nodes[0].port = 5432),
      'clusters.ber.nodes[0].port: unknown key "port" here: did you mean postgresql.port?',
      'move "port" to clusters.ber.postgresql.port',
    ],
    [
      "a cluster's key on a node",
      (t) => (t.clusters.fra.nodes[1].scope = 'x'),
      'clusters.fra.nodes[1].scope: unknown key "scope" here: did you mean clusters.fra.scope?',
      'move "scope" to clusters.fra.scope',
    ],
    [
      'two places of that name',
      (t) => (t.clusters.fra.host = '10.1.0.11'),
      'clusters.fra.host: unknown key "host" here: did you mean dcs.host or nodes[].host?',
      'move "host" to clusters.fra.dcs.host or clusters.fra.nodes[].host',
    ],
    [
      'a role-change key under promotion',
      (t) => (t.link.promotion = { maxLagBytes: 1024 }),
      'link.promotion.maxLagBytes: unknown key "maxLagBytes" here: did you mean roleChange.maxLagBytes?',
      'move "maxLagBytes" to link.roleChange.maxLagBytes',
    ],
    [
      'user on the link',
      (t) => (t.link.user = 'monitor'),
      'link.user: unknown key "user" here: did you mean promotion.user or monitoring.user?',
      'move "user" to link.promotion.user or link.monitoring.user',
    ],
    [
      'a close spelling stays a spelling',
      (t) => (t.clusters.fra.scop = 'x'),
      'clusters.fra.scop: unknown key "scop"',
      'rename "scop" to "scope"',
    ],
    [
      'a transposition with no field of that name',
      (t) => (t.clusters.fra.postgresql.prot = 5432),
      'clusters.fra.postgresql.prot: unknown key "prot"',
      'rename "prot" to "port"',
    ],
    [
      "a slot's keys are the slot's (nothing around a record's entry is meant)",
      (t) => (t.clusters.fra.patroni = { permanentSlots: { s1: { type: 'physical', version: 16 } } }),
      'clusters.fra.patroni.permanentSlots.s1.version: unknown key "version"',
      'remove "version" or check its spelling',
    ],
    [
      "the link's slotName on a cluster: across to the link",
      (t) => (t.clusters.fra.slotName = 'ber_slot'),
      'clusters.fra.slotName: unknown key "slotName" here: did you mean link.slotName?',
      'move "slotName" to link.slotName',
    ],
    [
      'a link key deeper in a cluster: across to the link',
      (t) => (t.clusters.ber.postgresql.restoreCommand = 'cp /arch/%f %p'),
      'clusters.ber.postgresql.restoreCommand: unknown key "restoreCommand" here: did you mean link.restoreCommand?',
      'move "restoreCommand" to link.restoreCommand',
    ],
    [
      'link.source on a cluster: across to the link',
      (t) => (t.clusters.ber.source = 'fra'),
      'clusters.ber.source: unknown key "source" here: did you mean link.source?',
      'move "source" to link.source',
    ],
    [
      "a cluster's key under link: across to both clusters",
      (t) => (t.link.scope = 'pgcluster'),
      'link.scope: unknown key "scope" here: did you mean clusters.fra.scope or clusters.ber.scope?',
      'move "scope" to clusters.fra.scope or clusters.ber.scope',
    ],
  ])('%s', (_name, change, message, fix) => {
    expect(messageAndFix(layout(change))).toEqual([{ message, fix }]);
  });

  test('the primary:/standby: layout: the same, relative to the cluster', () => {
    expect(messageAndFix(mutate(base, (t) => (t.primary.port = 5432)))).toEqual([
      {
        message: 'primary.port: unknown key "port" here: did you mean postgresql.port?',
        fix: 'move "port" to primary.postgresql.port',
      },
    ]);
  });

  test('the primary:/standby: layout: a link key in a cluster, and a cluster key under link:, point across', () => {
    expect(messageAndFix(mutate(base, (t) => (t.standby.slotName = 'dr_slot')))).toEqual([
      {
        message: 'standby.slotName: unknown key "slotName" here: did you mean link.slotName?',
        fix: 'move "slotName" to link.slotName',
      },
    ]);
    expect(messageAndFix(mutate(base, (t) => (t.link.nodes = [])))).toEqual([
      {
        message: 'link.nodes: unknown key "nodes" here: did you mean primary.nodes or standby.nodes?',
        fix: 'move "nodes" to primary.nodes or standby.nodes',
      },
    ]);
  });
});

describe("the clusters: layout's own slips: the fix in the topology's own names", () => {
  test('no link: the skeleton to add, with a cluster of the file as the source', () => {
    expect(printed(layout((t) => delete t.link))).toEqual([
      "link: is required\n    received: (missing)\n    allowed:  a mapping: source (fra or ber) and the link's settings\n    fix:      add link: { source: fra, slotName: <name>, monitoring: { user: monitor, addresses: [<the pipeline's address>] } }",
    ]);
  });

  test('no link.source: the clusters it may name', () => {
    expect(printed(layout((t) => delete t.link.source))).toEqual([
      'link.source: is required\n    received: (missing)\n    allowed:  fra or ber\n    fix:      add link.source: fra (the cluster that is the primary now)',
    ]);
  });

  test.each<[string, (t: any) => void, string, string]>([
    [
      'upper case',
      (t) => {
        t.clusters.Ber = t.clusters.ber;
        delete t.clusters.ber;
      },
      'Ber',
      'rename the cluster to ber',
    ],
    [
      'upper case, the source',
      (t) => {
        t.clusters.Fra = t.clusters.fra;
        delete t.clusters.fra;
        t.link.source = 'Fra';
      },
      'Fra',
      'rename the cluster to fra, and set link.source: fra',
    ],
    [
      'an underscore',
      (t) => {
        t.clusters.BER_2 = t.clusters.ber;
        delete t.clusters.ber;
      },
      'BER_2',
      'rename the cluster to ber-2',
    ],
    [
      'no valid name near it',
      (t) => {
        t.clusters['2nd'] = t.clusters.ber;
        delete t.clusters.ber;
      },
      '2nd',
      'rename the cluster (and link.source)',
    ],
  ])('a cluster name that cannot name a stack, %s: the valid name, when there is one', (_name, change, name, fix) => {
    expect(messageAndFix(layout(change))).toEqual([
      {
        message: `clusters.${name}: a cluster name is lower-case letters, digits and -, starting with a letter (it names a stack and a state file)`,
        fix,
      },
    ]);
  });

  test("a member name used twice: the fix names the clusters' own data centers, not the article's members", () => {
    expect(messageAndFix(layout((t) => (t.clusters.ber.nodes[0].name = 'so1')))).toEqual([
      {
        message: 'clusters.ber.nodes[0].name: member name is already used by clusters.fra.nodes[0]',
        fix: 'rename one of the members, e.g. prefix each member with its data center: fra-1, ber-1',
      },
    ]);
  });
});

describe('link.acknowledgeWarnings: an entry written as the id alone', () => {
  test('[no-wal-retention]: the mapping to write, with that id', () => {
    expect(printed(layout((t) => (t.link.acknowledgeWarnings = ['no-wal-retention'])))).toEqual([
      'link.acknowledgeWarnings[0]: must be a mapping, not a string\n    received: "no-wal-retention"\n    allowed:  a mapping: { id: <a warning\'s id>, reason: <why this risk is accepted> }\n    fix:      write { id: no-wal-retention, reason: <why this risk is accepted> }',
    ]);
  });

  test('a misspelled id alone: the mapping with the id it most likely means', () => {
    expect(messageAndFix(layout((t) => (t.link.acknowledgeWarnings = ['single-source-hots'])))).toEqual([
      {
        message: 'link.acknowledgeWarnings[0]: must be a mapping, not a string',
        fix: 'write { id: single-source-host, reason: <why this risk is accepted> }',
      },
    ]);
  });
});

describe('a string written with { or [ first: YAML read a mapping or a list', () => {
  /** The clusters: layout as YAML, with `restoreCommand: <text>` under link: as written. */
  const withRestoreCommand = (text: string) =>
    stringify(
      layout((t) => {
        t.link.restoreCommand = 'RESTORE_COMMAND';
        // an archive the command reads (the article's /bin/true archives nothing)
        t.clusters[t.link.source].postgresql.parameters.archive_command = 'cp %p /arch/%f';
      }),
    ).replace('restoreCommand: RESTORE_COMMAND', `restoreCommand: ${text}`);
  const printedText = (text: string) => errorOf(text).problems.map(formatProblem);
  const messageAndFixText = (text: string) =>
    errorOf(text).problems.map((p) => ({ message: `${p.path}: ${p.message}`, fix: p.fix }));

  test('restoreCommand: {cp /arch/%f %p}: read as a mapping because of the brace; the value quoted', () => {
    expect(printedText(withRestoreCommand('{cp /arch/%f %p}'))).toEqual([
      'link.restoreCommand: must be a string, not a mapping: YAML reads a value that starts with "{" as a mapping\n    received: "{cp /arch/%f %p}"\n    allowed:  a string\n    fix:      quote it: restoreCommand: \'cp /arch/%f %p\' (or \'{cp /arch/%f %p}\', if the braces belong to the value)',
    ]);
  });

  test('a list in brackets, and a flow mapping with keys: the same, quoted as written', () => {
    expect(messageAndFixText(withRestoreCommand('[cp /arch/%f %p]'))).toEqual([
      {
        message: 'link.restoreCommand: must be a string, not a list: YAML reads a value that starts with "[" as a list',
        fix: "quote it: restoreCommand: 'cp /arch/%f %p' (or '[cp /arch/%f %p]', if the brackets belong to the value)",
      },
    ]);
    expect(messageAndFixText(withRestoreCommand('{cp: /arch/%f /restore/%p}'))).toEqual([
      {
        message:
          'link.restoreCommand: must be a string, not a mapping: YAML reads a value that starts with "{" as a mapping',
        fix: "quote it: restoreCommand: '{cp: /arch/%f /restore/%p}'",
      },
    ]);
  });

  test('a mapping written as indented lines: no word of braces', () => {
    expect(messageAndFix(layout((t) => (t.link.restoreCommand = { cp: '/arch/%f' })))).toEqual([
      { message: 'link.restoreCommand: must be a string, not a mapping', fix: 'write a string here' },
    ]);
  });

  // the fix it names is the fix
  test('quoted as the fix says, it parses', () => {
    expect(parseTopology(withRestoreCommand("'cp /arch/%f %p'"), 'x.yaml').topology.link.restoreCommand).toBe(
      'cp /arch/%f %p',
    );
  });
});

describe("the schema's checks in the topology's words (zod's never reach the user)", () => {
  const cases: [string, (t: any) => void, string, string][] = [
    [
      'a whole number, quoted',
      (t) => (t.link.port = '5432'),
      'link.port: must be a whole number, not a string',
      'write 5432 without quotes',
    ],
    [
      'a whole number, with a fraction',
      (t) => (t.clusters.fra.patroni = { loopWait: 1.5 }),
      'clusters.fra.patroni.loopWait: must be a whole number',
      'write a whole number, e.g. 2',
    ],
    [
      'a whole number, true',
      (t) => (t.clusters.fra.postgresql.version = true),
      'clusters.fra.postgresql.version: must be a whole number, not true/false',
      'write a whole number here',
    ],
    [
      'a whole number, empty',
      (t) => (t.clusters.fra.postgresql.version = null),
      'clusters.fra.postgresql.version: must be a whole number, not empty',
      'write a whole number here',
    ],
    [
      'a whole number, far too big: one problem',
      (t) => (t.link.port = 1e20),
      'link.port: is too big',
      'use a value of at most 65535',
    ],
    [
      'true or false, quoted',
      (t) => (t.clusters.fra.postgresql.generatePgHba = 'yes'),
      'clusters.fra.postgresql.generatePgHba: must be true or false, not a string',
      'write true, without quotes',
    ],
    [
      'true or false, a number',
      (t) => (t.clusters.fra.patroni = { useSlots: 1 }),
      'clusters.fra.patroni.useSlots: must be true or false, not a number',
      'write true or false',
    ],
    [
      'a string, a number',
      (t) => (t.clusters.fra.scope = 123),
      'clusters.fra.scope: must be a string, not a number',
      'quote it: "123"',
    ],
    [
      'a string, a list',
      (t) => (t.clusters.fra.users.replication = ['replicator']),
      'clusters.fra.users.replication: must be a string, not a list',
      'write a string here',
    ],
    [
      'a list, a string',
      (t) => (t.link.createReplicaMethods = 'basebackup'),
      'link.createReplicaMethods: must be a list, not a string',
      'write it as a list: [basebackup]',
    ],
    [
      'a mapping, a string',
      (t) => (t.clusters.fra.postgresql = 'x'),
      'clusters.fra.postgresql: must be a mapping, not a string',
      'write "postgresql" as a mapping of key: value lines (or { key: value })',
    ],
    [
      'a mapping of values, a list',
      (t) => (t.clusters.fra.postgresql.parameters = ['wal_keep_size=1GB']),
      'clusters.fra.postgresql.parameters: must be a mapping, not a list',
      'write "parameters" as a mapping of key: value lines (or { key: value })',
    ],
    [
      'a mapping, empty',
      (t) => (t.clusters.fra.dcs = null),
      'clusters.fra.dcs: must be a mapping, not empty',
      'write "dcs" as a mapping of key: value lines (or { key: value })',
    ],
    [
      'a parameter value, a list',
      (t) => (t.clusters.fra.postgresql.parameters.work_mem = ['64MB']),
      'clusters.fra.postgresql.parameters.work_mem: must be a string, a number or true/false, not a list',
      'write a string, a number or true/false here',
    ],
    [
      'an initdb option, a number',
      (t) => (t.clusters.fra.postgresql.initdb = [5]),
      'clusters.fra.postgresql.initdb[0]: must be a string or a mapping, not a number',
      'write a string or a mapping here',
    ],
    [
      'an initdb option, empty text',
      (t) => (t.clusters.fra.postgresql.initdb = ['']),
      'clusters.fra.postgresql.initdb[0]: must not be empty',
      'write at least 1 character',
    ],
    [
      'one of a list',
      (t) => (t.link.state = 'promoted'),
      'link.state: must be one of: following, detached',
      'use one of following, detached',
    ],
    [
      'one of a list, a number',
      (t) => (t.clusters.fra.patroni = { watchdog: 1 }),
      'clusters.fra.patroni.watchdog: must be one of: off, automatic, required',
      'use one of off, automatic, required',
    ],
    [
      'a DCS type',
      (t) => (t.clusters.fra.dcs.type = 'etcd4'),
      'clusters.fra.dcs.type: must be one of: etcd3, etcd, consul, zookeeper, kubernetes',
      'set "type" to one of etcd3, etcd, consul, zookeeper, kubernetes',
    ],
    [
      'a DCS without a type',
      (t) => delete t.clusters.fra.dcs.type,
      'clusters.fra.dcs.type: is required',
      'set "type" to one of etcd3, etcd, consul, zookeeper, kubernetes',
    ],
    [
      'a slot type',
      (t) => (t.clusters.fra.patroni = { permanentSlots: { s1: { type: 'both' } } }),
      'clusters.fra.patroni.permanentSlots.s1.type: must be one of: physical, logical',
      'set "type" to one of physical, logical',
    ],
    [
      'below the minimum',
      (t) => (t.clusters.fra.patroni = { loopWait: 0 }),
      'clusters.fra.patroni.loopWait: is too small',
      'use a value of at least 1',
    ],
    [
      'above the maximum',
      (t) => (t.link.promotion = { settleSeconds: 601 }),
      'link.promotion.settleSeconds: is too big',
      'use a value of at most 600',
    ],
    [
      'an empty list',
      (t) => (t.link.createReplicaMethods = []),
      'link.createReplicaMethods: needs at least 1 item',
      'list at least 1 item',
    ],
    ['a missing key', (t) => delete t.clusters.ber.scope, 'clusters.ber.scope: is required', 'add "scope"'],
    [
      'clusters, a list',
      (t) => (t.clusters = [t.clusters.fra, t.clusters.ber]),
      'clusters: must be a mapping, not a list',
      'write "clusters" as a mapping of key: value lines (or { key: value })',
    ],
    [
      'link.source, a number',
      (t) => (t.link.source = 1),
      'link.source: must be a string, not a number',
      'quote it: "1"',
    ],
  ];

  test.each(cases)('%s', (_name, change, message, fix) => {
    expect(messageAndFix(layout(change))).toEqual([{ message, fix }]);
  });

  test("no text of zod's in any of them", () => {
    const zodWords =
      /Invalid (input|option|discriminator)|expected (number|int|string|boolean|array|object|record)|received (string|number|boolean|undefined|null|NaN)|Too (small|big)|Unrecognized key|\ba (int|record|object|array|boolean)\b|>=|<=/;
    const texts = cases.flatMap(([, change]) => printed(layout(change)));
    expect(texts.filter((t) => zodWords.test(t))).toEqual([]);
  });
});
