/**
 * A DCS configuration patch as a planned resource: its input is the JSON body (so a plan shows
 * what changes in the cluster's dynamic configuration); it applies the body with Patroni's
 * REST API `PATCH /config`, trying each node, and verifies it with `GET /config`. What the body
 * no longer names is removed from the running cluster (runtime/apply-config-patch.ts).
 *
 * A step may be made to run first, in the same provisioner (the promotion gate before the
 * detach): then nothing runs between the two, and every attempt of the patch, a retry included,
 * runs the step again.
 */
import { Construct } from 'constructs';
import { Lazy, TerraformResource } from 'cdktf';
import { contentHash, deferredString, escapeTemplate, planResource } from './patroni-node';
import { ResolvedCluster } from './resolve';
import { shippedProgram } from './scripts';
import { PatchConfig, ProgramName, PROGRAMS } from '../runtime/contract';

export interface DcsConfigPatchProps {
  readonly cluster: ResolvedCluster;
  /** The name of the cluster whose DCS the patch changes (its data center), shown in the plan. */
  readonly clusterName: string;
  /** What the patch is for, printed by the apply step. */
  readonly label: string;
  /** REST API base URLs, tried in order. */
  readonly endpoints: readonly string[];
  /** Produces the pretty-printed JSON body at synth time. */
  readonly renderJson: () => string;
  readonly dependsOn?: TerraformResource[];
  /**
   * Which part of the configuration the body owns: all of it, only `slots`, or exactly the body's keys
   * (nothing removed). @default 'all'
   */
  readonly sections?: 'all' | 'slots' | 'exact';
  /** A clean-up: when no node answers before the timeout, warn and succeed. @default false */
  readonly optional?: boolean;
  /** @default the cluster's deploy.patchTimeoutSeconds */
  readonly timeoutSeconds?: number;
}

/** A program that runs right before the patch, in the same provisioner; it fails the patch by failing. */
export interface PatchPreStep {
  /** The program (shipped with the stack); its configuration travels in its contract's variable. */
  readonly program: ProgramName;
  readonly args: string;
  /** Its configuration: shown in the plan under `key`, handed to the program in its variable. */
  readonly input: { readonly key: string; readonly value: string };
}

export class DcsConfigPatch extends Construct {
  readonly resource: TerraformResource;
  private readonly props: DcsConfigPatchProps;
  private readonly attr: 'input' | 'triggers';
  private readonly scriptFile: string;
  private preStep?: { file: string; step: PatchPreStep };
  private readonly guards: (readonly string[])[] = [];
  private hotStandbySource?: readonly string[];

  constructor(scope: Construct, id: string, props: DcsConfigPatchProps) {
    super(scope, id);
    this.props = props;
    this.scriptFile = shippedProgram(this, 'patch');
    const kind = props.cluster.deploy.resourceKind;
    this.attr = kind === 'null_resource' ? 'triggers' : 'input';
    const json = deferredString(() => escapeTemplate(props.renderJson()));
    const endpoints = props.endpoints.join(',');
    const { resource } = planResource(
      this,
      'apply',
      kind,
      { scope: props.cluster.scope, cluster: props.clusterName, endpoints, patch_json: json },
      { patch_sha256: deferredString(() => contentHash(props.renderJson())), endpoints },
      [],
      { dependsOn: props.dependsOn },
    );
    this.resource = resource;
    resource.addOverride('provisioner', Lazy.anyValue({ produce: () => [{ 'local-exec': this.localExec() }] }));
  }

  /**
   * Runs `step` right before the patch, in the same provisioner: a failing step fails the patch
   * with nothing sent, and every later attempt runs the step again.
   * @internal
   */
  runFirst(step: PatchPreStep): void {
    this.preStep = { file: shippedProgram(this, step.program), step };
    this.resource.addOverride(`${this.attr}.${step.input.key}`, escapeTemplate(step.input.value));
    this.resource.addOverride(
      `${this.attr === 'input' ? 'triggers_replace' : 'triggers'}.${step.input.key}_sha256`,
      contentHash(step.input.value),
    );
  }

  /**
   * Slot removals in this patch wait while the standby cluster at `endpoints` still names the slot.
   * @internal
   */
  guardSlotsFor(endpoints: readonly string[]): void {
    this.guards.push(endpoints);
  }

  /**
   * Before the PATCH, read the source cluster's configuration at `endpoints` and warn about each
   * hot-standby parameter (max_connections, ...) that this standby would run below the source's
   * value (Patroni then starts it with the source's value and shows a pending restart).
   * @internal
   */
  compareHotStandbyWith(endpoints: readonly string[]): void {
    this.hotStandbySource = endpoints;
  }

  /**
   * The patch program's configuration (runtime/contract.ts); the body travels apart, from the input.
   * @internal
   */
  patchConfig(): PatchConfig {
    const p = this.props;
    const c = p.cluster;
    return {
      label: p.label,
      endpoints: [...p.endpoints],
      timeoutSeconds: p.timeoutSeconds ?? c.deploy.patchTimeoutSeconds,
      sections: p.sections ?? 'all',
      strict: c.mode === 'managed',
      optional: p.optional ?? false,
      guardStandby: this.guards.map((g) => [...g]),
      hotStandbySource: [...(this.hotStandbySource ?? [])],
      ...(c.patroni.restApiUsername ? { restUser: c.patroni.restApiUsername } : {}),
      restPasswordEnv: c.patroni.restApiPasswordEnv,
    };
  }

  private localExec(): Record<string, unknown> {
    const patch = `node "${this.scriptFile}"`;
    const env: Record<string, string> = {
      [PROGRAMS.patch.bodyEnv]: `\${self.${this.attr}.patch_json}`,
      [PROGRAMS.patch.configEnv]: escapeTemplate(JSON.stringify(this.patchConfig())),
    };
    if (!this.preStep) return { command: patch, environment: env };
    const { file, step } = this.preStep;
    env[PROGRAMS[step.program].configEnv] = `\${self.${this.attr}.${step.input.key}}`;
    return { command: `node "${file}" ${step.args} && ${patch}`, environment: env };
  }
}
