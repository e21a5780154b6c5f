/**
 * The `bitwarden-sm` vault provider: Bitwarden Secrets Manager, through the
 * official SDK (`@bitwarden/sdk-napi`), logged in as a machine account with
 * its access token.
 *
 * How axe's items look in Secrets Manager:
 * - every axe item is a secret in one project (`vault.project_id`) of one
 *   organization (`vault.organization_id`); secrets in other projects are not
 *   axe's and are never read or written;
 * - the secret's key is the item's name (e.g. `AZURE_DEMO_BLUEPRINT_CLIENT_SECRET`),
 *   its value the value;
 * - its note is JSON holding the item's customer and service
 *   (`{"customer":"demo","service":"blueprint"}`); a note that is not a JSON
 *   object (written by a person) is read as no metadata and kept as it is;
 * - of several secrets with one key in the project, the most recently revised wins.
 *
 * Rules:
 * - One login per provider (lazily, on first use); the SDK keeps its bearer
 *   token and the organization key in a state file, `$AXE_HOME/bitwarden-sm/<token id>.state`
 *   (0600, encrypted by the SDK under the access token), so a CLI run does not
 *   log in again while the token lives. A request answered 401 drops the
 *   client and that state and logs in once more.
 * - `list`, `get` and `put` are each one sync request (`GET
 *   /organizations/{id}/secrets/sync`, every secret the machine account can
 *   read, values decrypted by the SDK); `put` adds one create or update.
 *   Reads in flight together share one sync; a put always syncs afresh and
 *   reads after it never share an older sync. Writes from one provider are
 *   serialised. Nothing is ever deleted.
 * - The access token comes from a 0600 file (`vault.access_token_file`) or the
 *   environment variable `vault.access_token_env` (default BWS_ACCESS_TOKEN),
 *   never from argv; it and every value stay out of logs and errors.
 * - SDK failures are classified here, once: an HTTP status the SDK reports
 *   (its `[status]` form, the only structured part the binding passes on)
 *   of 429 or 5xx, or a server that does not answer its `/alive` probe, is
 *   transient; everything else (a refused token, 401/403/404, a payload that
 *   does not decrypt) is terminal, with the fix.
 */
import { chmod, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AxeError, terminal, transient } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { Fingerprints, fingerprintKeyPath } from '../../core/fingerprint.js';
import { contentDigest, type PutResult, type VaultEntry, type VaultItemMeta, type VaultProvider } from './types.js';

/** A secret as Secrets Manager returns it, decrypted by the SDK. */
export interface SmSecret {
  id: string;
  organizationId: string;
  projectId: string | null;
  key: string;
  value: Secret;
  note: string;
  revisionDate: string;
}

export interface SmSecretInput {
  organizationId: string;
  key: string;
  value: Secret;
  note: string;
  projectIds: string[];
}

/**
 * What the provider needs of Secrets Manager: the seam over the SDK. A method
 * rejects with the SDK's own error; the provider classifies it.
 */
export interface SecretsManagerClient {
  loginAccessToken(accessToken: Secret, stateFile: string | undefined): Promise<void>;
  /** Every secret the machine account can read in the organization. */
  sync(organizationId: string): Promise<SmSecret[]>;
  create(input: SmSecretInput): Promise<SmSecret>;
  update(id: string, input: SmSecretInput): Promise<SmSecret>;
}

export interface SecretsManagerEndpoints {
  apiUrl: string;
  identityUrl: string;
}

export type OpenSecretsManagerClient = (endpoints: SecretsManagerEndpoints) => Promise<SecretsManagerClient>;

export interface BitwardenSmVaultOptions extends SecretsManagerEndpoints {
  organizationId: string;
  projectId: string;
  /** A 0600 file holding the access token; takes precedence over tokenEnv. */
  tokenFile?: string;
  /** The environment variable holding the access token. */
  tokenEnv: string;
  env?: NodeJS.ProcessEnv;
  /** Where the SDK's state file goes (`$AXE_HOME/bitwarden-sm`); none when unset. */
  stateDir?: string;
  /** The SDK seam; the real SDK by default. */
  openClient?: OpenSecretsManagerClient;
  /** Reachability probe timeout (ms). */
  probeTimeoutMs?: number;
  /** The install's fingerprints (default: the key under $AXE_HOME). */
  fingerprints?: Fingerprints;
}

