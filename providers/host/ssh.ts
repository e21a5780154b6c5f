/**
 * SSH to the customers' Mac minis (ssh2). One connection per host, reused for
 * every command of a scan; host keys verified against the pinned known_hosts
 * (unknown or changed key: a terminal error naming the fix); secrets and files
 * go over stdin, never on a command line.
 *
 * Errors are classified here, once: unreachable / timeout / reset are
 * transient (the Mac mini may be asleep); key refused and host-key problems
 * are terminal and carry their trap.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { AxeError, terminal, transient } from '../../core/errors.js';
import { hostPath, shellQuote } from './commands/quote.js';
import { hostPatterns, type PinnedKey, verifyHostKey, type HostKeyVerdict } from './known-hosts.js';

export interface SshTarget {
  /** The name the host is known by (the MagicDNS FQDN): used for known_hosts and messages. */
  name: string;
  /** Where to connect: the name itself, or an override (the lab: 127.0.0.1). */
  address: string;
  port: number;
  user: string;
}

export interface SshCredentials {
  privateKey: Buffer;
  knownHosts: PinnedKey[];
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  stdin?: string | Buffer;
  timeoutMs?: number;
}

export interface SessionOptions {
  /**
   * Shell run once, in the session's own shell, when the session opens: the
   * variables it sets are what every later script sees of this connection
   * (the OS, read once per connection: a reboot ends the connection).
   */
  init?: string;
  timeoutMs?: number;
}

/** The connection's kept shell: one `/bin/sh -s` session channel, one script at a time. */
interface KeptShell {
  stream: ClientChannel;
  busy: boolean;
  /** Called with each chunk (stdout, stderr) and when the channel ends. */
  listener: ((kind: 'out' | 'err' | 'end', text: string) => void) | null;
}

/** Counters for benchmarks and metrics. */
export interface SshStats {
  connections: number;
  roundTrips: number;
}

export class HostConnection {
  readonly target: SshTarget;
  readonly stats: SshStats = { connections: 1, roundTrips: 0 };
  readonly #client: Client;
  #closed = false;
  #shell: Promise<KeptShell> | null = null;

