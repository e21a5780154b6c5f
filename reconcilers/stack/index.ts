/**
 * The stack reconciler: one kind for every declared stack service of a
 * customer (frame, blueprint, hive, … in dependency order), driven by the
 * service manifests. Observation is one section of the host's batched round
 * trip; acting runs the runbook's deploy steps over the host's connection.
 *
 * Rules:
 * - A service the customer has no `services.{svc}.{customer}` slot for is not
 *   desired at all (sovereign customers never get here; `axe deploy` refuses).
 * - The env file is rendered here, from the operator vault and customers.yaml,
 *   and pushed over stdin into a 0600 file: the host needs no vault session.
 *   A missing value blocks the render before anything on the host changes.
 *   With `env.secrets: pull` the host renders it instead (the pushed wrapper,
 *   the host's own bw session); no value of the host's vault reaches axe.
 * - A plain stack that fails `up --wait` or its health check goes back to its
 *   last good checkout, env file and containers (recorded on the host after
 *   each success); a failed swap restores the checkout and env file to what
 *   the serving color runs. Either is Degraded with the step, what was left and the fix.
 * - A blue/green swap is one action, one BlueGreenSwap object with a method
 *   per step: bring up the idle color, switch the proxy and gate on its
 *   health, drain, stop the old color, run the hooks; or roll back. When the new color
 *   never gets healthy it is removed, the old one keeps serving, and the
 *   failure is recorded on the host (health Degraded, reason RolledBack).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AxeError, terminal, transient } from '../../core/errors.js';
import type { ComposeHashMemo } from '../../providers/host/access.js';
import type { ExecResult, HostConnection } from '../../providers/host/ssh.js';
import { gateSnapshot } from '../backup-gate.js';
import { hostReachable, hostSectionOutput } from '../host-read.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { SCAN_KEYS } from '../scan.js';
import type { Action } from '../types.js';
import { diffStack, type FailureRecord, reobservedServices, healthStack, type RenderFact, type StackDesired, type StackObserved, type StackPayload, type StackServiceDesired, type StackServiceObserved } from './diff.js';
import { colorService, LABELS, renderOverride } from './override.js';
import {
  checkoutScript,
  composeScript,
  configJsonScript,
  createScript,
  insideCheckScript,
  NEXT_OVERRIDE_FILE,
  overrideCommitScript,
  overrideExistsScript,
  recordScript,
  thenRecord,
  upScript,
} from '../../providers/host/commands/stack.js';
import { PULL_WRAPPER, PULL_WRAPPER_PATH, pullScript, pullTemplate, readRestored, restoreGoodScript, saveGoodScript, splitEnvScript } from '../../providers/host/commands/stack-records.js';
import { type HostStep, readSteps, stepDetail, stepsScript, type StepsResult } from '../../providers/host/commands/steps.js';
import { commandDetail as lastLine, parseComposeModel, readUpFailure } from '../../providers/host/facts/compose-up.js';
import { FAILURE_FILE, OVERRIDE_FILE } from '../../providers/host/facts/stack.js';
import { envDigest, envFilesText, ownEnvFiles, stackRevision } from './render.js';
import { renderEnvFile } from '../templates.js';
import { observationCameBack, observeSection, type ParsedStackObservation, parseObservation, STACK_SECTION, type ToldFacts } from './observe.js';
import { ACTIVE_RECORD, type Color, switchCommand } from '../../providers/host/commands/blue-green.js';
import { execScript } from '../../providers/host/commands/exec.js';
import { declaredStacks, desiredService } from '../services.js';
import { execHostScript, execSectionAlone, runScript, type RunSpec } from '../../providers/host/executor.js';
import { stackDeletion } from './delete.js';

/** How long the old color keeps running after the switch, so requests already forwarded to it finish. */
export const DRAIN_MS = 2000;

/**
 * The stack kind's area of the pass (Pass.scratch), per service:
 * - `told`: what its last action established by its own successful output (a
 *   full up, initial deploy or swap); any other action clears it. The
 *   observation right after the actions uses it (ToldFacts).
 * - `early`: its before-up hooks (the frame MCP token), started by the action
 *   the plan flags `early` (linkServices), taken by its render-env: they run
 *   in another stack's container, so they need not wait for the checkout. A
 *   failed early run (null) is run again by render-env.
 * - `prepared`: labels overrides computed by a render-env the plan flags
 *   `prepare` (a fresh service's, while its dependencies deploy), taken once
 *   by its up.
 */
interface StackScratch {
  told: Map<string, ToldFacts>;
  early: Map<string, Array<Promise<ExecResult | null>>>;
  prepared: Map<string, Promise<LabelsOverride>>;
}

function scratch(ctx: CustomerContext): StackScratch {
  return ctx.pass.scratch('stack', () => ({ told: new Map(), early: new Map(), prepared: new Map() }));
}

