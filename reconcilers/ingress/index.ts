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
import { terminal, transient } from '../../core/errors.js';
import { shellQuote } from '../../providers/host/ssh.js';
import { hostReachable, hostSectionOutput } from '../host/index.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { SCAN_KEYS } from '../scan.js';
import type { Color } from '../stack/diff.js';
import { execScript, tools } from '../stack/host.js';
import { declaredStacks, desiredService, lastLine } from '../stack/index.js';
import { ACTIVE_RECORD, switchCommand } from '../../providers/host/commands/blue-green.js';
import { projectListing } from '../../providers/host/commands/project.js';
import { hostPath } from '../../providers/host/commands/quote.js';
import { keyValues } from '../../providers/host/facts/key-values.js';
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

/** Read-only: per route `<i>.proxy=1`, `<i>.answer=…`, `<i>.record=…`, `<i>.blue=running <health>` (i = the route's index). */
export function observeScript(desired: IngressDesired, toolPaths: readonly string[]): string {
  const lines = [tools(toolPaths), 'if [ -z "$D" ]; then exit 0; fi'];
  desired.routes.forEach((d, i) => {
    const p = shellQuote(d.project);
    lines.push(
      projectListing(d.project),
      `pc=$(cid ${p} ${shellQuote(d.proxy)})`,
      `if [ -n "$pc" ]; then echo "${i}.proxy=1"; echo "${i}.answer=$("$D" exec "$pc" ${d.showCommand.map(shellQuote).join(' ')} 2>/dev/null | tail -n 1)"; fi`,
      `if [ -f ${hostPath(d.checkout)}/${ACTIVE_RECORD} ]; then echo "${i}.record=$(head -n 1 ${hostPath(d.checkout)}/${ACTIVE_RECORD})"; fi`,
    );
    for (const color of ['blue', 'green'] as const) {
      lines.push(`c=$(cid ${p} ${shellQuote(d.colors[color])}); if [ -n "$c" ]; then echo "${i}.${color}=running $("$D" inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$c" 2>/dev/null)"; fi`);
    }
  });
  return lines.join('\n');
}

function colorFact(value: string | undefined): ColorFact {
  if (!value) return { running: false, health: null };
  const health = value.split(' ')[1] ?? '';
  return { running: true, health: health === 'healthy' || health === 'unhealthy' || health === 'starting' ? health : null };
}

/** Parses the section (pure). */
export function parseObservation(output: string, desired: IngressDesired): IngressObserved {
  const values = keyValues(output);
  const routes = new Map<string, RouteObserved>();
  desired.routes.forEach((d, i) => {
    const answer = values.get(`${i}.answer`) ?? '';
    const record = values.get(`${i}.record`);
    routes.set(d.service, {
      proxy: values.get(`${i}.proxy`) === '1',
      routed: toColor(answer, d.colors),
      answer: answer.slice(0, 80),
      record: record === undefined ? null : toColor(record, d.colors),
      colors: { blue: colorFact(values.get(`${i}.blue`)), green: colorFact(values.get(`${i}.green`)) },
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
    return desired ? { name: INGRESS_SECTION, script: observeScript(desired, ctx.env.providers.hosts.toolPaths) } : null;
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
    const result = await connection.exec(`/bin/sh -c ${shellQuote(script)}`, { timeoutMs: 60_000 });
    if (result.code !== 0) {
      throw transient(`ingress ${d.path}: switching ${d.proxy} to ${to} failed: ${lastLine(result.stderr) || `exit ${result.code}`}; left: the proxy's route unchanged`, {
        customer: ctx.id,
        resource: 'ingress',
        fix: `see axe plan ${ctx.id}: ${d.colors[to]} must be running and healthy; then axe apply ${ctx.id} --only ingress --apply`,
      });
    }
  },
  cacheKeys(ctx) {
    return [SCAN_KEYS.hostSection(ctx.target, INGRESS_SECTION)];
  },
};
