#!/usr/bin/env node
// Applies one Patroni dynamic-configuration patch through the REST API (PATCH /config),
// trying each node in turn until the deadline, then verifies it with GET /config.
//
// Desired state, not merged state: PATCH merges, so what the topology no longer renders is sent
// as null, computed against the running configuration (GET /config) right before the PATCH:
//   - a managed cluster (PATRONI_PATCH_STRICT=1): every PostgreSQL parameter and permanent slot
//     that the body does not name is removed;
//   - any cluster: what this program wrote before (recorded under the key MARKER in the cluster's
//     dynamic configuration, which Patroni keeps and ignores) and the body no longer names is
//     removed; nothing it did not write is touched on an existing cluster.
// A patch that carries a standby_cluster block is sent only through a node whose running
// configuration was read right before and shows a standby cluster already: it never reaches a
// running primary (a demotion is the role step's, after its gate), also not when GET /config fails.
// A slot that the standby cluster's configuration still names as its primary_slot_name is never
// removed (PATRONI_PATCH_GUARD_STANDBY: that cluster's REST endpoints): its removal is held, and
// the standby's link-slots step completes it once the standby has let go of it.
//
// Environment (set by the planned resource, never a password):
//   PATRONI_PATCH               JSON body of the patch (the desired configuration)
//   PATRONI_ENDPOINTS           comma list of REST API base URLs (http://host:8008)
//   PATRONI_PATCH_SECTIONS      "all" (default); "slots": only the slots section is managed;
//                               "exact": the body as it is, nothing removed (the detach)
//   PATRONI_PATCH_STRICT        "1": a managed cluster (see above)
//   PATRONI_PATCH_GUARD_STANDBY each standby cluster's REST endpoints: comma lists, joined by ';'
//   PATRONI_PATCH_TIMEOUT       seconds to keep trying (default 300)
//   PATRONI_RESTAPI_USERNAME    basic-auth user when the REST API has authentication
//   PATRONI_RESTAPI_PASSWORD_ENV name of the variable that holds its password
//                               (default PATRONI_RESTAPI_PASSWORD)
//   PATRONI_PATCH_OPTIONAL      "1": when no node answers before the deadline, warn and succeed
//                               (a clean-up on a cluster that may be gone, never a configuration)
//   PATRONI_PATCH_HOT_STANDBY_SOURCE  the source cluster's REST endpoints (a standby's patch): warn
//                               when a hot-standby parameter would be below the source's running value
//   PATRONI_REST_CACERT, PATRONI_REST_CERTFILE, PATRONI_REST_KEYFILE: HTTPS (rest-client.cjs)
'use strict';

const { request, getJson, jsonHeaders } = require('./rest-client.cjs');

/** The program's settings, from the environment Terraform gives it (see the header). */
function settingsFrom(env) {
  const list = (v, sep = ',') => (v || '').split(sep).map((x) => x.trim()).filter(Boolean);
  const passwordEnv = env.PATRONI_RESTAPI_PASSWORD_ENV || 'PATRONI_RESTAPI_PASSWORD';
  return {
    desired: JSON.parse(env.PATRONI_PATCH || '{}'),
    endpoints: list(env.PATRONI_ENDPOINTS),
    timeoutMs: Number(env.PATRONI_PATCH_TIMEOUT || 300) * 1000,
    label: env.PATRONI_PATCH_LABEL || 'patroni config patch',
    user: env.PATRONI_RESTAPI_USERNAME || '',
    passwordEnv,
    password: env[passwordEnv] || '',
    sections: env.PATRONI_PATCH_SECTIONS || 'all',
    strict: env.PATRONI_PATCH_STRICT === '1',
    optional: env.PATRONI_PATCH_OPTIONAL === '1',
    hotStandbySource: list(env.PATRONI_PATCH_HOT_STANDBY_SOURCE),
    guardStandby: list(env.PATRONI_PATCH_GUARD_STANDBY, ';').map((g) => list(g)).filter((g) => g.length > 0),
  };
}

/** Where this program records, in the cluster's own dynamic configuration, what it wrote. */
const MARKER = 'managed_by_patroni_standby_cdktf';
/** Keys whose removal only ever happens through an explicit null (standby_cluster: the gate). */
const NEVER_IMPLICIT = ['postgresql', 'slots', 'standby_cluster', MARKER];