function tell(ctx: CustomerContext, d: StackServiceDesired, facts: ToldFacts): void {
  scratch(ctx).told.set(d.service, facts);
}

function runBeforeHook(ctx: CustomerContext, hook: StackServiceDesired['beforeHooks'][number]): Promise<ExecResult> {
  return sh(ctx, execScript(hook.exec, hook.exec.command, ctx.env.providers.hosts.toolPaths, switchedColor(ctx, hook.exec.service)));
}

/**
 * While the stack kind acts: the color a blue/green service's proxy was
 * switched to by this pass's successful deploy of it (null: not deployed in
 * this pass, or not blue/green): a command for its `@active` container goes
 * there without asking the proxy again.
 */
function switchedColor(ctx: CustomerContext, service: string): Color | null {
  return scratch(ctx).told.get(service)?.active ?? null;
}

function desiredStack(ctx: CustomerContext): StackDesired | null {
  const services = declaredStacks(ctx).map(([name, manifest]) => desiredService(ctx, name, manifest));
  return services.length ? { customer: ctx.id, services } : null;
}

/** Secrets the vault-items kind still has to generate in this pass (a plan before it acted). */
function pendingGenerated(ctx: CustomerContext): Set<string> {
  const result = ctx.pass.results.get('vault-items');
  return new Set((result?.actions ?? []).map((a) => (a.payload as { name?: string }).name).filter((n): n is string => typeof n === 'string'));
}

interface Rendered {
  fact: RenderFact;
  /** Every non-hook value (secrets revealed): only for writing the env file. */
  values: Map<string, string>;
}

async function renderValues(ctx: CustomerContext, d: StackServiceDesired, memo: Map<string, Promise<string | null>>): Promise<Rendered> {
  const values = new Map<string, string>();
  const missingSecrets: string[] = [];
  const missingFields: string[] = [];
  const pendingSecrets: string[] = [];
  const pending = pendingGenerated(ctx);
  for (const v of d.vars) {
    if (v.kind === 'value') values.set(v.name, v.value);
    else if (v.kind === 'hook' || (v.kind === 'secret' && d.pull)) values.set(v.name, ''); // known only on the host
    else if (v.kind === 'missing-field') missingFields.push(v.field);
    else {
      let load = memo.get(v.secret);
      if (!load) {
        load = ctx.env.providers.vault.get(v.secret).then((s) => (s ? s.reveal() : null));
        memo.set(v.secret, load);
      }
      const value = await load;
      if (value !== null) values.set(v.name, value);
      else if (pending.has(v.secret)) pendingSecrets.push(v.secret);
      else missingSecrets.push(v.secret);
    }
  }
  if (missingSecrets.length || missingFields.length || pendingSecrets.length) {
    return { fact: { ok: false, missingSecrets, missingFields, pendingSecrets }, values };
  }
  const digest = envDigest(envFilesText(d.customer, d.service, renderEnvFile(d.customer, d.service, values), d.serviceEnvs), d.hookVars);
  return { fact: { ok: true, digest, revision: stackRevision({ ref: d.ref, envDigest: digest, composeFiles: d.composeFiles, project: d.project }) }, values };
}

async function connection(ctx: CustomerContext): Promise<HostConnection> {
  return ctx.env.providers.hosts.connection(ctx.target);
}

/** Why a compose up failed, from its diagnostics (names and health output only). */
function failureReason(stderr: string, services: readonly string[]): string {
  const failure = readUpFailure(stderr);
  // Compose's own last word first (a network it could not create, an image it could not build), then each container's state.
  const containers = failure.containers
    .filter((c) => (services.length === 0 || services.includes(c.service)) && !(c.state === 'running' && (c.health === 'healthy' || c.health === undefined || c.health === '')))
    .map((c) => `${c.service} ${c.state}${c.health ? `, health ${c.health}` : ''}${c.output ? `: ${c.output.slice(-160)}` : ''}`);
  return [failure.compose, ...containers].filter(Boolean).join('; ') || 'compose up --wait failed';
}