const ACCESS_TOKEN = /^0\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.[^.:\s]+:([A-Za-z0-9+/]+={0,2})$/i;

/** The customer and service an SM note holds (see the module's rules). */
export function metaFromNote(note: string): Pick<VaultItemMeta, 'customer' | 'service'> {
  const parsed = parseNote(note);
  if (!parsed) return {};
  const customer = typeof parsed.customer === 'string' && parsed.customer !== '' ? parsed.customer : undefined;
  const service = typeof parsed.service === 'string' && parsed.service !== '' ? parsed.service : undefined;
  return { ...(customer ? { customer } : {}), ...(service ? { service } : {}) };
}

/** The note to write for meta, keeping what an existing note holds (a person's free text is kept as it is). */
export function noteFor(meta: VaultItemMeta, existing?: string): string {
  if (existing !== undefined && existing.trim() !== '') {
    const parsed = parseNote(existing);
    if (!parsed) return existing;
    return JSON.stringify({ ...parsed, ...(meta.customer ? { customer: meta.customer } : {}), ...(meta.service ? { service: meta.service } : {}) });
  }
  if (!meta.customer && !meta.service) return '';
  return JSON.stringify({ ...(meta.customer ? { customer: meta.customer } : {}), ...(meta.service ? { service: meta.service } : {}) });
}

