/**
 * The Patroni REST API client of the programs (the patch, the gate, status): plain HTTP, or HTTPS
 * verified against a CA bundle, with a client certificate when the nodes ask for one
 * (restapi.verify_client). The files are the deploying machine's, named by its environment:
 *   PATRONI_REST_CACERT    CA bundle that signed the nodes' REST API certificates (all clusters)
 *   PATRONI_REST_CERTFILE  client certificate, PATRONI_REST_KEYFILE its key (verify_client)
 * Without PATRONI_REST_CACERT the system's CAs are used. Verification is never switched off.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

/** The environment the files are named in (process.env, or a test's own). */
export type RestEnv = Readonly<Record<string, string | undefined>>;

/** One request's options: GET without a body, 5 s to answer, unless told otherwise. */
export interface RestRequest {
  readonly method?: string;
  readonly headers?: http.OutgoingHttpHeaders;
  /** Sent as it is when a string, as JSON otherwise; none when undefined. */
  readonly body?: unknown;
  readonly timeoutMs?: number;
}

/** One answer: its status, its body as text, and the server's Date header. */
export interface RestResponse {
  readonly status: number;
  readonly text: string;
  readonly date: string | undefined;
}

/** A parsed JSON answer with the server's clock at the answer (epoch seconds), when it sent one. */
export interface JsonAnswer {
  readonly body: unknown;
  readonly at: number | undefined;
}

/**
 * A TLS verification failure: marked, so that the programs stop at once instead of retrying a
 * certificate that cannot heal.
 */
export type TlsError = Error & { readonly tls: true };

const agents = new Map<string, https.Agent>();

/** One HTTPS agent per set of files, with the environment's CA and client certificate. */
export function httpsAgent(env: RestEnv = process.env): https.Agent {
  const files = ['PATRONI_REST_CACERT', 'PATRONI_REST_CERTFILE', 'PATRONI_REST_KEYFILE']
    .map((n) => env[n] || '')
    .join('\n');
  const known = agents.get(files);
  if (known) return known;
  const read = (name: string): Buffer | undefined => {
    const file = env[name];
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new Error(`${name}=${file} cannot be read: ${e.code || e.message}`);
    }
  };
  const cert = read('PATRONI_REST_CERTFILE');
  const key = read('PATRONI_REST_KEYFILE');
  if (Boolean(cert) !== Boolean(key))
    throw new Error('PATRONI_REST_CERTFILE and PATRONI_REST_KEYFILE go together: set both or neither');
  const agent = new https.Agent({ ca: read('PATRONI_REST_CACERT'), cert, key, keepAlive: false });
  agents.set(files, agent);
  return agent;
}

/**
 * One request. Resolves to { status, text, date } (date: the server's Date header); rejects on
 * a connection or TLS error, with the reason in the message (a certificate the CA bundle does not
 * cover names PATRONI_REST_CACERT).
 */
export function request(
  url: string,
  { method = 'GET', headers = {}, body, timeoutMs = 5000 }: RestRequest = {},
): Promise<RestResponse> {
  return new Promise<RestResponse>((resolve, reject) => {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = (secure ? https : http).request(
      u,
      {
        method,
        headers: payload === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(payload) },
        agent: secure ? httpsAgent() : undefined,
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        // a client's answer always has a status code (the type allows none for a server's request)
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, date: res.headers.date }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${u.host} within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (secure && /certificate|self.signed|CERT_|unable to verify/i.test(`${err.code} ${err.message}`)) {
        const tls: TlsError = Object.assign(
          new Error(
            `${u.host}: TLS verification failed (${err.code || err.message}): set PATRONI_REST_CACERT to the CA bundle of the clusters' REST API certificates`,
          ),
          { tls: true as const },
        );
        reject(tls);
      } else {
        reject(err);
      }
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** GET and parse JSON; undefined when the node does not answer or the answer is not 2xx JSON. */
export async function getJson(url: string, timeoutMs = 2000): Promise<unknown> {
  return (await getJsonAt(url, timeoutMs)).body;
}

/**
 * GET and parse JSON, with the server's clock at the answer (its Date header, epoch seconds, or
 * undefined without one): a time the server reports is compared with the server's own clock, not
 * with the caller's, which may be off.
 */
export async function getJsonAt(url: string, timeoutMs = 2000): Promise<JsonAnswer> {
  try {
    const res = await request(url, { timeoutMs });
    if (res.status < 200 || res.status >= 300) return { body: undefined, at: undefined };
    const at = res.date ? Date.parse(res.date) / 1000 : NaN;
    const body: unknown = JSON.parse(res.text);
    return { body, at: Number.isFinite(at) ? at : undefined };
  } catch {
    return { body: undefined, at: undefined };
  }
}

/** JSON request headers, with Patroni's basic authentication when the REST API has a user. */
export function jsonHeaders(user?: string, password?: string): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (user) headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return headers;
}