export const stackReconciler: ResourceReconciler<StackDesired, StackObserved, StackPayload> = {
  kind: 'stack',
  dependsOn: ['host', 'vault-items'],
  delete: stackDeletion,
  desired: desiredStack,
  hostSection(ctx) {
    const desired = desiredStack(ctx);
    return desired ? observeSection(desired, ctx.env.providers.hosts.toolPaths, undefined, undefined, hashMemos(ctx, desired.services)) : null;
  },
  async observe(ctx, desired) {
    const parsed = keepHashMemos(ctx, parseObservation(await hostSectionOutput(ctx, STACK_SECTION, 'stack'), desired));
    const memo = new Map<string, Promise<string | null>>();
    const services = new Map<string, StackServiceObserved>();
    for (const d of desired.services) {
      const rendered = await renderValues(ctx, d, memo);
      services.set(d.service, { host: parsed.services.get(d.service)!, render: rendered.fact });
    }
    return { docker: parsed.docker, networks: parsed.networks, volumes: parsed.volumes, services };
  },
  diff: diffStack,
  health: healthStack,
  async act(ctx, desired, action) {
    hostReachable(ctx, 'stack');
    const d = desired.services.find((s) => s.service === action.payload.service);
    if (!d) throw terminal(`no stack service ${action.payload.service} for ${ctx.id}`, { customer: ctx.id, resource: 'stack' });
    await actService(ctx, d, action);
  },
  again: {
    parts: reobservedServices,
    observe: (ctx, desired, service) => observeServices(ctx, desired, desired.services.filter((d) => d.service === service), scratch(ctx).told),
    merge: mergeObserved,
  },
  // Only this kind's section of the host's batch: a re-observation runs it alone.
  reads: [{ hostSection: STACK_SECTION }],
};

/**
 * The observation after the actions: the one they were planned on, with each
 * service observed again (its host facts; the render stays what was planned
 * on), and the host-wide facts of the last observation that came back.
 */
function mergeObserved(desired: StackDesired, planned: StackObserved, again: ReadonlyMap<string, ParsedStackObservation>): StackObserved | null {
  const latest = [...again.values()].pop();
  if (!latest) return null;
  const services = new Map<string, StackServiceObserved>();
  for (const d of desired.services) {
    const before = planned.services.get(d.service);
    if (!before) return null;
    const host = again.get(d.service)?.services.get(d.service);
    services.set(d.service, host ? { host, render: before.render } : before);
  }
  return { docker: latest.docker, networks: latest.networks, volumes: latest.volumes, services };
}

/** The stack section's observation of some services alone, in one round trip (read-only). */
async function observeServices(ctx: CustomerContext, desired: StackDesired, services: StackServiceDesired[], told: ReadonlyMap<string, ToldFacts>): Promise<ParsedStackObservation> {
  const section = observeSection(desired, ctx.env.providers.hosts.toolPaths, services.map((d) => d.service), told, hashMemos(ctx, services));
  const result = await execSectionAlone(await connection(ctx), section.script);
  if (!observationCameBack(result.stdout)) throw transient(`the stack observation did not come back from the host (exit ${result.code})`, { customer: ctx.id, resource: 'stack' });
  return keepHashMemos(ctx, parseObservation(result.stdout, desired, services.map((d) => d.service)));
}

function hashMemoKey(ctx: CustomerContext, service: string): string {
  return `${SCAN_KEYS.host(ctx.target)}#${service}`;
}

/** The compose-hash memos of these services on the customer's host (providers/host/facts/compose-hash.ts). */
function hashMemos(ctx: CustomerContext, services: readonly StackServiceDesired[]): Map<string, ComposeHashMemo> {
  const out = new Map<string, ComposeHashMemo>();
  for (const d of services) {
    const memo = ctx.env.providers.hosts.hashMemo.get(hashMemoKey(ctx, d.service));
    if (memo) out.set(d.service, memo);
  }
  return out;
}

/** Keeps the hashes an observation brought back, under their inputs' key, for the next one. */
function keepHashMemos(ctx: CustomerContext, parsed: ParsedStackObservation): ParsedStackObservation {
  for (const [service, memo] of parsed.hashMemos) ctx.env.providers.hosts.hashMemo.set(hashMemoKey(ctx, service), memo);
  return parsed;
}

function stepError(ctx: CustomerContext, d: StackServiceDesired, step: string, detail: string, left: string, fix: string, errorClass: 'terminal' | 'transient' = 'terminal'): AxeError {
  const make = errorClass === 'terminal' ? terminal : transient;
  return make(`${d.service}: step ${step} failed: ${detail}; left: ${left}`, { customer: ctx.id, resource: 'stack', fix });
}

/** Runs a script and returns its result, failed or not: for the scripts whose failure is an answer (a probe, a steps run, an up that rolls back), not an error. */
async function sh(ctx: CustomerContext, script: string, timeoutMs = 120_000): Promise<ExecResult> {
  return execHostScript(await connection(ctx), script, { timeoutMs });
}

/** How a step's failure reads: what it left and the fix (by exit code in `fixes`); its class by exit code unless `class` forces one. */
type StepSpec = Pick<RunSpec, 'fix' | 'fixes' | 'class' | 'detail' | 'stdin'> & { left: string };

/** Runs a step's script; its failure is thrown as the step's error (the executor classifies it), its detail by default the stderr's last line (diagnostics left out) or the exit code. */
async function step(ctx: CustomerContext, d: StackServiceDesired, name: string, script: string, spec: StepSpec, timeoutMs = 120_000): Promise<ExecResult> {
  return runScript(await connection(ctx), script, { what: `${d.service}: step ${name}`, customer: ctx.id, resource: 'stack', timeoutMs, detail: (r) => lastLine(r.stderr) || `exit ${r.code}`, ...spec });
}

