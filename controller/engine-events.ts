/**
 * Drift in seconds: one Docker Engine event stream per reachable customer
 * host (dockerode over the host's SSH connection, providers/host/docker-engine.ts),
 * and the customer requeued the moment something axe manages dies, stops, is
 * killed, runs out of memory, turns unhealthy or is removed, or a network or
 * volume its stacks need is removed. Drift scans remain the safety net: a
 * host whose stream is down is simply left to them.
 *
 * Rules:
 * - One stream per host (`user@address:port`), whatever the number of
 *   customers on it; streams of hosts no longer wanted are closed.
 * - A container event counts only with axe's customer label
 *   (`ai.axelabs.axe.customer`); a network or volume event only for a name a
 *   customer's stacks declare.
 * - A host's engine socket is a host fact from the probe (its memo); until a
 *   probe has found it the host has no stream, and `sync` tries again later.
 * - A stream that fails or ends is reopened after a backoff (doubling, up to
 *   `maxMs`); `sync` never waits for a connection.
 * - A customer's first event requeues it at once; the events that follow within
 *   `debounceMs` requeue it once more when that window ends (`Burst`). A burst's
 *   first event is often `kill`, before the container has died: the read it
 *   starts can see it still running, so the burst's end must be read too.
 */
import type { Readable } from 'node:stream';
import { engineOverSsh } from '../providers/host/docker-engine.js';
import type { HostAccess } from '../providers/host/access.js';
import type { Providers } from '../providers/index.js';
import { SCAN_KEYS } from '../reconcilers/scan.js';
import { expandName } from '../schemas/common.js';
import type { DesiredState } from '../schemas/repo.js';
import type { SshTarget } from '../providers/host/ssh.js';
import type { Logger } from './logger.js';

/** What the watcher needs of one customer. */
export interface EventSource {
  customer: string;
  target: SshTarget;
  /** Docker networks and volumes the customer's stacks declare (rendered names). */
  networks: readonly string[];
  volumes: readonly string[];
}

export interface EngineEventsOptions {
  hosts: HostAccess;
  log: Logger;
  /** Called once per debounced burst, with the first event's one-line description. */
  onEvent(customer: string, what: string): void;
  backoff?: { baseMs: number; maxMs: number };
  debounceMs?: number;
}

/**
 * Per key: the first hit fires at once; hits within `ms` after a fire make one
 * more fire when that window ends, with the latest hit's description, so the
 * state after a burst is always read.
 */
export class Burst {
  readonly #last = new Map<string, number>();
  readonly #trailing = new Map<string, { timer: NodeJS.Timeout; what: string }>();

  constructor(
    readonly ms: number,
    readonly fire: (key: string, what: string) => void,
  ) {}

  hit(key: string, what: string, now = Date.now()): void {
    const last = this.#last.get(key);
    if (last === undefined || now - last >= this.ms) {
      this.#last.set(key, now);
      this.fire(key, what);
      return;
    }
    const pending = this.#trailing.get(key);
    if (pending) {
      pending.what = what;
      return;
    }
    const entry = {
      what,
      timer: setTimeout(() => {
        this.#trailing.delete(key);
        this.#last.set(key, Date.now());
        this.fire(key, entry.what);
      }, last + this.ms - now),
    };
    entry.timer.unref?.();
    this.#trailing.set(key, entry);
  }

  stop(): void {
    for (const { timer } of this.#trailing.values()) clearTimeout(timer);
    this.#trailing.clear();
  }
}

/** The container events that mean a managed container is no longer as axe left it. */
export const CONTAINER_EVENTS = ['die', 'stop', 'kill', 'oom', 'health_status', 'destroy'] as const;
export const CUSTOMER_LABEL = 'ai.axelabs.axe.customer';

/** One event of the Engine API's /events stream (the fields read here). */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** The customer an event concerns and what happened, or null when it is not axe's business (pure). */
export function eventCustomer(event: EngineEvent, sources: readonly EventSource[]): { customer: string; what: string } | null {
  const attrs = event.Actor?.Attributes ?? {};
  const action = event.Action ?? '';
  if (event.Type === 'container') {
    const customer = attrs[CUSTOMER_LABEL];
    if (!customer || !sources.some((s) => s.customer === customer)) return null;
    const verb = action.startsWith('health_status') ? action : action.split(':')[0]!;
    if (!(CONTAINER_EVENTS as readonly string[]).includes(verb.split(':')[0]!)) return null;
    if (verb.startsWith('health_status') && !/unhealthy/.test(verb)) return null;
    return { customer, what: `container ${attrs.name ?? event.Actor?.ID?.slice(0, 12) ?? '?'} ${verb.replace(/\s+/g, ' ')}` };
  }
  if ((event.Type === 'network' || event.Type === 'volume') && (action === 'destroy' || action === 'remove')) {
    const name = event.Type === 'network' ? (attrs.name ?? '') : (event.Actor?.ID ?? '');
    const owner = sources.find((s) => (event.Type === 'network' ? s.networks : s.volumes).includes(name));
    return owner ? { customer: owner.customer, what: `${event.Type} ${name} removed` } : null;
  }
  return null;
}

interface Watch {
  target: SshTarget;
  customers: EventSource[];
  stream: Readable | null;
  timer: NodeJS.Timeout | null;
  failures: number;
  state: 'connecting' | 'connected' | 'backoff' | 'no-socket';
  since: number;
}

function hostKey(target: SshTarget): string {
  return `${target.user}@${target.address}:${target.port}`;
}

export class EngineEvents {
  readonly #options: EngineEventsOptions;
  readonly #watches = new Map<string, Watch>();
  readonly #bursts: Burst;
  #stopped = false;

