/**
 * The desired state of a customer's declared stack services, from the
 * manifests and customers.yaml (pure), and what the stack kind's result in
 * this pass says about them. Read by the stack kind and by the kinds that
 * work on its services (entities, admins, ingress, the rotation, the stack's
 * teardown): they import this module, not the stack kind.
 */
import { serviceOrder } from '../schemas/repo.js';
import type { HookExec, StackManifest } from '../schemas/service-manifest.js';
import { type BlueGreenTarget, type Color, switchCommand } from '../providers/host/commands/blue-green.js';
import type { ExecTarget } from '../providers/host/commands/exec.js';
import type { CustomerContext } from './runtime.js';
import type { StackObserved, StackPayload, StackServiceDesired } from './stack/diff.js';
import { entityTokens, envVarSpecs, serviceEnvs } from './stack/render.js';
import { expandTemplate, hookCommand, type TemplateVars } from './templates.js';

/**
 * For the kinds after the stack (entities, admins), from the stack kind's
 * result in this pass: the color a blue/green service serves from once this
 * pass deployed it (null: not deployed in this pass, or not blue/green), so a
 * command for its `@active` container goes there without asking the proxy.
 */
export function deployedColor(ctx: CustomerContext, service: string): Color | null {
  const result = ctx.pass.results.get('stack');
  if (!result?.applied.some((a) => (a.payload as Partial<StackPayload> | undefined)?.service === service)) return null;
  return (result.observed as StackObserved | null)?.services.get(service)?.host.active ?? null;
}

export function templateVars(ctx: CustomerContext, service: string, manifest: StackManifest): TemplateVars {
  return { customer: ctx.id, service, publicDomain: ctx.customer.public_domain, ref: manifest.source.ref };
}

export function blueGreenOf(ctx: CustomerContext, service: string, manifest: StackManifest): (BlueGreenTarget & { switchTemplate: string[] }) | null {
  const bg = manifest.blue_green;
  if (!bg) return null;
  const vars = templateVars(ctx, service, manifest);
  const template = bg.proxy.switch.map((a) => expandTemplate(a, vars));
  return {
    project: expandTemplate(manifest.compose.project, vars),
    checkout: expandTemplate(manifest.checkout, vars),
    blue: bg.colors.blue,
    green: bg.colors.green,
    proxy: bg.proxy.container,
    showCommand: switchCommand(template, null),
    switchTemplate: template,
  };
}

function execTarget(ctx: CustomerContext, own: string, manifest: StackManifest, exec: HookExec): ExecTarget {
  const service = exec.service ?? own;
  const target = ctx.env.state.manifests.get(service);
  const stack = target?.kind === 'stack' ? target : manifest;
  const vars = templateVars(ctx, service, stack);
  return {
    service,
    project: expandTemplate(stack.compose.project, vars),
    container: exec.container,
    blueGreen: blueGreenOf(ctx, service, stack),
    command: hookCommand(exec, templateVars(ctx, own, manifest)),
  };
}

/** The desired state of one stack service (pure). */
export function desiredService(ctx: CustomerContext, service: string, manifest: StackManifest): StackServiceDesired {
  const vars = templateVars(ctx, service, manifest);
  const specs = envVarSpecs(manifest, ctx.customer, vars);
  const hooks = Object.entries(manifest.hooks);
  const pull = manifest.env.secrets === 'pull';
  return {
    service,
    customer: ctx.id,
    repo: manifest.source.repo,
    ref: manifest.source.ref,
    checkout: expandTemplate(manifest.checkout, vars),
    project: expandTemplate(manifest.compose.project, vars),
    composeFiles: manifest.compose.files,
    envFile: manifest.env.file,
    vars: specs,
    serviceEnvs: serviceEnvs(manifest, entityTokens(ctx.customer)),
    hookVars: specs.filter((v) => v.kind === 'hook' || (pull && v.kind === 'secret')).map((v) => v.name),
    pull: pull
      ? {
          sessionFile: manifest.env.session_file,
          vaultUrl: `https://${ctx.customer.public_domain}/vault`,
          secrets: specs.flatMap((v) => (v.kind === 'secret' ? [{ name: v.name, item: v.secret }] : [])),
        }
      : null,
    beforeHooks: hooks
      .filter(([, h]) => h.phase === 'before_up' && h.output_env)
      .map(([name, h]) => ({ name, outputEnv: h.output_env!, exec: execTarget(ctx, service, manifest, h.exec) })),
    afterHooks: hooks.filter(([, h]) => h.phase === 'after_healthy' && !h.foreach).map(([name, h]) => ({ name, exec: execTarget(ctx, service, manifest, h.exec) })),
    migratingHooks: hooks.filter(([, h]) => h.migrating).map(([name]) => name),
    networks: manifest.networks.filter((n) => n.external).map((n) => expandTemplate(n.name, vars)),
    volumes: manifest.volumes.filter((v) => v.external).map((v) => expandTemplate(v.name, vars)),
    blueGreen: blueGreenOf(ctx, service, manifest),
    inside: manifest.health.inside ? { ...manifest.health.inside } : null,
    waitSeconds: manifest.health.timeout_seconds,
    dependsOn: manifest.depends_on,
  };
}

/** Declared stack services of the customer, in dependency order, limited by `env.services` when set. */
export function declaredStacks(ctx: CustomerContext): Array<[string, StackManifest]> {
  const { state } = ctx.env;
  const only = ctx.env.services;
  return serviceOrder(state.manifests).flatMap((name): Array<[string, StackManifest]> => {
    const manifest = state.manifests.get(name);
    if (manifest?.kind !== 'stack' || !state.customers.services[name]?.[ctx.id]) return [];
    if (only && !only.includes(name)) return [];
    return [[name, manifest]];
  });
}
