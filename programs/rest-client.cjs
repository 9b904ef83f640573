// The Patroni REST API client of the programs (the patch, the gate, status): plain HTTP, or HTTPS
// verified against a CA bundle, with a client certificate when the nodes ask for one
// (restapi.verify_client). The files are the deploying machine's, named by its environment:
//   PATRONI_REST_CACERT    CA bundle that signed the nodes' REST API certificates (all clusters)
//   PATRONI_REST_CERTFILE  client certificate, PATRONI_REST_KEYFILE its key (verify_client)
// Without PATRONI_REST_CACERT the system's CAs are used. Verification is never switched off.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');

const agents = new Map();

/** One HTTPS agent per set of files, with the environment's CA and client certificate. */
function httpsAgent(env = process.env) {
  const files = ['PATRONI_REST_CACERT', 'PATRONI_REST_CERTFILE', 'PATRONI_REST_KEYFILE'].map((n) => env[n] || '').join('\n');
  if (agents.has(files)) return agents.get(files);
  const read = (name) => {
    const file = env[name];
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`${name}=${file} cannot be read: ${err.code || err.message}`);
    }
  };
  const cert = read('PATRONI_REST_CERTFILE');
  const key = read('PATRONI_REST_KEYFILE');
  if (Boolean(cert) !== Boolean(key)) throw new Error('PATRONI_REST_CERTFILE and PATRONI_REST_KEYFILE go together: set both or neither');
  const agent = new https.Agent({ ca: read('PATRONI_REST_CACERT'), cert, key, keepAlive: false });
  agents.set(files, agent);
  return agent;
}

/**
 * One request. Resolves to { status, text, date } (date: the server's Date header); rejects on
 * a connection or TLS error, with the reason in the message (a certificate the CA bundle does not
 * cover names PATRONI_REST_CACERT).
 */
function request(url, { method = 'GET', headers = {}, body, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
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
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text, date: res.headers.date }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${u.host} within ${timeoutMs} ms`)));
    req.on('error', (err) => {
      if (secure && /certificate|self.signed|CERT_|unable to verify/i.test(`${err.code} ${err.message}`)) {
        reject(Object.assign(new Error(`${u.host}: TLS verification failed (${err.code || err.message}): set PATRONI_REST_CACERT to the CA bundle of the clusters' REST API certificates`), { tls: true }));
      } else {
        reject(err);
      }
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** GET and parse JSON; undefined when the node does not answer or the answer is not 2xx JSON. */
async function getJson(url, timeoutMs = 2000) {
  return (await getJsonAt(url, timeoutMs)).body;
}

/**
 * GET and parse JSON, with the server's clock at the answer (its Date header, epoch seconds, or
 * undefined without one): a time the server reports is compared with the server's own clock, not
 * with the caller's, which may be off.
 */
async function getJsonAt(url, timeoutMs = 2000) {
  try {
    const res = await request(url, { timeoutMs });
    if (res.status < 200 || res.status >= 300) return { body: undefined, at: undefined };
    const at = res.date ? Date.parse(res.date) / 1000 : NaN;
    return { body: JSON.parse(res.text), at: Number.isFinite(at) ? at : undefined };
  } catch {
    return { body: undefined, at: undefined };
  }
}

/** JSON request headers, with Patroni's basic authentication when the REST API has a user. */
function jsonHeaders(user, password) {
  const headers = { 'content-type': 'application/json' };
  if (user) headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return headers;
}

module.exports = { request, getJson, getJsonAt, httpsAgent, jsonHeaders };
