#!/usr/bin/env node
// Applies one Patroni dynamic-configuration patch through the REST API (PATCH /config),
// trying each node in turn until the deadline, then verifies it with GET /config.
//
// Environment (set by the planned resource, never a password):
//   PATRONI_PATCH             JSON body of the patch
//   PATRONI_ENDPOINTS         comma list of REST API base URLs (http://host:8008)
//   PATRONI_PATCH_TIMEOUT     seconds to keep trying (default 300)
//   PATRONI_RESTAPI_USERNAME  basic-auth user when the REST API has authentication
//   PATRONI_PATCH_OPTIONAL    "1": when no node answers before the deadline, warn and succeed
//                             (a clean-up on a cluster that may be gone, never a configuration)
// From the deploying pipeline's own environment:
//   PATRONI_RESTAPI_PASSWORD  basic-auth password
'use strict';

const patch = JSON.parse(process.env.PATRONI_PATCH || '{}');
const endpoints = (process.env.PATRONI_ENDPOINTS || '').split(',').map((s) => s.trim()).filter(Boolean);
const timeoutMs = Number(process.env.PATRONI_PATCH_TIMEOUT || 300) * 1000;
const label = process.env.PATRONI_PATCH_LABEL || 'patroni config patch';
const user = process.env.PATRONI_RESTAPI_USERNAME || '';
const password = process.env.PATRONI_RESTAPI_PASSWORD || '';
const optional = process.env.PATRONI_PATCH_OPTIONAL === '1';

function log(msg) {
  process.stdout.write(`[${label}] ${new Date().toISOString()} ${msg}\n`);
}

function headers() {
  const h = { 'content-type': 'application/json' };
  if (user) h.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return h;
}

async function call(method, url, body, timeoutMs = 5000) {
  const res = await fetch(url, { method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  return { status: res.status, text };
}

// Whether `actual` shows every key of the merge patch: null means absent, objects recurse.
function mismatches(expected, actual, path) {
  const out = [];
  for (const [key, want] of Object.entries(expected)) {
    const have = actual && typeof actual === 'object' ? actual[key] : undefined;
    const where = path ? `${path}.${key}` : key;
    if (want === null) {
      if (have !== undefined && have !== null) out.push(`${where} should be absent`);
    } else if (typeof want === 'object' && !Array.isArray(want)) {
      out.push(...mismatches(want, have || {}, where));
    } else if (JSON.stringify(want) !== JSON.stringify(have) && String(want) !== String(have)) {
      out.push(`${where}: want ${JSON.stringify(want)}, have ${JSON.stringify(have)}`);
    }
  }
  return out;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

const LEADER_ROLES = ['leader', 'master', 'primary', 'standby_leader'];

/**
 * The endpoints with the cluster's leader first: Patroni wakes up the HA loop of the node that
 * receives a PATCH, so the leader acts on it at once instead of at its next loop_wait.
 */
async function leaderFirst() {
  for (const base of endpoints) {
    try {
      const res = await fetch(`${base}/cluster`, { signal: AbortSignal.timeout(2000) });
      const leader = ((await res.json()).members || []).find((m) => LEADER_ROLES.includes(m.role));
      const first = leader && endpoints.find((e) => (leader.api_url ? new URL(leader.api_url).host === new URL(e).host : new URL(e).hostname === leader.host));
      return first ? [first, ...endpoints.filter((e) => e !== first)] : endpoints;
    } catch {
      // next node
    }
  }
  return endpoints;
}

/**
 * The same PATCH to every node shortly after the first one: the configuration already holds it,
 * so they write nothing, but each wakes up its HA loop. The loop woken by the first PATCH often
 * still reads the old configuration from its DCS cache and would act only at its next loop_wait
 * tick; these wake-ups, 150 and 500 ms later, start a cycle that sees the change. Best effort.
 */
async function wakeAll(ordered) {
  for (const pause of [150, 350]) {
    await sleep(pause);
    await Promise.allSettled(ordered.map((e) => call('PATCH', `${e}/config`, patch, 2000)));
  }
}

/** GET /config until it shows the patch (the node's view follows the DCS within moments). */
async function verify(base) {
  let wrong = [];
  for (const until = Date.now() + 5000; Date.now() < until; await sleep(100)) {
    const check = await call('GET', `${base}/config`);
    wrong = check.status === 200 ? mismatches(patch, JSON.parse(check.text), '') : [`GET /config returned HTTP ${check.status}`];
    if (wrong.length === 0) break;
  }
  return wrong;
}

async function main() {
  if (endpoints.length === 0) throw new Error('PATRONI_ENDPOINTS is empty');
  if (user && !password) {
    throw new Error(`the REST API needs authentication as "${user}": set PATRONI_RESTAPI_PASSWORD in the deploying environment`);
  }
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt yet';
  let answered = false;
  for (let round = 0; Date.now() < deadline; round++) {
    const ordered = await leaderFirst();
    for (const base of ordered) {
      try {
        const sentAt = new Date().toISOString();
        const res = await call('PATCH', `${base}/config`, patch);
        if (!answered) log(`PATCH /config sent to ${base} at ${sentAt}: HTTP ${res.status}`);
        answered = true;
        if (res.status === 401 || res.status === 403) {
          throw Object.assign(new Error(`${base} refused the credentials (HTTP ${res.status}): check PATRONI_RESTAPI_USERNAME/PASSWORD`), { fatal: true });
        }
        if (res.status !== 200) {
          last = `${base}: HTTP ${res.status} ${res.text.trim().slice(0, 200)}`;
          continue;
        }
        const waking = wakeAll(ordered);
        const wrong = await verify(base);
        await waking;
        if (wrong.length === 0) {
          log(`applied through ${base} and verified with GET /config (${Object.keys(patch).join(', ')})`);
          return;
        }
        last = `${base}: applied but GET /config differs: ${wrong.join('; ')}`;
      } catch (err) {
        if (err.fatal) throw err;
        last = `${base}: ${err.cause ? err.cause.code || err.cause.message : err.message}`;
      }
    }
    if (round % 5 === 0) log(`waiting for the cluster's REST API (${last})`);
    await sleep(2000);
  }
  if (optional && !answered) {
    log(`WARNING: no node answered in ${timeoutMs / 1000}s (${last}); left as it is: apply this stack again once the cluster is reachable`);
    return;
  }
  throw new Error(`gave up after ${timeoutMs / 1000}s; last attempt: ${last}`);
}

main().catch((err) => {
  process.stderr.write(`[${label}] FAILED: ${err.message}\n`);
  process.exit(1);
});
