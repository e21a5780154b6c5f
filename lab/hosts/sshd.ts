/**
 * One Debian `sshd` per lab host: its own config, host key, PID file and log
 * under `<stateDir>/hosts/<name>/`, listening on 127.0.0.1:<port>, key-only.
 *
 * The non-login PATH trap comes from `SetEnv PATH=…`: sshd sets PATH for every
 * session and `SetEnv` overrides it, so `ssh host cmd` runs with the curated
 * "system" bin only (verified: a non-login exec sees exactly that PATH), while a
 * login shell (`bash -lc`, `sh -l`) also reads /etc/profile and ~/.profile.
 *
 * Rules: `startSshd` returns once the daemon listens (sshd binds before it
 * daemonizes) and has written its PID file; `stopSshd` stops only a process
 * whose command line names this host's config file.
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ProcessEntry, withDescendants } from './system.js';

const run = promisify(execFile);

export const SSHD = '/usr/sbin/sshd';

export interface SshdFiles {
  config: string;
  hostKey: string;
  pidFile: string;
  log: string;
}

export function sshdFiles(dir: string): SshdFiles {
  return {
    config: join(dir, 'sshd_config'),
    hostKey: join(dir, 'ssh_host_ed25519_key'),
    pidFile: join(dir, 'sshd.pid'),
    log: join(dir, 'sshd.log'),
  };
}

export interface SshdOptions {
  port: number;
  address: string;
  user: string;
  /** The non-login PATH. */
  path: string;
  tmpdir: string;
}

export function sshdConfig(files: SshdFiles, options: SshdOptions): string {
  return [
    '# axe lab host sshd (lab/hosts): key-only, one user, loopback only.',
    `Port ${options.port}`,
    `ListenAddress ${options.address}`,
    `HostKey ${files.hostKey}`,
    `PidFile ${files.pidFile}`,
    `AllowUsers ${options.user}`,
    'AuthorizedKeysFile .ssh/authorized_keys',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PermitRootLogin no',
    'StrictModes yes',
    'PermitUserEnvironment no',
    'X11Forwarding no',
    'PrintMotd no',
    'PrintLastLog no',
    'Subsystem sftp internal-sftp',
    // What a Mac's sshd gives a non-login session: its system dirs, not Homebrew's.
    `SetEnv PATH=${options.path} TMPDIR=${options.tmpdir}`,
    'LogLevel INFO',
    '',
  ].join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** The PID in the PID file, when that process is this host's sshd. */
export async function runningSshd(files: SshdFiles): Promise<number | null> {
  const text = await readFile(files.pidFile, 'utf8').catch(() => null);
  const pid = Number(text?.trim());
  if (!Number.isInteger(pid) || pid <= 1) return null;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes(files.config) ? pid : null;
}

/** Writes the config and starts sshd (when it is not running already). Returns its PID. */
export async function startSshd(files: SshdFiles, options: SshdOptions): Promise<number> {
  await writeFile(files.config, sshdConfig(files, options), { mode: 0o600 });
  const running = await runningSshd(files);
  if (running) return running;
  await rm(files.pidFile, { force: true });
  try {
    await run(SSHD, ['-f', files.config, '-E', files.log]);
  } catch {
    const log = await readFile(files.log, 'utf8').catch(() => '');
    const last = log.trim().split('\n').at(-1) ?? 'no log';
    throw new Error(`sshd on ${options.address}:${options.port} did not start: ${last}`);
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const pid = await runningSshd(files);
    if (pid) return pid;
    await sleep(10);
  }
  throw new Error(`sshd on ${options.address}:${options.port} wrote no PID file (${files.pidFile})`);
}

/**
 * This host's sshd and every process it forked (the per-connection sessions):
 * the listener is found by its PID file and by the config path on its command line.
 */
export async function sshdProcesses(files: SshdFiles, table: ProcessEntry[]): Promise<number[]> {
  const listeners = table.filter((p) => p.cmdline.includes(`-f ${files.config}`)).map((p) => p.pid);
  const fromPidFile = await runningSshd(files);
  if (fromPidFile) listeners.push(fromPidFile);
  return listeners.length > 0 ? withDescendants(table, listeners) : [];
}

/** True when something on `address:port` greets with an SSH-2.0 banner within `timeoutMs`. */
export function sshAnswers(address: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: address, port });
    let received = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\n')) done(received.startsWith('SSH-2.0-'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(received.startsWith('SSH-2.0-')));
  });
}