async function actService(ctx: CustomerContext, d: StackServiceDesired, action: Action<StackPayload>): Promise<void> {
  const tools = ctx.env.providers.hosts.toolPaths;
  // The before-up hooks start with the service's first action once its dependencies are done (linkServices); render-env takes them.
  if (action.payload.early) scratch(ctx).early.set(d.service, d.beforeHooks.map((hook) => runBeforeHook(ctx, hook).catch(() => null)));
  scratch(ctx).told.delete(d.service);
  switch (action.op) {
    case 'clone':
    case 'checkout': {
      await step(ctx, d, action.op, checkoutScript(d, ctx.env.settings.gitInsteadOf ?? {}, tools), {
        left: action.op === 'clone' ? 'nothing deployed' : 'the running containers untouched',
        fixes: { refNotFound: `check source.ref in services/${d.service}.yaml` },
        fix: `check that ${d.repo} is reachable from the host (git.instead_of in the axe config for mirrors)`,
      }, 300_000);
      return;
    }
    case 'render-env':
      await renderEnv(ctx, d);
      if (action.payload.prepare) {
        // Run while the service's dependencies deploy: the labels override for its up, from the compose model on the host.
        const override = overrideText(ctx, d);
        // Awaited by the up; when a dependency fails it never is, and its failure is not news.
        override.catch(() => undefined);
        scratch(ctx).prepared.set(d.service, override);
      }
      return;
    case 'snapshot':
      await gateSnapshot(ctx, d.service, d.migratingHooks ?? []);
      return;
    case 'create-network':
    case 'create-volume': {
      const what = action.op === 'create-network' ? 'network' : 'volume';
      await step(ctx, d, action.op, createScript(what, action.payload.name!, [`${LABELS.customer}=${ctx.id}`], tools), { left: 'nothing else changed', fix: `create it by hand: docker ${what} create ${action.payload.name}`, class: 'transient' });
      return;
    }
    case 'up':
      await up(ctx, d, action.payload.recreate ?? []);
      return;
    case 'initial':
      await initial(ctx, d);
      return;
    case 'swap':
      await swap(ctx, d, action.payload.from!, action.payload.to!);
      return;
    case 'start': {
      const services = action.payload.services ?? [];
      const recreate = action.payload.recreate ?? [];
      const rest = services.filter((s) => !recreate.includes(s));
      const script = upScript(d, { args: rest.length ? ['--no-deps', '--no-recreate', ...rest] : [], override: await overrideOnHost(ctx, d), recreate, diagnose: services }, tools);
      await step(ctx, d, 'start', script, { left: `${services.join(', ')} not running`, fix: `see docker compose -p ${d.project} logs on the host`, class: 'terminal', detail: (r) => failureReason(r.stderr, services) }, d.waitSeconds * 1000 + 300_000);
      return;
    }
    case 'stop-idle': {
      await step(ctx, d, 'stop-idle', composeScript(d, await overrideOnHost(ctx, d), ['stop', '-t', '10', action.payload.name!], tools), { left: `${action.payload.name} still running`, fix: 'stop it by hand', class: 'transient' });
      return;
    }
    default:
      throw terminal(`unknown stack action ${action.op}`, { customer: ctx.id, resource: 'stack' });
  }
}

async function overrideOnHost(ctx: CustomerContext, d: StackServiceDesired): Promise<string | null> {
  const result = await sh(ctx, overrideExistsScript(d));
  return result.code === 0 ? OVERRIDE_FILE : null;
}

/** The env file's host path as HostConnection.writeFile takes it. */
function envPath(d: StackServiceDesired, file: string): string {
  return `${d.checkout.replace(/\/$/, '')}/${file}`;
}

