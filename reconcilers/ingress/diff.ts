/**
 * The ingress reconciler's pure core: for each blue/green stack with an
 * ingress path (frame: cloudflared routes `/frame` to its proxy), the proxy
 * must route to the color axe made active — the one recorded on the host
 * (`.axe-active`) when the last swap passed its health gate.
 *
 * Rules:
 * - The record is axe's decision; the proxy's answer is what serves. When
 *   they differ and the recorded color is running and not unhealthy, the
 *   proxy is switched back (a proxy restarted with its default color, a
 *   switch by hand). Otherwise nothing is planned here: bringing a color
 *   back is the stack kind's work, and this kind reports Degraded meanwhile.
 * - No record yet (a stack deployed before axe recorded it, or not deployed):
 *   the proxy's answer is taken as it is, judged only by whether that color runs.
 * - Plain stacks' routes (a fixed compose service) are not this kind's: the
 *   endpoints kind checks them from the public side.
 */
import { type Action, type Health, worstOf } from '../types.js';
import type { Color } from '../../providers/host/commands/blue-green.js';

export interface IngressRouteDesired {
  /** The stack service (`frame`). */
  service: string;
  /** The public path cloudflared routes to the proxy (`/frame`). */
  path: string;
  project: string;
  /** Where the stack is checked out on the host (holds `.axe-active`). */
  checkout: string;
  /** The proxy's compose service. */
  proxy: string;
  /** Compose service of each color. */
  colors: Record<Color, string>;
  /** The proxy's switch command without the color (prints the active one). */
  showCommand: string[];
  /** The switch command with `{color}` left in. */
  switchTemplate: string[];
}

export interface IngressDesired {
  customer: string;
  routes: IngressRouteDesired[];
}

export interface ColorFact {
  running: boolean;
  /** Docker's health status; null when the container has no health check or is not running. */
  health: 'healthy' | 'unhealthy' | 'starting' | null;
}

export interface RouteObserved {
  /** The proxy container is running. */
  proxy: boolean;
  /** The color the proxy says it routes to (null: no proxy, or an answer that is no color). */
  routed: Color | null;
  /** The proxy's answer as it came (for messages; never a secret). */
  answer: string;
  /** axe's recorded active color on the host. */
  record: Color | null;
  colors: Record<Color, ColorFact>;
}

export interface IngressObserved {
  routes: Map<string, RouteObserved>;
}

export interface IngressPayload {
  service: string;
  to: Color;
}

/** A color that can take traffic: running, and not failing or still starting its health check. */
export function serves(fact: ColorFact): boolean {
  return fact.running && (fact.health === null || fact.health === 'healthy');
}

/** Maps the proxy's or the record's word to a color: `blue`, `green` or the color's compose service. */
export function toColor(word: string, colors: Record<Color, string>): Color | null {
  const w = word.trim();
  if (w === 'blue' || w === colors.blue) return 'blue';
  if (w === 'green' || w === colors.green) return 'green';
  return null;
}

export function diffIngress(desired: IngressDesired, observed: IngressObserved | null): Action<IngressPayload>[] {
  if (!observed) return [];
  return desired.routes.flatMap((d): Action<IngressPayload>[] => {
    const o = observed.routes.get(d.service);
    if (!o?.proxy || !o.record || o.routed === o.record || !serves(o.colors[o.record])) return [];
    return [
      {
        kind: 'ingress',
        op: 'switch',
        target: `ingress:${d.service}${d.path}`,
        summary: `${d.path}: ${d.proxy} routes to ${o.routed ? d.colors[o.routed] : `"${o.answer}"`}, axe's active color is ${d.colors[o.record]} (running): switch ${d.proxy} back to ${o.record}`,
        payload: { service: d.service, to: o.record },
      },
    ];
  });
}

function routeHealth(d: IngressRouteDesired, o: RouteObserved | undefined): Health {
  if (!o) return { status: 'Unknown', reason: 'NotObserved', message: `${d.path}: not observed` };
  if (!o.proxy) return { status: 'Missing', reason: 'ProxyNotRunning', message: `${d.path}: ${d.proxy} is not running (the stack kind starts it)` };
  if (!o.routed) return { status: 'Degraded', reason: 'UnknownRoute', message: `${d.path}: ${d.proxy} answered "${o.answer}", not a color`, };
  const routed = d.colors[o.routed];
  if (!serves(o.colors[o.routed])) {
    const state = o.colors[o.routed].running ? `health ${o.colors[o.routed].health}` : 'not running';
    return { status: 'Degraded', reason: 'RoutedToDownColor', message: `${d.path}: ${d.proxy} routes to ${routed}, which is ${state}` };
  }
  if (o.record && o.record !== o.routed) {
    return { status: 'Healthy', reason: 'RouteDrift', message: `${d.path}: ${d.proxy} routes to ${routed} (serving), axe's active color is ${d.colors[o.record]}` };
  }
  return { status: 'Healthy', reason: 'Routed', message: `${d.path} → ${d.proxy} → ${routed}` };
}

export function healthIngress(desired: IngressDesired, observed: IngressObserved | null): Health {
  if (!observed) return { status: 'Unknown', reason: 'NotObserved', message: 'the host was not observed' };
  const each = desired.routes.map((d) => routeHealth(d, observed.routes.get(d.service)));
  const worst = worstOf(each);
  return { ...worst, message: each.map((h) => h.message).join('; ') };
}
