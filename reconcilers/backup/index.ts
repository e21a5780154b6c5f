/**
 * The backup reconciler: per customer whose services' manifests have a
 * `backup:` block, a restic repository on the host with its password (the
 * vault item vault-items generates, pushed 0600), the scripts and
 * backup.conf, the host's own schedule, and a snapshot younger than max_age
 * (the first one, or a new one when the newest is stale). Its observation
 * rides in the host's one batched round trip.
 */
import { terminal } from '../../core/errors.js';
import { hostReachable, hostSectionOutput } from '../host-read.js';
import { DEFAULT_BACKUP } from '../env.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { BACKUP_DIR, type BackupDesired, type BackupObserved, type BackupPayload, diffBackup, healthBackup } from './diff.js';
import { backupItems, desiredBackup, observeScript, parseObservation } from './host.js';
import { runInit, runInstallSchedule, runSnapshot } from '../../providers/host/backup-run.js';

export const BACKUP_SECTION = 'backup';

export function backupDesired(ctx: CustomerContext): BackupDesired | null {
  const s = ctx.env.settings.backup ?? DEFAULT_BACKUP;
  return desiredBackup({
    customer: ctx.id,
    customers: ctx.env.state.customers,
    manifests: ctx.env.state.manifests,
    toolPaths: ctx.env.providers.hosts.toolPaths,
    offsite: s.offsite?.repository ?? null,
    intervalMinutes: s.interval_minutes,
    verifyEveryDays: s.verify_every_days,
  });
}

export const backupReconciler: ResourceReconciler<BackupDesired, BackupObserved, BackupPayload> = {
  kind: 'backup',
  dependsOn: ['host', 'vault-items'],
  desired: backupDesired,
  hostSection(ctx) {
    if (!backupItems(ctx.env.state.customers, ctx.env.state.manifests, ctx.id)) return null;
    return { name: BACKUP_SECTION, script: observeScript(ctx.env.providers.hosts.toolPaths) };
  },
  async observe(ctx, desired) {
    const output = await hostSectionOutput(ctx, BACKUP_SECTION, 'backup');
    const entry = (await ctx.env.scan.vault()).find((e) => e.name === desired.passwordItem);
    return { ...parseObservation(output, entry?.digest ?? null), maxAgeMs: desired.maxAgeMs };
  },
  diff: diffBackup,
  health: healthBackup,
  async act(ctx, desired, action) {
    hostReachable(ctx, 'backup');
    const connection = await ctx.env.providers.hosts.connection(ctx.target);
    switch (action.op) {
      case 'push-files':
        for (const file of desired.files) await connection.writeFile(`~/${BACKUP_DIR}/${file.path}`, file.text, file.mode);
        return;
      case 'push-password': {
        const value = await ctx.env.providers.vault.get(desired.passwordItem);
        if (!value) throw terminal(`${desired.passwordItem} is not in the vault`, { customer: ctx.id, resource: 'backup', fix: 'let vault-items generate it (axe apply), or push one: axe secret push ' + desired.passwordItem });
        await connection.writeFile(`~/${BACKUP_DIR}/password`, value.reveal(), 0o600);
        return;
      }
      case 'init-repo':
        await runInit(connection, ctx.id);
        return;
      case 'install-schedule':
        await runInstallSchedule(connection, ctx.id, desired.scheduleHash);
        return;
      case 'snapshot':
        await runSnapshot(connection, ctx.id, action.payload.reason ?? 'now');
        return;
      default:
        throw terminal(`unknown backup action ${action.op}`, { customer: ctx.id, resource: 'backup' });
    }
  },
  reads: ['host', 'vault'],
};