async function renderEnv(ctx: CustomerContext, d: StackServiceDesired): Promise<void> {
  const rendered = await renderValues(ctx, d, new Map());
  if (!rendered.fact.ok) {
    const f = rendered.fact;
    const missing = [...f.missingSecrets, ...f.pendingSecrets];
    throw stepError(ctx, d, 'render-env', `${missing.length ? `missing from the vault: ${missing.join(', ')}` : ''}${f.missingFields.length ? ` not set in customers.yaml: ${f.missingFields.join(', ')}` : ''}`.trim(), 'the env file not written, nothing changed', missing.some((m) => /^AZURE_/.test(m)) || f.missingFields.some((x) => x.startsWith('sso.')) ? `ingest the customer's pack (axe customers ingest ${ctx.id} pack.json --apply)` : `push the missing secrets (axe secret push NAME --service ${d.service} --customer ${ctx.id})`);
  }
  const values = rendered.values;
  const pending = scratch(ctx).early;
  const early = pending.get(d.service);
  pending.delete(d.service);
  for (const [i, hook] of d.beforeHooks.entries()) {
    const result = (await early?.[i]) ?? (await runBeforeHook(ctx, hook));
    const value = result.stdout.trim();
    if (result.code !== 0 || !value) {
      throw stepError(ctx, d, `hook ${hook.name}`, `${hook.exec.service} did not give ${hook.outputEnv} (${lastLine(result.stderr) || `exit ${result.code}`})`, 'the env file not written, nothing changed', `deploy ${hook.exec.service} first (axe deploy ${hook.exec.service} ${ctx.id} --apply)`, 'transient');
    }
    values.set(hook.outputEnv, value);
  }
  let text: string;
  try {
    text = renderEnvFile(d.customer, d.service, values);
  } catch (error) {
    throw stepError(ctx, d, 'render-env', (error as Error).message, 'the env file not written', 'store a value without quotes or line breaks in the vault');
  }
  if (d.pull) await pullEnv(ctx, d, text);
  else await (await connection(ctx)).writeFile(envPath(d, d.envFile), text, 0o600);
  await splitEnv(ctx, d);
}

/** Each compose service's own env file, made from the env file on the host (splitEnvScript); stale ones removed. */
async function splitEnv(ctx: CustomerContext, d: StackServiceDesired): Promise<void> {
  await step(ctx, d, 'render-env', splitEnvScript(d, ownEnvFiles(d.customer, d.service, d.serviceEnvs)), {
    left: `${d.envFile} written, the containers untouched`,
    fix: `check the disk and permissions of ${d.checkout} on the host, then axe deploy ${d.service} ${ctx.id} --apply`,
    class: 'transient',
    detail: (r) => `the compose services' own env files: ${lastLine(r.stderr) || `exit ${r.code}`}`,
  });
}

/**
 * Pull mode: the wrapper is pushed, then renders the env file on the host from
 * the host's own bw session. It gets the file's lines on stdin, each pulled
 * secret as `?NAME=item`; no value of the host's vault ever reaches axe.
 */
async function pullEnv(ctx: CustomerContext, d: StackServiceDesired, text: string): Promise<void> {
  const pull = d.pull!;
  const template = pullTemplate(text, pull.secrets);
  await (await connection(ctx)).writeFile(PULL_WRAPPER_PATH, PULL_WRAPPER, 0o755);
  await step(ctx, d, 'render-env (pull on the host)', pullScript(d, pull.sessionFile, ctx.env.providers.hosts.toolPaths), {
    stdin: `${template}\n`,
    left: 'the env file not written, nothing changed',
    fixes: {
      pullItemMissing: `put the missing item in the customer's vault (the one ${pull.sessionFile} unlocks), then axe deploy ${d.service} ${ctx.id} --apply`,
      pullBadValue: `store the value without quotes or line breaks in the customer's vault`,
    },
    fix: `see axe plan ${ctx.id}: the host's bw session (${pull.sessionFile}) must be present, mode 0600 and unlocked`,
  }, 300_000);
}

/** The labels override of a stack (its text), the compose services it names, and the config revision it carries. */
interface LabelsOverride {
  text: string;
  services: string[];
  revision: string;
}

/** The override prepared for this service in this pass (taken once), or a fresh one. */
function overrideFor(ctx: CustomerContext, d: StackServiceDesired): Promise<LabelsOverride> {
  const overrides = scratch(ctx).prepared;
  const prepared = overrides.get(d.service);
  overrides.delete(d.service);
  return prepared ?? overrideText(ctx, d);
}

/** The labels override for the stack, from the compose model on the host. */
async function overrideText(ctx: CustomerContext, d: StackServiceDesired): Promise<LabelsOverride> {
  const rendered = await renderValues(ctx, d, new Map());
  if (!rendered.fact.ok) throw stepError(ctx, d, 'up', 'the env file cannot be rendered', 'nothing changed', 'see the stack health');
  const result = await step(ctx, d, 'up', configJsonScript(d, ctx.env.providers.hosts.toolPaths), {
    left: 'nothing changed',
    fix: `check the compose files of ${d.repo} at ${d.ref}`,
    class: 'terminal',
    detail: (r) => `compose config: ${lastLine(r.stderr) || `exit ${r.code}`}`,
  });
  const model = parseComposeModel(result.stdout);
  const unknown = (d.serviceEnvs ?? []).filter((e) => !model.services.includes(e.service)).map((e) => e.service);
  if (unknown.length) throw stepError(ctx, d, 'up', `env.services names ${unknown.join(', ')}, not a service of the compose files at ${d.ref} (they have ${model.services.join(', ')})`, 'nothing changed', `fix env.services in services/${d.service}.yaml`);
  const text = renderOverride(model, { customer: ctx.id, service: d.service, ref: d.ref, envHash: rendered.fact.digest, revision: rendered.fact.revision }, d.serviceEnvs);
  return { text, services: model.services, revision: rendered.fact.revision };
}

