/**
 * The detached vault emulator process that `axe lab up` starts:
 * `node main.js --state-dir <stateDir> --port <port>`. It serves
 * `<stateDir>/vault/items.json` with the master password read from
 * `<stateDir>/vault/master-password`, and stops cleanly on SIGTERM / SIGINT.
 * A `BW_SESSION` in its environment (the live session of the state) starts it
 * unlocked, as with `bw serve`; it is removed from the environment at once.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Secret } from '../../core/secret.js';
import { startVaultEmulator } from './server.js';

const { values } = parseArgs({ options: { 'state-dir': { type: 'string' }, port: { type: 'string' } } });
const stateDir = values['state-dir'];
if (!stateDir) {
  process.stderr.write('usage: main --state-dir <dir> [--port <port>]\n');
  process.exit(2);
}
const dir = join(stateDir, 'vault');
const password = new Secret((await readFile(join(dir, 'master-password'), 'utf8')).replace(/\r?\n$/, ''));
const session = process.env.BW_SESSION ? new Secret(process.env.BW_SESSION) : undefined;
delete process.env.BW_SESSION;
const emulator = await startVaultEmulator({ dir, port: Number(values.port ?? 18789), password, ...(session ? { session } : {}) });
process.stdout.write(`${JSON.stringify({ msg: 'vault emulator listening', url: emulator.url, pid: process.pid })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await emulator.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
