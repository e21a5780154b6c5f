/**
 * One controller per state directory: `controller.pid` holds the running
 * controller's pid. A file naming a live process refuses the start (naming
 * the pid and the fix); a stale one (its process gone) is taken over.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { terminal } from '../core/errors.js';

/** True while a process with this pid exists (one of another user's counts too). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class PidLock {
  readonly #path: string;
  readonly #stateDir: string;
  #held = false;

  constructor(path: string, stateDir: string) {
    this.#path = path;
    this.#stateDir = stateDir;
  }

  async acquire(): Promise<void> {
    await mkdir(this.#stateDir, { recursive: true, mode: 0o700 });
    const held = await readFile(this.#path, 'utf8').catch(() => null);
    const pid = held ? Number(held.trim()) : NaN;
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      if (pidAlive(pid)) throw terminal(`another controller (pid ${pid}) uses ${this.#stateDir}`, { fix: 'stop it first, or give this one another state_dir' });
    }
    await writeFile(this.#path, `${process.pid}\n`, { mode: 0o600 });
    this.#held = true;
  }

  async release(): Promise<void> {
    if (!this.#held) return;
    const held = await readFile(this.#path, 'utf8').catch(() => null);
    if (held?.trim() === String(process.pid)) await rm(this.#path, { force: true });
    this.#held = false;
  }
}
