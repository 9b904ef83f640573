/**
 * The role change's real input and output (runtime/cluster-io.ts `realIo`), which its other unit
 * tests replace with fake clusters: Patroni's REST API against fake REST servers on 127.0.0.1
 * (the leader first, wake-ups, retries, refused credentials, POSTs, GET /history), and the SQL
 * reads against the fake link's `pg`; then the program's own door, runRoleChange, which refuses a
 * ROLE_CHANGE_CONFIG that does not match the contract before it reaches any cluster.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RoleChangeCluster, RoleChangeConfig } from '../../runtime/contract';
import { realIo } from '../../runtime/cluster-io';
import * as health from '../../runtime/link-health';
import { runRoleChange } from '../../runtime/role-change';
import { FakeCluster } from '../support/fake-patroni';
import { freshWorld, HOSTS, START, text, world } from '../support/fake-link';

jest.mock('pg', () => ({ Client: jest.requireActual('../support/fake-link').FakeClient }));

/** The role change's view of a fake REST cluster (REST password in PW_DC1). */
const restCluster = (c: FakeCluster, name = 'dc1'): RoleChangeCluster => ({
  name,
  scope: 'pg',
  restUser: 'patroni',
  restPasswordEnv: 'PW_DC1',
  nodes: c.nodes.map((n) => ({ name: n.name, host: '127.0.0.1', port: 5432, rest: n.url })),
});

/**
 * One REST node on 127.0.0.1 that answers every request with `answer`'s status and raw body text
 * (what the fake cluster never answers: a 403, a long error text, odd JSON); `requests` as
 * `<method> <path>`.
 */
async function rawNode(answer: (method: string, path: string) => [number, string]) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      const [status, body] = answer(String(req.method), String(req.url));
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cluster: RoleChangeCluster = {
    name: 'dc9',
    scope: 'pg',
    restUser: 'patroni',
    restPasswordEnv: 'PW_DC1',
    nodes: [{ name: 'r1', host: '127.0.0.1', port: 5432, rest: url }],
  };
  return { cluster, requests, close: () => (server.close(), server.closeAllConnections()) };
}

