/**
 * Docker facts read with the CLI in the host's batch ("$D", found by the
 * section's prelude), as JSON where the CLI offers it. A container's
 * environment never leaves the host whole: only the keys asked for, or the
 * sha256 of each value. The listings (networks, volumes, containers) are
 * engine facts (engine.ts): one Engine API call when the batch runs with the
 * engine, the CLI listing as their fallback, one parser each giving the same
 * value.
 */
import { docker } from '../commands/docker.js';
import { line, shellQuote, type Word } from '../commands/quote.js';
import { healthOf, type Health } from './container.js';
import { engineFact, entries, labelsOf } from './engine.js';
import type { Fact } from './fact.js';

/** The objects of a `--format '{{json .}}'` listing, one per line; other lines are skipped (pure). */
export function jsonLines<T>(output: string): T[] {
  return output.split('\n').flatMap((row) => {
    try {
      return row.trim() ? [JSON.parse(row) as T] : [];
    } catch {
      return [];
    }
  });
}

const idsAndNames = (rows: Array<{ ID?: unknown; Name?: unknown }>) => ({
  ids: new Set(rows.flatMap((n) => (typeof n.ID === 'string' && n.ID ? [n.ID] : []))),
  names: new Set(rows.flatMap((n) => (typeof n.Name === 'string' && n.Name ? [n.Name] : []))),
});

/** The networks on the host: id and name (the engine's network list; the CLI's `network ls --format '{{json .}}'`). */
export function networksFact(name: string): Fact<{ ids: Set<string>; names: Set<string> }> {
  return engineFact({
    call: (engine) => engine.get('/networks'),
    parse: (answer) => idsAndNames(entries<{ Id: unknown; Name: unknown }>(answer).map((n) => ({ ID: n.Id, Name: n.Name }))),
    fallback: { name, command: `"$D" network ls --no-trunc --format '{{json .}}' 2>/dev/null`, parse: (output) => idsAndNames(jsonLines<{ ID?: string; Name?: string }>(output)) },
  });
}

const volumeNames = (rows: Array<{ Name?: unknown }>) => new Set(rows.flatMap((v) => (typeof v.Name === 'string' && v.Name ? [v.Name] : [])));

/** The names of the volumes on the host (the engine's volume list; the CLI's `volume ls --format '{{json .}}'`). */
export function volumesFact(name: string): Fact<Set<string>> {
  return engineFact({
    call: (engine) => engine.get('/volumes'),
    parse: (answer) => volumeNames(entries<{ Name: unknown }>((answer as { Volumes?: unknown } | null)?.Volumes)),
    fallback: { name, command: `"$D" volume ls --format '{{json .}}' 2>/dev/null`, parse: (output) => volumeNames(jsonLines<{ Name?: string }>(output)) },
  });
}

export interface ContainerSummary {
  id: string;
  state: string;
  health: string | null;
  project: string;
  /** The ids of the networks it is attached to. */
  networkIds: string[];
}

/** A Go template printing the summary as one JSON object (no environment in it). */
const SUMMARY =
  '{"id":{{json .Id}},"state":{{json .State.Status}},"health":{{if .State.Health}}{{json .State.Health.Status}}{{else}}null{{end}},' +
  '"project":{{json (index .Config.Labels "com.docker.compose.project")}},"networks":{{json .NetworkSettings.Networks}}}';

/** State, health, compose project and networks of the container `container` (a Word: usually "$id"). */
export function containerSummaryFact(name: string, container: Word): Fact<ContainerSummary | null> {
  return {
    name,
    command: `${line(docker.inspect(container, SUMMARY))} 2>/dev/null`,
    parse: (output) => {
      try {
        const s = JSON.parse(output) as { id: string; state: string; health: string | null; project: string; networks: Record<string, { NetworkID?: string }> | null };
        const networkIds = Object.values(s.networks ?? {}).flatMap((n) => (n.NetworkID ? [n.NetworkID] : []));
        return { id: s.id, state: s.state, health: s.health || null, project: s.project ?? '', networkIds };
      } catch {
        return null;
      }
    },
  };
}

const ENV_LINES = '{{range .Config.Env}}{{println .}}{{end}}';

/** The container's environment values of the keys matching `keys` (never a secret key: the caller names them). */
export function containerEnvFact(name: string, container: Word, keys: readonly string[]): Fact<Map<string, string>> {
  return {
    name,
    command: `${line(docker.inspect(container, ENV_LINES))} 2>/dev/null | grep -E ${shellQuote(`^(${keys.join('|')})=`)}`,
    parse: (output) => {
      const env = new Map<string, string>();
      for (const row of output.split('\n')) {
        const eq = row.indexOf('=');
        if (eq > 0) env.set(row.slice(0, eq), row.slice(eq + 1));
      }
      return env;
    },
  };
}

