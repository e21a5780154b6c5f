/**
 * Secret rotation (`axe secret rotate NAME --customer C`): one secret of one
 * customer gets a new value, and every service that uses it is restarted with
 * it through the same reconcile as `axe apply` (blue/green where the service
 * is: the old color keeps serving with the old value until the new one is
 * healthy). A secret that lives inside a database too (the Postgres password)
 * is changed there first, by the manifest's `phase: rotate` hook, which gets
 * the new value on its stdin.
 *
 * Rules:
 * - `planRotation` is pure: which hooks run, which services restart. Plans
 *   name secrets and services, never a value.
 * - Order when applying: the new value into the vault, then the rotate hooks
 *   (a failing hook puts the old value back into the vault and stops: nothing
 *   restarted), then the reconcile of the stacks that use it. A failed rollout
 *   leaves the new value in the vault and the database; the pass reports what
 *   did not converge, and the next reconcile retries it.
 * - A per-entity PII passphrase is refused unless a rotate hook re-encrypts
 *   with it (a new passphrase alone would make the entity's PII unreadable).
 * - The value goes to the host over stdin only (`docker exec -i`), never in a
 *   command line, log, history row or plan.
 */
import { terminal } from '../../core/errors.js';
import { generateSecret } from '../../core/generate.js';
import type { Secret } from '../../core/secret.js';
import { reconcileCustomer, type CustomerResult } from '../engine.js';
import { type CustomerContext, newContext, type ReconcileEnv } from '../runtime.js';
import type { ExecTarget } from '../../providers/host/commands/exec.js';
import { runInContainer } from '../../providers/host/run.js';
import { declaredStacks, desiredService } from '../services.js';
import { expandTemplate, hookCommand } from '../templates.js';
import { desiredVaultItems, type WantedItem } from './diff.js';

export interface RotationHook {
  service: string;
  hook: string;
  exec: ExecTarget;
}

export interface RotationPlan {
  customer: string;
  name: string;
  /** How a new value is made; null = provided by a person (prompt or stdin). */
  generate: WantedItem['generate'] | null;
  /** Run first, in order, each with the new value on stdin. */
  hooks: RotationHook[];
  /** The services restarted with the new value, and the vars that carry it. */
  restarts: Array<{ service: string; vars: string[]; blueGreen: boolean }>;
}

/** A pass context for one customer, as the engine makes it (no results yet). */
export function rotationContext(env: ReconcileEnv, id: string): CustomerContext {
  const customer = env.state.customers.customers[id];
  if (!customer) throw terminal(`customer ${id} is not in customers.yaml`, { customer: id, fix: 'check the customer id (axe secret list)' });
  return newContext(env, id, customer);
}

export function planRotation(ctx: CustomerContext, name: string): RotationPlan {
  const items = desiredVaultItems(ctx.env.state.customers, ctx.env.state.manifests, ctx.id).items;
  const item = items.find((i) => i.name === name);
  if (!item) throw terminal(`${name} is not a secret of ${ctx.id}`, { customer: ctx.id, fix: `name one of: ${items.map((i) => i.name).join(', ') || 'none (no service slot)'}` });
  const hooks: RotationHook[] = [];
  const restarts: RotationPlan['restarts'] = [];
  for (const [service, manifest] of declaredStacks(ctx)) {
    const d = desiredService(ctx, service, manifest);
    const vars = d.vars.filter((v) => v.kind === 'secret' && v.secret === name).map((v) => v.name);
    if (vars.length) restarts.push({ service, vars, blueGreen: d.blueGreen !== null });
    const templateVars = { customer: ctx.id, service, publicDomain: ctx.customer.public_domain, ref: manifest.source.ref };
    for (const [hook, spec] of Object.entries(manifest.hooks)) {
      if (spec.phase !== 'rotate' || !spec.rotates || expandTemplate(spec.rotates, templateVars) !== name) continue;
      const owner = spec.exec.service ?? service;
      const ownerManifest = ctx.env.state.manifests.get(owner);
      const stack = ownerManifest?.kind === 'stack' ? desiredService(ctx, owner, ownerManifest) : d;
      hooks.push({ service, hook, exec: { service: owner, project: stack.project, container: spec.exec.container, blueGreen: stack.blueGreen, command: hookCommand(spec.exec, templateVars) } });
    }
  }
  // A PII passphrase encrypts the entity's data: a new one without re-encrypting loses it.
  if (item.entity && hooks.length === 0) {
    throw terminal(`${name} encrypts the PII of entity ${item.entity}: a new passphrase without re-encrypting that data would make it unreadable`, { customer: ctx.id, fix: `declare a hook with phase: rotate and rotates: ${name.replace(ctx.id.toUpperCase().replace(/-/g, '_'), '{CUSTOMER}').replace(item.entity.toUpperCase().replace(/-/g, '_'), '{ENTITY}')} in ${item.service}'s manifest that re-encrypts with the new value from stdin, then rotate` });
  }
  return { customer: ctx.id, name, generate: item.generate ?? null, hooks, restarts };
}