describe('REST: look, patch, post, history', () => {
  let c: FakeCluster;
  let out: jest.SpyInstance;
  beforeEach(async () => {
    c = new FakeCluster();
    await c.start();
    process.env.PW_DC1 = 'pw';
    out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    c.stop();
    out.mockRestore();
    delete process.env.PW_DC1;
  });

  test("version: a member's Patroni version from its GET /patroni; undefined when it does not say, does not answer, or is no member", async () => {
    const cluster = restCluster(c);
    expect(await realIo.version(cluster, 'n1')).toBe('4.1.5');
    c.version = '3.0.2';
    expect(await realIo.version(cluster, 'n2')).toBe('3.0.2');
    c.version = undefined;
    expect(await realIo.version(cluster, 'n2')).toBeUndefined();
    c.version = '4.1.5';
    c.broken.add('n1');
    expect(await realIo.version(cluster, 'n1')).toBeUndefined();
    expect(await realIo.version(cluster, 'nobody')).toBeUndefined();
  });

  test('look: the configuration and members from the first node that answers; standby or primary by its leader', async () => {
    c.broken.add('n1');
    const primary = await realIo.look(restCluster(c));
    expect(primary).toMatchObject({
      reachable: true,
      standby: false,
      primary: true,
      leader: { name: 'n2', role: 'leader' },
    });
    expect(primary.reachable ? primary.members.map((m) => m.name) : []).toEqual(['n1', 'n2', 'n3']);
    c.config = { standby_cluster: { host: '10.0.0.1' } };
    c.roles = { n2: 'standby_leader' };
    expect(await realIo.look(restCluster(c))).toMatchObject({
      standby: true,
      primary: false,
      leader: { name: 'n2', role: 'standby_leader' },
    });
    c.roles = { n1: 'replica', n2: 'replica', n3: 'replica' };
    expect(await realIo.look(restCluster(c))).toMatchObject({ reachable: true, leader: undefined, primary: false });
    for (const n of ['n2', 'n3']) c.broken.add(n);
    expect(await realIo.look(restCluster(c))).toEqual({ reachable: false });
  });

  test('patch: the named leader first, then every node woken; the configuration takes it', async () => {
    const patches = () => c.order.filter((r) => r.endsWith('PATCH /config'));
    await realIo.patch(restCluster(c), { loop_wait: 3 }, 'n3');
    expect(c.config.loop_wait).toBe(3);
    // the named leader takes it, then two rounds of wake-ups to every node, leader first again
    expect(patches()[0]).toBe('n3 PATCH /config');
    expect(patches().slice(1).sort()).toEqual(['n1', 'n1', 'n2', 'n2', 'n3', 'n3'].map((n) => `${n} PATCH /config`));
    c.order = [];
    await realIo.patch(restCluster(c), { loop_wait: 4 }, 'n2');
    expect(patches()[0]).toBe('n2 PATCH /config');
  });

  test('look: members without a name or a role (or no objects) are left out; no member list: none', async () => {
    const members = JSON.stringify({
      members: [
        { name: 'r1', role: 'leader' },
        { name: 'r2' },
        { role: 'replica' },
        { name: 3, role: 'replica' },
        null,
        'r4',
      ],
    });
    const node = await rawNode((_m, path) => (path === '/cluster' ? [200, members] : [200, 'null']));
    try {
      // a /config that is no object (JSON null) reads as an empty configuration
      expect(await realIo.look(node.cluster)).toEqual({
        reachable: true,
        config: {},
        members: [{ name: 'r1', role: 'leader' }],
        leader: { name: 'r1', role: 'leader' },
        standby: false,
        primary: true,
      });
    } finally {
      node.close();
    }
    const bare = await rawNode((_m, path) => [200, path === '/cluster' ? '{"members":"r1"}' : '{}']);
    try {
      expect(await realIo.look(bare.cluster)).toMatchObject({ reachable: true, members: [], leader: undefined });
    } finally {
      bare.close();
    }
  });

  test.each(['n1', 'n2', 'n3'])('patch: the named leader %s is asked first, whichever node it is', async (leader) => {
    await realIo.patch(restCluster(c), { loop_wait: 3 }, leader);
    expect(c.order.find((r) => r.endsWith('PATCH /config'))).toBe(`${leader} PATCH /config`);
  });

  test('patch: no leader named: the nodes in their order', async () => {
    c.broken.add('n1');
    await realIo.patch(restCluster(c), { loop_wait: 3 });
    expect(c.order.filter((r) => r.endsWith('PATCH /config')).slice(0, 2)).toEqual([
      'n1 PATCH /config',
      'n2 PATCH /config',
    ]);
  });

  test('patch: the wake-ups reach every node 150 and 500 ms after the leader took it', async () => {
    const t0 = Date.now();
    await realIo.patch(restCluster(c), { loop_wait: 3 }, 'n1');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(490);
    expect(c.order.filter((r) => r.endsWith('PATCH /config'))).toHaveLength(7);
  });

  test('patch: a leader whose REST API does not answer at all (connection refused) is passed over', async () => {
    const cluster = restCluster(c);
    const dead = {
      ...cluster,
      nodes: [{ ...cluster.nodes[0], name: 'n0', rest: 'http://127.0.0.1:1' }, ...cluster.nodes],
    };
    await realIo.patch(dead, { loop_wait: 5 }, 'n0');
    expect(c.config.loop_wait).toBe(5);
  });

  test('patch: a 403 (a user without the right) stops at once as a refusal of the credentials', async () => {
    const node = await rawNode(() => [403, '{"error":"forbidden"}']);
    try {
      await expect(realIo.patch(node.cluster, { loop_wait: 4 }, 'r1')).rejects.toThrow(
        /^http:\/\/127\.0\.0\.1:\d+ refused the credentials \(HTTP 403\): check PW_DC1$/,
      );
      expect(node.requests).toEqual(['PATCH /config']);
    } finally {
      node.close();
    }
  });

  test('post: the refusal quotes the first 200 characters of the answer, trimmed', async () => {
    const text = `  ${'x'.repeat(150)}${'y'.repeat(100)}  `;
    const node = await rawNode(() => [503, text]);
    try {
      await expect(realIo.post(node.cluster, [], '/switchover', {})).rejects.toThrow(
        new Error(`POST /switchover on dc9 answered HTTP 503: ${'x'.repeat(150)}${'y'.repeat(50)}`),
      );
    } finally {
      node.close();
    }
  });

  test('patch: a node that answers 503 is passed over; the next one takes it', async () => {
    c.unavailable = 1;
    await realIo.patch(restCluster(c), { loop_wait: 4 }, 'n1');
    expect(c.config.loop_wait).toBe(4);
  });

  test('patch: refused credentials stop at once, naming the variable', async () => {
    process.env.PW_DC1 = 'wrong';
    await expect(realIo.patch(restCluster(c), { loop_wait: 4 }, 'n1')).rejects.toThrow(
      /refused the credentials \(HTTP 401\): check PW_DC1/,
    );
    delete process.env.PW_DC1;
    await expect(realIo.patch(restCluster(c), { loop_wait: 4 }, 'n1')).rejects.toThrow(
      'the REST API of dc1 needs authentication as "patroni": set PW_DC1',
    );
    expect(c.config.loop_wait).toBe(10);
  });

  test('patch: no node ever takes it: fails after its 10 rounds, 500 ms apart, with the last answer', async () => {
    for (const n of c.nodes) c.broken.add(n.name);
    const t0 = Date.now();
    await expect(realIo.patch(restCluster(c), { loop_wait: 4 }, 'n1')).rejects.toThrow(
      /PATCH \/config on dc1 failed: http:\/\/127\.0\.0\.1:\d+: HTTP 503/,
    );
    expect(c.order.filter((r) => r.endsWith('PATCH /config'))).toHaveLength(30);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4900);
  }, 20_000);

  test('post: to the leader unless a member is named; another answer than 200 refuses with its text', async () => {
    const members = [
      { name: 'n1', role: 'replica' },
      { name: 'n2', role: 'leader' },
    ];
    await realIo.post(restCluster(c), members, '/switchover', { leader: 'n2', candidate: 'n1' });
    await realIo.post(restCluster(c), members, '/reinitialize', { force: true }, 'n3');
    expect(c.posts).toEqual(['n2 /switchover {"leader":"n2","candidate":"n1"}', 'n3 /reinitialize {"force":true}']);
    c.postStatus = 412;
    await expect(realIo.post(restCluster(c), members, '/switchover', {})).rejects.toThrow(
      'POST /switchover on dc1 answered HTTP 412: "refused"',
    );
  });

  test('history: GET /history of the named member; none for a member the cluster lacks', async () => {
    c.history = [[1, 25165984, 'no recovery target specified', '2026-11-26T10:00:00+00:00', 'n1']];
    expect(await realIo.history(restCluster(c), 'n2')).toEqual(c.history);
    expect(c.order).toEqual(['n2 GET /history']);
    expect(await realIo.history(restCluster(c), 'nobody')).toBeUndefined();
    expect(c.order).toEqual(['n2 GET /history']);
  });
});