  constructor(target: SshTarget, client: Client) {
    this.target = target;
    this.#client = client;
    client.on('close', () => {
      this.#closed = true;
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs one command (one round trip). The command is a fixed string; data goes on stdin. */
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.stats.roundTrips += 1;
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      this.#client.exec(command, (error, stream) => {
        if (error) {
          reject(transient(`ssh exec on ${this.target.name} failed: ${error.message}`, { resource: 'host', cause: error }));
          return;
        }
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => {
          stream.close();
          reject(transient(`command on ${this.target.name} timed out after ${timeoutMs} ms`, { resource: 'host' }));
        }, timeoutMs);
        stream.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
        stream.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        stream.on('close', (code: number | null) => {
          clearTimeout(timer);
          resolve({ code: code ?? -1, stdout, stderr });
        });
        stream.end(options.stdin ?? '');
      });
    });
  }

  /**
   * Runs a read-only script in the connection's kept shell: one `/bin/sh -s`
   * session opened on first use and kept with the connection, so a scan starts
   * no session (sshd's fork and a new shell cost ~10 ms of host CPU each) and
   * no shell process on the host; the script runs in a subshell of it
   * (`( … ) </dev/null`: no variable, `cd` or `exit` outlives it, and it reads
   * nothing of the channel). Framed by a random marker on stdout and stderr.
   * While the kept shell is busy (two scans of one host at once), or when it
   * dies mid-script (a syntax error ends a non-interactive sh), the script runs
   * as a plain `exec` instead, with the same result; a script that times out
   * ends the kept shell (the next call opens a new one).
   */
  async session(script: string, options: SessionOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    let shell: KeptShell;
    try {
      this.#shell ??= this.#openShell(options.init ?? '');
      shell = await this.#shell;
    } catch {
      this.#shell = null;
      return this.exec('/bin/sh -s', { stdin: script, timeoutMs });
    }
    if (shell.busy) return this.exec('/bin/sh -s', { stdin: script, timeoutMs });
    this.stats.roundTrips += 1;
    shell.busy = true;
    const marker = `@@axe-end-${randomBytes(8).toString('hex')}`;
    const outcome = await new Promise<ExecResult | 'died' | 'timeout'>((resolve) => {
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      let errDone = false;
      const end = /\n(@@axe-end-[0-9a-f]{16}) (\d+)\n$/;
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      shell.listener = (kind, text) => {
        if (kind === 'end') {
          clearTimeout(timer);
          resolve('died');
          return;
        }
        if (kind === 'out') {
          stdout += text;
          const tail = stdout.length - 64;
          const m = end.exec(stdout.slice(Math.max(0, tail)));
          if (m && m[1] === marker) {
            code = Number(m[2]);
            stdout = stdout.slice(0, Math.max(0, tail) + m.index);
          }
        } else {
          stderr += text;
          if (stderr.endsWith(`${marker}\n`)) {
            errDone = true;
            stderr = stderr.slice(0, -(marker.length + 1));
          }
        }
        if (code !== null && errDone) {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        }
      };
      const body = script.endsWith('\n') ? script : `${script}\n`;
      shell.stream.write(`(\n${body}) </dev/null\nprintf '\\n%s %s\\n' '${marker}' "$?"; printf '%s\\n' '${marker}' >&2\n`);
    });
    shell.listener = null;
    shell.busy = false;
    if (outcome === 'timeout') {
      this.#dropShell(shell);
      throw transient(`command on ${this.target.name} timed out after ${timeoutMs} ms`, { resource: 'host' });
    }
    if (outcome === 'died') {
      this.#dropShell(shell);
      return this.exec('/bin/sh -s', { stdin: script, timeoutMs });
    }
    return outcome;
  }

  #openShell(init: string): Promise<KeptShell> {
    return new Promise((resolve, reject) => {
      this.#client.exec('/bin/sh -s', (error, stream) => {
        if (error) {
          reject(error);
          return;
        }
        const shell: KeptShell = { stream, busy: false, listener: null };
        stream.on('data', (d: Buffer) => shell.listener?.('out', d.toString('utf8')));
        stream.stderr.on('data', (d: Buffer) => shell.listener?.('err', d.toString('utf8')));
        stream.on('close', () => {
          if (this.#current === shell) {
            this.#current = null;
            this.#shell = null;
          }
          shell.listener?.('end', '');
        });
        if (init) stream.write(`${init}\n`);
        this.#current = shell;
        resolve(shell);
      });
    });
  }

  #current: KeptShell | null = null;

  #dropShell(shell: KeptShell): void {
    if (this.#current === shell) {
      this.#current = null;
      this.#shell = null;
    }
    shell.listener = null;
    shell.stream.close();
  }

  /**
   * A stream to a unix socket on the host (OpenSSH's direct-streamlocal
   * channel, on this same connection): no process is started on the host.
   * sshd must allow it (`AllowStreamLocalForwarding`, on by default).
   */
  openUnixSocket(path: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      this.#client.openssh_forwardOutStreamLocal(path, (error, stream) => {
        if (error) {
          const fix = 'check that the docker engine runs on the host and that its sshd allows stream-local forwarding (AllowStreamLocalForwarding yes, the default)';
          reject(transient(`cannot open ${path} on ${this.target.name} over SSH: ${error.message}`, { resource: 'host', fix, cause: error }));
          return;
        }
        resolve(stream);
      });
    });
  }

  /**
   * Writes a file atomically on the host (temp + chmod + rename) with the
   * content on stdin, so a secret never appears in a command line.
   */
  async writeFile(path: string, content: string | Buffer, mode = 0o600): Promise<void> {
    const q = shellQuote(path);
    const script =
      `set -e; p=${q}; case "$p" in "~/"*) p="$HOME/\${p#"~/"}";; esac; d=$(dirname "$p"); mkdir -p "$d"; ` +
      `t="$p.axe-tmp.$$"; umask 077; cat > "$t"; chmod ${mode.toString(8)} "$t"; mv -f "$t" "$p"`;
    const result = await this.exec(`/bin/sh -c ${shellQuote(script)}`, { stdin: content });
    if (result.code !== 0) throw transient(`cannot write ${path} on ${this.target.name}: ${result.stderr.trim().split('\n')[0] ?? ''}`, { resource: 'host' });
  }

  close(): void {
    if (this.#current) this.#dropShell(this.#current);
    if (!this.#closed) this.#client.end();
    this.#closed = true;
  }
}

/** The one quoting function lives in commands/quote.ts; re-exported for the kinds not migrated yet. */
export { hostPath, shellQuote };

/** Opens one verified connection. */
export function connect(target: SshTarget, credentials: SshCredentials, timeoutMs = 10_000): Promise<HostConnection> {
  const patterns = hostPatterns([...new Set([target.name, target.address])], target.port);
  let verdict: HostKeyVerdict | null = null;
  return new Promise((resolve, reject) => {
    const client = new Client();
    const config: ConnectConfig = {
      host: target.address,
      port: target.port,
      username: target.user,
      privateKey: credentials.privateKey,
      readyTimeout: timeoutMs,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer) => {
        verdict = verifyHostKey(credentials.knownHosts, patterns, key);
        return verdict === 'match';
      },
    };
    client.once('ready', () => {
      // No Nagle on the client's side: each exec or engine request otherwise waits out a delayed
      // ACK (measured on loopback: an exec round trip 61 → 13 ms, an engine GET 89 → 46 ms).
      client.setNoDelay(true);
      resolve(new HostConnection(target, client));
    });
    client.once('error', (error: Error & { level?: string; code?: string }) => {
      client.end();
      reject(classify(target, error, verdict));
    });
    client.connect(config);
  });
}