/** The sha256 of each named env value of the container (null when empty or absent); the values stay on the host. */
export function containerEnvSumsFact(name: string, container: Word, keys: readonly string[]): Fact<Map<string, string | null>> {
  const command = [
    `E=$(${line(docker.inspect(container, ENV_LINES))} 2>/dev/null)`,
    ...keys.map((k) => `v=$(printf '%s\\n' "$E" | sed -n ${shellQuote(`s/^${k}=//p`)} | head -n 1); if [ -n "$v" ]; then echo "${k} $(printf '%s' "$v" | axe_sum)"; else echo "${k} -"; fi`),
    'E=""; v=""',
  ].join('\n');
  return {
    name,
    command,
    parse: (output) => {
      const sums = new Map<string, string | null>();
      for (const row of output.split('\n')) {
        const [key = '', hash = '-'] = row.split(' ');
        if (key) sums.set(key, hash === '-' ? null : hash);
      }
      return sums;
    },
  };
}

/** Whether a URL answers 2xx from inside a running container (its own wget, else curl); null when it is not running. */
export function insideHttpFact(name: string, container: Word, url: string): Fact<'ok' | 'fail' | null> {
  const get = (tool: string[]) => `${line(docker.exec(container, [...tool, url]))} >/dev/null 2>&1`;
  return {
    name,
    command: [
      `if [ "$(${line(docker.inspect(container, '{{.State.Status}}'))})" = running ]; then`,
      `  if ${get(['wget', '-q', '-O', '/dev/null'])} || ${get(['curl', '-fsS', '-o', '/dev/null'])}; then echo ok; else echo fail; fi`,
      'fi',
    ].join('\n'),
    parse: (output) => (output.trim() === 'ok' ? 'ok' : output.trim() === 'fail' ? 'fail' : null),
  };
}

export interface ListedContainer {
  id: string;
  names: string[];
  labels: Record<string, string>;
  /** The names of the networks it is attached to. */
  networks: string[];
  state: string;
  health: Health;
}

/** `k=v,k=v` (the CLI's Labels and Networks columns) into a map; a value holding a comma stays whole when its next part has no `=`. */
export function labelMap(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last = '';
  for (const part of text ? text.split(',') : []) {
    const eq = part.indexOf('=');
    if (eq > 0) out[(last = part.slice(0, eq))] = part.slice(eq + 1);
    else if (last) out[last] += `,${part}`;
  }
  return out;
}

type EngineContainer = { Id: unknown; Names: unknown; Labels: unknown; State: unknown; Status: unknown; NetworkSettings: { Networks?: unknown } | null };

/** A container of the engine's list as the CLI's `ps --no-trunc` row gives it: names without the `/`, networks by name, sorted (pure). */
export function listedFromEngine(c: Partial<EngineContainer>): ListedContainer {
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const networks = c.NetworkSettings?.Networks;
  return {
    id: text(c.Id),
    names: Array.isArray(c.Names) ? c.Names.filter((n): n is string => typeof n === 'string').map((n) => n.replace(/^\//, '')) : [],
    labels: labelsOf(c.Labels),
    networks: typeof networks === 'object' && networks !== null ? Object.keys(networks).sort() : [],
    state: text(c.State),
    health: healthOf(text(c.Status)),
  };
}

/** The containers (all states) with all these labels, or every container (the engine's list; the CLI's `docker ps -a --format '{{json .}}'`). */
export function containersFact(name: string, labels: readonly string[] = []): Fact<ListedContainer[]> {
  return engineFact({
    call: (engine) => engine.get('/containers/json', { all: 1, ...(labels.length ? { filters: { label: [...labels] } } : {}) }),
    parse: (answer) => entries<EngineContainer>(answer).map(listedFromEngine),
    fallback: {
      name,
      command: `${line(docker.psJson(labels))} 2>/dev/null`,
      parse: (output) => {
        const split = (v: string | undefined) => (v ? v.split(',').filter(Boolean) : []);
        return jsonLines<{ ID?: string; Names?: string; Labels?: string; Networks?: string; State?: string; Status?: string }>(output).map((c) => ({
          id: c.ID ?? '',
          names: split(c.Names),
          labels: labelMap(c.Labels ?? ''),
          networks: split(c.Networks),
          state: c.State ?? '',
          health: healthOf(c.Status ?? ''),
        }));
      },
    },
  });
}

export const COMPOSE_PROJECT = 'com.docker.compose.project';
export const COMPOSE_SERVICE = 'com.docker.compose.service';

/** A compose project's containers, all states. */
export function projectContainersFact(name: string, project: string): Fact<ListedContainer[]> {
  return containersFact(name, [`${COMPOSE_PROJECT}=${project}`]);
}

/** The networks with all these labels: name and labels (the engine's network list; the CLI's `network ls --format '{{json .}}'`). */
export function labelledNetworksFact(name: string, labels: readonly string[]): Fact<Array<{ name: string; labels: Record<string, string> }>> {
  return engineFact({
    call: (engine) => engine.get('/networks', { filters: { label: [...labels] } }),
    parse: (answer) => entries<{ Name: unknown; Labels: unknown }>(answer).flatMap((n) => (typeof n.Name === 'string' && n.Name ? [{ name: n.Name, labels: labelsOf(n.Labels) }] : [])),
    fallback: {
      name,
      command: `${line(docker.networksJson(labels))} 2>/dev/null`,
      parse: (output) => jsonLines<{ Name?: string; Labels?: string }>(output).flatMap((n) => (n.Name ? [{ name: n.Name, labels: labelMap(n.Labels ?? '') }] : [])),
    },
  });
}
