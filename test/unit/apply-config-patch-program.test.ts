/**
 * The patch program (runtime/apply-config-patch.ts) as Terraform runs it (a child process with its
 * environment: PATRONI_PATCH, PATRONI_PATCH_CONFIG and the REST password), against three fake
 * Patroni REST APIs on 127.0.0.1: the leader first, the removal of what the topology no longer
 * has, retries while the cluster does not answer, a refused password, the verification with
 * GET /config, and a configuration that does not match the contract. One cause per test.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as program from '../../runtime/apply-config-patch';
import { ConfigError, type PatchConfig, PROGRAMS } from '../../runtime/contract';
import { FakeCluster } from '../support/fake-patroni';

/** The bundled program a stack ships (dist/programs, made from runtime/entries by jest's global setup). */
const bundledProgram = path.resolve(__dirname, '..', '..', 'dist', 'programs', PROGRAMS.patch.file);

/** How a configuration that does not match the contract begins (the fields follow). */
const MISMATCH =
  "PATRONI_PATCH_CONFIG does not match this program's configuration (the stacks and the program are of different versions?): ";

/**
 * The configuration the planned resource gives the program for `cluster`, as the contract types it:
 * a managed cluster (strict) with a REST API user whose password is in DC_PASSWORD.
 */
function patchConfig(cluster: FakeCluster, config: Partial<PatchConfig> = {}): PatchConfig {
  return {
    label: 'test patch',
    endpoints: cluster.nodes.map((n) => n.url),
    timeoutSeconds: 4,
    sections: 'all',
    strict: true,
    optional: false,
    guardStandby: [],
    hotStandbySource: [],
    restUser: 'patroni',
    restPasswordEnv: 'DC_PASSWORD',
    ...config,
  };
}

interface RunOptions {
  /** What differs from `patchConfig`'s configuration. */
  config?: Partial<PatchConfig>;
  /** Variables set (or, undefined, removed) on top of the planned resource's environment. */
  env?: Record<string, string | undefined>;
  /** Run it as Terraform does, a node process of its own. */
  asChild?: boolean;
}

/**
 * Runs the program with the environment the planned resource gives it; resolves with its exit
 * code and output (stdout and stderr, in order). `asChild` runs the bundled program as Terraform
 * does, a node process of its own; otherwise its `main` runs in this process with the same
 * environment (the same code path, and one that mutation testing can follow).
 */
function runPatch(
  cluster: FakeCluster,
  body: unknown,
  { config = {}, env = {}, asChild = false }: RunOptions = {},
): Promise<{ code: number; output: string }> {
  const fullEnv: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? '',
    PATRONI_PATCH: JSON.stringify(body),
    PATRONI_PATCH_CONFIG: JSON.stringify(patchConfig(cluster, config)),
    DC_PASSWORD: 'pw',
    ...env,
  };
  if (!asChild) {
    let output = '';
    const out = { write: (text: string) => ((output += text), true) };
    // the same run with shorter waits between rounds, for GET /config to show the PATCH and for
    // GET /config to answer at all (Terraform's: 2 s, 5 s and 3 s)
    return program
      .main(fullEnv, out, { retryMs: 200, verifyMs: 1000, readMs: 500 }, out)
      .then((code) => ({ code, output }));
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bundledProgram], { env: fullEnv });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