function classify(target: SshTarget, error: Error & { level?: string; code?: string }, verdict: HostKeyVerdict | null): AxeError {
  const where = `${target.user}@${target.name}`;
  if (verdict === 'mismatch') {
    const fix = 'verify the Mac mini was really reinstalled, then replace its line in the pinned known_hosts';
    return terminal(`host key of ${target.name} differs from the pinned one`, { resource: 'host', fix, cause: error, trap: 'ssh-host-key-changed' });
  }
  if (verdict === 'unknown') {
    const fix = `add ${target.name}'s key to the pinned known_hosts (ssh-keyscan -p ${target.port} ${target.address}, verified out of band)`;
    return terminal(`host key of ${target.name} is not pinned`, { resource: 'host', fix, cause: error });
  }
  if (error.level === 'client-authentication') {
    const fix = `add the operator's public key to ~${target.user}/.ssh/authorized_keys on the Mac mini`;
    return terminal(`SSH key refused for ${where}`, { resource: 'host', fix, cause: error, trap: 'ssh-key-refused' });
  }
  if (error.level === 'client-timeout' || error.code === 'ETIMEDOUT') {
    return transient(`SSH to ${where} timed out`, { resource: 'host', fix: 'the Mac mini may be asleep or offline: check Tailscale and `pmset -g`', cause: error, trap: 'host-asleep' });
  }
  return transient(`SSH to ${where} failed (${error.code ?? error.level ?? 'error'})`, { resource: 'host', fix: 'check that the Mac mini is online in the tailnet and sshd runs', cause: error });
}

/** One connection per host, opened on first use and reused for the whole scan. */
export class HostPool {
  readonly #credentials: SshCredentials;
  readonly #open = new Map<string, Promise<HostConnection>>();
  readonly #connections = new Map<string, HostConnection>();

  constructor(credentials: SshCredentials) {
    this.#credentials = credentials;
  }

  get(target: SshTarget): Promise<HostConnection> {
    const key = `${target.user}@${target.address}:${target.port}`;
    const existing = this.#open.get(key);
    const current = this.#connections.get(key);
    if (existing && !current?.closed) return existing;
    const opening = connect(target, this.#credentials).then((c) => {
      const previous = this.#connections.get(key);
      if (previous) c.stats.connections += previous.stats.connections;
      this.#connections.set(key, c);
      return c;
    });
    opening.catch(() => this.#open.delete(key));
    this.#open.set(key, opening);
    return opening;
  }

  stats(): Record<string, SshStats> {
    return Object.fromEntries([...this.#connections].map(([k, c]) => [k, { ...c.stats }]));
  }

  closeAll(): void {
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
    this.#open.clear();
  }
}