describe('SQL: position, readMember, gate', () => {
  // the fake link's members by SQL; their REST APIs are somewhere nothing listens
  const sqlCluster = (name: string, members: (keyof typeof HOSTS)[]): RoleChangeCluster => ({
    name,
    scope: 'pg',
    restPasswordEnv: 'PW_DC1',
    nodes: members.map((m) => ({ name: m, host: HOSTS[m], port: 5432, rest: 'http://127.0.0.1:1' })),
  });
  const cfg: RoleChangeConfig = {
    role: 'source',
    me: sqlCluster('dc2', ['s1', 's2']),
    other: sqlCluster('dc1', ['p1', 'p2']),
    slotName: 'link_slot',
    block: { host: HOSTS.s1, port: 5432, primary_slot_name: 'link_slot' },
    user: 'monitor',
    maxLagBytes: 1024,
    catchUpTimeoutSeconds: 1,
    followTimeoutSeconds: 1,
    acceptDataLoss: false,
  };
  let out: jest.SpyInstance;
  beforeEach(() => {
    world.current = freshWorld();
    out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => out.mockRestore());

  test('position: recovery state, replay position and timeline; undefined when the member does not answer or is unknown', async () => {
    expect(await realIo.position(cfg.me, 's1', cfg)).toEqual({
      member: 's1',
      inRecovery: true,
      replayLsn: text(START),
      timeline: 1,
    });
    expect(await realIo.position(cfg.other, 'p1', cfg)).toEqual({
      member: 'p1',
      inRecovery: false,
      replayLsn: null,
      timeline: 1,
    });
    world.current.down.add('s2');
    expect(await realIo.position(cfg.me, 's2', cfg)).toBeUndefined();
    expect(await realIo.position(cfg.me, 'nobody', cfg)).toBeUndefined();
  });

  test("sourceState: the source leader's read-only setting, current position, synchronous_commit and synchronous standbys; undefined in recovery, down or unknown", async () => {
    expect(await realIo.sourceState(cfg.other, 'p1', cfg)).toEqual({
      readOnly: false,
      currentLsn: text(world.current.sourceLsn),
      synchronousCommit: 'on',
      standbyNames: '',
      senders: [],
    });
    world.current.sourceReadOnly = true;
    world.current.sourceSyncCommit = 'local';
    world.current.sourceStandbyNames = '"s1"';
    world.current.sourceSenders = [
      { name: 's1', sync: true, address: '10.0.2.1' },
      { name: 'p2', sync: false, address: null },
    ];
    expect(await realIo.sourceState(cfg.other, 'p1', cfg)).toEqual({
      readOnly: true,
      currentLsn: text(world.current.sourceLsn),
      synchronousCommit: 'local',
      standbyNames: '"s1"',
      senders: [
        { name: 's1', sync: true, address: '10.0.2.1' },
        { name: 'p2', sync: false, address: null },
      ],
    });
    expect(await realIo.sourceState(cfg.me, 's1', cfg)).toBeUndefined();
    world.current.down.add('p2');
    expect(await realIo.sourceState(cfg.other, 'p2', cfg)).toBeUndefined();
    expect(await realIo.sourceState(cfg.other, 'nobody', cfg)).toBeUndefined();
  });

  test('readMember: the member as status reads it; undefined for a name the cluster lacks', async () => {
    expect(await realIo.readMember(cfg.me, 's1', cfg)).toMatchObject({
      member: 's1',
      cluster: 'dc2',
      inRecovery: true,
      receiverStatus: 'streaming',
      senderHost: HOSTS.p1,
    });
    expect(await realIo.readMember(cfg.me, 'p1', cfg)).toBeUndefined();
  });

  test('gate: the link as status sees it, plus the lag bound of roleChange.maxLagBytes', async () => {
    expect((await realIo.gate(cfg)).problems).toEqual([]);
    world.current.streaming = false;
    world.current.sourceLsn = START + 4096n;
    const { problems, report } = await realIo.gate(cfg);
    expect(report?.problems.length).toBeGreaterThan(0);
    expect(problems).toEqual([
      ...(report?.problems ?? []),
      'standby leader s1 lags 4096 bytes behind the source (at most 1024: roleChange.maxLagBytes)',
    ]);
    world.current.sourceLsn = START + 1024n;
    expect((await realIo.gate(cfg)).problems.filter((p) => p.includes('maxLagBytes'))).toEqual([]);
  });

  test("gate: a standby leader that does not answer: the report's problems, no lag bound read", async () => {
    world.current.down.add('s1');
    world.current.down.add('s2');
    const { problems, report } = await realIo.gate(cfg);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems).toEqual(report?.problems);
  });

  describe('the SQL each read sends, and rows that are not as expected', () => {
    let query: jest.SpyInstance;
    afterEach(() => query.mockRestore());
    const answer = (...rows: unknown[]) =>
      (query = jest.spyOn(health, 'query').mockImplementation(async () => rows as Record<string, unknown>[]));

    test('position: on the named member, as the monitoring user, with a 1 s connect timeout', async () => {
      answer({ in_recovery: true, replay_lsn: '0/10', timeline: 3 });
      expect(await realIo.position(cfg.me, 's2', cfg)).toEqual({
        member: 's2',
        inRecovery: true,
        replayLsn: '0/10',
        timeline: 3,
      });
      expect(query).toHaveBeenCalledWith(
        cfg.me.nodes[1],
        expect.objectContaining({ user: 'monitor', connectTimeoutMs: 1000 }),
        expect.stringContaining('pg_is_in_recovery()'),
      );
    });

    test('fields of another type read as unknown (null); a row that is no object, or none: undefined', async () => {
      answer({ in_recovery: 't', replay_lsn: 16, timeline: '3' });
      expect(await realIo.position(cfg.me, 's1', cfg)).toEqual({
        member: 's1',
        inRecovery: null,
        replayLsn: null,
        timeline: null,
      });
      answer({ read_only: 'off', current_lsn: 16, synchronous_commit: 1, standby_names: 2, senders: 's1' });
      expect(await realIo.sourceState(cfg.other, 'p1', cfg)).toEqual({
        readOnly: false,
        currentLsn: null,
        synchronousCommit: null,
        standbyNames: null,
        senders: [],
      });
      // a walsender without a name is none; a sync that is not true is not synchronous
      answer({
        read_only: 'on',
        current_lsn: '0/10',
        synchronous_commit: 'on',
        standby_names: '"s1"',
        senders: [{ name: 's1', sync: 't', address: 5 }, { name: null, sync: true }, 'x', null],
      });
      expect(await realIo.sourceState(cfg.other, 'p1', cfg)).toMatchObject({
        senders: [{ name: 's1', sync: false, address: null }],
      });
      for (const rows of [['a row'], []]) {
        answer(...rows);
        expect(await realIo.position(cfg.me, 's1', cfg)).toBeUndefined();
        expect(await realIo.sourceState(cfg.other, 'p1', cfg)).toBeUndefined();
      }
    });

    test('position and sourceState of a member the cluster lacks: undefined, and no SQL sent', async () => {
      answer({ in_recovery: false, replay_lsn: null, timeline: 1, read_only: 'on', current_lsn: '0/10' });
      expect(await realIo.position(cfg.me, 'nobody', cfg)).toBeUndefined();
      expect(await realIo.position(cfg.me, undefined, cfg)).toBeUndefined();
      expect(await realIo.sourceState(cfg.other, 'nobody', cfg)).toBeUndefined();
      expect(query).not.toHaveBeenCalled();
    });
  });
});