/** How long the inside health gate polls after `up --wait` said healthy. */
const GATE_SECONDS = 10;

/**
 * Runs the steps in one round trip (stepsScript): the first failing step ends
 * it. `listed`: the stack whose containers are listed once for the steps'
 * lookups (only for steps that neither create nor remove nor stop containers).
 */
async function runSteps(ctx: CustomerContext, steps: HostStep[], listed: StackServiceDesired | null = null): Promise<StepsResult> {
  if (steps.length === 0) return { code: 0, failed: null, soft: [], stderr: '' };
  return readSteps(await sh(ctx, stepsScript(steps, listed ? { project: listed.project, toolPaths: ctx.env.providers.hosts.toolPaths } : undefined), 300_000));
}

/** The after-healthy hooks; `active`: the color this stack's proxy was just switched to (earlier in the same script). */
function hookSteps(ctx: CustomerContext, d: StackServiceDesired, active: Color | null = null): HostStep[] {
  return d.afterHooks.map((hook) => ({
    name: `hook ${hook.name}`,
    script: execScript(hook.exec, hook.exec.command, ctx.env.providers.hosts.toolPaths, hook.exec.service === d.service ? active : switchedColor(ctx, hook.exec.service)),
  }));
}

/** The manifest's inside health check, polled until it answers (none when none is declared); `active` as in hookSteps. */
function gateStep(ctx: CustomerContext, d: StackServiceDesired, active: Color | null = null): HostStep[] {
  if (!d.inside) return [];
  return [{ name: 'health', script: insideCheckScript({ project: d.project, container: d.inside.container, blueGreen: d.blueGreen }, d.inside.port, d.inside.path, GATE_SECONDS, ctx.env.providers.hosts.toolPaths, active) }];
}

/** Switches the blue/green proxy to `color` and records it on the host. */
function switchStep(ctx: CustomerContext, d: StackServiceDesired, color: Color): HostStep {
  const bg = d.blueGreen!;
  const exec = execScript({ project: d.project, container: bg.proxy, blueGreen: null }, switchCommand(bg.switchTemplate, color), ctx.env.providers.hosts.toolPaths);
  return { name: 'switch', script: thenRecord(exec, d, ACTIVE_RECORD, color) };
}

/** Records the stack's current checkout and env file as its last good state (what a failed deploy goes back to). */
function saveGoodStep(ctx: CustomerContext, d: StackServiceDesired): HostStep {
  return { name: 'record good state', script: saveGoodScript(d, ctx.env.providers.hosts.toolPaths) };
}

function clearFailureStep(d: StackServiceDesired): HostStep {
  return { name: 'clear failure record', script: recordScript(d, FAILURE_FILE, null) };
}

function commitOverrideStep(d: StackServiceDesired): HostStep {
  return { name: 'commit override', script: overrideCommitScript(d, true) };
}

/** The error for a failed finishing step once the stack is up and healthy (good state record, a hook, a record file). */
function finishError(ctx: CustomerContext, d: StackServiceDesired, result: StepsResult): AxeError {
  const step = result.failed ?? '?';
  const detail = stepDetail(result, step);
  if (step === 'record good state') return stepError(ctx, d, step, detail, `${d.project} at ${d.ref} up and healthy`, `check the disk and permissions of ${d.checkout} on the host, then axe deploy ${d.service} ${ctx.id} --apply`, 'transient');
  if (step.startsWith('hook ')) return stepError(ctx, d, step, detail, 'the stack is up and healthy; the hook did not complete', `run it again: axe deploy ${d.service} ${ctx.id} --apply (hooks are idempotent)`, 'transient');
  return stepError(ctx, d, step, detail, `${d.project} at ${d.ref} up and healthy`, `axe deploy ${d.service} ${ctx.id} --apply`, 'transient');
}

async function up(ctx: CustomerContext, d: StackServiceDesired, recreate: string[]): Promise<void> {
  const tools = ctx.env.providers.hosts.toolPaths;
  const { text, revision } = await overrideFor(ctx, d);
  // The new labels go to the next override, moved into place only when the stack came up healthy.
  await (await connection(ctx)).writeFile(envPath(d, NEXT_OVERRIDE_FILE), text, 0o644);
  const args = ['--remove-orphans', ...(recreate.length ? ['--force-recreate'] : [])];
  const result = await sh(ctx, upScript(d, { args, override: NEXT_OVERRIDE_FILE }, tools), d.waitSeconds * 1000 + 300_000);
  if (result.code !== 0) return rollbackPlain(ctx, d, 'compose up', failureReason(result.stderr, []), revision);
  // The health gate, then (only when it passed) the override, the good state, the hooks and the failure record: one round trip.
  const done = await runSteps(ctx, [...gateStep(ctx, d), commitOverrideStep(d), saveGoodStep(ctx, d), ...hookSteps(ctx, d), clearFailureStep(d)], d);
  if (done.failed === 'health') return rollbackPlain(ctx, d, 'health', stepDetail(done, 'health'), revision);
  if (done.failed) throw finishError(ctx, d, done);
  tell(ctx, d, { active: null });
}

