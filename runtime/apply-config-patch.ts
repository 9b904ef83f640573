/**
 * Applies one Patroni dynamic-configuration patch through the REST API (PATCH /config), trying
 * each node in turn until the deadline, then verifies it with GET /config.
 *
 * Desired state, not merged state: PATCH merges, so what the topology no longer renders is sent
 * as null, computed against the running configuration (GET /config) right before the PATCH:
 *   - a managed cluster (`strict`): every PostgreSQL parameter and permanent slot that the body
 *     does not name is removed;
 *   - any cluster: what this program wrote before (recorded under the key MARKER in the cluster's
 *     dynamic configuration, which Patroni keeps and ignores) and the body no longer names is
 *     removed; nothing it did not write is touched on an existing cluster.
 * A patch that carries a standby_cluster block is sent only through a node whose running
 * configuration was read right before and shows a standby cluster already: it never reaches a
 * running primary (a demotion is the role step's, after its gate), also not when GET /config fails.
 * A slot that the standby cluster's configuration still names as its primary_slot_name is never
 * removed (`guardStandby`: each standby cluster's REST endpoints): its removal is held, and the
 * standby's link-slots step completes it once the standby has let go of it.
 *
 * Environment (set by the planned resource, never a password):
 *   PATRONI_PATCH          JSON body of the patch (the desired configuration), from the
 *                          resource's input so that a plan shows its diff
 *   PATRONI_PATCH_CONFIG   the patch's configuration, a PatchConfig (contract.ts): label,
 *                          endpoints, timeoutSeconds, sections, strict, optional, guardStandby,
 *                          hotStandbySource, restUser, restPasswordEnv
 *   <restPasswordEnv>      the REST API password, from the deploying environment
 *   PATRONI_REST_CACERT, PATRONI_REST_CERTFILE, PATRONI_REST_KEYFILE: HTTPS (rest-client.ts)
 */
import {
  ConfigError,
  HOT_STANDBY_DEFAULTS,
  MARKER,
  NEVER_IMPLICIT,
  PATRONI_ROLES,
  type PatchConfig,
  PROGRAMS,
  parseConfig,
} from './contract';
import { getJson, jsonHeaders, request } from './rest-client';

export { MARKER };

/** A JSON object: a patch body, a running dynamic configuration. */
export type JsonObject = Record<string, unknown>;

/** The environment Terraform gives the program. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Where the program writes its lines (process.stdout, process.stderr, a test's collector). */
export interface Output {
  write(text: string): unknown;
}

/** The program's settings: its configuration, the body it applies and the REST API password. */
export interface PatchSettings {
  config: PatchConfig;
  body: JsonObject;
  password: string;
}

/** Which part of the configuration the body owns (PatchConfig.sections). */
export type Sections = PatchConfig['sections'];

/** What this program records under MARKER: the slots, parameters and top-level keys it set. */
export interface Marker {
  slots: string[];
  parameters?: string[];
  keys?: string[];
}

/**
 * How long a round waits before the next, how long GET /config may take to show a PATCH, and how
 * long a GET /config of the running configuration may take before the node counts as unread.
 */
export interface Timing {
  retryMs: number;
  verifyMs: number;
  readMs: number;
}

const TIMING: Timing = { retryMs: 2000, verifyMs: 5000, readMs: 3000 };

/** The name a configuration error is printed with. */
const PROGRAM = 'apply-config-patch';

/** One run: its settings, the body it sends now and where it writes its lines. */
interface Run {
  settings: PatchSettings;
  patch: JsonObject;
  out: Output;
  timing: Timing;
}

/** A failure that waiting does not heal (refused credentials). */
class FatalError extends Error {}

