/**
 * runtime/rest-client.ts against real servers: HTTPS verified with a CA bundle (made here with
 * openssl), a client certificate when the server requires one, and IPv6 addresses in URLs.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { getJson, getJsonAt, httpsAgent, jsonHeaders, request, TlsError } from '../../runtime/rest-client';
import { makePki, Pki } from '../support/pki';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rest-tls-'));
let pki: Pki;

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['PATRONI_REST_CACERT', 'PATRONI_REST_CERTFILE', 'PATRONI_REST_KEYFILE']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function listen(server: http.Server, host: string): Promise<number> {
  await new Promise<void>((r) => server.listen(0, host, r));
  return (server.address() as AddressInfo).port;
}

const handler: http.RequestListener = (req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate?.();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        method: req.method,
        body,
        length: req.headers['content-length'] ?? null,
        authorization: req.headers.authorization ?? null,
        client: peer && peer.subject ? peer.subject.CN : null,
      }),
    );
  });
};

describe('HTTPS', () => {
  let server: https.Server;
  let port: number;
  beforeAll(async () => {
    pki = makePki(dir, ['127.0.0.1', '::1']);
    server = https.createServer(
      {
        key: fs.readFileSync(pki.serverKey),
        cert: fs.readFileSync(pki.serverCert),
        ca: fs.readFileSync(pki.ca),
        requestCert: true,
        rejectUnauthorized: true,
      },
      handler,
    );
    port = await listen(server, '127.0.0.1');
  });
  afterAll(() => server.close());

  test('verified against PATRONI_REST_CACERT, with the client certificate the server requires', async () => {
    Object.assign(process.env, {
      PATRONI_REST_CACERT: pki.ca,
      PATRONI_REST_CERTFILE: pki.clientCert,
      PATRONI_REST_KEYFILE: pki.clientKey,
    });
    const res = await request(`https://127.0.0.1:${port}/config`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: { loop_wait: 5 },
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({
      method: 'PATCH',
      body: '{"loop_wait":5}',
      length: '15',
      authorization: null,
      client: 'client',
    });
  });

  test('a server certificate of another CA is refused, and the message names the variable', async () => {
    Object.assign(process.env, {
      PATRONI_REST_CACERT: pki.otherCa,
      PATRONI_REST_CERTFILE: pki.clientCert,
      PATRONI_REST_KEYFILE: pki.clientKey,
    });
    const err = await request(`https://127.0.0.1:${port}/config`).then(
      () => {
        throw new Error('a server certificate of another CA was accepted');
      },
      (e: TlsError) => e,
    );
    expect(err.message).toMatch(
      /^127\.0\.0\.1:\d+: TLS verification failed \([A-Z_]+\): set PATRONI_REST_CACERT to the CA bundle/,
    );
    // marked as TLS: the programs stop at once instead of retrying a certificate that cannot heal
    expect(err.tls).toBe(true);
  });

  test('without a client certificate the server that requires one refuses the connection', async () => {
    process.env.PATRONI_REST_CACERT = pki.ca;
    await expect(request(`https://127.0.0.1:${port}/config`)).rejects.toThrow();
  });

  test('a certificate without its key is a configuration error, not a silent plain request', async () => {
    Object.assign(process.env, { PATRONI_REST_CACERT: pki.ca, PATRONI_REST_CERTFILE: pki.clientCert });
    await expect(request(`https://127.0.0.1:${port}/config`)).rejects.toThrow(
      'PATRONI_REST_CERTFILE and PATRONI_REST_KEYFILE go together: set both or neither',
    );
  });

  test('an unreadable CA file is named', async () => {
    const missing = path.join(dir, 'missing.pem');
    process.env.PATRONI_REST_CACERT = missing;
    await expect(request(`https://127.0.0.1:${port}/config`)).rejects.toThrow(
      `PATRONI_REST_CACERT=${missing} cannot be read: ENOENT`,
    );
  });
});

describe('IPv6', () => {
  test('a bracketed IPv6 URL reaches a server on ::1', async () => {
    const server = http.createServer(handler);
    let port: number;
    try {
      port = await listen(server, '::1');
    } catch (err) {
      throw new Error(`this machine has no IPv6 loopback (::1): ${(err as Error).message}`);
    }
    try {
      const res = await request(`http://[::1]:${port}/patroni`);
      expect(JSON.parse(res.text)).toMatchObject({ method: 'GET' });
    } finally {
      server.close();
    }
  });
});

describe('plain HTTP', () => {
  let server: http.Server;
  let port: number;
  let status = 200;
  let reply = '{"ok":true}';
  let silent = false;
  let date: string | undefined;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (silent) return; // never answers
      if (req.url === '/echo') return handler(req, res);
      // the server's clock, as Patroni's REST API (Python's http.server) sends it
      res.sendDate = false;
      res.writeHead(status, { 'content-type': 'application/json', ...(date ? { date } : {}) });
      res.end(reply);
    });
    port = await listen(server, '127.0.0.1');
  });
  afterAll(() => server.close());
  beforeEach(() => {
    status = 200;
    reply = '{"ok":true}';
    silent = false;
    date = undefined;
  });

  test('a body is sent as it is (a string) or as JSON (anything else), with its length; none without one', async () => {
    const echo = async (body?: unknown) =>
      JSON.parse((await request(`http://127.0.0.1:${port}/echo`, { method: 'POST', body })).text);
    expect(await echo('{"a": 1}')).toMatchObject({ body: '{"a": 1}', length: '8' });
    expect(await echo({ a: 'é' })).toMatchObject({ body: '{"a":"é"}', length: '10' });
    // a GET without a body carries no content-length (node adds 0 to a bodiless POST by itself)
    expect(JSON.parse((await request(`http://127.0.0.1:${port}/echo`)).text)).toMatchObject({
      method: 'GET',
      body: '',
      length: null,
    });
  });

  test('getJson: the parsed answer of a 2xx; undefined for another status, a body that is not JSON, or no server', async () => {
    expect(await getJson(`http://127.0.0.1:${port}/x`)).toEqual({ ok: true });
    status = 299;
    expect(await getJson(`http://127.0.0.1:${port}/x`)).toEqual({ ok: true });
    for (const s of [300, 503, 199]) {
      status = s;
      expect([s, await getJson(`http://127.0.0.1:${port}/x`)]).toEqual([s, undefined]);
    }
    status = 200;
    reply = 'not json';
    expect(await getJson(`http://127.0.0.1:${port}/x`)).toBeUndefined();
    expect(await getJson('http://127.0.0.1:1/x')).toBeUndefined();
  });

  test("getJsonAt: the answer with the server's clock from its Date header; none without a valid one", async () => {
    date = 'Thu, 26 Nov 2026 23:59:58 GMT';
    expect(await getJsonAt(`http://127.0.0.1:${port}/x`)).toEqual({
      body: { ok: true },
      at: Date.UTC(2026, 10, 26, 23, 59, 58) / 1000,
    });
    date = 'not a date';
    expect(await getJsonAt(`http://127.0.0.1:${port}/x`)).toEqual({ body: { ok: true }, at: undefined });
    date = undefined;
    expect(await getJsonAt(`http://127.0.0.1:${port}/x`)).toEqual({ body: { ok: true }, at: undefined });
    expect(await getJsonAt('http://127.0.0.1:1/x')).toEqual({ body: undefined, at: undefined });
  });

  test('a node that never answers: the request fails after its timeout, naming the host', async () => {
    silent = true;
    const started = Date.now();
    await expect(request(`http://127.0.0.1:${port}/x`, { timeoutMs: 300 })).rejects.toThrow(
      `no answer from 127.0.0.1:${port} within 300 ms`,
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await getJson(`http://127.0.0.1:${port}/x`, 300)).toBeUndefined();
  });

  test('jsonHeaders: basic authentication only with a user', async () => {
    expect(jsonHeaders('', 'pw')).toEqual({ 'content-type': 'application/json' });
    expect(jsonHeaders('patroni', 'p:w')).toEqual({
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from('patroni:p:w').toString('base64')}`,
    });
    const res = await request(`http://127.0.0.1:${port}/echo`, { headers: jsonHeaders('patroni', 'pw') });
    expect(JSON.parse(res.text).authorization).toBe('Basic cGF0cm9uaTpwdw==');
  });

  test('one HTTPS agent per set of files, reused', () => {
    const env = { PATRONI_REST_CACERT: pki.ca };
    const a = httpsAgent(env);
    expect(httpsAgent({ ...env })).toBe(a);
    expect(httpsAgent({ PATRONI_REST_CACERT: pki.otherCa })).not.toBe(a);
    expect(a.options.keepAlive).toBe(false);
  });
});
