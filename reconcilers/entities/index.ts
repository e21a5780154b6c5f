/**
 * The entities reconciler: lists each per-entity hook's registrations in the
 * host's batched observation (one `docker exec` per hook) and registers only
 * the missing entities, one action each.
 */
import { terminal } from '../../core/errors.js';
import { listHooksSection, readListHooks } from '../../providers/host/facts/list-hooks.js';
import { runInContainer } from '../../providers/host/run.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { declaredStacks, desiredService, deployedColor } from '../services.js';
import { hostReachable, hostSectionOutput } from '../host-read.js';
import { hookCommand } from '../templates.js';
import { diffEntities, type EntitiesDesired, type EntitiesObserved, type EntityPayload, entityValues, healthEntities, hookKey, type HookListing, parseListing } from './diff.js';

export const ENTITIES_SECTION = 'entities';

function desiredEntities(ctx: CustomerContext): EntitiesDesired | null {
  const entities = ctx.customer.entities.map((e) => entityValues(ctx.customer, e));
  const hooks: EntitiesDesired['hooks'] = [];
  for (const [service, manifest] of declaredStacks(ctx)) {
    const d = desiredService(ctx, service, manifest);
    for (const [hook, spec] of Object.entries(manifest.hooks)) {
      if (spec.foreach !== 'entity' || !spec.list) continue;
      const vars = { customer: ctx.id, service, publicDomain: ctx.customer.public_domain, ref: manifest.source.ref };
      const target = (exec: typeof spec.exec) => {
        const owner = exec.service ?? service;
        const ownerManifest = ctx.env.state.manifests.get(owner);
        const stack = ownerManifest?.kind === 'stack' ? desiredService(ctx, owner, ownerManifest) : d;
        return { service: owner, project: stack.project, container: exec.container, blueGreen: stack.blueGreen, command: hookCommand(exec, vars) };
      };
      hooks.push({
        service,
        hook,
        list: target(spec.list),
        register: target(spec.exec),
        commands: new Map(entities.map((e) => [e.id, hookCommand(spec.exec, vars, e)])),
      });
    }
  }
  if (hooks.length === 0) return null;
  return { customer: ctx.id, entities, hooks };
}

function listHooks(desired: EntitiesDesired) {
  return desired.hooks.map((h) => ({ key: hookKey(h), list: h.list }));
}

function parseSection(output: string, desired: EntitiesDesired): EntitiesObserved {
  return readListHooks(output, listHooks(desired), (stdout): HookListing => ({ state: 'listed', ids: parseListing(stdout) }));
}

export const entitiesReconciler: ResourceReconciler<EntitiesDesired, EntitiesObserved, EntityPayload> = {
  kind: 'entities',
  dependsOn: ['host', 'stack'],
  desired: desiredEntities,
  hostSection(ctx) {
    const desired = desiredEntities(ctx);
    return desired ? listHooksSection(ENTITIES_SECTION, listHooks(desired), ctx.env.providers.hosts.toolPaths, (service) => deployedColor(ctx, service)) : null;
  },
  async observe(ctx, desired) {
    return parseSection(await hostSectionOutput(ctx, ENTITIES_SECTION, 'entities'), desired);
  },
  diff: diffEntities,
  health: healthEntities,
  async act(ctx, desired, action) {
    hostReachable(ctx, 'entities');
    const hook = desired.hooks.find((h) => h.service === action.payload.service && h.hook === action.payload.hook);
    const command = hook?.commands.get(action.payload.entity);
    if (!hook || !command) throw terminal(`no ${action.payload.hook} hook for ${action.payload.entity}`, { customer: ctx.id, resource: 'entities' });
    const connection = await ctx.env.providers.hosts.connection(ctx.target);
    await runInContainer(connection, hook.register, command, {
      toolPaths: ctx.env.providers.hosts.toolPaths,
      active: deployedColor(ctx, hook.register.service),
      timeoutMs: 120_000,
      what: `registering ${action.payload.entity} in ${hook.service}`,
      left: 'the entities before it are registered, the rest are not',
      customer: ctx.id,
      resource: 'entities',
      fix: `check that ${hook.service} runs (axe deploy ${hook.service} ${ctx.id}); registering is idempotent, run it again`,
    });
  },
  /**
   * The listing after the actions (they are linked: each service's in order,
   * services side by side) is the one they were planned on plus each entity
   * whose register command exited 0 (the hook's contract: registered,
   * idempotently), so nothing is listed again; a hook not listed before (its
   * service was down) is.
   */
  told(_desired, planned, actions) {
    const after: EntitiesObserved = new Map(planned);
    for (const action of actions) {
      const listing = after.get(hookKey(action.payload));
      if (listing?.state !== 'listed') return null;
      after.set(hookKey(action.payload), { state: 'listed', ids: new Set([...listing.ids, action.payload.entity]) });
    }
    return after;
  },
  // Only this kind's section of the host's batch: a re-observation runs it alone.
  reads: [{ hostSection: ENTITIES_SECTION }],
};