/** One run: its settings, the body it sends now and where it writes its lines (set by `main`). */
/**
 * How long a round waits before the next, how long GET /config may take to show a PATCH, and how
 * long a GET /config of the running configuration may take before the node counts as unread.
 */
const TIMING = { retryMs: 2000, verifyMs: 5000, readMs: 3000 };
let run = { settings: settingsFrom({}), patch: {}, out: process.stdout, timing: TIMING };

function log(msg) {
  run.out.write(`[${run.settings.label}] ${new Date().toISOString()} ${msg}\n`);
}

function call(method, url, body, timeoutMs = 5000) {
  return request(url, { method, headers: jsonHeaders(run.settings.user, run.settings.password), body, timeoutMs });
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
  const { endpoints } = run.settings;
  for (const base of endpoints) {
    try {
      const cluster = await getJson(`${base}/cluster`);
      if (!cluster) continue;
      const leader = (cluster.members || []).find((m) => LEADER_ROLES.includes(m.role));
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
    await Promise.allSettled(ordered.map((e) => call('PATCH', `${e}/config`, run.patch, 2000)));
  }
}

/** GET /config until it shows the patch (the node's view follows the DCS within moments). */
async function verify(base) {
  let wrong = [];
  for (const until = Date.now() + run.timing.verifyMs; Date.now() < until; await sleep(100)) {
    const check = await call('GET', `${base}/config`);
    wrong = check.status === 200 ? mismatches(run.patch, JSON.parse(check.text), '') : [`GET /config returned HTTP ${check.status}`];
    if (wrong.length === 0) break;
  }
  return wrong;
}


const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const keysOf = (v) => (isObject(v) ? Object.keys(v) : []);

/**
 * The body to send: `desired` plus a null for everything to remove (see the header), and the
 * marker of what this program now owns. Pure: `current` is the running configuration.
 */
function desiredPatch(desiredBody, current, opts) {
  const body = JSON.parse(JSON.stringify(desiredBody));
  if (opts.sections === 'exact') return { body, removed: [] };
  const prev = isObject(current[MARKER]) ? current[MARKER] : {};
  const removed = [];
  const owned = (key, have) => (opts.strict ? have : (prev[key] || []).filter((k) => have.includes(k)));
  if (opts.sections === 'all' && isObject(desiredBody.postgresql) && isObject(desiredBody.postgresql.parameters)) {
    const have = keysOf(current.postgresql && current.postgresql.parameters);
    for (const k of owned('parameters', have)) {
      if (!(k in desiredBody.postgresql.parameters)) {
        body.postgresql.parameters[k] = null;
        removed.push(`postgresql.parameters.${k}`);
      }
    }
  }
  if (opts.sections === 'all') {
    for (const k of (prev.keys || []).filter((x) => !NEVER_IMPLICIT.includes(x))) {
      if (!(k in desiredBody) && k in current) {
        body[k] = null;
        removed.push(k);
      }
    }
  }
  const wantSlots = isObject(desiredBody.slots) ? desiredBody.slots : {};
  for (const k of owned('slots', keysOf(current.slots))) {
    if (!(k in wantSlots)) {
      body.slots = body.slots || {};
      body.slots[k] = null;
      removed.push(`slots.${k}`);
    }
  }
  const marker = { slots: Object.keys(wantSlots).filter((k) => wantSlots[k] !== null).sort() };
  if (opts.sections === 'all') {
    marker.parameters = keysOf(desiredBody.postgresql && desiredBody.postgresql.parameters).filter((k) => desiredBody.postgresql.parameters[k] !== null).sort();
    marker.keys = Object.keys(desiredBody).filter((k) => !NEVER_IMPLICIT.includes(k) && desiredBody[k] !== null).sort();
  }
  body[MARKER] = marker;
  return { body, removed };
}

/**
 * Takes out of `body` every slot removal that a standby cluster still needs: its configuration
 * names the slot as primary_slot_name, or it cannot be asked (then every removal waits).
 * `standbyConfigs`: each standby cluster's GET /config, undefined when it did not answer.
 */
function holdSlots(body, standbyConfigs) {
  const held = [];
  if (!isObject(body.slots)) return held;
  const unknown = standbyConfigs.some((c) => c === undefined);
  const inUse = standbyConfigs.filter(isObject).map((c) => isObject(c.standby_cluster) && c.standby_cluster.primary_slot_name);
  for (const [name, value] of Object.entries(body.slots)) {
    if (value !== null || (!unknown && !inUse.includes(name))) continue;
    delete body.slots[name];
    if (body[MARKER] && !body[MARKER].slots.includes(name)) body[MARKER].slots = [...body[MARKER].slots, name].sort();
    held.push(name);
  }
  if (Object.keys(body.slots).length === 0) delete body.slots;
  return held;
}

/**
 * Whether this patch could demote a cluster: it carries a standby_cluster block, which makes a
 * cluster that runs as a primary a standby cluster. Such a patch is sent only through a node whose
 * running configuration has just been read and shows no demotion (`demotes`).
 */
function couldDemote(desiredBody) {
  return isObject(desiredBody) && isObject(desiredBody.standby_cluster);
}

/**
 * Why this patch must not be sent: it would add standby_cluster to a cluster that runs as a
 * primary (a demotion, the fence of a switchover). Only a role step does that, after its gate.
 * `current` undefined (not read) is no answer: the caller sends nothing that `couldDemote` then.
 */
function demotes(desiredBody, current) {
  if (!couldDemote(desiredBody) || !isObject(current) || isObject(current.standby_cluster)) return undefined;
  return `this patch would make a running primary cluster a standby cluster (standby_cluster -> ${desiredBody.standby_cluster.host}): a role change runs only in the new source's role step (its stack's role resource), after its gate. Deploy that stack first; nothing was sent`;
}

/** PostgreSQL's defaults of the parameters a hot standby must not run below the primary. */
const HOT_STANDBY = { max_connections: 100, max_worker_processes: 8, max_wal_senders: 10, max_prepared_transactions: 0, max_locks_per_transaction: 64 };

/**
 * The hot-standby parameters that the standby would run below the source's running value, as
 * messages. Pure: each side's parameters are what its dynamic configuration has (a parameter it
 * does not set has PostgreSQL's default, which Patroni uses).
 */
function hotStandbyWarnings(standbyParams, sourceParams) {
  const value = (params, name) => (params && params[name] !== undefined && params[name] !== null ? Number(params[name]) : HOT_STANDBY[name]);
  return Object.keys(HOT_STANDBY).flatMap((name) => {
    const mine = value(standbyParams, name);
    const theirs = value(sourceParams, name);
    return Number.isFinite(mine) && Number.isFinite(theirs) && mine < theirs
      ? [`${name} ${mine} on the standby is below the source's running ${theirs}: Patroni starts the standby with ${theirs} and shows a pending restart; set ${name}: ${theirs} or more on the standby cluster`]
      : [];
  });
}

/** One node's running configuration (GET /config): { config }, or { why } it could not be read. */
async function readConfig(base) {
  try {
    const res = await call('GET', `${base}/config`, undefined, run.timing.readMs);
    if (res.status !== 200) return { why: `HTTP ${res.status}` };
    const config = JSON.parse(res.text);
    return isObject(config) ? { config } : { why: 'not a JSON object' };
  } catch (err) {
    return { why: err.cause ? err.cause.code || err.cause.message : err.message };
  }
}

/** The running configuration from the first of `bases` that answers; undefined when none does. */
async function getConfig(bases) {
  for (const base of bases) {
    const { config } = await readConfig(base);
    if (config !== undefined) return config;
  }
  return undefined;
}

/**
 * One apply of the patch, configured by `env` (Terraform's environment for the program), writing
 * its lines to `out`. Resolves when the cluster shows the patch; rejects with the reason.
 * `timing` shortens the waits for tests; Terraform's runs use TIMING.
 */
async function main(env = process.env, out = process.stdout, timing = TIMING) {
  const settings = settingsFrom(env);
  run = { settings, patch: settings.desired, out, timing: { ...TIMING, ...timing } };
  const { desired, endpoints, timeoutMs, user, password, passwordEnv, sections, strict, optional, hotStandbySource, guardStandby } = settings;
  if (endpoints.length === 0) throw new Error('PATRONI_ENDPOINTS is empty');
  if (user && !password) {
    throw new Error(`the REST API needs authentication as "${user}": set ${passwordEnv} in the deploying environment`);
  }
  const deadline = Date.now() + timeoutMs;
  if (hotStandbySource.length > 0) {
    const source = await getConfig(hotStandbySource);
    const mine = desired.postgresql && desired.postgresql.parameters;
    if (source === undefined) log('WARNING: the source cluster did not answer GET /config: its hot-standby parameters were not compared');
    else for (const w of hotStandbyWarnings(mine, source.postgresql && source.postgresql.parameters)) log(`WARNING: ${w}`);
  }
  /** The body for this attempt, from the running configuration just read. */
  const prepare = async (current) => {
    const demotion = demotes(desired, current);
    if (demotion) throw new Error(demotion); // before the attempts' loop: no retry sends it
    const { body, removed } = desiredPatch(desired, current, { strict, sections });
    const held = holdSlots(body, await Promise.all(guardStandby.map(getConfig)));
    if (JSON.stringify(body) !== JSON.stringify(run.patch)) {
      if (removed.length > 0) log(`removing what the topology no longer has: ${removed.join(', ')}`);
      for (const name of held) log(`keeping slot ${name}: the standby cluster still streams through it, or cannot be asked; the standby's link-slots step removes it once the standby has let go of it`);
    }
    run.patch = body;
  };
  // A patch that could demote goes out only through a node whose running configuration was read
  // just before (and showed no demotion): never on the strength of no answer.
  const guarded = couldDemote(desired);
  let unread; // why the last node's configuration could not be read (a guarded patch was not sent)
  let last = 'no attempt yet';
  let answered = false;
  let tried = false; // a PATCH went out (it may have arrived even without an answer)
  for (let round = 0; Date.now() < deadline; round++) {
    const ordered = await leaderFirst();
    if (!guarded) {
      const current = await getConfig(ordered);
      if (current !== undefined) await prepare(current);
    }
    for (const base of ordered) {
      if (guarded) {
        const read = await readConfig(base);
        if (read.config === undefined) {
          unread = `${base}: GET /config ${read.why}`;
          last = `${unread}; nothing sent through it (the patch carries standby_cluster)`;
          continue;
        }
        await prepare(read.config);
      }
      try {
        const sentAt = new Date().toISOString();
        tried = true;
        const res = await call('PATCH', `${base}/config`, run.patch);
        if (!answered) log(`PATCH /config sent to ${base} at ${sentAt}: HTTP ${res.status}`);
        answered = true;
        if (res.status === 401 || res.status === 403) {
          throw Object.assign(new Error(`${base} refused the credentials (HTTP ${res.status}): check the user ${user} and ${passwordEnv}`), { fatal: true });
        }
        if (res.status !== 200) {
          last = `${base}: HTTP ${res.status} ${res.text.trim().slice(0, 200)}`;
          continue;
        }
        const waking = wakeAll(ordered);
        const wrong = await verify(base);
        await waking;
        if (wrong.length === 0) {
          log(`applied through ${base} and verified with GET /config (${Object.keys(run.patch).join(', ')})`);
          return;
        }
        last = `${base}: applied but GET /config differs: ${wrong.join('; ')}`;
      } catch (err) {
        // wrong credentials or a certificate the pipeline cannot verify do not heal by waiting
        if (err.fatal || err.tls) throw err;
        last = `${base}: ${err.cause ? err.cause.code || err.cause.message : err.message}`;
      }
    }
    if (round % 5 === 0) log(`waiting for the cluster's REST API (${last})`);
    await sleep(run.timing.retryMs);
  }
  if (guarded && !tried && unread !== undefined) {
    throw new Error(notSentUnread(settings, unread));
  }
  if (optional && !answered) {
    log(`WARNING: no node answered in ${timeoutMs / 1000}s (${last}); left as it is: apply this stack again once the cluster is reachable`);
    return;
  }
  throw new Error(`gave up after ${timeoutMs / 1000}s; last attempt: ${last}`);
}

/** The failure of a patch that could demote and found no node whose configuration could be read. */
function notSentUnread(settings, unread) {
  return `nothing was sent: the ${settings.label} carries a standby_cluster block, which would demote the cluster if it runs as a primary, and no node's running configuration (GET /config) could be read in ${settings.timeoutMs / 1000}s to rule that out (last: ${unread}); deploy again once the cluster's REST API answers GET /config`;
}

module.exports = { couldDemote, demotes, desiredPatch, holdSlots, hotStandbyWarnings, main, mismatches, settingsFrom, MARKER };

if (require.main === module) main().catch((err) => {
  process.stderr.write(`[${run.settings.label}] FAILED: ${err.message}\n`);
  process.exit(1);
});
