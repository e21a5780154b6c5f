/**
 * The ingress reconciler: cloudflared routes a blue/green stack's path
 * (`/frame`) to its proxy, and the proxy must route to the color axe made
 * active. Observation is one section of the host's batched round trip (the
 * proxy's answer, the record, each color's state); acting is the proxy's
 * switch command. The pure rules are in diff.ts.
 *
 * Rules:
 * - Runs after the stack kind. When the stack kind acted in this pass (a
 *   swap moves both the proxy and the record), the engine observes this kind
 *   afresh instead of from the pass's batched view.
 * - The switch goes through the proxy's own command, which refuses a color
 *   that is not ready: this kind never forces a route to a down color.
 */
import { terminal } from '../../core/errors.js';
import { path } from '../../providers/host/commands/quote.js';
import { hasTool } from '../../providers/host/commands/tools.js';
import { runScript } from '../../providers/host/executor.js';
import { COMPOSE_SERVICE, type ListedContainer, projectContainersFact } from '../../providers/host/facts/docker.js';
import { proxyAnswerFact } from '../../providers/host/facts/blue-green.js';
import { type Fact, factsSection, readFacts, when } from '../../providers/host/facts/fact.js';
import { textFileFact } from '../../providers/host/facts/launchd.js';
import type { HostSection } from '../../providers/host/sections.js';
import { hostReachable, hostSectionOutput } from '../host-read.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { declaredStacks, desiredService } from '../services.js';
import { ACTIVE_RECORD, type Color, switchCommand } from '../../providers/host/commands/blue-green.js';
import { execScript } from '../../providers/host/commands/exec.js';
import { dockerPrelude } from '../../providers/host/commands/project.js';
import { type ColorFact, diffIngress, healthIngress, type IngressDesired, type IngressObserved, type IngressPayload, type IngressRouteDesired, type RouteObserved, toColor } from './diff.js';

export const INGRESS_SECTION = 'ingress';

function desiredIngress(ctx: CustomerContext): IngressDesired | null {
  const routes = declaredStacks(ctx).flatMap(([name, manifest]): IngressRouteDesired[] => {
    if (!manifest.ingress || !manifest.blue_green) return [];
    const bg = desiredService(ctx, name, manifest).blueGreen!;
    return [
      {
        service: name,
        path: manifest.ingress.path,
        project: bg.project,
        checkout: bg.checkout,
        proxy: bg.proxy,
        colors: { blue: bg.blue, green: bg.green },
        showCommand: bg.showCommand,
        switchTemplate: bg.switchTemplate,
      },
    ];
  });
  return routes.length ? { customer: ctx.id, routes } : null;
}

/** What is read of each route (i = its index): the project's containers, the proxy's answer, the record. */
function facts(desired: IngressDesired) {
  const docker = hasTool('docker');
  return Object.fromEntries(
    desired.routes.flatMap((d, i) => [
      [`${i}.containers`, when(docker, projectContainersFact(`${i}.containers`, d.project))],
      [`${i}.answer`, when(docker, proxyAnswerFact(`${i}.answer`, d.project, d.proxy, d.showCommand))],
      [`${i}.record`, when(docker, textFileFact(`${i}.record`, path(`${d.checkout}/${ACTIVE_RECORD}`)))],
    ]),
  ) as Record<string, Fact<unknown>>;
}

/** The read-only section of the routes in the host's batch (docker and `cid` first). */
export function observeSection(desired: IngressDesired, toolPaths: readonly string[]): HostSection {
  return factsSection(INGRESS_SECTION, facts(desired), dockerPrelude(toolPaths));
}

function colorFact(containers: readonly ListedContainer[], service: string): ColorFact {
  const c = containers.find((x) => x.labels[COMPOSE_SERVICE] === service && x.state === 'running');
  return c ? { running: true, health: c.health } : { running: false, health: null };
}

/** The observation from the section's output (pure). */
export function parseObservation(output: string, desired: IngressDesired): IngressObserved {
  const values = readFacts(output, facts(desired));
  const routes = new Map<string, RouteObserved>();
  desired.routes.forEach((d, i) => {
    const containers = (values[`${i}.containers`] as ListedContainer[] | undefined) ?? [];
    const answer = (values[`${i}.answer`] as string | undefined) ?? '';
    const record = values[`${i}.record`] as string | null;
    routes.set(d.service, {
      proxy: containers.some((c) => c.labels[COMPOSE_SERVICE] === d.proxy && c.state === 'running'),
      routed: toColor(answer, d.colors),
      answer: answer.slice(0, 80),
      record: record === null ? null : toColor(record, d.colors),
      colors: { blue: colorFact(containers, d.colors.blue), green: colorFact(containers, d.colors.green) },
    });
  });
  return { routes };
}

export const ingressReconciler: ResourceReconciler<IngressDesired, IngressObserved, IngressPayload> = {
  kind: 'ingress',
  dependsOn: ['host', 'cloudflared', 'stack'],
  desired: desiredIngress,
  hostSection(ctx) {
    const desired = desiredIngress(ctx);
    return desired ? observeSection(desired, ctx.env.providers.hosts.toolPaths) : null;
  },
  async observe(ctx, desired) {
    return parseObservation(await hostSectionOutput(ctx, INGRESS_SECTION, 'ingress'), desired);
  },
  diff: diffIngress,
  health: healthIngress,
  async act(ctx, desired, action) {
    hostReachable(ctx, 'ingress');
    const d = desired.routes.find((r) => r.service === action.payload.service);
    if (!d) throw terminal(`no ingress route for ${action.payload.service} of ${ctx.id}`, { customer: ctx.id, resource: 'ingress' });
    if (action.op !== 'switch') throw terminal(`unknown ingress action ${action.op}`, { customer: ctx.id, resource: 'ingress' });
    const to: Color = action.payload.to;
    const script = execScript({ project: d.project, container: d.proxy, blueGreen: null }, switchCommand(d.switchTemplate, to), ctx.env.providers.hosts.toolPaths);
    const connection = await ctx.env.providers.hosts.connection(ctx.target);
    await runScript(connection, script, {
      what: `ingress ${d.path}: switching ${d.proxy} to ${to}`,
      left: "the proxy's route unchanged",
      customer: ctx.id,
      resource: 'ingress',
      timeoutMs: 60_000,
      fix: `see axe plan ${ctx.id}: ${d.colors[to]} must be running and healthy; then axe apply ${ctx.id} --only ingress --apply`,
    });
  },
  reads: [{ hostSection: INGRESS_SECTION }],
};