/** Puts the checkout and env file back to the last good state: its ref, or why not. */
async function restoreGood(ctx: CustomerContext, d: StackServiceDesired): Promise<{ ref: string } | { why: string }> {
  return readRestored(await sh(ctx, restoreGoodScript(d, ownEnvFiles(d.customer, d.service, d.serviceEnvs), ctx.env.providers.hosts.toolPaths), 120_000));
}

async function recordFailure(ctx: CustomerContext, d: StackServiceDesired, failure: FailureRecord): Promise<void> {
  await sh(ctx, recordScript(d, FAILURE_FILE, JSON.stringify({ ...failure, reason: failure.reason.replace(/\s+/g, ' ').slice(0, 300) })));
}

/**
 * A plain stack that did not come up healthy: the last good checkout and env
 * file go back, and compose brings the old containers back (it recreates what
 * the failed up changed). Recorded on the host, so the health after this pass
 * (and every later one, until this revision is replaced) says Degraded, which
 * step failed, what was left and the fix.
 */
async function rollbackPlain(ctx: CustomerContext, d: StackServiceDesired, step: string, reason: string, revision: string): Promise<void> {
  const tools = ctx.env.providers.hosts.toolPaths;
  const restored = await restoreGood(ctx, d);
  let left: string;
  let serving: string | null = null;
  if ('why' in restored) {
    // Nothing to go back to: the containers carry the new labels, so the new override stays.
    await sh(ctx, overrideCommitScript(d, true));
    left = `${d.project} at ${d.ref} running but not healthy, nothing rolled back (${restored.why})`;
  } else {
    await sh(ctx, overrideCommitScript(d, false));
    // The good state was healthy before: give it at least a minute, whatever the failed release's timeout.
    const good = { ...d, waitSeconds: Math.max(d.waitSeconds, 60) };
    const back = await sh(ctx, upScript(good, { args: ['--remove-orphans'], override: await overrideOnHost(ctx, d) }, tools), good.waitSeconds * 1000 + 300_000);
    if (back.code === 0) {
      serving = restored.ref;
      left = `rolled back, ${restored.ref} serves again (checkout, env file and containers restored)`;
    } else {
      left = `checkout and env file restored to ${restored.ref}, but its containers did not come back healthy (${failureReason(back.stderr, [])})`;
    }
  }
  await recordFailure(ctx, d, { revision, ref: d.ref, color: '', step, serving, left, reason, at: new Date().toISOString() });
}

async function initial(ctx: CustomerContext, d: StackServiceDesired): Promise<void> {
  const tools = ctx.env.providers.hosts.toolPaths;
  const bg = d.blueGreen!;
  const { text, services } = await overrideFor(ctx, d);
  await (await connection(ctx)).writeFile(envPath(d, OVERRIDE_FILE), text, 0o644);
  const shared = services.filter((s) => s !== bg.blue && s !== bg.green);
  // Shared services first, then the color alone (a color is always brought up alone: see the observation's hash); one round trip.
  await step(ctx, d, 'compose up', upScript(d, { args: ['--no-deps', ...shared], then: ['--no-deps', bg.blue], override: OVERRIDE_FILE }, tools), {
    left: `${d.project} at ${d.ref} started but not healthy (nothing served before)`,
    fix: `see docker compose -p ${d.project} logs on the host; fix the release or its env, then axe deploy ${d.service} ${ctx.id} --apply`,
    class: 'terminal',
    detail: (r) => failureReason(r.stderr, []),
  }, 2 * d.waitSeconds * 1000 + 300_000);
  const done = await runSteps(ctx, [switchStep(ctx, d, 'blue'), ...gateStep(ctx, d, 'blue'), saveGoodStep(ctx, d), ...hookSteps(ctx, d, 'blue'), clearFailureStep(d)], d);
  if (done.failed === 'switch') throw stepError(ctx, d, 'switch', stepDetail(done, 'switch'), `${d.project} running, the proxy not switched`, `run the switch in ${bg.proxy} by hand`);
  if (done.failed === 'health') throw stepError(ctx, d, 'health', stepDetail(done, 'health'), `${d.project} at ${d.ref} running`, `see docker compose -p ${d.project} logs on the host`);
  if (done.failed) throw finishError(ctx, d, done);
  tell(ctx, d, { active: 'blue' });
}

/**
 * Blue/green: the idle color comes up with the new config (labelled through
 * the next override, committed only on success), then the proxy switches,
 * the old color drains and stops. A failure before the switch is final only
 * for the new color: it is removed and the old one never stopped serving.
 */