  constructor(options: EngineEventsOptions) {
    this.#options = options;
    this.#bursts = new Burst(options.debounceMs ?? 1_000, (customer, what) => options.onEvent(customer, what));
  }

  /** Makes the streams match `sources`: opens the missing ones, closes the unwanted ones. */
  sync(sources: readonly EventSource[]): void {
    if (this.#stopped) return;
    const wanted = new Map<string, EventSource[]>();
    for (const s of sources) wanted.set(hostKey(s.target), [...(wanted.get(hostKey(s.target)) ?? []), s]);
    for (const [key, watch] of this.#watches) {
      if (!wanted.has(key)) {
        this.#close(watch);
        this.#watches.delete(key);
      }
    }
    for (const [key, customers] of wanted) {
      const watch = this.#watches.get(key);
      if (watch) {
        watch.customers = customers;
        if (watch.state === 'no-socket') this.#open(watch);
        continue;
      }
      const fresh: Watch = { target: customers[0]!.target, customers, stream: null, timer: null, failures: 0, state: 'connecting', since: Date.now() };
      this.#watches.set(key, fresh);
      this.#open(fresh);
    }
  }

  /** Per host: the stream's state and since when (for /status and tests). */
  states(): Array<{ host: string; customers: string[]; state: Watch['state']; since: number }> {
    return [...this.#watches].map(([host, w]) => ({ host, customers: w.customers.map((c) => c.customer), state: w.state, since: w.since }));
  }

  stop(): void {
    this.#stopped = true;
    this.#bursts.stop();
    for (const watch of this.#watches.values()) this.#close(watch);
    this.#watches.clear();
  }

  #set(watch: Watch, state: Watch['state']): void {
    if (watch.state !== state) watch.since = Date.now();
    watch.state = state;
  }

  #open(watch: Watch): void {
    const key = hostKey(watch.target);
    const socket = this.#options.hosts.probeMemo.get(SCAN_KEYS.host(watch.target))?.dockerSocket;
    if (!socket) {
      this.#set(watch, 'no-socket');
      return;
    }
    this.#set(watch, 'connecting');
    void (async () => {
      try {
        const connection = await this.#options.hosts.connection(watch.target);
        const docker = engineOverSsh(connection, socket);
        const stream = (await docker.getEvents({ filters: { type: ['container', 'network', 'volume'] } })) as unknown as Readable;
        if (this.#stopped || this.#watches.get(key) !== watch) {
          stream.destroy();
          return;
        }
        watch.stream = stream;
        watch.failures = 0;
        this.#set(watch, 'connected');
        this.#options.log.info({ host: watch.target.name, customers: watch.customers.map((c) => c.customer) }, 'engine event stream connected');
        let buffer = '';
        stream.on('data', (chunk: Buffer) => {
          buffer += chunk.toString('utf8');
          let nl = buffer.indexOf('\n');
          while (nl >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (line) this.#event(watch, line);
            nl = buffer.indexOf('\n');
          }
        });
        const ended = (error?: Error): void => {
          if (watch.stream !== stream) return;
          watch.stream = null;
          this.#retry(watch, error ?? new Error('the event stream ended'));
        };
        stream.once('error', ended);
        stream.once('end', () => ended());
        stream.once('close', () => ended());
      } catch (error) {
        this.#retry(watch, error);
      }
    })();
  }

  #event(watch: Watch, line: string): void {
    let event: EngineEvent;
    try {
      event = JSON.parse(line) as EngineEvent;
    } catch {
      return;
    }
    const hit = eventCustomer(event, watch.customers);
    if (!hit) return;
    this.#bursts.hit(hit.customer, hit.what);
  }

  #retry(watch: Watch, error: unknown): void {
    if (this.#stopped || this.#watches.get(hostKey(watch.target)) !== watch) return;
    const { baseMs, maxMs } = this.#options.backoff ?? { baseMs: 2_000, maxMs: 120_000 };
    watch.failures += 1;
    const delay = Math.min(maxMs, baseMs * 2 ** (watch.failures - 1));
    this.#set(watch, 'backoff');
    this.#options.log.warn({ host: watch.target.name, error: error instanceof Error ? error.message.split('\n')[0] : String(error), retry_ms: delay }, 'engine event stream down');
    watch.timer = setTimeout(() => {
      watch.timer = null;
      this.#open(watch);
    }, delay);
    watch.timer.unref();
  }

  #close(watch: Watch): void {
    if (watch.timer) clearTimeout(watch.timer);
    watch.timer = null;
    const stream = watch.stream;
    watch.stream = null;
    stream?.destroy();
  }
}

/** The event sources of every customer not suspended: its host, and the networks and volumes its stacks declare. */
export function eventSources(state: DesiredState, providers: Providers): EventSource[] {
  const { customers, services } = state.customers;
  const sources: EventSource[] = [];
  for (const [id, customer] of Object.entries(customers)) {
    if (customer.policy?.suspend) continue;
    const networks: string[] = [];
    const volumes: string[] = [];
    for (const [name, manifest] of state.manifests) {
      if (!services[name]?.[id] || manifest.kind !== 'stack') continue;
      networks.push(...manifest.networks.map((n) => expandName(n.name, { customer: id, service: name })));
      volumes.push(...manifest.volumes.map((v) => expandName(v.name, { customer: id, service: name })));
    }
    sources.push({ customer: id, target: providers.hosts.target(customer.tailscale_host, customer.ssh_user), networks, volumes });
  }
  return sources;
}
