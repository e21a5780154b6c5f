/**
 * The `vaultwarden` vault provider: the operator's Vaultwarden (or
 * bitwarden.com) Password Manager, through the official `bw` CLI's local REST
 * server, `bw serve` (the Vault Management API).
 *
 * How axe's items look in the vault, mirroring the `file` provider's metadata:
 * - every axe item lives in one folder (default `axe`, made on the first write);
 * - an item is a Login whose name is the secret's name (e.g.
 *   `AZURE_DEMO_BLUEPRINT_CLIENT_SECRET`) and whose `login.password` is the value;
 * - its customer and service are two text custom fields, `axe.customer` and
 *   `axe.service`;
 * - a Secure Note of that name in the folder is read too (its notes are the value).
 *
 * Rules:
 * - `list` is one request in the steady state (`/list/object/items?folderid=`);
 *   `get` is one request (`search` narrowed to the exact name). Once per
 *   `sync_interval` the provider also reads /status and the folder's id.
 * - Before trusting bw's cache, the provider reads /status (at most once per
 *   `sync_interval`) and calls /sync when bw's last sync is older than
 *   `sync_interval`: the runbook's stale-cache trap.
 * - `put` is idempotent (`unchanged` when the stored value is equal) and never
 *   deletes; an edit bw refuses (its copy is out of date) is retried once after
 *   a /sync. Writes from one provider are serialised.
 * - A locked vault is a terminal error with the trap `bw-vault-locked` (or
 *   `bw-session-not-cached` when BW_SESSION is exported but no session is kept),
 *   decided by asking /status, never by reading bw's message. bw serve not
 *   running is transient with the fix "start bw serve".
 * - Values travel as `Secret`, go over loopback HTTP to bw serve only, and
 *   never reach a log or an error.
 */
import { terminal } from '../../core/errors.js';
import { Fingerprints, fingerprintKeyPath } from '../../core/fingerprint.js';
import { Secret } from '../../core/secret.js';
import { SESSION_TTL_MS, type SessionStore, type StoredSession } from './session-store.js';
import { contentDigest, type PutResult, type VaultEntry, type VaultItemMeta, type VaultProvider } from './types.js';
import { BwServeClient, BwServeRejection, CLIENT_FIELD_READS, VaultError, type BwFieldRead, type BwStatus } from './vaultwarden-client.js';

export { BW_SERVE_OPERATIONS, BwServeClient, VaultError, type BwFieldRead, type VaultErrorReason } from './vaultwarden-client.js';

export const DEFAULT_FOLDER = 'axe';
export const CUSTOMER_FIELD = 'axe.customer';
export const SERVICE_FIELD = 'axe.service';
const LOGIN = 1;
const SECURE_NOTE = 2;

interface BwField {
  name: string | null;
  value: string | null;
  type: number;
  linkedId?: number | null;
}

interface BwItem {
  id: string;
  type: number;
  name: string;
  folderId: string | null;
  notes: string | null;
  fields?: BwField[] | null;
  login?: { password?: string | null; [key: string]: unknown } | null;
  revisionDate: string;
  deletedDate?: string | null;
  [key: string]: unknown;
}

interface BwFolder {
  id: string | null;
  name: string;
}

interface BwList<T> {
  object: 'list';
  data: T[];
}

const ITEM_READS = ['id', 'type', 'name', 'notes', 'fields', 'fields[].name', 'fields[].value', 'login', 'login.password', 'revisionDate', 'deletedDate'];

/**
 * The fields of bw serve's answers this provider and `vaultLogin` read (see
 * BwFieldRead). An edit sends the item it listed back whole; of it, only these
 * are read.
 */
export const PROVIDER_FIELD_READS: readonly BwFieldRead[] = [
  { method: 'GET', path: '/status', status: 200, field: 'data.template.lastSync' },
  { method: 'GET', path: '/status', status: 200, field: 'data.template.userEmail' },
  { method: 'POST', path: '/unlock', status: 200, field: 'data.raw' },
  { method: 'GET', path: '/list/object/folders', status: 200, field: 'data.data' },
  { method: 'GET', path: '/list/object/folders', status: 200, field: 'data.data[].id' },
  { method: 'GET', path: '/list/object/folders', status: 200, field: 'data.data[].name' },
  { method: 'POST', path: '/object/folder', status: 200, field: 'data.id' },
  { method: 'GET', path: '/list/object/items', status: 200, field: 'data.data' },
  ...ITEM_READS.map((field): BwFieldRead => ({ method: 'GET', path: '/list/object/items', status: 200, field: `data.data[].${field}` })),
];