function swap(ctx: CustomerContext, d: StackServiceDesired, from: Color, to: Color): Promise<void> {
  return new BlueGreenSwap(ctx, d, from, to).run();
}

/**
 * One swap of a blue/green stack from the serving color to the idle one, a
 * method per step; `run` takes them in order and rolls back on a failure
 * before the old color stops.
 */
class BlueGreenSwap {
  readonly next: string;
  readonly old: string;
  /** The config revision of the new labels (prepare). */
  #revision = '';

  constructor(
    readonly ctx: CustomerContext,
    readonly d: StackServiceDesired,
    readonly from: Color,
    readonly to: Color,
  ) {
    this.next = colorService(d, to);
    this.old = colorService(d, from);
  }

  get #tools(): readonly string[] {
    return this.ctx.env.providers.hosts.toolPaths;
  }

  async run(): Promise<void> {
    await this.prepare();
    const started = await this.startNext();
    if (started !== null) return this.rollback('compose up', started);
    const switched = await this.switchAndWaitHealthy();
    if (switched.failed === 'switch') return this.rollback('switch', `the proxy refused the switch: ${stepDetail(switched, 'switch')}`);
    if (switched.failed) {
      await this.switchBack();
      return this.rollback('health', `after the switch: ${stepDetail(switched, switched.failed)}`);
    }
    await this.drain();
    await this.stopOld();
    await this.runHooks();
    tell(this.ctx, this.d, { active: this.to });
  }

  /** The new labels go to the next override, moved into place only when the swap succeeded. */
  async prepare(): Promise<void> {
    const { text, revision } = await overrideFor(this.ctx, this.d);
    this.#revision = revision;
    await (await connection(this.ctx)).writeFile(envPath(this.d, NEXT_OVERRIDE_FILE), text, 0o644);
  }

  /** The idle color comes up alone with the new config; null, or why it did not. */
  async startNext(): Promise<string | null> {
    const { ctx, d, next } = this;
    const result = await sh(ctx, upScript(d, { args: ['--no-deps', next], override: NEXT_OVERRIDE_FILE, diagnose: [next] }, this.#tools), d.waitSeconds * 1000 + 300_000);
    return result.code === 0 ? null : failureReason(result.stderr, [next]);
  }

  /** The switch and the health gate behind the proxy: one round trip. */
  switchAndWaitHealthy(): Promise<StepsResult> {
    return runSteps(this.ctx, [switchStep(this.ctx, this.d, this.to), ...gateStep(this.ctx, this.d, this.to)], this.d);
  }

  /** The proxy back to the old color (the new one failed its gate). */
  async switchBack(): Promise<void> {
    await runSteps(this.ctx, [switchStep(this.ctx, this.d, this.from)], this.d);
  }

  async drain(): Promise<void> {
    await sleep(DRAIN_MS);
  }

  /** Stops the old color (a failure there is reported after the rest), keeps the override, records the good state: one round trip. */
  async stopOld(): Promise<void> {
    const { ctx, d, old, to } = this;
    const stopped = await runSteps(ctx, [{ name: 'stop old color', script: composeScript(d, NEXT_OVERRIDE_FILE, ['stop', '-t', '10', old], this.#tools), soft: true }, commitOverrideStep(d), saveGoodStep(ctx, d), clearFailureStep(d)]);
    if (stopped.failed) throw finishError(ctx, d, stopped);
    if (stopped.soft.length) throw stepError(ctx, d, 'stop old color', stepDetail(stopped, 'stop old color'), `${to} serves; ${old} still running`, `stop ${old} by hand`, 'transient');
  }

  /** The after-healthy hooks, against the new color. */
  async runHooks(): Promise<void> {
    const hooks = await runSteps(this.ctx, hookSteps(this.ctx, this.d, this.to), this.d);
    if (hooks.failed) throw finishError(this.ctx, this.d, hooks);
  }

  /** The new color removed, the next override dropped, the checkout and env file back to what the old color runs; the failure recorded on the host. */
  async rollback(step: string, reason: string): Promise<void> {
    const { ctx, d, next, old } = this;
    await sh(ctx, composeScript(d, NEXT_OVERRIDE_FILE, ['rm', '-s', '-f', next], this.#tools)).catch(() => undefined);
    await sh(ctx, overrideCommitScript(d, false)).catch(() => undefined);
    // The checkout and env file go back to what the serving color runs, so the next observation is honest.
    const restored = await restoreGood(ctx, d);
    const left = 'ref' in restored ? `checkout and env file back at ${restored.ref}, what ${old} runs` : `checkout and env file left at ${d.ref} (${restored.why})`;
    await recordFailure(ctx, d, { revision: this.#revision, ref: d.ref, color: next, step, serving: old, left, reason, at: new Date().toISOString() });
  }
}
