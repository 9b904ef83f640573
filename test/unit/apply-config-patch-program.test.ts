/**
 * programs/apply-config-patch.cjs as Terraform runs it (a child process with its environment),
 * against three fake Patroni REST APIs on 127.0.0.1: the leader first, the removal of what the
 * topology no longer has, retries while the cluster does not answer, a refused password, and the
 * verification with GET /config. One cause per test.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { programPath } from '../../constructs/scripts';

interface FakeNode {
  name: string;
  url: string;
  server: http.Server;
  requests: string[];
}

/** A Patroni-like cluster: one dynamic configuration, PATCH as a JSON merge patch (null removes). */
class FakeCluster {
  config: Record<string, any> = { loop_wait: 10, postgresql: { parameters: { work_mem: '4MB', old_param: 'x' } } };
  nodes: FakeNode[] = [];
  leader = 'n2';
  /** How many PATCH requests answer 503 before the cluster takes them. */
  unavailable = 0;
  /** PATCH answers 200 but changes nothing. */
  ignorePatches = false;
  password = 'pw';

  async start(): Promise<void> {
    for (const name of ['n1', 'n2', 'n3']) {
      const node = { name, url: '', server: http.createServer((req, res) => this.handle(node, req, res)), requests: [] as string[] };
      await new Promise<void>((r) => node.server.listen(0, '127.0.0.1', r));
      node.url = `http://127.0.0.1:${(node.server.address() as AddressInfo).port}`;
      this.nodes.push(node);
    }
  }

  stop(): void {
    for (const n of this.nodes) n.server.close();
  }

  private handle(node: FakeNode, req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      node.requests.push(`${req.method} ${req.url}`);
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (req.url === '/cluster') return send(200, { members: this.nodes.map((n) => ({ name: n.name, role: n.name === this.leader ? 'leader' : 'replica', api_url: `${n.url}/patroni` })) });
      if (req.url === '/config' && req.method === 'GET') return send(200, this.config);
      if (req.url === '/config' && req.method === 'PATCH') {
        if (req.headers.authorization !== `Basic ${Buffer.from(`patroni:${this.password}`).toString('base64')}`) return send(401, { error: 'no auth' });
        if (this.unavailable > 0) {
          this.unavailable -= 1;
          return send(503, { error: 'not yet' });
        }
        if (!this.ignorePatches) this.config = merge(this.config, JSON.parse(body));
        return send(200, this.config);
      }
      return send(404, {});
    });
  }
}

function merge(target: Record<string, any>, patch: Record<string, any>): Record<string, any> {
  const out = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null) out[k] = merge(out[k], v);
    else out[k] = v;
  }
  return out;
}

/** Runs the program the way the planned resource does; resolves with its exit code and output. */
function runPatch(cluster: FakeCluster, body: unknown, env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [programPath('apply-config-patch.cjs')], {
      env: {
        PATH: process.env.PATH ?? '',
        PATRONI_PATCH: JSON.stringify(body),
        PATRONI_ENDPOINTS: cluster.nodes.map((n) => n.url).join(','),
        PATRONI_PATCH_LABEL: 'test patch',
        PATRONI_PATCH_TIMEOUT: '4',
        PATRONI_PATCH_STRICT: '1',
        PATRONI_RESTAPI_USERNAME: 'patroni',
        PATRONI_RESTAPI_PASSWORD_ENV: 'DC_PASSWORD',
        DC_PASSWORD: 'pw',
        ...env,
      },
    });
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
    const { code, output } = await runPatch(cluster, desired);
    expect({ code, output }).toEqual({ code: 0, output: expect.stringMatching(/PATCH \/config sent to http:\/\/127\.0\.0\.1:\d+ at .*: HTTP 200/) });
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
    expect(cluster.config.postgresql.parameters).toEqual({ work_mem: '8MB' });
    expect(cluster.config.managed_by_patroni_standby_cdktf).toEqual({ slots: [], parameters: ['work_mem'], keys: ['loop_wait'] });
  });

  test('a cluster that answers 503 at first: the program waits and retries until it takes the PATCH', async () => {
    cluster.unavailable = 4;
    const { code, output } = await runPatch(cluster, desired, { PATRONI_PATCH_TIMEOUT: '20' });
    expect({ code, tail: output.slice(-300) }).toEqual({ code: 0, tail: expect.stringMatching(/verified with GET \/config/) });
    expect(output).toMatch(/waiting for the cluster's REST API \(.*HTTP 503/);
    expect(cluster.config.loop_wait).toBe(5);
  }, 30_000);

  test('a wrong password: refused at once, naming the variable, nothing changed', async () => {
    const started = Date.now();
    const { code, output } = await runPatch(cluster, desired, { DC_PASSWORD: 'wrong' });
    expect(code).toBe(1);
    expect(output).toMatch(/refused the credentials \(HTTP 401\): check the user patroni and DC_PASSWORD/);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(cluster.config.loop_wait).toBe(10);
  });

  test('no password in the environment: refused before any request', async () => {
    const { code, output } = await runPatch(cluster, desired, { DC_PASSWORD: '' });
    expect(code).toBe(1);
    expect(output).toContain('the REST API needs authentication as "patroni": set DC_PASSWORD in the deploying environment');
    expect(cluster.nodes.flatMap((n) => n.requests)).toEqual([]);
  });

  test('a PATCH that answers 200 but does not show in GET /config: the program fails with the difference', async () => {
    cluster.ignorePatches = true;
    const { code, output } = await runPatch(cluster, desired, { PATRONI_PATCH_TIMEOUT: '2' });
    expect(code).toBe(1);
    expect(output).toMatch(/gave up after 2s; last attempt: .*applied but GET \/config differs: loop_wait: want 5, have 10/);
  }, 40_000); // each node gets 5 s to show the change before the next is tried

  test('a patch that would demote the running primary: refused, nothing sent', async () => {
    const { code, output } = await runPatch(cluster, { standby_cluster: { host: '10.0.2.1', port: 5432 } });
    expect(code).toBe(1);
    expect(output).toContain('this patch would make a running primary cluster a standby cluster');
    expect(cluster.nodes.flatMap((n) => n.requests).filter((r) => r.startsWith('PATCH'))).toEqual([]);
  });
});