/** Every field of a bw serve answer axe reads. */
export const BW_SERVE_FIELD_READS: readonly BwFieldRead[] = [...CLIENT_FIELD_READS, ...PROVIDER_FIELD_READS];

/** `500ms`, `60s`, `5m`, `8h` → milliseconds (the config's Duration). */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw terminal(`"${text}" is not a duration`, { fix: 'write a duration like 500ms, 60s, 5m or 8h' });
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

export interface VaultwardenVaultOptions {
  /** `bw serve` base URL (loopback). */
  url: string;
  /** `vault.sync_interval` in ms: the longest bw's cache is trusted. */
  syncIntervalMs: number;
  /** The folder holding axe's items (default `axe`). */
  folder?: string;
  /** Where `axe vault login` keeps the session; used to tell a session that was never kept. */
  store?: SessionStore;
  env?: NodeJS.ProcessEnv;
  /** Clock, for tests. */
  now?: () => number;
  timeoutMs?: number;
  /** The install's fingerprints (default: the key under $AXE_HOME). */
  fingerprints?: Fingerprints;
}

function valueOf(item: BwItem): string | null {
  if (item.type === LOGIN) return item.login?.password ?? null;
  if (item.type === SECURE_NOTE) return item.notes;
  return null;
}

function field(item: BwItem, name: string): string | undefined {
  return item.fields?.find((f) => f.name === name)?.value ?? undefined;
}

/** Of several items with one name, the most recently revised wins. */
function newestByName(items: BwItem[]): Map<string, BwItem> {
  const out = new Map<string, BwItem>();
  for (const item of items) {
    if (item.deletedDate) continue;
    const seen = out.get(item.name);
    if (!seen || item.revisionDate > seen.revisionDate) out.set(item.name, item);
  }
  return out;
}

function withMeta(fields: BwField[] | null | undefined, meta: VaultItemMeta): BwField[] {
  const out = (fields ?? []).filter((f) => !((f.name === CUSTOMER_FIELD && meta.customer) || (f.name === SERVICE_FIELD && meta.service)));
  if (meta.customer) out.push({ name: CUSTOMER_FIELD, value: meta.customer, type: 0, linkedId: null });
  if (meta.service) out.push({ name: SERVICE_FIELD, value: meta.service, type: 0, linkedId: null });
  return out;
}