function parseNote(note: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(note);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Of the project's secrets, the newest per key. */
export function newestByKey(secrets: SmSecret[], projectId: string): Map<string, SmSecret> {
  const out = new Map<string, SmSecret>();
  for (const s of secrets) {
    if (s.projectId !== projectId) continue;
    const seen = out.get(s.key);
    if (!seen || s.revisionDate > seen.revisionDate) out.set(s.key, s);
  }
  return out;
}

/** The HTTP status in an SDK error (`Received error message from server: [404 Not Found] …`), if it names one. */
export function sdkStatus(error: unknown): number | null {
  const message = error instanceof Error ? error.message : String(error);
  const m = /^Received error message from server: \[(\d{3})\b/.exec(message);
  return m ? Number(m[1]) : null;
}

type Phase = 'login' | 'read' | 'write';

export class BitwardenSmVault implements VaultProvider {
  readonly kind = 'bitwarden-sm' as const;
  readonly #options: BitwardenSmVaultOptions;
  #client: Promise<SecretsManagerClient> | null = null;
  #tokenId = '';
  #writes: Promise<unknown> = Promise.resolve();
  /** The sync in flight that reads may share; a write clears it so that later reads see the write. */
  #reading: Promise<SmSecret[]> | null = null;

  readonly #fingerprints: Fingerprints;

  constructor(options: BitwardenSmVaultOptions) {
    this.#options = options;
    this.#fingerprints = options.fingerprints ?? new Fingerprints(fingerprintKeyPath(undefined, options.env));
  }

  fingerprint(value: Secret): string {
    return this.#fingerprints.of(value);
  }

  async list(): Promise<VaultEntry[]> {
    const secrets = await this.#sharedSync();
    return [...newestByKey(secrets, this.#options.projectId).values()]
      .map((s) => ({ name: s.key, ...metaFromNote(s.note), fingerprint: this.fingerprint(s.value), digest: contentDigest(s.value), updatedAt: s.revisionDate }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<Secret | null> {
    const secrets = await this.#sharedSync();
    return newestByKey(secrets, this.#options.projectId).get(name)?.value ?? null;
  }

  async put(item: VaultItemMeta & { value: Secret }): Promise<PutResult> {
    const run = this.#writes.then(() => this.#put(item)).finally(() => {
      this.#reading = null;
    });
    this.#writes = run.catch(() => undefined);
    return run;
  }

  async #put(item: VaultItemMeta & { value: Secret }): Promise<PutResult> {
    const existing = newestByKey(await this.#sync(), this.#options.projectId).get(item.name);
    if (existing?.value.equals(item.value)) return 'unchanged';
    const input: SmSecretInput = {
      organizationId: this.#options.organizationId,
      key: item.name,
      value: item.value,
      note: noteFor(item, existing?.note),
      projectIds: [this.#options.projectId],
    };
    if (existing) {
      await this.#call('write', `update the secret ${item.name}`, (c) => c.update(existing.id, input));
      return 'updated';
    }
    await this.#call('write', `create the secret ${item.name}`, (c) => c.create(input));
    return 'created';
  }

  /** Concurrent reads (a pass reading many items at once) share one sync request. */
  #sharedSync(): Promise<SmSecret[]> {
    if (!this.#reading) {
      const pending = this.#sync();
      this.#reading = pending;
      const clear = (): void => {
        if (this.#reading === pending) this.#reading = null;
      };
      pending.then(clear, clear);
    }
    return this.#reading;
  }

  #sync(): Promise<SmSecret[]> {
    return this.#call('read', 'read the secrets', (c) => c.sync(this.#options.organizationId));
  }

  /** Runs fn on a logged-in client; a 401 (a kept or long-lived bearer token the server no longer takes) logs in afresh once. */
  async #call<T>(phase: Phase, what: string, fn: (client: SecretsManagerClient) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      const client = await this.#session();
      try {
        return await fn(client);
      } catch (error) {
        const status = sdkStatus(error);
        if (status === 401 && attempt === 0) {
          await this.#forget();
          continue;
        }
        throw await this.#classify(phase, what, error, status);
      }
    }
  }

  #session(): Promise<SecretsManagerClient> {
    if (!this.#client) {
      const pending = this.#login();
      this.#client = pending;
      pending.catch(() => {
        if (this.#client === pending) this.#client = null;
      });
    }
    return this.#client;
  }

  async #login(): Promise<SecretsManagerClient> {
    const token = await this.#accessToken();
    const open = this.#options.openClient ?? openSdkClient;
    const client = await open({ apiUrl: this.#options.apiUrl, identityUrl: this.#options.identityUrl });
    const stateFile = this.#stateFile();
    if (stateFile) await prepareStateFile(stateFile);
    try {
      await client.loginAccessToken(token, stateFile);
    } catch (error) {
      throw await this.#classify('login', 'log in', error, sdkStatus(error));
    }
    return client;
  }

  async #forget(): Promise<void> {
    this.#client = null;
    const stateFile = this.#stateFile();
    if (stateFile) await rm(stateFile, { force: true });
  }

  #stateFile(): string | undefined {
    return this.#options.stateDir && this.#tokenId ? join(this.#options.stateDir, `${this.#tokenId}.state`) : undefined;
  }

  #tokenSource(): string {
    return this.#options.tokenFile ? `the access token file ${this.#options.tokenFile}` : `the environment variable ${this.#options.tokenEnv}`;
  }

  async #accessToken(): Promise<Secret> {
    const { tokenFile, tokenEnv } = this.#options;
    let text: string | undefined;
    if (tokenFile) {
      try {
        const info = await stat(tokenFile);
        if ((info.mode & 0o077) !== 0) {
          throw terminal(`Secrets Manager access token file ${tokenFile} is readable by others (mode ${(info.mode & 0o777).toString(8)})`, { fix: `chmod 600 ${tokenFile}` });
        }
        text = (await readFile(tokenFile, 'utf8')).trim();
      } catch (error) {
        if (error instanceof AxeError) throw error;
        throw terminal(`cannot read the Secrets Manager access token file ${tokenFile}`, { fix: `write the machine account's access token to ${tokenFile} (mode 0600) or set vault.access_token_file`, cause: error });
      }
    } else {
      text = (this.#options.env ?? process.env)[tokenEnv]?.trim();
      if (!text) throw terminal(`no Secrets Manager access token: ${tokenEnv} is not set`, { fix: `export ${tokenEnv} with the machine account's access token, or set vault.access_token_file` });
    }
    const m = ACCESS_TOKEN.exec(text);
    if (!m || Buffer.from(m[2]!, 'base64').length !== 16) {
      throw terminal(`${this.#tokenSource()} does not hold a Secrets Manager access token`, {
        fix: 'copy the machine account\'s access token (0.<id>.<secret>:<key>) from the Secrets Manager web app',
      });
    }
    this.#tokenId = m[1]!.toLowerCase();
    return new Secret(text);
  }

  async #classify(phase: Phase, what: string, error: unknown, status: number | null): Promise<AxeError> {
    if (error instanceof AxeError) return error;
    const server = phase === 'login' ? `identity server ${this.#options.identityUrl}` : `API server ${this.#options.apiUrl}`;
    const where = `project ${this.#options.projectId}`;
    if (status === 429 || (status !== null && status >= 500)) {
      return transient(`Bitwarden Secrets Manager ${server} answered ${status} when asked to ${what}`, { resource: where, fix: 'wait for the server to recover; axe retries', cause: error });
    }
    if (status === null && !(await this.#answers(phase === 'login' ? this.#options.identityUrl : this.#options.apiUrl))) {
      return transient(`cannot reach Bitwarden Secrets Manager ${server} to ${what}`, { resource: where, fix: `check the network and vault.${phase === 'login' ? 'identity_url' : 'api_url'}; axe retries`, cause: error });
    }
    if (phase === 'login') {
      return terminal(`Bitwarden Secrets Manager refused the access token ${this.#tokenId} from ${this.#tokenSource()}${status ? ` (${status})` : ''}`, {
        fix: 'create a new access token for the machine account in the Secrets Manager web app and put it there',
        cause: error,
      });
    }
    if (status === 401 || status === 403 || status === 404) {
      return terminal(`Bitwarden Secrets Manager refused to ${what} (${status})`, {
        resource: where,
        fix: `give the machine account of access token ${this.#tokenId} read and write access to project ${this.#options.projectId} in organization ${this.#options.organizationId}`,
        cause: error,
      });
    }
    return terminal(`Bitwarden Secrets Manager could not ${what}${status ? ` (${status})` : ''}: the answer was not usable`, {
      resource: where,
      fix: 'check that vault.api_url and vault.identity_url point at one Bitwarden install and the access token belongs to vault.organization_id',
      cause: error,
    });
  }

  /** Whether base/alive answers with anything below 500 (both Bitwarden servers serve GET /alive). */
  async #answers(base: string): Promise<boolean> {
    try {
      const res = await fetch(`${base.replace(/\/+$/, '')}/alive`, { signal: AbortSignal.timeout(this.#options.probeTimeoutMs ?? 5000) });
      await res.body?.cancel();
      return res.status < 500;
    } catch {
      return false;
    }
  }
}

/** Makes the state file 0600 before the SDK writes it (the SDK keeps an existing file's mode). */
async function prepareStateFile(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const handle = await open(file, 'a', 0o600);
  await handle.close();
  await chmod(file, 0o600);
}

/** The real SDK behind the seam; loaded only when this provider is used. */
export const openSdkClient: OpenSecretsManagerClient = async (endpoints) => {
  let sdk: typeof import('@bitwarden/sdk-napi');
  try {
    sdk = await import('@bitwarden/sdk-napi');
  } catch (error) {
    throw terminal('the Bitwarden Secrets Manager SDK (@bitwarden/sdk-napi) cannot be loaded on this platform', {
      fix: 'run axe on macOS or Linux x64 with its npm dependencies installed, or use another vault.provider',
      cause: error,
    });
  }
  // Error only: the SDK's logger writes to stderr, and axe's output is its own.
  const client = new sdk.BitwardenClient({ apiUrl: endpoints.apiUrl, identityUrl: endpoints.identityUrl, userAgent: 'axe', deviceType: sdk.DeviceType.SDK }, 4);
  const toSecret = (s: { id: string; organizationId: string; projectId?: string | null; key: string; value: string; note: string; revisionDate: Date }): SmSecret => ({
    id: s.id,
    organizationId: s.organizationId,
    projectId: s.projectId ?? null,
    key: s.key,
    value: new Secret(s.value),
    note: s.note,
    revisionDate: new Date(s.revisionDate).toISOString(),
  });
  return {
    async loginAccessToken(accessToken, stateFile) {
      await client.auth().loginAccessToken(accessToken.reveal(), stateFile);
    },
    async sync(organizationId) {
      const answer = await client.secrets().sync(organizationId);
      return (answer.secrets ?? []).map(toSecret);
    },
    async create(input) {
      return toSecret(await client.secrets().create(input.organizationId, input.key, input.value.reveal(), input.note, input.projectIds));
    },
    async update(id, input) {
      return toSecret(await client.secrets().update(input.organizationId, id, input.key, input.value.reveal(), input.note, input.projectIds));
    },
  };
};
