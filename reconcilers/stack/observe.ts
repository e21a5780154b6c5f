/**
 * The stack kind's observation: which host facts it reads, per stack service
 * side by side (one FactGroup each, in the host's one batched round trip),
 * and what they mean as StackHostFacts. The commands and their parsers are
 * providers/host's (facts/stack.ts, compose-hash.ts, stack-values.ts,
 * docker.ts); this file only names them and reads their typed values.
 *
 * Right after a stack's successful deploy step, its observation leaves out
 * what that step's own output told (ToldFacts); plans always observe all.
 */
import type { ComposeHashMemo } from '../../providers/host/access.js';
import { composeHashesFact } from '../../providers/host/facts/compose-hash.js';
import { networksFact, volumesFact } from '../../providers/host/facts/docker.js';
import { type Fact, type FactGroup, factsSection, readFacts, when } from '../../providers/host/facts/fact.js';
import { toolFoundFact } from '../../providers/host/facts/host.js';
import { toolPresent } from '../../providers/host/commands/tools.js';
import {
  activeColorFact,
  checkoutFact,
  envFileFact,
  failureRecordFact,
  overrideFact,
  stackContainerNetworksFact,
  stackContainersFact,
  type StackOnHost,
  stackPrelude,
  stackSectionPrelude,
} from '../../providers/host/facts/stack.js';
import { type BwSession, bwSessionFact, hookValueFact, pulledValueFact, stackInsideFact, type ValueSums } from '../../providers/host/facts/stack-values.js';
import type { HostSection } from '../../providers/host/sections.js';
import type { FailureRecord, StackDesired, StackHostFacts, StackServiceDesired } from './diff.js';
import type { Color } from '../../providers/host/commands/blue-green.js';

export const STACK_SECTION = 'stack';

/**
 * What a stack's last action in this pass established by its own successful
 * output (compose up --wait exit 0, the proxy switch, the health gate, the
 * hook value just written), so the observation right after it need not ask
 * again: no config-hash run (compose just labelled the containers from these
 * files), no hook-value or inside check, and the active color as switched.
 */
export interface ToldFacts {
  active: Color | null;
}

export interface ParsedStackObservation {
  docker: boolean;
  networks: Set<string>;
  volumes: Set<string>;
  services: Map<string, StackHostFacts>;
  /** Per service whose hashes came back with their inputs' key: what the next observation may reuse. */
  hashMemos: Map<string, ComposeHashMemo>;
}

const hostFacts = () => ({
  docker: toolFoundFact('docker', 'docker'),
  networks: when(toolPresent('docker'), networksFact('networks')),
  volumes: when(toolPresent('docker'), volumesFact('volumes')),
});

function onHost(d: StackServiceDesired): StackOnHost {
  const ownEnvFiles = (d.serviceEnvs ?? []).map((e) => e.file);
  return { checkout: d.checkout, ref: d.ref, envFile: d.envFile, ownEnvFiles, project: d.project, composeFiles: d.composeFiles, blueGreen: d.blueGreen };
}

/** The facts of stack service `d` (named `<service>.<fact>`): what every observation reads, and what one told by an action skips. */
function serviceFacts(d: StackServiceDesired, toolPaths: readonly string[], memo?: ComposeHashMemo) {
  const n = (key: string) => `${d.service}.${key}`;
  const bw: Record<string, Fact<BwSession | null>> = d.pull ? { bw: bwSessionFact(n('bw'), d.pull.sessionFile, toolPaths) } : {};
  const inside: Record<string, Fact<'ok' | 'fail' | null>> = d.inside ? { inside: stackInsideFact(n('inside'), d.project, d.inside.container, d.blueGreen, d.inside.port, d.inside.path) } : {};
  const values: Record<string, Fact<ValueSums | null>> = {};
  for (const secret of d.pull?.secrets ?? []) values[secret.name] = pulledValueFact(n(`pulled.${secret.name}`), secret.name, secret.item, d.pull!.sessionFile, toolPaths);
  for (const hook of d.beforeHooks) values[hook.outputEnv] = hookValueFact(n(`hook.${hook.outputEnv}`), hook.outputEnv, hook.exec);
  return {
    always: {
      checkout: checkoutFact(n('checkout'), d.ref),
      env: envFileFact(n('env'), onHost(d).ownEnvFiles, d.hookVars),
      override: overrideFact(n('override')),
      containers: stackContainersFact(n('containers')),
      networks: stackContainerNetworksFact(n('networks')),
      active: activeColorFact(n('active')),
      failure: failureRecordFact(n('failure')),
    },
    bw,
    /** Left out right after an action told them. */
    untold: {
      hashes: {
        hashes: composeHashesFact(n('hashes'), { project: d.project, composeFiles: d.composeFiles, envFile: d.envFile, ownEnvFiles: onHost(d).ownEnvFiles, blueGreen: d.blueGreen !== null, memo }),
      },
      inside,
      values,
    },
  };
}