describe('runRoleChange: ROLE_CHANGE_CONFIG is checked against the contract before any cluster is reached', () => {
  let me: FakeCluster;
  let other: FakeCluster;
  let stdout: jest.SpyInstance;
  beforeEach(async () => {
    me = new FakeCluster();
    other = new FakeCluster();
    await Promise.all([me.start(), other.start()]);
    // the other cluster's REST API answers nothing but 503: it does not answer
    for (const n of other.nodes) other.broken.add(n.name);
    stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    me.stop();
    other.stop();
    stdout.mockRestore();
  });
  const collector = () => {
    const lines: string[] = [];
    return { write: (t: string) => lines.push(t), text: () => lines.join('') };
  };
  const good = (): RoleChangeConfig => ({
    role: 'source',
    me: restCluster(me, 'dc2'),
    other: restCluster(other, 'dc1'),
    slotName: 'link',
    block: { host: '127.0.0.1', port: 5432, primary_slot_name: 'link' },
    user: 'monitor',
    maxLagBytes: 1024,
    catchUpTimeoutSeconds: 1,
    followTimeoutSeconds: 1,
    acceptDataLoss: false,
  });
  /** ROLE_CHANGE_CONFIG as the stacks would set it, `change`d first. */
  const roleConfig = (change: (c: Record<string, unknown>) => void) => {
    const c: Record<string, unknown> = JSON.parse(JSON.stringify(good()));
    change(c);
    return JSON.stringify(c);
  };

  test('a configuration that matches: the step runs, its progress on `out` (here: already the source, the other cut off), exit 0', async () => {
    const out = collector();
    const err = collector();
    expect(await runRoleChange({ ROLE_CHANGE_CONFIG: JSON.stringify(good()) }, out, err)).toBe(0);
    expect(out.text()).toContain('nothing to do: dc2 is the source; dc1 does not answer');
    expect(err.text()).toBe('');
    expect(stdout).not.toHaveBeenCalled();
    expect(me.order).toContain('n1 GET /config');
    expect(other.order.length).toBeGreaterThan(0);
  });

  test.each([
    ['me.nodes missing', (c: Record<string, unknown>) => delete (c.me as Record<string, unknown>).nodes, ['me.nodes']],
    [
      'catchUpTimeoutSeconds renamed catchupTimeoutSeconds',
      (c: Record<string, unknown>) => {
        c.catchupTimeoutSeconds = c.catchUpTimeoutSeconds;
        delete c.catchUpTimeoutSeconds;
      },
      ['catchUpTimeoutSeconds', 'catchupTimeoutSeconds'],
    ],
  ])(
    '%s: refused with exit 2, naming ROLE_CHANGE_CONFIG and the field; no REST call, nothing printed on out',
    async (_what, change, fields) => {
      const out = collector();
      const err = collector();
      expect(await runRoleChange({ ROLE_CHANGE_CONFIG: roleConfig(change), PW_DC1: 'pw' }, out, err)).toBe(2);
      expect(err.text()).toMatch(
        /^\[role change\] ROLE_CHANGE_CONFIG does not match this program's configuration .*\n$/,
      );
      for (const f of fields) expect(err.text()).toContain(f);
      expect(out.text()).toBe('');
      expect(stdout).not.toHaveBeenCalled();
      expect([me.order, other.order]).toEqual([[], []]);
    },
  );

  test('ROLE_CHANGE_CONFIG unset or not JSON: refused with exit 2, nothing reached', async () => {
    for (const [env, message] of [
      [{}, '[role change] ROLE_CHANGE_CONFIG is not set'],
      [{ ROLE_CHANGE_CONFIG: '{"role":' }, '[role change] ROLE_CHANGE_CONFIG is not JSON'],
    ] as const) {
      const out = collector();
      const err = collector();
      expect(await runRoleChange(env, out, err)).toBe(2);
      expect(err.text()).toContain(message);
      expect(out.text()).toBe('');
    }
    expect([me.order, other.order]).toEqual([[], []]);
  });

  test('a refusal of the step itself: `[role change] ` and its message on err, exit 1', async () => {
    // both clusters answer as primaries with one history: how far the other diverged is unknown
    other.broken.clear();
    const out = collector();
    const err = collector();
    expect(await runRoleChange({ ROLE_CHANGE_CONFIG: JSON.stringify(good()), PW_DC1: 'pw' }, out, err)).toBe(1);
    expect(err.text()).toBe(
      "[role change] REFUSED: both clusters are primaries and how far dc1 diverged is unknown (dc1's leader cannot be read with SQL); nothing was changed\n",
    );
  });
});
