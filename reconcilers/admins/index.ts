/**
 * The admins reconciler: lists each `foreach: admin` hook's admins in the
 * host's batched observation (one `docker exec` per hook) and grants (or,
 * under `admins_policy: demote-others`, removes) the role one e-mail per
 * action, through the hook's own commands. E-mails are not secrets; no value
 * of the service's env is read.
 */
import { terminal } from '../../core/errors.js';
import type { ExecTarget } from '../../providers/host/commands/exec.js';
import { listHooksSection, readListHooks } from '../../providers/host/facts/list-hooks.js';
import { runInContainer } from '../../providers/host/run.js';
import type { HookExec } from '../../schemas/service-manifest.js';
import { hostReachable, hostSectionOutput } from '../host-read.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { declaredStacks, desiredService, deployedColor } from '../services.js';
import { hookCommand } from '../templates.js';
import { type AdminListing, type AdminPayload, type AdminsDesired, type AdminsObserved, adminHookKey, diffAdmins, healthAdmins, parseAdminListing } from './diff.js';

export const ADMINS_SECTION = 'admins';

function desiredAdmins(ctx: CustomerContext): AdminsDesired | null {
  const { admins, admins_policy: policy } = ctx.customer;
  // Nothing wanted: no admin named and nobody to demote.
  if (admins.length === 0 && policy === 'keep') return null;
  const hooks: AdminsDesired['hooks'] = [];
  for (const [service, manifest] of declaredStacks(ctx)) {
    for (const [hook, spec] of Object.entries(manifest.hooks)) {
      if (spec.foreach !== 'admin' || !spec.list) continue;
      const vars = { customer: ctx.id, service, publicDomain: ctx.customer.public_domain, ref: manifest.source.ref };
      const target = (exec: HookExec): ExecTarget => {
        const owner = exec.service ?? service;
        const ownerManifest = ctx.env.state.manifests.get(owner);
        const stack = desiredService(ctx, owner, ownerManifest?.kind === 'stack' ? ownerManifest : manifest);
        return { service: owner, project: stack.project, container: exec.container, blueGreen: stack.blueGreen, command: hookCommand(exec, vars) };
      };
      hooks.push({ service, hook, list: target(spec.list), grant: target(spec.exec), remove: spec.remove ? target(spec.remove) : null });
    }
  }
  if (hooks.length === 0) return null;
  return { customer: ctx.id, admins: [...new Set(admins)].sort(), policy, hooks };
}

function listHooks(desired: AdminsDesired) {
  return desired.hooks.map((h) => ({ key: adminHookKey(h), list: h.list }));
}

export function parseAdminsSection(output: string, desired: AdminsDesired): AdminsObserved {
  return readListHooks(output, listHooks(desired), (stdout): AdminListing => ({ state: 'listed', admins: parseAdminListing(stdout) }));
}

export const adminsReconciler: ResourceReconciler<AdminsDesired, AdminsObserved, AdminPayload> = {
  kind: 'admins',
  dependsOn: ['host', 'stack'],
  desired: desiredAdmins,
  hostSection(ctx) {
    const desired = desiredAdmins(ctx);
    return desired ? listHooksSection(ADMINS_SECTION, listHooks(desired), ctx.env.providers.hosts.toolPaths, (service) => deployedColor(ctx, service)) : null;
  },
  async observe(ctx, desired) {
    return parseAdminsSection(await hostSectionOutput(ctx, ADMINS_SECTION, 'admins'), desired);
  },
  diff: diffAdmins,
  health: healthAdmins,
  async act(ctx, desired, action) {
    hostReachable(ctx, 'admins');
    const hook = desired.hooks.find((h) => h.service === action.payload.service && h.hook === action.payload.hook);
    const target = action.op === 'demote' ? hook?.remove : hook?.grant;
    if (!hook || !target) throw terminal(`no ${action.payload.hook} hook to ${action.op} ${action.payload.email} in ${action.payload.service}`, { customer: ctx.id, resource: 'admins' });
    const command = target.command.map((arg) => arg.replaceAll('{admin.email}', action.payload.email));
    const connection = await ctx.env.providers.hosts.connection(ctx.target);
    await runInContainer(connection, target, command, {
      toolPaths: ctx.env.providers.hosts.toolPaths,
      active: deployedColor(ctx, target.service),
      timeoutMs: 60_000,
      what: `${action.op === 'demote' ? 'demoting' : 'granting admin to'} ${action.payload.email} in ${hook.service}`,
      customer: ctx.id,
      resource: 'admins',
      fix: `check that ${hook.service} runs (axe deploy ${hook.service} ${ctx.id}); setting a role is idempotent, run it again`,
    });
  },
  reads: [{ hostSection: ADMINS_SECTION }],
};