/**
 * The read-only observation of every stack service of one customer (one
 * section), or of the services named in `only` (the networks and volumes of all).
 */
export function observeSection(desired: StackDesired, toolPaths: readonly string[], only?: readonly string[], told?: ReadonlyMap<string, ToldFacts>, memos?: ReadonlyMap<string, ComposeHashMemo>): HostSection {
  const { docker, networks, volumes } = hostFacts();
  const anyVolume = desired.services.some((d) => d.volumes.length > 0);
  const groups: FactGroup[] = [];
  for (const d of desired.services) {
    if (only && !only.includes(d.service)) continue;
    const f = serviceFacts(d, toolPaths, memos?.get(d.service));
    const t = told?.get(d.service);
    const untold = t ? {} : { ...f.untold.hashes, ...f.untold.inside, ...f.untold.values };
    groups.push({ prelude: stackPrelude(onHost(d), t?.active), facts: { ...f.always, ...f.bw, ...untold } });
  }
  return factsSection(STACK_SECTION, { docker, networks, ...(anyVolume ? { volumes } : {}) }, stackSectionPrelude(toolPaths), groups);
}

/** Whether the observation came back from the host (its first fact's frame is there). */
export function observationCameBack(output: string): boolean {
  return readFacts(output, { docker: hostFacts().docker }).docker !== null;
}

function first<T>(values: Record<string, T>): T | undefined {
  return Object.values(values)[0];
}

/** The observation's facts as the diff reads them (pure). Services not in `names` are left out. */
export function parseObservation(output: string, desired: StackDesired, names: readonly string[] = desired.services.map((d) => d.service)): ParsedStackObservation {
  const host = readFacts(output, hostFacts());
  const wanted = new Set(desired.services.flatMap((d) => d.volumes));
  const services = new Map<string, StackHostFacts>();
  const hashMemos = new Map<string, ComposeHashMemo>();
  for (const d of desired.services) {
    if (!names.includes(d.service)) continue;
    const f = serviceFacts(d, []);
    const got = readFacts(output, f.always);
    const hashes = readFacts(output, f.untold.hashes).hashes;
    if (hashes?.key && hashes.lines.length) hashMemos.set(d.service, { key: hashes.key, lines: hashes.lines });
    const byService = new Map(hashes?.hashes ?? []);
    if (hashes?.color) byService.set(hashes.color[0], hashes.color[1]);
    const hookValues = new Map<string, { file: string; now: string }>();
    for (const [env, sums] of Object.entries(readFacts(output, f.untold.values))) if (sums) hookValues.set(env, sums);
    services.set(d.service, {
      checkout: got.checkout,
      env: got.env,
      override: got.override,
      services: hashes?.hashes.length ? hashes.hashes.map(([svc]) => svc) : null,
      hashes: byService,
      containers: got.containers.map((c) => ({ ...c, orphaned: (got.networks.get(c.id) ?? []).some((n) => !host.networks.ids.has(n)) })),
      active: got.active,
      failure: got.failure as FailureRecord | null,
      inside: first(readFacts(output, f.untold.inside)) ?? null,
      hookValues,
      bwSession: first(readFacts(output, f.bw)) ?? null,
    });
  }
  return { docker: host.docker === true, networks: host.networks.names, volumes: new Set([...host.volumes].filter((v) => wanted.has(v))), services, hashMemos };
}
