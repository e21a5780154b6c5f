/**
 * Where the `bw` session (BW_SESSION, what `bw serve`'s /unlock returns) is
 * kept between commands, so the operator unlocks once (`axe vault login`) and
 * not at every command: the runbook's `security add-generic-password -s
 * axe.vault.session` step, done by the tool.
 *
 * Rules:
 * - A session is kept with an expiry (8 h by default); an expired one reads as
 *   absent (and is removed).
 * - The session is never on a command line, in a log or in an error message.
 * - `keychain` (macOS only) uses `/usr/bin/security`: the value goes on stdin.
 *   `add-generic-password` reads the password from a prompt only when `-w` is
 *   the last option and asks twice (new + retype); the prompt reads /dev/tty
 *   when there is one (readpassphrase(3)), so `security` runs in a new session
 *   without a controlling terminal and gets the value twice on stdin. The
 *   expiry is the item's comment (`-j`), not a secret. An item cached by hand
 *   the runbook's way (no such comment) is trusted for 8 h from its last
 *   modification and is never deleted by axe.
 * - `file` is a 0600 JSON file in a 0700 folder: `$XDG_CONFIG_HOME/axe/`, else
 *   `~/.config/axe/`. A file readable by others is refused, with the fix.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { terminal, transient } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';

export type SessionStoreKind = 'keychain' | 'file';

/** 8 hours: how long `axe vault login` keeps a session. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

/** The runbook's keychain item: `security … -s axe.vault.session`. */
export const KEYCHAIN_SERVICE = 'axe.vault.session';

export interface StoredSession {
  session: Secret;
  expiresAt: Date;
}

export interface SessionStore {
  readonly kind: SessionStoreKind;
  /** Where the session lives (a path, or the keychain item), for messages. Never the value. */
  readonly location: string;
  /** Keeps `session` until now + ttlMs (default 8 h), replacing any previous one. */
  save(session: Secret, ttlMs?: number): Promise<StoredSession>;
  /** The kept session, or null when there is none or it has expired. */
  load(): Promise<StoredSession | null>;
  clear(): Promise<void>;
}

export interface SessionStoreOptions {
  env?: NodeJS.ProcessEnv;
  /** Default process.platform. */
  platform?: NodeJS.Platform;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
  /** file store: the file (default `$XDG_CONFIG_HOME/axe/bw-session.json`). */
  path?: string;
  /** keychain store: the `security` binary (default /usr/bin/security). */
  securityBinary?: string;
  /** keychain store: the item's account (default $USER, else "axe"). */
  account?: string;
  /** keychain store: the item's service (default `axe.vault.session`; a customer vault's: `axe.vault.session.{customer}`). */
  service?: string;
}

/** `$XDG_CONFIG_HOME/axe/bw-session.json`, else `~/.config/axe/bw-session.json`. */
export function defaultSessionFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(base, 'axe', 'bw-session.json');
}

/** Opens the store the config names (`vault.session_store`). */
export function openSessionStore(kind: SessionStoreKind, options: SessionStoreOptions = {}): SessionStore {
  if (kind === 'keychain') {
    if ((options.platform ?? process.platform) !== 'darwin' && !options.securityBinary) {
      throw terminal('the keychain session store exists only on macOS', { fix: 'set vault.session_store: file in the axe config' });
    }
    return new KeychainSessionStore(options);
  }
  return new FileSessionStore(options);
}

const FILE_FORMAT = 'axe-bw-session/v1';

interface SessionFile {
  format: typeof FILE_FORMAT;
  session: string;
  createdAt: string;
  expiresAt: string;
}

export class FileSessionStore implements SessionStore {
  readonly kind = 'file' as const;
  readonly location: string;
  readonly #now: () => number;

  constructor(options: SessionStoreOptions = {}) {
    this.location = options.path ?? defaultSessionFile(options.env);
    this.#now = options.now ?? Date.now;
  }

  async save(session: Secret, ttlMs = SESSION_TTL_MS): Promise<StoredSession> {
    const now = this.#now();
    const expiresAt = new Date(now + ttlMs);
    const body: SessionFile = { format: FILE_FORMAT, session: session.reveal(), createdAt: new Date(now).toISOString(), expiresAt: expiresAt.toISOString() };
    await mkdir(dirname(this.location), { recursive: true, mode: 0o700 });
    const tmp = `${this.location}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, `${JSON.stringify(body)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.location);
    return { session, expiresAt };
  }