/** PATRONI_PATCH that is not a JSON object; printed under the configuration's label. */
class BodyError extends Error {
  constructor(
    readonly label: string,
    message: string,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const keysOf = (v: unknown): string[] => (isObject(v) ? Object.keys(v) : []);
/** A property of any non-null object (arrays too), undefined otherwise. */
const prop = (v: unknown, key: string): unknown =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
/** The strings of an array property of a marker; anything else counts as none. */
const stringsAt = (v: JsonObject, key: string): string[] => {
  const list = v[key];
  return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
};
/** postgresql.parameters of a body or configuration, when both are objects. */
const parametersOf = (v: JsonObject): JsonObject | undefined =>
  isObject(v.postgresql) && isObject(v.postgresql.parameters) ? v.postgresql.parameters : undefined;
/** An error's message (also of an Error from another realm, which `instanceof Error` misses). */
const errorMessage = (err: unknown): string => {
  const message = prop(err, 'message');
  return typeof message === 'string' ? message : String(err);
};
/** A request's failure as the log names it: the cause's code or message, else the error's message. */
const failureOf = (err: unknown): string => {
  const cause = prop(err, 'cause');
  return cause ? String(prop(cause, 'code') || prop(cause, 'message')) : errorMessage(err);
};

/**
 * The program's settings from the environment Terraform gives it (see the header). Throws a
 * ConfigError when PATRONI_PATCH_CONFIG is missing or does not match the contract.
 */
export function settingsFrom(env: Env): PatchSettings {
  const config = parseConfig('patch', env[PROGRAMS.patch.configEnv]);
  let body: unknown;
  try {
    body = JSON.parse(env[PROGRAMS.patch.bodyEnv] || '{}');
  } catch (err) {
    throw new BodyError(config.label, errorMessage(err));
  }
  if (!isObject(body)) throw new BodyError(config.label, `${PROGRAMS.patch.bodyEnv} is not a JSON object`);
  return { config, body, password: env[config.restPasswordEnv] || '' };
}

function log(run: Run, msg: string): void {
  run.out.write(`[${run.settings.config.label}] ${new Date().toISOString()} ${msg}\n`);
}

function call(run: Run, method: string, url: string, body?: unknown, timeoutMs = 5000) {
  return request(url, {
    method,
    headers: jsonHeaders(run.settings.config.restUser ?? '', run.settings.password),
    body,
    timeoutMs,
  });
}

/** Whether `actual` shows every key of the merge patch: null means absent, objects recurse. */
export function mismatches(expected: JsonObject, actual: unknown, path: string): string[] {
  const out: string[] = [];
  for (const [key, want] of Object.entries(expected)) {
    const have = prop(actual, key);
    const where = path ? `${path}.${key}` : key;
    if (want === null) {
      if (have !== undefined && have !== null) out.push(`${where} should be absent`);
    } else if (isObject(want)) {
      out.push(...mismatches(want, have || {}, where));
    } else if (JSON.stringify(want) !== JSON.stringify(have) && String(want) !== String(have)) {
      out.push(`${where}: want ${JSON.stringify(want)}, have ${JSON.stringify(have)}`);
    }
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const LEADER_ROLES: readonly unknown[] = [...PATRONI_ROLES.leader, PATRONI_ROLES.standbyLeader];

/**
 * The endpoints with the cluster's leader first: Patroni wakes up the HA loop of the node that
 * receives a PATCH, so the leader acts on it at once instead of at its next loop_wait.
 */
async function leaderFirst(run: Run): Promise<string[]> {
  const { endpoints } = run.settings.config;
  for (const base of endpoints) {
    try {
      const cluster: unknown = await getJson(`${base}/cluster`);
      if (!cluster) continue;
      const members = prop(cluster, 'members') || [];
      if (!Array.isArray(members)) continue; // not Patroni's answer: the next node's
      const leader: unknown = members.find((m) => LEADER_ROLES.includes(prop(m, 'role')));
      const apiUrl = prop(leader, 'api_url');
      const first = leader
        ? endpoints.find((e) =>
            apiUrl ? new URL(String(apiUrl)).host === new URL(e).host : new URL(e).hostname === prop(leader, 'host'),
          )
        : undefined;
      return first ? [first, ...endpoints.filter((e) => e !== first)] : [...endpoints];
    } catch {
      // next node
    }
  }
  return [...endpoints];
}

/**
 * The same PATCH to every node shortly after the first one: the configuration already holds it,
 * so they write nothing, but each wakes up its HA loop. The loop woken by the first PATCH often
 * still reads the old configuration from its DCS cache and would act only at its next loop_wait
 * tick; these wake-ups, 150 and 500 ms later, start a cycle that sees the change. Best effort.
 */
async function wakeAll(run: Run, ordered: readonly string[]): Promise<void> {
  for (const pause of [150, 350]) {
    await sleep(pause);
    await Promise.allSettled(ordered.map((e) => call(run, 'PATCH', `${e}/config`, run.patch, 2000)));
  }
}

/** GET /config until it shows the patch (the node's view follows the DCS within moments). */
async function verify(run: Run, base: string): Promise<string[]> {
  let wrong: string[] = [];
  for (const until = Date.now() + run.timing.verifyMs; Date.now() < until; await sleep(100)) {
    const check = await call(run, 'GET', `${base}/config`);
    wrong =
      check.status === 200
        ? mismatches(run.patch, JSON.parse(check.text) as unknown, '')
        : [`GET /config returned HTTP ${check.status}`];
    if (wrong.length === 0) break;
  }
  return wrong;
}

/** The body to send and what it removes (`desiredPatch`). */
export interface DesiredPatch {
  body: JsonObject;
  removed: string[];
}

/**
 * The body to send: `desired` plus a null for everything to remove (see the header), and the
 * marker of what this program now owns. Pure: `current` is the running configuration.
 */
export function desiredPatch(
  desiredBody: JsonObject,
  current: JsonObject,
  opts: { strict: boolean; sections: Sections },
): DesiredPatch {
  const body = JSON.parse(JSON.stringify(desiredBody)) as JsonObject;
  if (opts.sections === 'exact') return { body, removed: [] };
  const prev = isObject(current[MARKER]) ? current[MARKER] : {};
  const removed: string[] = [];
  const owned = (key: 'parameters' | 'slots', have: string[]): string[] =>
    opts.strict ? have : stringsAt(prev, key).filter((k) => have.includes(k));
  const wantParameters = parametersOf(desiredBody);
  const bodyParameters = parametersOf(body); // the same shape as desiredBody's: a copy
  if (opts.sections === 'all' && wantParameters !== undefined && bodyParameters !== undefined) {
    const have = keysOf(prop(current.postgresql, 'parameters'));
    for (const k of owned('parameters', have)) {
      if (!(k in wantParameters)) {
        bodyParameters[k] = null;
        removed.push(`postgresql.parameters.${k}`);
      }
    }
  }
  if (opts.sections === 'all') {
    for (const k of stringsAt(prev, 'keys').filter((x) => !NEVER_IMPLICIT.includes(x))) {
      if (!(k in desiredBody) && k in current) {
        body[k] = null;
        removed.push(k);
      }
    }
  }
  const wantSlots = isObject(desiredBody.slots) ? desiredBody.slots : {};
  for (const k of owned('slots', keysOf(current.slots))) {
    if (!(k in wantSlots)) {
      const slots = isObject(body.slots) ? body.slots : {};
      slots[k] = null;
      body.slots = slots;
      removed.push(`slots.${k}`);
    }
  }
  const marker: Marker = {
    slots: Object.keys(wantSlots)
      .filter((k) => wantSlots[k] !== null)
      .sort(),
  };
  if (opts.sections === 'all') {
    marker.parameters =
      wantParameters === undefined
        ? []
        : Object.keys(wantParameters)
            .filter((k) => wantParameters[k] !== null)
            .sort();
    marker.keys = Object.keys(desiredBody)
      .filter((k) => !NEVER_IMPLICIT.includes(k) && desiredBody[k] !== null)
      .sort();
  }
  body[MARKER] = marker;
  return { body, removed };
}

/**
 * Takes out of `body` every slot removal that a standby cluster still needs: its configuration
 * names the slot as primary_slot_name, or it cannot be asked (then every removal waits).
 * `standbyConfigs`: each standby cluster's GET /config, undefined when it did not answer.
 */
export function holdSlots(body: JsonObject, standbyConfigs: readonly unknown[]): string[] {
  const held: string[] = [];
  const slots = body.slots;
  if (!isObject(slots)) return held;
  const unknown = standbyConfigs.some((c) => c === undefined);
  const inUse = standbyConfigs
    .filter(isObject)
    .map((c) => isObject(c.standby_cluster) && c.standby_cluster.primary_slot_name);
  for (const [name, value] of Object.entries(slots)) {
    if (value !== null || (!unknown && !inUse.includes(name))) continue;
    delete slots[name];
    const marker = body[MARKER];
    if (isObject(marker) && Array.isArray(marker.slots) && !marker.slots.includes(name))
      marker.slots = [...marker.slots, name].sort();
    held.push(name);
  }
  if (Object.keys(slots).length === 0) delete body.slots;
  return held;
}

/**
 * Whether this patch could demote a cluster: it carries a standby_cluster block, which makes a
 * cluster that runs as a primary a standby cluster. Such a patch is sent only through a node whose
 * running configuration has just been read and shows no demotion (`demotes`).
 */
export function couldDemote(desiredBody: unknown): desiredBody is JsonObject & { standby_cluster: JsonObject } {
  return isObject(desiredBody) && isObject(desiredBody.standby_cluster);
}

/**
 * Why this patch must not be sent: it would add standby_cluster to a cluster that runs as a
 * primary (a demotion, the fence of a switchover). Only a role step does that, after its gate.
 * `current` undefined (not read) is no answer: the caller sends nothing that `couldDemote` then.
 */
export function demotes(desiredBody: unknown, current: unknown): string | undefined {
  if (!couldDemote(desiredBody) || !isObject(current) || isObject(current.standby_cluster)) return undefined;
  return `this patch would make a running primary cluster a standby cluster (standby_cluster -> ${String(desiredBody.standby_cluster.host)}): a role change runs only in the new source's role step (its stack's role resource), after its gate. Deploy that stack first; nothing was sent`;
}

/**
 * The hot-standby parameters that the standby would run below the source's running value, as
 * messages. Pure: each side's parameters are what its dynamic configuration has (a parameter it
 * does not set has PostgreSQL's default, which Patroni uses).
 */
export function hotStandbyWarnings(standbyParams: unknown, sourceParams: unknown): string[] {
  const value = (params: unknown, name: string): number => {
    const set = prop(params, name);
    return set !== undefined && set !== null ? Number(set) : HOT_STANDBY_DEFAULTS[name];
  };
  return Object.keys(HOT_STANDBY_DEFAULTS).flatMap((name) => {
    const mine = value(standbyParams, name);
    const theirs = value(sourceParams, name);
    return Number.isFinite(mine) && Number.isFinite(theirs) && mine < theirs
      ? [
          `${name} ${mine} on the standby is below the source's running ${theirs}: Patroni starts the standby with ${theirs} and shows a pending restart; set ${name}: ${theirs} or more on the standby cluster`,
        ]
      : [];
  });
}

/** One node's running configuration (GET /config), or why it could not be read. */
type ConfigRead = { config: JsonObject; why?: undefined } | { config?: undefined; why: string };

async function readConfig(run: Run, base: string): Promise<ConfigRead> {
  try {
    const res = await call(run, 'GET', `${base}/config`, undefined, run.timing.readMs);
    if (res.status !== 200) return { why: `HTTP ${res.status}` };
    const config: unknown = JSON.parse(res.text);
    return isObject(config) ? { config } : { why: 'not a JSON object' };
  } catch (err) {
    return { why: failureOf(err) };
  }
}

/** The running configuration from the first of `bases` that answers; undefined when none does. */
async function getConfig(run: Run, bases: readonly string[]): Promise<JsonObject | undefined> {
  for (const base of bases) {
    const { config } = await readConfig(run, base);
    if (config !== undefined) return config;
  }
  return undefined;
}

/**
 * One apply of the patch, configured by `env` (Terraform's environment for the program), writing
 * its lines to `out` and its failure to `errors`. Resolves to the exit code: 0 when the cluster
 * shows the patch (or, optional, no node answered), 1 on a failure, 2 when PATRONI_PATCH_CONFIG is
 * missing or does not match the contract (then nothing is sent). Never rejects. `timing` shortens
 * the waits for tests; Terraform's runs use TIMING.
 */
export async function main(
  env: Env,
  out: Output,
  timing: Partial<Timing> = {},
  errors: Output = process.stderr,
): Promise<number> {
  let settings: PatchSettings;
  try {
    settings = settingsFrom(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      errors.write(`${PROGRAM}: ${err.message}\n`);
      return 2;
    }
    errors.write(`[${err instanceof BodyError ? err.label : PROGRAM}] FAILED: ${errorMessage(err)}\n`);
    return 1;
  }
  try {
    await apply({ settings, patch: settings.body, out, timing: { ...TIMING, ...timing } });
    return 0;
  } catch (err) {
    errors.write(`[${settings.config.label}] FAILED: ${errorMessage(err)}\n`);
    return 1;
  }
}

/** The apply itself: resolves when the cluster shows the patch; rejects with the reason. */
async function apply(run: Run): Promise<void> {
  const { config, body: desired, password } = run.settings;
  const { timeoutSeconds, sections, strict, optional, hotStandbySource, guardStandby, restPasswordEnv } = config;
  const user = config.restUser ?? '';
  if (user && !password) {
    throw new Error(
      `the REST API needs authentication as "${user}": set ${restPasswordEnv} in the deploying environment`,
    );
  }
  const deadline = Date.now() + timeoutSeconds * 1000;
  if (hotStandbySource.length > 0) {
    const source = await getConfig(run, hotStandbySource);
    if (source === undefined)
      log(run, 'WARNING: the source cluster did not answer GET /config: its hot-standby parameters were not compared');
    else
      for (const w of hotStandbyWarnings(prop(desired.postgresql, 'parameters'), prop(source.postgresql, 'parameters')))
        log(run, `WARNING: ${w}`);
  }
  /** The body for this attempt, from the running configuration just read. */
  const prepare = async (current: JsonObject): Promise<void> => {
    const demotion = demotes(desired, current);
    if (demotion) throw new Error(demotion); // before the attempts' loop: no retry sends it
    const { body, removed } = desiredPatch(desired, current, { strict, sections });
    const held = holdSlots(body, await Promise.all(guardStandby.map((bases) => getConfig(run, bases))));
    if (JSON.stringify(body) !== JSON.stringify(run.patch)) {
      if (removed.length > 0) log(run, `removing what the topology no longer has: ${removed.join(', ')}`);
      for (const name of held)
        log(
          run,
          `keeping slot ${name}: the standby cluster still streams through it, or cannot be asked; the standby's link-slots step removes it once the standby has let go of it`,
        );
    }
    run.patch = body;
  };
  // A patch that could demote goes out only through a node whose running configuration was read
  // just before (and showed no demotion): never on the strength of no answer.
  const guarded = couldDemote(desired);
  let unread: string | undefined; // why the last node's configuration could not be read (a guarded patch was not sent)
  let last = 'no attempt yet';
  let answered = false;
  let tried = false; // a PATCH went out (it may have arrived even without an answer)
  for (let round = 0; Date.now() < deadline; round++) {
    const ordered = await leaderFirst(run);
    if (!guarded) {
      const current = await getConfig(run, ordered);
      if (current !== undefined) await prepare(current);
    }
    for (const base of ordered) {
      if (guarded) {
        const read = await readConfig(run, base);
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
        const res = await call(run, 'PATCH', `${base}/config`, run.patch);
        if (!answered) log(run, `PATCH /config sent to ${base} at ${sentAt}: HTTP ${res.status}`);
        answered = true;
        if (res.status === 401 || res.status === 403) {
          throw new FatalError(
            `${base} refused the credentials (HTTP ${res.status}): check the user ${user} and ${restPasswordEnv}`,
          );
        }
        if (res.status !== 200) {
          last = `${base}: HTTP ${res.status} ${res.text.trim().slice(0, 200)}`;
          continue;
        }
        const waking = wakeAll(run, ordered);
        const wrong = await verify(run, base);
        await waking;
        if (wrong.length === 0) {
          log(run, `applied through ${base} and verified with GET /config (${Object.keys(run.patch).join(', ')})`);
          return;
        }
        last = `${base}: applied but GET /config differs: ${wrong.join('; ')}`;
      } catch (err) {
        // wrong credentials or a certificate the pipeline cannot verify do not heal by waiting
        if (err instanceof FatalError || prop(err, 'tls')) throw err;
        last = `${base}: ${failureOf(err)}`;
      }
    }
    if (round % 5 === 0) log(run, `waiting for the cluster's REST API (${last})`);
    await sleep(run.timing.retryMs);
  }
  if (guarded && !tried && unread !== undefined) {
    throw new Error(notSentUnread(config, unread));
  }
  if (optional && !answered) {
    log(
      run,
      `WARNING: no node answered in ${timeoutSeconds}s (${last}); left as it is: apply this stack again once the cluster is reachable`,
    );
    return;
  }
  throw new Error(`gave up after ${timeoutSeconds}s; last attempt: ${last}`);
}

/** The failure of a patch that could demote and found no node whose configuration could be read. */
function notSentUnread(config: PatchConfig, unread: string): string {
  return `nothing was sent: the ${config.label} carries a standby_cluster block, which would demote the cluster if it runs as a primary, and no node's running configuration (GET /config) could be read in ${config.timeoutSeconds}s to rule that out (last: ${unread}); deploy again once the cluster's REST API answers GET /config`;
}