export class VaultwardenVault implements VaultProvider {
  readonly kind = 'vaultwarden' as const;
  readonly #client: BwServeClient;
  readonly #options: VaultwardenVaultOptions;
  readonly #folderName: string;
  readonly #now: () => number;
  readonly #fingerprints: Fingerprints;
  /** When /status last said unlocked and fresh enough (ms); 0 = never. */
  #checkedAt = 0;
  #folderId: string | null = null;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(options: VaultwardenVaultOptions) {
    this.#options = options;
    this.#client = new BwServeClient({ url: options.url, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
    this.#folderName = options.folder ?? DEFAULT_FOLDER;
    this.#now = options.now ?? Date.now;
    this.#fingerprints = options.fingerprints ?? new Fingerprints(fingerprintKeyPath());
  }

  fingerprint(value: Secret): string {
    return this.#fingerprints.of(value);
  }

  async list(): Promise<VaultEntry[]> {
    return this.#guard(async () => {
      await this.#ensureFresh();
      const folderId = await this.#findFolder();
      if (folderId === null) return [];
      const items = await this.#client.request<BwList<BwItem>>('GET', `/list/object/items?folderid=${encodeURIComponent(folderId)}`);
      const entries: VaultEntry[] = [];
      for (const item of newestByName(items.data).values()) {
        const value = valueOf(item);
        if (value === null) continue;
        const customer = field(item, CUSTOMER_FIELD);
        const service = field(item, SERVICE_FIELD);
        entries.push({ name: item.name, ...(customer ? { customer } : {}), ...(service ? { service } : {}), fingerprint: this.fingerprint(new Secret(value)), digest: contentDigest(new Secret(value)), updatedAt: item.revisionDate });
      }
      return entries.sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  async get(name: string): Promise<Secret | null> {
    return this.#guard(async () => {
      await this.#ensureFresh();
      const item = await this.#find(name);
      const value = item ? valueOf(item) : null;
      return value === null ? null : new Secret(value);
    });
  }

  async put(item: VaultItemMeta & { value: Secret }): Promise<PutResult> {
    const run = this.#writes.then(() => this.#guard(() => this.#put(item)));
    this.#writes = run.catch(() => undefined);
    return run;
  }

  async #put(item: VaultItemMeta & { value: Secret }): Promise<PutResult> {
    await this.#ensureFresh();
    for (let attempt = 0; ; attempt += 1) {
      const existing = await this.#find(item.name);
      const current = existing ? valueOf(existing) : null;
      if (existing && current !== null && new Secret(current).equals(item.value)) return 'unchanged';
      try {
        if (!existing) {
          const folderId = await this.#ensureFolder();
          await this.#client.request('POST', '/object/item', {
            type: LOGIN,
            name: item.name,
            folderId,
            notes: null,
            favorite: false,
            reprompt: 0,
            fields: withMeta([], item),
            login: { uris: [], username: null, password: item.value.reveal(), totp: null },
          });
          return 'created';
        }
        if (existing.type !== SECURE_NOTE && existing.type !== LOGIN) {
          throw new VaultError('rejected', 'terminal', `vault item ${item.name} is neither a login nor a secure note`, { fix: `rename or move the item ${item.name} out of the ${this.#folderName} folder` });
        }
        // bw's edit takes the whole item: everything else on it is kept as it is.
        const edited: Record<string, unknown> = { ...existing, fields: withMeta(existing.fields, item) };
        if (existing.type === SECURE_NOTE) edited.notes = item.value.reveal();
        else edited.login = { ...(existing.login ?? {}), password: item.value.reveal() };
        await this.#client.request('PUT', `/object/item/${encodeURIComponent(existing.id)}`, edited);
        return 'updated';
      } catch (error) {
        // bw refuses an edit of a copy older than the server's: sync once and redo it from fresh state.
        if (!(error instanceof BwServeRejection) || attempt > 0) throw error;
        await this.#unlockedStatus();
        await this.#sync();
      }
    }
  }

  /** Runs fn; a rejection of bw serve becomes a classified VaultError. */
  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof BwServeRejection)) throw error;
      this.#checkedAt = 0;
      this.#folderId = null;
      await this.#unlockedStatus();
      throw new VaultError('rejected', 'terminal', `bw serve at ${this.#client.url} refused the request: ${error.bwMessage}`, {
        fix: 'check the operator vault in the web vault (item types, folder), then retry',
        cause: error,
      });
    }
  }

  /** /status; throws the locked / logged-out errors. */
  async #unlockedStatus(): Promise<BwStatus> {
    const status = await this.#client.status();
    if (status.status === 'unlocked') return status;
    this.#checkedAt = 0;
    if (status.status === 'unauthenticated') {
      throw new VaultError('unauthenticated', 'terminal', `bw behind ${this.#client.url} is not logged in`, { fix: 'run bw login as the user that runs bw serve, then axe vault login' });
    }
    const kept: StoredSession | null = this.#options.store ? await this.#options.store.load().catch(() => null) : null;
    const env = this.#options.env ?? process.env;
    if (env.BW_SESSION && !kept) {
      throw new VaultError('locked', 'terminal', `the operator vault behind ${this.#client.url} is locked and BW_SESSION was exported but never kept`, {
        fix: 'run axe vault login once (it keeps the session for 8 h)',
        trap: 'bw-session-not-cached',
      });
    }
    throw new VaultError('locked', 'terminal', `the operator vault behind ${this.#client.url} is locked`, { fix: 'run axe vault login', trap: 'bw-vault-locked' });
  }

  async #sync(): Promise<void> {
    try {
      await this.#client.request('POST', '/sync');
    } catch (error) {
      if (!(error instanceof BwServeRejection)) throw error;
      throw new VaultError('sync-failed', 'transient', `bw sync failed behind ${this.#client.url}: ${error.bwMessage}`, {
        fix: 'check that the Vaultwarden server is reachable from the operator host, then run bw sync',
        trap: 'bw-cache-stale',
        cause: error,
      });
    }
  }

  /** Unlocked, and bw's cache no older than sync_interval (syncs when it is). */
  async #ensureFresh(): Promise<void> {
    const now = this.#now();
    const interval = this.#options.syncIntervalMs;
    if (this.#checkedAt > 0 && now - this.#checkedAt < interval) return;
    const status = await this.#unlockedStatus();
    const lastSync = status.lastSync ? Date.parse(status.lastSync) : 0;
    if (!(now - lastSync < interval)) await this.#sync();
    // The folder is looked up again too: one renamed or recreated in the web vault must not hide every item.
    this.#folderId = null;
    this.#checkedAt = now;
  }

  async #findFolder(): Promise<string | null> {
    if (this.#folderId !== null) return this.#folderId;
    const folders = await this.#client.request<BwList<BwFolder>>('GET', `/list/object/folders?search=${encodeURIComponent(this.#folderName)}`);
    this.#folderId = folders.data.find((f) => f.id !== null && f.name === this.#folderName)?.id ?? null;
    return this.#folderId;
  }

  async #ensureFolder(): Promise<string> {
    const found = await this.#findFolder();
    if (found !== null) return found;
    const folder = await this.#client.request<BwFolder>('POST', '/object/folder', { name: this.#folderName });
    if (!folder?.id) throw new VaultError('bad-response', 'terminal', `bw serve did not return the new folder ${this.#folderName}`, { fix: 'check that vault.url points at bw serve' });
    this.#folderId = folder.id;
    return folder.id;
  }

  async #find(name: string): Promise<BwItem | null> {
    const folderId = await this.#findFolder();
    if (folderId === null) return null;
    const found = await this.#client.request<BwList<BwItem>>('GET', `/list/object/items?folderid=${encodeURIComponent(folderId)}&search=${encodeURIComponent(name)}`);
    return newestByName(found.data.filter((i) => i.name === name)).get(name) ?? null;
  }
}