  async load(): Promise<StoredSession | null> {
    let mode: number;
    try {
      mode = (await stat(this.location)).mode;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw transient(`cannot read the bw session file ${this.location}`, { cause: error });
    }
    if ((mode & 0o077) !== 0) {
      throw terminal(`the bw session file ${this.location} is readable by others (mode ${(mode & 0o777).toString(8)})`, {
        fix: `rm ${this.location} and run axe vault login again (the session may have leaked: lock the vault with bw lock)`,
      });
    }
    let body: SessionFile;
    try {
      body = JSON.parse(await readFile(this.location, 'utf8')) as SessionFile;
    } catch {
      throw terminal(`the bw session file ${this.location} is not readable JSON`, { fix: `rm ${this.location} and run axe vault login` });
    }
    if (body.format !== FILE_FORMAT || typeof body.session !== 'string') {
      throw terminal(`the bw session file ${this.location} has an unknown format`, { fix: `rm ${this.location} and run axe vault login` });
    }
    const expiresAt = new Date(body.expiresAt);
    if (!(expiresAt.getTime() > this.#now())) {
      await rm(this.location, { force: true });
      return null;
    }
    return { session: new Secret(body.session), expiresAt };
  }

  async clear(): Promise<void> {
    await rm(this.location, { force: true });
  }
}

interface RunResult {
  code: number;
  stdout: string;
}

/** `security` exits 44 (errSecItemNotFound) when the item does not exist. */
const SECURITY_NOT_FOUND = 44;

/** A `"mdat"<timedate>=0x… "20261125175205Z\000"` attribute as epoch ms (NaN when absent). */
function keychainDate(attributes: string, name: string): number {
  const m = new RegExp(`"${name}"<timedate>=[^"]*"(\\d{4})(\\d{2})(\\d{2})(\\d{2})(\\d{2})(\\d{2})Z`).exec(attributes);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : NaN;
}

const EXPIRES_PREFIX = 'axe-expires=';

export class KeychainSessionStore implements SessionStore {
  readonly kind = 'keychain' as const;
  readonly location: string;
  readonly #binary: string;
  readonly #account: string;
  readonly #service: string;
  readonly #now: () => number;

  constructor(options: SessionStoreOptions = {}) {
    this.#binary = options.securityBinary ?? '/usr/bin/security';
    this.#account = options.account ?? options.env?.USER ?? process.env.USER ?? 'axe';
    this.#service = options.service ?? KEYCHAIN_SERVICE;
    this.#now = options.now ?? Date.now;
    this.location = `keychain item ${this.#service} (account ${this.#account})`;
  }

  #run(args: string[], input?: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      // detached: a new session without a controlling terminal, so the -w prompt reads stdin.
      const child = spawn(this.#binary, args, { stdio: ['pipe', 'pipe', 'ignore'], detached: true, timeout: 15_000 });
      let stdout = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => (stdout += chunk));
      child.on('error', (error) => reject(terminal(`cannot run ${this.#binary}`, { fix: 'run axe on macOS, or set vault.session_store: file', cause: error })));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout }));
      child.stdin.on('error', () => undefined);
      child.stdin.end(input ?? '');
    });
  }

  async save(session: Secret, ttlMs = SESSION_TTL_MS): Promise<StoredSession> {
    const value = session.reveal();
    if (/[\r\n]/.test(value)) throw terminal('a bw session must be one line', { fix: 'run axe vault login again' });
    const expiresAt = new Date(this.#now() + ttlMs);
    const args = ['add-generic-password', '-U', '-s', this.#service, '-a', this.#account, '-l', 'axe vault session', '-j', `${EXPIRES_PREFIX}${expiresAt.toISOString()}`, '-w'];
    const { code } = await this.#run(args, `${value}\n${value}\n`);
    if (code !== 0) {
      throw transient(`security add-generic-password failed (exit ${code})`, { fix: 'unlock the login keychain (security unlock-keychain) and run axe vault login again' });
    }
    return { session, expiresAt };
  }

  async load(): Promise<StoredSession | null> {
    const base = ['find-generic-password', '-s', this.#service, '-a', this.#account];
    const attributes = await this.#run(base);
    if (attributes.code === SECURITY_NOT_FOUND) return null;
    if (attributes.code !== 0) {
      throw transient(`security find-generic-password failed (exit ${attributes.code})`, { fix: 'unlock the login keychain (security unlock-keychain)' });
    }
    const comment = /"icmt"<blob>="([^"]*)"/.exec(attributes.stdout)?.[1] ?? '';
    const ours = comment.startsWith(EXPIRES_PREFIX);
    // An item made by hand (the runbook's `security add-generic-password … -w "$BW_SESSION"`) has no
    // expiry of ours: it is trusted for 8 h from its last modification, and never deleted by axe.
    const expiresAt = ours ? new Date(comment.slice(EXPIRES_PREFIX.length)) : new Date(keychainDate(attributes.stdout, 'mdat') + SESSION_TTL_MS);
    if (!(expiresAt.getTime() > this.#now())) {
      if (ours) await this.clear();
      return null;
    }
    const password = await this.#run([...base, '-w']);
    if (password.code === SECURITY_NOT_FOUND) return null;
    if (password.code !== 0) throw transient(`security find-generic-password -w failed (exit ${password.code})`, { fix: 'unlock the login keychain (security unlock-keychain)' });
    const value = password.stdout.replace(/\r?\n$/, '');
    return value === '' ? null : { session: new Secret(value), expiresAt };
  }

  async clear(): Promise<void> {
    const { code } = await this.#run(['delete-generic-password', '-s', this.#service, '-a', this.#account]);
    if (code !== 0 && code !== SECURITY_NOT_FOUND) throw transient(`security delete-generic-password failed (exit ${code})`, { fix: 'unlock the login keychain (security unlock-keychain)' });
  }
}
