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
 * running primary (a demotion is the role change's, after its gate), also not when GET /config fails.
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
import { ConfigError, MARKER, PATRONI_ROLES, type PatchConfig, PROGRAMS, parseConfig } from './contract';
import {
  couldDemote,
  demotes,
  desiredPatch,
  holdSlots,
  hotStandbyWarnings,
  isObject,
  type JsonObject,
  mismatches,
  prop,
} from './patch-body';
import { liveLease } from './lease';
import { getJson, jsonHeaders, request } from './rest-client';

export { MARKER };
// the pure part, for the bundle's users and the tests of the program
export * from './patch-body';

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

/**
 * An error's message (also of an Error from another realm, which `instanceof Error` misses); a
 * request's failure as the log names it (rest-client.ts rejects with node's errors, which carry
 * their cause in the message).
 */
const errorMessage = (err: unknown): string => {
  const message = prop(err, 'message');
  return typeof message === 'string' ? message : String(err);
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

/** One node's running configuration (GET /config), or why it could not be read. */
type ConfigRead = { config: JsonObject; why?: undefined } | { config?: undefined; why: string };

async function readConfig(run: Run, base: string): Promise<ConfigRead> {
  try {
    const res = await call(run, 'GET', `${base}/config`, undefined, run.timing.readMs);
    if (res.status !== 200) return { why: `HTTP ${res.status}` };
    const config: unknown = JSON.parse(res.text);
    return isObject(config) ? { config } : { why: 'not a JSON object' };
  } catch (err) {
    return { why: errorMessage(err) };
  }
}

/** The running configuration from the first of `bases` that answers, else why the last did not. */
async function readFirst(run: Run, bases: readonly string[]): Promise<ConfigRead> {
  let why = 'no node to ask';
  for (const base of bases) {
    const read = await readConfig(run, base);
    if (read.config !== undefined) return read;
    why = `${base}: ${read.why}`;
  }
  return { why };
}

/** The running configuration from the first of `bases` that answers; undefined when none does. */
async function getConfig(run: Run, bases: readonly string[]): Promise<JsonObject | undefined> {
  return (await readFirst(run, bases)).config;
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
  let waitedFor: string | undefined; // the lease last waited for, printed once
  /**
   * The body for this attempt, from the running configuration just read; false while a role change
   * holds the cluster's configuration (its lease, lease.ts): nothing is sent until it lets go.
   */
  const prepare = async (current: JsonObject): Promise<boolean> => {
    const lease = liveLease(current, Date.now());
    if (lease) {
      last = `a role change (${lease.holder}) holds this cluster's configuration until ${new Date(lease.until).toISOString()}; nothing sent`;
      if (waitedFor !== lease.holder) log(run, `waiting: ${last}`);
      waitedFor = lease.holder;
      return false;
    }
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
    return true;
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
    const read = guarded ? undefined : await readFirst(run, ordered);
    // nothing is sent on the strength of no answer (a role change's lease could not be seen), nor
    // while a role change holds the configuration: the next round reads again
    if (read?.why !== undefined) last = read.why;
    const held = read !== undefined && (read.config === undefined || !(await prepare(read.config)));
    for (const base of held ? [] : ordered) {
      if (guarded) {
        const read = await readConfig(run, base);
        if (read.config === undefined) {
          unread = `${base}: GET /config ${read.why}`;
          last = `${unread}; nothing sent through it (the patch carries standby_cluster)`;
          continue;
        }
        if (!(await prepare(read.config))) break;
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
        last = `${base}: ${errorMessage(err)}`;
      }
    }
    if (round % 5 === 0) log(run, `waiting for the cluster's REST API (${last})`);
    await sleep(run.timing.retryMs);
  }
  if (guarded && !tried && unread !== undefined) {
    throw new Error(notSentUnread(config, unread));
  }
  if (optional && !answered && waitedFor === undefined) {
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
