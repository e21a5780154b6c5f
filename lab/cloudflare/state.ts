/**
 * The emulator's state: zones, DNS records and tunnels of one account, kept in
 * memory and, when a state file is given, written after every change.
 *
 * Rules:
 * - Writes are atomic (temp file + rename, mode 0600) and serialised: the file
 *   on disk is always one whole state, never a half-written one.
 * - Zones named in the options are added at start when missing; zones already in
 *   the state file keep their ids, so ids survive restarts.
 * - Tunnel secrets live only in this state (and its 0600 file); they are never logged.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface ZoneState {
  id: string;
  name: string;
  created_on: string;
  modified_on: string;
}

export interface DnsRecordState {
  id: string;
  zone_id: string;
  name: string;
  type: string;
  content: string;
  proxied: boolean;
  ttl: number;
  priority?: number;
  comment: string | null;
  tags: string[];
  created_on: string;
  modified_on: string;
}

export interface IngressRuleState {
  hostname?: string;
  path?: string;
  service: string;
  originRequest?: Record<string, unknown>;
}

export interface TunnelConfigState {
  ingress: IngressRuleState[];
  originRequest?: Record<string, unknown>;
  'warp-routing'?: { enabled: boolean };
  [key: string]: unknown;
}

export interface TunnelState {
  id: string;
  name: string;
  config_src: 'local' | 'cloudflare';
  /** base64 of ≥ 32 bytes. Secret: never logged. */
  secret: string;
  created_at: string;
  deleted_at: string | null;
  config: TunnelConfigState | null;
  config_version: number;
  config_updated_at: string | null;
  /** Set the first time the edge saw a connector for this tunnel. */
  conns_active_at: string | null;
  conns_inactive_at: string | null;
}

export interface EmulatorState {
  version: 1;
  accountId: string;
  zones: ZoneState[];
  records: DnsRecordState[];
  tunnels: TunnelState[];
}

/** A Cloudflare-shaped identifier: 32 lowercase hex characters. */
export function cfId(): string {
  return randomBytes(16).toString('hex');
}

/** A stable zone id for a zone name, so a fresh emulator gives the same id each time. */
export function zoneIdFor(name: string): string {
  return createHash('md5').update(`axelab-zone:${name.toLowerCase()}`).digest('hex');
}

export function newTunnelSecret(): string {
  return randomBytes(32).toString('base64');
}

export function newTunnelId(): string {
  return randomUUID();
}

export function emptyState(accountId: string): EmulatorState {
  return { version: 1, accountId, zones: [], records: [], tunnels: [] };
}

/** Adds each configured zone that the state does not have yet. */
export function seedZones(state: EmulatorState, zones: { name: string; id?: string }[]): void {
  const now = new Date().toISOString();
  for (const zone of zones) {
    const name = zone.name.toLowerCase().replace(/\.$/, '');
    if (state.zones.some((z) => z.name === name)) continue;
    state.zones.push({ id: zone.id ?? zoneIdFor(name), name, created_on: now, modified_on: now });
  }
}

export class StateStore {
  state: EmulatorState;
  private readonly file: string | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(state: EmulatorState, file?: string) {
    this.state = state;
    this.file = file;
  }

  /** Loads the state file when it exists (a missing file is a fresh state). */
  static async open(options: { file?: string; accountId: string; zones: { name: string; id?: string }[] }): Promise<StateStore> {
    let state = emptyState(options.accountId);
    if (options.file) {
      const text = await readFile(options.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null;
        throw error;
      });
      if (text !== null) {
        const parsed = JSON.parse(text) as EmulatorState;
        if (parsed.version !== 1) throw new Error(`unsupported emulator state version ${String(parsed.version)} in ${options.file}`);
        state = { ...parsed, accountId: options.accountId };
      }
    }
    seedZones(state, options.zones);
    const store = new StateStore(state, options.file);
    await store.save();
    return store;
  }

  /** Persists the current state; resolves when this (and every earlier) write is on disk. */
  save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const text = `${JSON.stringify(this.state, null, 2)}\n`;
    this.writing = this.writing.then(async () => {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, text, { mode: 0o600 });
      await rename(temp, file);
    });
    return this.writing;
  }

  /** Forgets every record and tunnel; zones (configuration) keep their ids. */
  async reset(): Promise<void> {
    this.state = { ...emptyState(this.state.accountId), zones: this.state.zones };
    await this.save();
  }
}
