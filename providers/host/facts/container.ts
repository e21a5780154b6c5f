/**
 * One container by name: its state, health and labels, as JSON. An engine
 * fact (engine.ts): the engine's container list filtered to the name, asked
 * over the host's SSH connection (no process on the host); its shell form,
 * when the batch runs without the engine, asks the same API on the socket by
 * curl (a fraction of the docker CLI's start), else `docker inspect`.
 */
import { docker } from '../commands/docker.js';
import { line, shellQuote } from '../commands/quote.js';
import { dockerSocketLookup } from '../probe.js';
import { engineFact } from './engine.js';
import type { Fact } from './fact.js';

export type Health = 'healthy' | 'unhealthy' | 'starting' | null;

export interface ContainerFact {
  /** The engine's state: running, exited, created, … */
  state: string;
  health: Health;
  labels: Record<string, string>;
}

/** A container's health from the engine's `Status` text (`Up 3 minutes (healthy)`), as `docker ps` and the engine's list give it. */
export function healthOf(status: string): Health {
  if (/\(healthy\)/.test(status)) return 'healthy';
  if (/\(unhealthy\)/.test(status)) return 'unhealthy';
  if (/\(health: starting\)/.test(status)) return 'starting';
  return null;
}

/** The engine API's container list (all states) filtered to exactly this name. */
export function engineListUrl(name: string): string {
  return `http://localhost/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(nameFilter(name)))}`;
}

type Listed = { Names?: unknown; State?: unknown; Status?: unknown; Labels?: unknown };
type Inspected = { Name?: unknown; State?: { Status?: unknown; Health?: { Status?: unknown } }; Config?: { Labels?: unknown } };

const asLabels = (v: unknown): Record<string, string> => (typeof v === 'object' && v !== null ? (v as Record<string, string>) : {});
const asHealth = (v: unknown): Health => (v === 'healthy' || v === 'unhealthy' || v === 'starting' ? v : null);

/** The engine's list filter of exactly this name (the API's and dockerode's `filters`). */
export const nameFilter = (name: string) => ({ name: [`^/${name}$`] });

/** The container named `name` in the engine's list or in `docker inspect`'s answer (pure); null when absent. */
export function parseContainer(json: string, name: string): ContainerFact | null {
  try {
    return containerIn(JSON.parse(json), name);
  } catch {
    return null;
  }
}

/** The container named `name` in the engine's list or `docker inspect`'s answer, parsed (pure); null when absent. */
export function containerIn(doc: unknown, name: string): ContainerFact | null {
  if (!Array.isArray(doc)) return null;
  for (const entry of doc as Array<Listed & Inspected>) {
    if (typeof entry !== 'object' || entry === null) continue;
    if (Array.isArray(entry.Names) && entry.Names.includes(`/${name}`)) {
      return { state: String(entry.State ?? ''), health: healthOf(String(entry.Status ?? '')), labels: asLabels(entry.Labels) };
    }
    if (entry.Name === `/${name}` && entry.State) {
      return { state: String(entry.State.Status ?? ''), health: asHealth(entry.State.Health?.Status), labels: asLabels(entry.Config?.Labels) };
    }
  }
  return null;
}

/** The container `name` by its shell form: curl on the engine's socket, else `docker inspect` ("$D" must hold the docker CLI). */
function containerShellFact(factName: string, name: string): Fact<ContainerFact | null> {
  const command = [
    dockerSocketLookup('S'),
    `if [ -n "$S" ] && [ -x /usr/bin/curl ] && /usr/bin/curl -sf -m 10 --unix-socket "$S" ${shellQuote(engineListUrl(name))} 2>/dev/null; then :`,
    `else ${line(docker.inspectJson(name))} 2>/dev/null || true; fi`,
  ].join('\n');
  return { name: factName, command, parse: (output) => parseContainer(output, name) };
}

/** The container `name`: the engine's list filtered to it, else the shell form. */
export function containerFact(factName: string, name: string): Fact<ContainerFact | null> {
  return engineFact({
    call: (engine) => engine.get('/containers/json', { all: 1, filters: nameFilter(name) }),
    parse: (answer) => containerIn(answer, name),
    fallback: containerShellFact(factName, name),
  });
}