/** One line per step, for the plan: names only. */
export function describeRotation(plan: RotationPlan): string[] {
  const lines = [`rotate ${plan.name} for ${plan.customer}: ${plan.generate ? `a new generated value (${plan.generate.length} ${plan.generate.alphabet} characters)` : 'the value read from the prompt or stdin'}`];
  for (const h of plan.hooks) lines.push(`first: ${h.service} hook ${h.hook} in ${h.exec.container} (${h.exec.command.join(' ')}), new value on stdin`);
  for (const r of plan.restarts) lines.push(`restart ${r.service} (${r.vars.join(', ')})${r.blueGreen ? ': blue/green, the old color serves until the new one is healthy' : ': recreated'}`);
  if (plan.restarts.length === 0) lines.push('no running service uses it: only the vault changes');
  return lines;
}

export interface RotationResult {
  plan: RotationPlan;
  /** Fingerprints (the vault's keyed ones) of the old and new values: never the values. */
  from: string;
  to: string;
  /** The reconcile that rolled the new value out (null: nothing uses it). */
  rollout: CustomerResult | null;
}

/**
 * Rotates the secret: `provided` is the new value for a secret people provide
 * (null for a generated one). The caller holds the customer's writer lease.
 */
export async function rotateSecret(env: ReconcileEnv, id: string, name: string, provided: Secret | null, onProgress?: (line: string) => void): Promise<RotationResult> {
  const ctx = rotationContext(env, id);
  const plan = planRotation(ctx, name);
  const { vault } = env.providers;
  const old = await vault.get(name);
  if (!old) throw terminal(`${name} is not in the vault yet: there is nothing to rotate`, { customer: id, resource: 'vault-items', fix: `create it first (axe apply ${id} --apply generates it; a provided one: axe secret push)` });
  let value: Secret;
  if (plan.generate) {
    if (provided) throw terminal(`${name} is generated by axe: it takes no value`, { customer: id, fix: `axe secret rotate ${name} --customer ${id} --apply (with nothing on stdin)` });
    value = generateSecret(plan.generate.length, plan.generate.alphabet);
  } else {
    if (!provided) throw terminal(`${name} is provided by people: give the new value`, { customer: id, fix: `type it at the prompt, or pipe it: printf %s "$VALUE" | axe secret rotate ${name} --customer ${id} --apply` });
    value = provided;
  }
  if (value.equals(old)) throw terminal(`the new value of ${name} is the one the vault holds`, { customer: id, fix: 'give a different value' });
  const service = plan.restarts[0]?.service ?? plan.hooks[0]?.service ?? 'operator';
  await vault.put({ name, service, customer: id, value });
  onProgress?.(`${name}: new value in the vault (${vault.fingerprint(value)})`);
  if (plan.hooks.length) {
    const connection = await env.providers.hosts.connection(ctx.target);
    for (const h of plan.hooks) {
      // stderr only: the hook's stdout is not shown (a hook that echoed its stdin would print the value).
      await runInContainer(connection, h.exec, h.exec.command, {
        toolPaths: env.providers.hosts.toolPaths,
        stdin: `${value.reveal()}\n`,
        timeoutMs: 60_000,
        what: `the ${h.service} hook ${h.hook}`,
        note: `the vault keeps the old value of ${name}, nothing restarted`,
        customer: id,
        resource: 'stack',
        fix: `check that ${h.exec.container} runs in ${h.exec.project} (axe status ${id}), then rotate again`,
        onFailure: async () => void (await vault.put({ name, service, customer: id, value: old })),
      });
      onProgress?.(`${h.service}: hook ${h.hook} changed ${name} where it lives`);
    }
  }
  const rollout = plan.restarts.length ? await reconcileCustomer(env, id, { apply: true, only: ['stack'] }) : null;
  return { plan, from: vault.fingerprint(old), to: vault.fingerprint(value), rollout };
}
