/**
 * The `file` vault provider: one AES-256-GCM encrypted JSON file (mode 0600).
 * The key is 32 random bytes kept base64 in a 0600 key file (made on first
 * use), or a passphrase in AXE_VAULT_KEY (stretched with scrypt and a per-file
 * salt). Writes are atomic (temp file + fsync + rename) under an exclusive
 * lock file, so a crash never leaves a half-written vault.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { open, mkdir, readFile, rename, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Fingerprints, fingerprintKeyPath } from '../../core/fingerprint.js';
import { Secret } from '../../core/secret.js';
import { terminal, transient } from '../../core/errors.js';
import { contentDigest, type PutResult, type VaultEntry, type VaultItemMeta, type VaultProvider } from './types.js';

const FORMAT = 'axe-file-vault/v1';

interface StoredItem extends VaultItemMeta {
  value: string;
  createdAt: string;
  updatedAt: string;
}

interface Plain {
  items: Record<string, StoredItem>;
}

interface Envelope {
  format: typeof FORMAT;
  kdf: { name: 'raw' } | { name: 'scrypt'; salt: string; N: number; r: number; p: number };
  iv: string;
  tag: string;
  data: string;
}

export interface FileVaultOptions {
  path: string;
  /** 0600 file holding a base64 32-byte key; created when missing and no passphrase is given. */
  keyFile?: string;
  /** A passphrase (e.g. from AXE_VAULT_KEY); takes precedence over keyFile. Never logged. */
  passphrase?: Secret;
  /** The install's fingerprints (default: the key under $AXE_HOME). */
  fingerprints?: Fingerprints;
}

export class FileVault implements VaultProvider {
  readonly kind = 'file' as const;
  readonly #options: FileVaultOptions;
  readonly #fingerprints: Fingerprints;

  constructor(options: FileVaultOptions) {
    if (!options.passphrase && !options.keyFile) throw terminal('file vault needs a key', { fix: 'set AXE_VAULT_KEY or vault.key_file in the axe config' });
    this.#options = options;
    this.#fingerprints = options.fingerprints ?? new Fingerprints(fingerprintKeyPath());
  }

  fingerprint(value: Secret): string {
    return this.#fingerprints.of(value);
  }

  async list(): Promise<VaultEntry[]> {
    const plain = await this.#read();
    return Object.values(plain.items)
      .map((item) => ({
        name: item.name,
        ...(item.customer ? { customer: item.customer } : {}),
        ...(item.service ? { service: item.service } : {}),
        fingerprint: this.fingerprint(new Secret(item.value)),
        digest: contentDigest(new Secret(item.value)),
        updatedAt: item.updatedAt,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<Secret | null> {
    const plain = await this.#read();
    const item = plain.items[name];
    return item ? new Secret(item.value) : null;
  }

  async put(item: VaultItemMeta & { value: Secret }): Promise<PutResult> {
    return this.#withLock(async () => {
      const plain = await this.#read();
      const existing = plain.items[item.name];
      const now = new Date().toISOString();
      if (existing && new Secret(existing.value).equals(item.value)) return 'unchanged';
      plain.items[item.name] = {
        name: item.name,
        ...(item.customer ? { customer: item.customer } : {}),
        ...(item.service ? { service: item.service } : {}),
        value: item.value.reveal(),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      await this.#write(plain);
      return existing ? 'updated' : 'created';
    });
  }

  async #key(salt?: Buffer, params?: { N: number; r: number; p: number }): Promise<{ key: Buffer; kdf: Envelope['kdf'] }> {
    if (this.#options.passphrase) {
      const s = salt ?? randomBytes(16);
      const p = params ?? { N: 1 << 15, r: 8, p: 1 };
      const key = scryptSync(this.#options.passphrase.reveal(), s, 32, { N: p.N, r: p.r, p: p.p, maxmem: 128 * p.N * p.r * 2 });
      return { key, kdf: { name: 'scrypt', salt: s.toString('base64'), ...p } };
    }
    const keyFile = this.#options.keyFile!;
    let text: string;
    try {
      const info = await stat(keyFile);
      if ((info.mode & 0o077) !== 0) {
        throw terminal(`vault key file ${keyFile} is readable by others (mode ${(info.mode & 0o777).toString(8)})`, { fix: `chmod 600 ${keyFile}` });
      }
      text = (await readFile(keyFile, 'utf8')).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
      text = randomBytes(32).toString('base64');
      try {
        await writeFile(keyFile, `${text}\n`, { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        text = (await readFile(keyFile, 'utf8')).trim();
      }
    }
    const key = Buffer.from(text, 'base64');
    if (key.length !== 32) throw terminal(`vault key file ${keyFile} does not hold a base64 32-byte key`, { fix: 'restore the key file from backup' });
    return { key, kdf: { name: 'raw' } };
  }

  async #read(): Promise<Plain> {
    let raw: string;
    try {
      raw = await readFile(this.#options.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { items: {} };
      throw transient(`cannot read vault file ${this.#options.path}`, { cause: error });
    }
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch {
      throw terminal(`vault file ${this.#options.path} is not an axe file vault`, { fix: 'restore it from backup' });
    }
    if (envelope.format !== FORMAT) throw terminal(`vault file ${this.#options.path} has unknown format`, { fix: 'restore it from backup' });
    const { key } =
      envelope.kdf.name === 'scrypt'
        ? await this.#key(Buffer.from(envelope.kdf.salt, 'base64'), envelope.kdf)
        : this.#options.passphrase
          ? (() => {
              throw terminal('vault file was written with a key file, but AXE_VAULT_KEY (a passphrase) is set', { fix: 'unset AXE_VAULT_KEY' });
            })()
          : await this.#key();
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64'));
      decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
      const text = Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]).toString('utf8');
      return JSON.parse(text) as Plain;
    } catch {
      throw terminal(`cannot decrypt vault file ${this.#options.path}: wrong key`, { fix: 'use the key the vault was created with (AXE_VAULT_KEY or the key file)' });
    }
  }

  async #write(plain: Plain): Promise<void> {
    const { key, kdf } = await this.#key();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(plain), 'utf8'), cipher.final()]);
    const envelope: Envelope = { format: FORMAT, kdf, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
    await mkdir(dirname(this.#options.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.#options.path}.${process.pid}.tmp`;
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(envelope));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(tmp, 0o600);
    await rename(tmp, this.#options.path);
  }

  async #withLock<T>(fn: () => Promise<T>): Promise<T> {
    const lock = `${this.#options.path}.lock`;
    await mkdir(dirname(lock), { recursive: true, mode: 0o700 });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const handle = await open(lock, 'wx', 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (await staleLock(lock)) continue;
        if (Date.now() > deadline) throw transient(`vault file ${this.#options.path} is locked by another axe process`, { fix: `wait, or remove ${lock} if no axe process is running` });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    try {
      return await fn();
    } finally {
      await rm(lock, { force: true });
    }
  }
}

async function staleLock(lock: string): Promise<boolean> {
  try {
    const pid = Number((await readFile(lock, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return false;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') {
      await rm(lock, { force: true });
      return true;
    }
    return false;
  }
}
