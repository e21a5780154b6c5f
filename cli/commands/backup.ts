/**
 * `axe backup now C`: one snapshot of the customer's data now, on its host.
 * `axe backup verify C [--snapshot ID]`: a restore drill on the host (restic
 * check, restore into scratch, volumes read back, dumps loaded into a
 * throwaway database container, scratch removed); the result is recorded on
 * the host (~/.axe/backup/last-verify), where the backup kind, status and the
 * metrics read it. Both need the backup set up (axe apply C --apply).
 */
import { terminal } from '../../core/errors.js';
import type { HostConnection } from '../../providers/host/ssh.js';
import { backupItems } from '../../reconcilers/backup/host.js';
import { runSnapshot, runVerify } from '../../providers/host/backup-run.js';
import { trap } from '../../reconcilers/traps.js';
import { line, printJson, progress, stepTicker } from '../output.js';
import { asWriter, type WriterCliOptions } from '../writer.js';
import { openEnv } from './reconcile.js';

export interface BackupCliOptions extends WriterCliOptions {
  json?: boolean;
  snapshot?: string;
}

async function onHost<T>(customer: string, command: string, options: BackupCliOptions, work: (connection: HostConnection) => Promise<T>): Promise<T> {
  const env = await openEnv(options);
  const entry = env.state.customers.customers[customer];
  if (!entry) throw terminal(`customer ${customer} is not in customers.yaml`, { customer, fix: trap('customer-entry-missing', { customer }).fix });
  if (!backupItems(env.state.customers, env.state.manifests, customer)) {
    throw terminal(`${customer} has no backup: none of its services' manifests has a backup: block`, { customer, fix: 'add backup: { volumes: [...], dumps: [...] } to the manifest of the service that holds its data' });
  }
  try {
    const connection = await env.providers.hosts.connection(env.providers.hosts.target(entry.tailscale_host, entry.ssh_user));
    return await asWriter(customer, command, options, () => work(connection));
  } finally {
    env.providers.hosts.close();
  }
}

/** Progress on stderr while a long step runs (a line every 10 s). */
async function withTicker<T>(key: string, text: string, work: () => Promise<T>): Promise<T> {
  const ticker = stepTicker();
  ticker.start(key, text);
  try {
    return await work();
  } finally {
    ticker.stopAll();
  }
}

export async function backupNow(customer: string, options: BackupCliOptions): Promise<number> {
  const result = await onHost(customer, `axe backup now ${customer}`, options, (connection) => withTicker(customer, `${customer}: taking a snapshot on the host`, () => runSnapshot(connection, customer, 'now')));
  if (options.json) printJson({ customer, snapshot: result.id, durationMs: result.durationMs });
  else line(`${customer}: snapshot ${result.id} taken in ${(result.durationMs / 1000).toFixed(1)} s`);
  return 0;
}

export async function backupVerify(customer: string, options: BackupCliOptions): Promise<number> {
  const snapshot = options.snapshot ?? null;
  if (snapshot !== null && !/^[0-9a-f]{4,64}$/.test(snapshot)) throw terminal(`--snapshot ${snapshot} is not a snapshot id`, { fix: 'give a hex id from restic snapshots (8 characters are enough), or leave it out for the newest' });
  const result = await onHost(customer, `axe backup verify ${customer}`, options, (connection) =>
    withTicker(customer, `${customer}: restore drill of ${snapshot ?? 'the newest snapshot'} (check, restore into scratch, load the dumps)`, () => runVerify(connection, snapshot, 'axe')),
  );
  if (!options.json) for (const step of result.steps) progress(`${customer}: ${step}`);
  if (options.json) printJson({ customer, ...result });
  else if (result.ok) line(`${customer}: restore drill passed in ${(result.durationMs / 1000).toFixed(1)} s: ${result.detail}`);
  else line(`${customer}: restore drill FAILED: ${result.detail}`);
  return result.ok ? 0 : 1;
}
