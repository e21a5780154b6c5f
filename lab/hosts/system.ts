/**
 * The machine-level side of lab hosts: Unix users (useradd / userdel) and the
 * processes that belong to a host (its sshd and its user's sessions).
 *
 * Rules:
 * - Users are created and deleted one at a time (useradd and userdel lock
 *   /etc/passwd; a concurrent call fails), retried a few times when another
 *   process holds the lock.
 * - A process is stopped by its PID only, and only when it is the lab's: an
 *   sshd whose command line names a config file under the lab's hosts folder,
 *   one of its descendants, or a process running as a lab host user.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
}

export interface ProcessEntry {
  pid: number;
  ppid: number;
  uid: number;
  cmdline: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

let userDbQueue: Promise<unknown> = Promise.resolve();

/** Runs one user-database command after the previous one, retrying while /etc/passwd is locked elsewhere. */
function userDb(command: string, args: string[]): Promise<void> {
  const next = userDbQueue.then(async () => {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 6; attempt += 1) {
      try {
        await run(command, args);
        return;
      } catch (error) {
        lastError = error;
        await sleep(100 * (attempt + 1));
      }
    }
    const stderr = String((lastError as { stderr?: string }).stderr ?? '').trim().split('\n')[0];
    throw new Error(`${command} ${args.at(-1) ?? ''} failed: ${stderr || (lastError as Error).message}`);
  });
  userDbQueue = next.catch(() => undefined);
  return next;
}

export async function readUsers(): Promise<UserEntry[]> {
  const text = await readFile('/etc/passwd', 'utf8');
  const users: UserEntry[] = [];
  for (const line of text.split('\n')) {
    const [name, , uid, gid, gecos, home] = line.split(':');
    if (!name || uid === undefined || gid === undefined || home === undefined) continue;
    users.push({ name, uid: Number(uid), gid: Number(gid), gecos: gecos ?? '', home });
  }
  return users;
}

export async function findUser(name: string): Promise<UserEntry | null> {
  return (await readUsers()).find((u) => u.name === name) ?? null;
}

/**
 * Creates a key-only login user with its home (from `skel`), in the `docker`
 * group. The password field is `*`: no password can match it, yet the account
 * is not locked (sshd with UsePAM no refuses a locked `!` account even for keys).
 */
export async function createUser(name: string, marker: string, skel: string): Promise<UserEntry> {
  // `-p '*'` is what `usermod -p '*'` would set, in the same useradd call (half the /etc/passwd locking).
  await userDb('useradd', ['-m', '-k', skel, '-s', '/bin/bash', '-G', 'docker', '-p', '*', '-c', marker, name]);
  const entry = await findUser(name);
  if (!entry) throw new Error(`useradd ${name} left no user`);
  return entry;
}

/** Deletes the user, its group and its home. Its processes must be stopped first. */
export async function deleteUser(entry: UserEntry): Promise<void> {
  if (await findUser(entry.name)) await userDb('userdel', ['-r', entry.name]).catch(async (error: Error) => {
    // userdel exits non-zero for a missing mail spool yet deletes the user; only a user still there is a failure.
    if (await findUser(entry.name)) throw error;
  });
  if (entry.home === `/home/${entry.name}`) await rm(entry.home, { recursive: true, force: true });
}

export async function listProcesses(): Promise<ProcessEntry[]> {
  const entries: ProcessEntry[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = await readFile(`/proc/${name}/status`, 'utf8');
      const cmdline = (await readFile(`/proc/${name}/cmdline`, 'utf8')).replace(/\0/g, ' ').trim();
      const ppid = Number(status.match(/^PPid:\s+(\d+)/m)?.[1] ?? -1);
      const uid = Number(status.match(/^Uid:\s+(\d+)/m)?.[1] ?? -1);
      entries.push({ pid: Number(name), ppid, uid, cmdline });
    } catch {
      // The process ended while we looked.
    }
  }
  return entries;
}

/** The pids and all their descendants in `table`. */
export function withDescendants(table: ProcessEntry[], roots: number[]): number[] {
  const found = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of table) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/** True while the process runs (a zombie waiting for its parent counts as gone). */
export async function alive(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  return status !== null && !/^State:\s+Z/m.test(status);
}

async function anyAlive(pids: number[]): Promise<boolean> {
  return (await Promise.all(pids.map(alive))).some(Boolean);
}

/** SIGTERM, then SIGKILL for whatever is still there after `graceMs`. */
export async function stopPids(pids: number[], graceMs = 2000): Promise<void> {
  const targets = pids.filter((pid) => pid > 1 && pid !== process.pid);
  for (const pid of targets) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + graceMs;
  while ((await anyAlive(targets)) && Date.now() < deadline) await sleep(25);
  for (const pid of targets) {
    if (!(await alive(pid))) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  while ((await anyAlive(targets)) && Date.now() < deadline + 2000) await sleep(25);
}

export async function ensurePrivsepDir(): Promise<void> {
  // Debian's sshd refuses to start without its privilege separation directory.
  await run('install', ['-d', '-m', '0755', '/run/sshd']);
}
