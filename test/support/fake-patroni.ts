/**
 * Fake Patroni REST APIs on 127.0.0.1 for the programs' unit tests: one cluster of three nodes
 * sharing one dynamic configuration. GET /cluster names the leader; GET /config (which can be made
 * to fail or hang: `configRead`) and PATCH /config (a JSON merge patch, null removes, basic
 * authentication checked); POST endpoints recorded and answered with `postStatus`; GET /history
 * answers `history`.
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/** A dynamic configuration as the fake keeps it (what GET /config answers). */
export interface FakeConfig {
  [key: string]: unknown;
  postgresql?: { [key: string]: unknown; parameters?: Record<string, unknown> };
  slots?: Record<string, unknown>;
  standby_cluster?: Record<string, unknown>;
}

export interface FakeNode {
  name: string;
  host: string;
  url: string;
  server: http.Server;
  requests: string[];
}

/** A Patroni-like cluster: one dynamic configuration, PATCH as a JSON merge patch (null removes). */
export class FakeCluster {
  config: FakeConfig = { loop_wait: 10, postgresql: { parameters: { work_mem: '4MB', old_param: 'x' } } };
  nodes: FakeNode[] = [];
  leader = 'n2';
  /** How many PATCH requests answer 503 before the cluster takes them. */
  unavailable = 0;
  /** Statuses the next PATCH requests answer with before the cluster takes them (409: a concurrent change). */
  refusals: number[] = [];
  /** Nodes whose REST API answers nothing but 503. */
  broken = new Set<string>();
  /** The Patroni version GET /patroni reports (none: the field is left out). */
  version: string | undefined = '4.1.5';
  /** GET /cluster names the leader by host only (no api_url), as older Patroni versions do. */
  hostOnly = false;
  /** PATCH answers 200 but changes nothing. */
  ignorePatches = false;
  password = 'pw';
  /** What POST requests answer (POST /switchover, /reinitialize, /restart...). */
  postStatus = 200;
  /** The bodies of POST requests, as `<node> <path> <body>`. */
  posts: string[] = [];
  /** GET /history. */
  history: unknown[] = [];
  /** Every request to any node, in the order they arrived, as `<node> <method> <path>`. */
  order: string[] = [];
  /** Roles GET /cluster gives, by node name; the leader's is 'leader' unless given. */
  roles: Record<string, string> = {};
  /**
   * How a GET /config on `node` fails, asked at each such request: an HTTP status it answers
   * instead of the configuration, 'hang' (it answers only after `hangMs`, past the client's
   * timeout), or undefined: it answers the configuration. PATCH /config is not affected.
   */
  configRead: (node: string) => number | 'hang' | undefined = () => undefined;
  /** How long a hanging GET /config holds its answer. */
  hangMs = 10_000;

  /** Where each node listens; by default all on 127.0.0.1 (other loopback addresses tell nodes apart by host). */
  hosts = ['127.0.0.1', '127.0.0.1', '127.0.0.1'];

  async start(): Promise<void> {
    for (const [i, name] of ['n1', 'n2', 'n3'].entries()) {
      const node = {
        name,
        host: this.hosts[i],
        url: '',
        server: http.createServer((req, res) => this.handle(node, req, res)),
        requests: [] as string[],
      };
      await new Promise<void>((r) => node.server.listen(0, node.host, r));
      node.url = `http://${node.host}:${(node.server.address() as AddressInfo).port}`;
      this.nodes.push(node);
    }
  }

  stop(): void {
    for (const n of this.nodes) {
      n.server.close();
      n.server.closeAllConnections();
    }
  }

  private handle(node: FakeNode, req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      node.requests.push(`${req.method} ${req.url}`);
      this.order.push(`${node.name} ${req.method} ${req.url}`);
      const authorized =
        req.headers.authorization === `Basic ${Buffer.from(`patroni:${this.password}`).toString('base64')}`;
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (this.broken.has(node.name)) return send(503, { error: 'broken' });
      if (req.url === '/cluster') {
        return send(200, {
          members: this.nodes.map((n) => ({
            name: n.name,
            role: this.roles[n.name] ?? (n.name === this.leader ? 'leader' : 'replica'),
            host: n.host,
            ...(this.hostOnly ? {} : { api_url: `${n.url}/patroni` }),
          })),
        });
      }
      if (req.url === '/config' && req.method === 'GET') {
        const failure = this.configRead(node.name);
        if (failure === 'hang') {
          const late = setTimeout(() => send(200, this.config), this.hangMs);
          res.on('close', () => clearTimeout(late));
          return;
        }
        return failure === undefined ? send(200, this.config) : send(failure, { error: 'GET /config failed' });
      }
      if (req.url === '/history' && req.method === 'GET') return send(200, this.history);
      if (req.url === '/patroni' && req.method === 'GET')
        return send(200, { state: 'running', ...(this.version ? { patroni: { version: this.version } } : {}) });
      if (req.method === 'POST') {
        if (!authorized) return send(401, { error: 'no auth' });
        this.posts.push(`${node.name} ${req.url} ${body}`);
        return send(this.postStatus, this.postStatus === 200 ? { ok: true } : 'refused');
      }
      if (req.url === '/config' && req.method === 'PATCH') {
        if (!authorized) return send(401, { error: 'no auth' });
        if (this.unavailable > 0) {
          this.unavailable -= 1;
          return send(503, { error: 'not yet' });
        }
        const refusal = this.refusals.shift();
        if (refusal !== undefined) return send(refusal, { error: 'conflict' });
        if (!this.ignorePatches) this.config = merge(this.config, JSON.parse(body) as Record<string, unknown>);
        return send(200, this.config);
      }
      return send(404, {});
    });
  }
}

/** A JSON merge patch of `target` (null removes, objects merge, anything else replaces), as Patroni's PATCH /config. */
export function merge(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    const have = out[k];
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof have === 'object' && have !== null)
      out[k] = merge(have as Record<string, unknown>, v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}