describe('the patch program against fake Patroni REST APIs', () => {
  let cluster: FakeCluster;
  beforeEach(async () => {
    cluster = new FakeCluster();
    await cluster.start();
  });
  afterEach(() => cluster.stop());

  const desired = { loop_wait: 5, postgresql: { parameters: { work_mem: '8MB' } } };

  test('the leader gets the PATCH first, then every node is woken; the result is verified with GET /config', async () => {
    const { code, output } = await runPatch(cluster, desired, { asChild: true });
    expect({ code, output }).toEqual({
      code: 0,
      output: expect.stringMatching(/PATCH \/config sent to http:\/\/127\.0\.0\.1:\d+ at .*: HTTP 200/),
    });
    const leader = cluster.nodes.find((n) => n.name === 'n2')!;
    expect(output).toContain(`PATCH /config sent to ${leader.url}`);
    expect(output).toMatch(/applied through .* and verified with GET \/config/);
    // the wake-ups: every node received the same PATCH after the leader
    for (const n of cluster.nodes) expect(n.requests).toContain('PATCH /config');
  });

  test('what the topology no longer has is sent as null and leaves the configuration', async () => {
    const { code, output } = await runPatch(cluster, desired);
    expect(code).toBe(0);
    expect(output).toContain('removing what the topology no longer has: postgresql.parameters.old_param');
    expect(cluster.config.postgresql?.parameters).toEqual({ work_mem: '8MB' });
    expect(cluster.config.managed_by_patroni_standby_cdktf).toEqual({
      slots: [],
      parameters: ['work_mem'],
      keys: ['loop_wait'],
    });
  });

  test('a cluster that answers 503 at first: the program waits and retries until it takes the PATCH', async () => {
    cluster.unavailable = 4;
    const { code, output } = await runPatch(cluster, desired, { config: { timeoutSeconds: 20 } });
    expect({ code, tail: output.slice(-300) }).toEqual({
      code: 0,
      tail: expect.stringMatching(/verified with GET \/config/),
    });
    expect(output).toMatch(/waiting for the cluster's REST API \(.*HTTP 503/);
    expect(cluster.config.loop_wait).toBe(5);
  }, 30_000);

  test('a wrong password: refused at once, naming the variable, nothing changed', async () => {
    const started = Date.now();
    const { code, output } = await runPatch(cluster, desired, { env: { DC_PASSWORD: 'wrong' } });
    expect(code).toBe(1);
    expect(output).toMatch(/refused the credentials \(HTTP 401\): check the user patroni and DC_PASSWORD/);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(cluster.config.loop_wait).toBe(10);
  });

  test('no password in the environment: refused before any request', async () => {
    const { code, output } = await runPatch(cluster, desired, { env: { DC_PASSWORD: '' } });
    expect(code).toBe(1);
    expect(output).toContain(
      'the REST API needs authentication as "patroni": set DC_PASSWORD in the deploying environment',
    );
    expect(cluster.nodes.flatMap((n) => n.requests)).toEqual([]);
  });

  test('a PATCH that answers 200 but does not show in GET /config: the program fails with the difference', async () => {
    cluster.ignorePatches = true;
    const { code, output } = await runPatch(cluster, desired, { config: { timeoutSeconds: 2 } });
    expect(code).toBe(1);
    expect(output).toMatch(
      /gave up after 2s; last attempt: .*applied but GET \/config differs: loop_wait: want 5, have 10/,
    );
  }, 40_000); // each node gets 1 s here (5 s under Terraform) to show the change before the next is tried

  test("a role change's live lease: nothing sent while it holds; once it lets go, the patch goes through", async () => {
    const lease = { holder: 'dc2/0badcafe', since: '2026-01-01T00:00:00.000Z', until: Date.now() + 60_000 };
    cluster.config = { ...cluster.config, managed_by_patroni_standby_cdktf: { roleChange: lease } };
    setTimeout(() => {
      // the role change lets go (its release patch), as holding.ts sends it
      cluster.config = { ...cluster.config, managed_by_patroni_standby_cdktf: {} };
    }, 2500);
    const started = Date.now();
    const { code, output } = await runPatch(cluster, desired, { config: { timeoutSeconds: 20 } });
    expect(code).toBe(0);
    const sent = cluster.nodes.flatMap((n) => n.requests).filter((r) => r.startsWith('PATCH'));
    expect(sent.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    expect(output).toContain(
      `waiting: a role change (dc2/0badcafe) holds this cluster's configuration until ${new Date(lease.until).toISOString()}; nothing sent`,
    );
    // printed once, however many rounds it waited
    expect(output.split('waiting: a role change').length).toBe(2);
    expect(cluster.config.loop_wait).toBe(5);
  }, 30_000);

  test('GET /config fails on every node (HTTP 500) while PATCH would succeed: nothing sent, even without standby_cluster (a lease could not be seen)', async () => {
    cluster.configRead = () => 500;
    const { code, output } = await runPatch(cluster, desired, { config: { timeoutSeconds: 2 } });
    expect(code).toBe(1);
    expect(output).toMatch(/gave up after 2s; last attempt: http:\/\/127\.0\.0\.1:\d+: HTTP 500\n/);
    expect(cluster.nodes.flatMap((n) => n.requests).filter((r) => r.startsWith('PATCH'))).toEqual([]);
  }, 30_000);

  test('a lease held past the deadline: the program fails naming it, nothing sent; a lease that ran out holds nothing', async () => {
    const lease = { holder: 'dc1/feedface', since: '2026-01-01T00:00:00.000Z', until: Date.now() + 600_000 };
    cluster.config = { ...cluster.config, managed_by_patroni_standby_cdktf: { roleChange: lease } };
    const { code, output } = await runPatch(cluster, desired, { config: { timeoutSeconds: 3 } });
    expect(code).toBe(1);
    expect(output).toContain(
      `gave up after 3s; last attempt: a role change (dc1/feedface) holds this cluster's configuration until ${new Date(lease.until).toISOString()}; nothing sent`,
    );
    expect(cluster.nodes.flatMap((n) => n.requests).filter((r) => r.startsWith('PATCH'))).toEqual([]);
    // a guarded patch (standby_cluster) waits for the lease the same way
    cluster.config = { ...cluster.config, standby_cluster: { host: 'x' } };
    const guarded = await runPatch(
      cluster,
      { standby_cluster: { host: '10.0.2.1' } },
      { config: { timeoutSeconds: 3 } },
    );
    expect(guarded.code).toBe(1);
    expect(guarded.output).toContain('last attempt: a role change (dc1/feedface) holds');
    expect(cluster.nodes.flatMap((n) => n.requests).filter((r) => r.startsWith('PATCH'))).toEqual([]);
    cluster.config = { ...cluster.config, managed_by_patroni_standby_cdktf: { roleChange: { ...lease, until: 1 } } };
    expect((await runPatch(cluster, desired)).code).toBe(0);
  }, 30_000);

  test('a patch that would demote the running primary: refused, nothing sent', async () => {
    const { code, output } = await runPatch(cluster, { standby_cluster: { host: '10.0.2.1', port: 5432 } });
    expect(code).toBe(1);
    expect(output).toContain('this patch would make a running primary cluster a standby cluster');
    expect(cluster.nodes.flatMap((n) => n.requests).filter((r) => r.startsWith('PATCH'))).toEqual([]);
  });

  test('a patch that could demote while GET /config fails (HTTP 500) and PATCH would succeed: nothing sent, the program fails saying why', async () => {
    cluster.configRead = () => 500;
    const { code, output } = await runPatch(
      cluster,
      { loop_wait: 5, standby_cluster: { host: '10.0.2.1', port: 5432 } },
      { config: { timeoutSeconds: 1 } },
    );
    expect(code).toBe(1);
    expect(output).toMatch(
      /\[test patch\] FAILED: nothing was sent: the test patch carries a standby_cluster block, which would demote the cluster if it runs as a primary, and no node's running configuration \(GET \/config\) could be read in 1s to rule that out \(last: http:\/\/127\.0\.0\.1:\d+: GET \/config HTTP 500\); deploy again once the cluster's REST API answers GET \/config\n$/,
    );
    expect(cluster.nodes.flatMap((n) => n.requests).filter((r) => r.startsWith('PATCH'))).toEqual([]);
    expect(cluster.config).toEqual({ loop_wait: 10, postgresql: { parameters: { work_mem: '4MB', old_param: 'x' } } });
  });

  test('a patch that could demote while GET /config hangs past its timeout: nothing sent, the same failure, naming the timeout', async () => {
    cluster.configRead = () => 'hang';
    const { code, output } = await runPatch(
      cluster,
      { standby_cluster: { host: '10.0.2.1', port: 5432 } },
      { config: { timeoutSeconds: 1 } },
    );
    expect(code).toBe(1);
    expect(output).toMatch(
      /FAILED: nothing was sent: the test patch carries a standby_cluster block, .*\(last: http:\/\/127\.0\.0\.1:\d+: GET \/config no answer from 127\.0\.0\.1:\d+ within 500 ms\); deploy again/,
    );
    expect(cluster.nodes.flatMap((n) => n.requests).filter((r) => r.startsWith('PATCH'))).toEqual([]);
    expect(cluster.config.standby_cluster).toBeUndefined();
  });

  test('GET /config answers again: a standby cluster takes the patch that names its new source; a primary still refuses it, nothing sent', async () => {
    cluster.config = { loop_wait: 10, standby_cluster: { host: '10.0.1.1', port: 5432 } };
    let failing = 6; // two rounds of three nodes
    cluster.configRead = () => (failing-- > 0 ? 500 : undefined);
    const body = { loop_wait: 5, standby_cluster: { host: '10.0.2.1', port: 5432 } };
    const { code, output } = await runPatch(cluster, body, { config: { timeoutSeconds: 20, strict: false } });
    expect({ code, tail: output.slice(-200) }).toEqual({
      code: 0,
      tail: expect.stringMatching(/verified with GET \/config/),
    });
    expect(output).toMatch(
      /waiting for the cluster's REST API \(http:\/\/127\.0\.0\.1:\d+: GET \/config HTTP 500; nothing sent through it \(the patch carries standby_cluster\)\)/,
    );
    expect(cluster.config.standby_cluster).toEqual({ host: '10.0.2.1', port: 5432 });
    // the PATCH came only after the failing reads
    const requests = cluster.order.filter((r) => r.endsWith('/config'));
    expect(requests.slice(0, 7).every((r) => r.endsWith('GET /config'))).toBe(true);
    // a primary: once its configuration is read, the demotion is refused as always
    cluster.config = { loop_wait: 10 };
    failing = 3;
    cluster.order = [];
    const primary = await runPatch(cluster, body, { config: { timeoutSeconds: 20 } });
    expect(primary.code).toBe(1);
    expect(primary.output).toContain(
      'FAILED: this patch would make a running primary cluster a standby cluster (standby_cluster -> 10.0.2.1)',
    );
    expect(cluster.order.filter((r) => r.endsWith('PATCH /config'))).toEqual([]);
    expect(cluster.config).toEqual({ loop_wait: 10 });
  }, 30_000);

  test('as Terraform runs it, a failure exits 1 and names the cause on stderr', async () => {
    const { code, output } = await runPatch(cluster, desired, { env: { DC_PASSWORD: 'wrong' }, asChild: true });
    expect(code).toBe(1);
    expect(output).toMatch(/HTTP 401\n\[test patch\] FAILED: .* refused the credentials \(HTTP 401\)/);
  });

  test('a malformed PATRONI_PATCH or no endpoints: refused before any request', async () => {
    // no endpoints: the configuration does not match the contract (at least one)
    expect(await runPatch(cluster, desired, { config: { endpoints: [] } })).toEqual({
      code: 2,
      output: `apply-config-patch: ${MISMATCH}endpoints: Too small: expected array to have >=1 items\n`,
    });
    expect(await runPatch(cluster, desired, { env: { PATRONI_PATCH: '{not json' } })).toEqual({
      code: 1,
      output: "[test patch] FAILED: Expected property name or '}' in JSON at position 1\n",
    });
    expect(await runPatch(cluster, desired, { env: { PATRONI_PATCH: '[{"loop_wait":5}]' } })).toEqual({
      code: 1,
      output: '[test patch] FAILED: PATRONI_PATCH is not a JSON object\n',
    });
    expect(cluster.nodes.flatMap((n) => n.requests)).toEqual([]);
  });

  test('a 409 (a concurrent change of the configuration): retried, then applied', async () => {
    cluster.refusals = [409];
    const { code, output } = await runPatch(cluster, desired, { config: { timeoutSeconds: 20 } });
    expect(code).toBe(0);
    expect(output).toMatch(/HTTP 409/);
    expect(cluster.config.loop_wait).toBe(5);
  }, 30_000);

  test('a leader that does not answer: the next node takes the PATCH', async () => {
    cluster.broken.add('n2');
    const { code, output } = await runPatch(cluster, desired);
    expect(code).toBe(0);
    expect(output).toMatch(/applied through http:\/\/127\.0\.0\.1:\d+ and verified/);
    expect(cluster.config.loop_wait).toBe(5);
  });

  test('the leader named by host alone (no api_url) still goes first', async () => {
    cluster.hostOnly = true;
    const { code } = await runPatch(cluster, desired);
    expect(code).toBe(0);
    expect(cluster.nodes[0].requests.filter((r) => r === 'PATCH /config').length).toBeGreaterThan(0);
  });

  test('null keys remove what the patch names, and the verification requires them absent', async () => {
    const { code, output } = await runPatch(
      cluster,
      { loop_wait: null, postgresql: { parameters: { work_mem: null } } },
      { config: { strict: false, sections: 'exact' } },
    );
    expect({ code, output }).toEqual({
      code: 0,
      output: expect.stringContaining('verified with GET /config (loop_wait, postgresql)'),
    });
    expect(cluster.config).toEqual({ postgresql: { parameters: { old_param: 'x' } } });
  });

  test('verification: a null key that stays in GET /config is a difference', () => {
    expect(program.mismatches({ a: null, b: { c: null, d: 1 } }, { a: 1, b: { c: 'x', d: '1' } }, '')).toEqual([
      'a should be absent',
      'b.c should be absent',
    ]);
    expect(program.mismatches({ a: [1, 2] }, { a: [2, 1] }, 'root')).toEqual(['root.a: want [1,2], have [2,1]']);
    expect(program.mismatches({ a: { b: 1 } }, {}, '')).toEqual(['a.b: want 1, have undefined']);
  });

  test('no node answers: fails after the timeout, or, optional, leaves it with a warning', async () => {
    for (const n of cluster.nodes) cluster.broken.add(n.name);
    const strict = await runPatch(cluster, desired, { config: { timeoutSeconds: 1 } });
    expect(strict.code).toBe(1);
    expect(strict.output).toMatch(/FAILED: gave up after 1s; last attempt: .*HTTP 503/);
    cluster.stop();
    const optional = await runPatch(cluster, desired, { config: { timeoutSeconds: 1, optional: true } });
    expect(optional.code).toBe(0);
    expect(optional.output).toMatch(
      /WARNING: no node answered in 1s .*apply this stack again once the cluster is reachable/,
    );
  });

  test('a cluster that keeps answering 503: rounds paced by the retry wait, one "waiting" line every 5 rounds', async () => {
    for (const n of cluster.nodes) cluster.broken.add(n.name);
    // 2 s of rounds 200 ms apart: at most 10 rounds, so the lines of rounds 0 and 5 (without the
    // wait, a round lasts only its few requests: dozens of rounds)
    const { code, output } = await runPatch(cluster, desired, { config: { timeoutSeconds: 2 } });
    expect(code).toBe(1);
    const waiting = output.split('\n').filter((l) => l.includes("waiting for the cluster's REST API (")).length;
    expect(waiting).toBeGreaterThanOrEqual(1);
    expect(waiting).toBeLessThanOrEqual(2);
  });

  test("hot-standby values below the source are warned about, from the source's GET /config", async () => {
    const source = new FakeCluster();
    await source.start();
    try {
      source.config = { postgresql: { parameters: { max_connections: 200, max_wal_senders: 10 } } };
      const body = { postgresql: { parameters: { max_connections: 100, max_wal_senders: 10 } } };
      const { code, output } = await runPatch(cluster, body, {
        config: { hotStandbySource: source.nodes.map((n) => n.url) },
      });
      expect(code).toBe(0);
      expect(output).toContain("WARNING: max_connections 100 on the standby is below the source's running 200");
      expect(output).not.toContain('max_wal_senders 10');
      source.stop();
      const unanswered = await runPatch(cluster, body, {
        config: { hotStandbySource: source.nodes.map((n) => n.url) },
      });
      expect(unanswered.output).toContain('WARNING: the source cluster did not answer GET /config');
    } finally {
      source.stop();
    }
  });

  test('a slot the standby cluster still names is kept (held), the others go', async () => {
    const standby = new FakeCluster();
    await standby.start();
    try {
      cluster.config = { slots: { link_old: { type: 'physical' }, unused: { type: 'physical' } } };
      standby.config = { standby_cluster: { primary_slot_name: 'link_old' } };
      const { code, output } = await runPatch(
        cluster,
        { slots: { link_new: { type: 'physical' } } },
        { config: { guardStandby: [standby.nodes.map((n) => n.url)] } },
      );
      expect(code).toBe(0);
      expect(output).toContain('keeping slot link_old: the standby cluster still streams through it');
      expect(Object.keys(cluster.config.slots ?? {}).sort()).toEqual(['link_new', 'link_old']);
    } finally {
      standby.stop();
    }
  });
});

describe('the patch program: order, wake-ups, logging and settings (in-process)', () => {
  let cluster: FakeCluster;
  beforeEach(async () => {
    cluster = new FakeCluster();
    // each node on a loopback address of its own, so that the leader is told apart by host too
    cluster.hosts = ['127.0.7.1', '127.0.7.2', '127.0.7.3'];
    await cluster.start();
  });
  afterEach(() => cluster.stop());

  const desired = { loop_wait: 5, postgresql: { parameters: { work_mem: '8MB' } } };
  const patches = () => cluster.order.filter((r) => r.endsWith('PATCH /config'));

  test('the leader takes the first PATCH, wherever it stands in the list; then two wake-ups to every node', async () => {
    for (const leader of ['n2', 'n3', 'n1']) {
      cluster.leader = leader;
      cluster.order = [];
      const { code, output } = await runPatch(cluster, desired);
      expect(code).toBe(0);
      expect(patches()[0]).toBe(`${leader} PATCH /config`);
      // the leader: the PATCH and two wake-ups; every other node: the two wake-ups
      for (const n of cluster.nodes)
        expect([n.name, patches().filter((r) => r.startsWith(`${n.name} `)).length]).toEqual([
          n.name,
          n.name === leader ? 3 : 2,
        ]);
      expect(output.match(/PATCH \/config sent to/g)).toHaveLength(1);
    }
  });

  test('a patch that could demote goes only through a node whose GET /config was read: the leader unread, the next node takes it', async () => {
    cluster.config = { standby_cluster: { host: '10.0.1.1', port: 5432 } };
    cluster.configRead = (node) => (node === 'n2' ? 500 : undefined);
    const { code } = await runPatch(cluster, { standby_cluster: { host: '10.0.2.1', port: 5432 } });
    expect(code).toBe(0);
    // n2, the leader, is asked first, then passed over: n1's configuration was read, n1 takes it
    expect(cluster.order.filter((r) => r.endsWith('/config')).slice(0, 3)).toEqual([
      'n2 GET /config',
      'n1 GET /config',
      'n1 PATCH /config',
    ]);
    expect(cluster.config.standby_cluster).toEqual({ host: '10.0.2.1', port: 5432 });
  });

  test('a standby leader goes first too; by host alone (no api_url) it is found by its address', async () => {
    cluster.roles = { n3: 'standby_leader', n2: 'replica' };
    expect((await runPatch(cluster, desired)).code).toBe(0);
    expect(patches()[0]).toBe('n3 PATCH /config');
    cluster.hostOnly = true;
    cluster.roles = {};
    cluster.order = [];
    expect((await runPatch(cluster, desired)).code).toBe(0);
    expect(patches()[0]).toBe('n2 PATCH /config');
  });

  test("no leader in GET /cluster, or a first node that does not answer it: the list order, or the next node's answer", async () => {
    cluster.roles = { n1: 'replica', n2: 'replica', n3: 'replica' };
    expect((await runPatch(cluster, desired)).code).toBe(0);
    expect(patches()[0]).toBe('n1 PATCH /config');
    cluster.roles = {};
    cluster.leader = 'n3';
    cluster.order = [];
    // n1's REST API is gone: the cluster's view comes from n2, and the leader still goes first
    cluster.nodes[0].server.close();
    cluster.broken.add('n1');
    expect((await runPatch(cluster, desired)).code).toBe(0);
    expect(patches()[0]).toBe('n3 PATCH /config');
  });

  test('one "sent" line and one "removing" line, however many rounds the cluster takes', async () => {
    cluster.unavailable = 18; // six rounds of three nodes refused
    const { code, output } = await runPatch(cluster, desired, { config: { timeoutSeconds: 20 } });
    expect(code).toBe(0);
    expect(output.match(/PATCH \/config sent to/g)).toHaveLength(1);
    expect(output.match(/removing what the topology no longer has: postgresql\.parameters\.old_param\n/g)).toHaveLength(
      1,
    );
    // "waiting" every fifth round (the first and the sixth here), not every round
    expect(output.match(/waiting for the cluster's REST API/g)).toHaveLength(2);
  }, 30_000);

  test('nothing to remove: no "removing" line', async () => {
    cluster.config = { loop_wait: 10, postgresql: { parameters: { work_mem: '4MB' } } };
    const { code, output } = await runPatch(cluster, desired);
    expect(code).toBe(0);
    expect(output).not.toContain('removing');
  });

  test('403 is a refusal of the credentials too: at once, not retried', async () => {
    cluster.refusals = [403];
    const { code, output } = await runPatch(cluster, desired);
    expect(code).toBe(1);
    expect(output).toContain('refused the credentials (HTTP 403): check the user patroni and DC_PASSWORD');
    expect(patches()).toHaveLength(1);
  });

  test('a REST API that refuses connections: the last attempt names the cause', async () => {
    cluster.stop();
    const { code, output } = await runPatch(cluster, desired, { config: { timeoutSeconds: 1 } });
    expect(code).toBe(1);
    expect(output).toMatch(
      /gave up after 1s; last attempt: http:\/\/127\.0\.7\.3:\d+: connect ECONNREFUSED 127\.0\.7\.3:\d+\n/,
    );
  });

  test('optional, but a node answered (and refused to take it): a failure, not a warning', async () => {
    cluster.unavailable = 1000;
    const { code, output } = await runPatch(cluster, desired, { config: { timeoutSeconds: 1, optional: true } });
    expect(code).toBe(1);
    expect(output).toMatch(
      /FAILED: gave up after 1s; last attempt: http:\/\/127\.0\.7\.\d:\d+: HTTP 503 \{"error":"not yet"\}\n/,
    );
    expect(output).not.toContain('WARNING');
  });

  test("no hot-standby source named: nothing compared, no warning; a patch without parameters compares PostgreSQL's defaults", async () => {
    const plain = await runPatch(cluster, desired);
    expect(plain.output).not.toContain('WARNING');
    const source = new FakeCluster();
    await source.start();
    try {
      source.config = { postgresql: { parameters: { max_connections: 300 } } };
      const { code, output } = await runPatch(
        cluster,
        { loop_wait: 5 },
        { config: { hotStandbySource: source.nodes.map((n) => n.url) } },
      );
      expect(code).toBe(0);
      expect(output).toContain("WARNING: max_connections 100 on the standby is below the source's running 300");
    } finally {
      source.stop();
    }
  });
});

describe('PATRONI_PATCH_CONFIG that does not match the contract: exit 2, naming the variable and the field, nothing sent', () => {
  let cluster: FakeCluster;
  beforeEach(async () => {
    cluster = new FakeCluster();
    await cluster.start();
  });
  afterEach(() => cluster.stop());

  const desired = { loop_wait: 5 };
  /** The configuration's JSON with `endpoints` renamed `endpoint`, as a stack of another version could write it. */
  const renamed = () => {
    const { endpoints, ...rest } = patchConfig(cluster);
    return JSON.stringify({ ...rest, endpoint: endpoints });
  };

  test.each<[string, () => Record<string, string | undefined>, string]>([
    [
      'missing',
      () => ({ PATRONI_PATCH_CONFIG: undefined }),
      "PATRONI_PATCH_CONFIG is not set: this program is run by the stacks' planned resources, which set it",
    ],
    [
      'empty',
      () => ({ PATRONI_PATCH_CONFIG: '' }),
      "PATRONI_PATCH_CONFIG is not set: this program is run by the stacks' planned resources, which set it",
    ],
    [
      'not JSON',
      () => ({ PATRONI_PATCH_CONFIG: '{"label":' }),
      'PATRONI_PATCH_CONFIG is not JSON: Unexpected end of JSON input',
    ],
    [
      'a field of the wrong type',
      () => ({ PATRONI_PATCH_CONFIG: JSON.stringify({ ...patchConfig(cluster), timeoutSeconds: '4' }) }),
      `${MISMATCH}timeoutSeconds: Invalid input: expected number, received string`,
    ],
    [
      'a renamed field',
      () => ({ PATRONI_PATCH_CONFIG: renamed() }),
      `${MISMATCH}endpoints: Invalid input: expected array, received undefined; (root): Unrecognized key: "endpoint"`,
    ],
    [
      'a value out of its set',
      () => ({ PATRONI_PATCH_CONFIG: JSON.stringify({ ...patchConfig(cluster), sections: 'some' }) }),
      `${MISMATCH}sections: Invalid option: expected one of "all"|"slots"|"exact"`,
    ],
    [
      'not an object',
      () => ({ PATRONI_PATCH_CONFIG: '[]' }),
      `${MISMATCH}(root): Invalid input: expected object, received array`,
    ],
    // the twelve variables of the earlier programs configure nothing any more
    [
      'only the earlier variables',
      () => ({
        PATRONI_PATCH_CONFIG: undefined,
        PATRONI_ENDPOINTS: cluster.nodes.map((n) => n.url).join(','),
        PATRONI_PATCH_LABEL: 'test patch',
        PATRONI_PATCH_TIMEOUT: '4',
      }),
      "PATRONI_PATCH_CONFIG is not set: this program is run by the stacks' planned resources, which set it",
    ],
  ])('%s', async (_name, env, message) => {
    expect(await runPatch(cluster, desired, { env: env() })).toEqual({
      code: 2,
      output: `apply-config-patch: ${message}\n`,
    });
    expect(cluster.order).toEqual([]);
    expect(cluster.config.loop_wait).toBe(10);
  });

  test('as Terraform runs it: exit 2, the message on stderr, nothing sent', async () => {
    expect(await runPatch(cluster, desired, { env: { PATRONI_PATCH_CONFIG: renamed() }, asChild: true })).toEqual({
      code: 2,
      output: `apply-config-patch: ${MISMATCH}endpoints: Invalid input: expected array, received undefined; (root): Unrecognized key: "endpoint"\n`,
    });
    expect(cluster.order).toEqual([]);
  });
});

describe("the patch program's settings from its environment", () => {
  const config: PatchConfig = {
    label: 'dc2 patch',
    endpoints: ['http://a:8008', 'http://b:8008'],
    timeoutSeconds: 7,
    sections: 'exact',
    strict: true,
    optional: true,
    guardStandby: [['http://x:8008', 'http://y:8008'], ['http://z:8008']],
    hotStandbySource: ['http://s:8008'],
    restUser: 'patroni',
    restPasswordEnv: 'PW',
  };

  test('defaults: the body {} without PATRONI_PATCH, the password empty without its variable, no REST user', () => {
    const { restUser: _none, ...noUser } = config;
    expect(program.settingsFrom({ PATRONI_PATCH_CONFIG: JSON.stringify(noUser) })).toEqual({
      config: noUser,
      body: {},
      password: '',
    });
  });

  test('every variable read: the configuration as given, the body, the password from the variable the configuration names', () => {
    const s = program.settingsFrom({
      PATRONI_PATCH: '{"a":1}',
      PATRONI_PATCH_CONFIG: JSON.stringify(config),
      PW: 'secret',
      PATRONI_RESTAPI_PASSWORD: 'other',
    });
    expect(s).toEqual({ config, body: { a: 1 }, password: 'secret' });
  });

  test('the earlier variables configure nothing; a configuration that does not match is a ConfigError', () => {
    const earlier = {
      PATRONI_ENDPOINTS: 'http://c:8008',
      PATRONI_PATCH_TIMEOUT: '9',
      PATRONI_PATCH_LABEL: 'other patch',
      PATRONI_RESTAPI_USERNAME: 'someone',
      PATRONI_RESTAPI_PASSWORD_ENV: 'OTHER',
      OTHER: 'x',
      PATRONI_PATCH_SECTIONS: 'all',
      PATRONI_PATCH_STRICT: '0',
      PATRONI_PATCH_OPTIONAL: '0',
      PATRONI_PATCH_HOT_STANDBY_SOURCE: 'http://t:8008',
      PATRONI_PATCH_GUARD_STANDBY: 'http://w:8008',
    };
    expect(program.settingsFrom({ ...earlier, PATRONI_PATCH_CONFIG: JSON.stringify(config), PW: 'secret' })).toEqual({
      config,
      body: {},
      password: 'secret',
    });
    expect(() => program.settingsFrom(earlier)).toThrow(ConfigError);
    expect(() => program.settingsFrom({ PATRONI_PATCH_CONFIG: JSON.stringify({ ...config, strict: '1' }) })).toThrow(
      `${MISMATCH}strict: Invalid input: expected boolean, received string`,
    );
  });
});