export interface VaultLoginOptions {
  /** `bw serve` base URL. */
  url: string;
  /** The master password (from a prompt or stdin, never an argument). */
  password: Secret;
  store: SessionStore;
  /** Default 8 h. */
  ttlMs?: number;
  timeoutMs?: number;
}

export interface VaultLoginResult {
  expiresAt: Date;
  /** Where the session is kept (never the session). */
  location: string;
  userEmail: string | null;
}

/**
 * `axe vault login`: unlocks `bw serve` once (POST /unlock) and keeps the
 * session in the store for 8 h. A refused unlock is classified by /status:
 * logged out → terminal with `bw login`; otherwise the password was wrong.
 */
export async function vaultLogin(options: VaultLoginOptions): Promise<VaultLoginResult> {
  const client = new BwServeClient({ url: options.url, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
  let raw: unknown;
  try {
    const data = await client.request<{ raw?: unknown }>('POST', '/unlock', { password: options.password.reveal() });
    raw = data?.raw;
  } catch (error) {
    if (!(error instanceof BwServeRejection)) throw error;
    const status = await client.status();
    if (status.status === 'unauthenticated') {
      throw new VaultError('unauthenticated', 'terminal', `bw behind ${client.url} is not logged in`, { fix: 'run bw login as the user that runs bw serve, then axe vault login' });
    }
    throw new VaultError('wrong-password', 'terminal', `bw serve at ${client.url} refused the master password${status.userEmail ? ` of ${status.userEmail}` : ''}`, {
      fix: 'run axe vault login again with the right master password',
    });
  }
  if (typeof raw !== 'string' || raw === '') {
    throw new VaultError('bad-response', 'terminal', `bw serve at ${client.url} unlocked but returned no session`, { fix: 'check that vault.url points at bw serve' });
  }
  const kept = await options.store.save(new Secret(raw), options.ttlMs ?? SESSION_TTL_MS);
  const status = await client.status().catch(() => null);
  return { expiresAt: kept.expiresAt, location: options.store.location, userEmail: status?.userEmail ?? null };
}

/**
 * The environment to start `bw serve` with so it comes up unlocked: the kept
 * session as BW_SESSION (pass it as spawn's env, never on a command line), or
 * {} when none is kept.
 */
export async function bwServeEnvironment(store: SessionStore): Promise<Record<string, string>> {
  const kept = await store.load();
  return kept ? { BW_SESSION: kept.session.reveal() } : {};
}
