/**
 * The snapshot gate before a migrating hook (the stack kind's `snapshot`
 * action, first in a release's chain): the customer's backup is made ready
 * when it is not yet (scripts, password, repository: never over an
 * unreadable one), then one snapshot is taken and waited for. Any failure
 * throws, so the release stops before it changes anything: the old release
 * keeps serving and the error names the reason. At reconcilers/ level, so
 * the stack kind calls the backup kind's observation and actions through it
 * without importing the backup kind.
 */
import { AxeError, terminal } from '../core/errors.js';
import { runSections } from '../providers/host/sections.js';
import type { CustomerContext } from './runtime.js';
import { trap } from './traps.js';
import { diffBackup } from './backup/diff.js';
import { observeScript, parseObservation } from './backup/host.js';
import { backupDesired, backupReconciler } from './backup/index.js';
import { runSnapshot } from '../providers/host/backup-run.js';

export async function gateSnapshot(ctx: CustomerContext, service: string, hooks: readonly string[]): Promise<string> {
  const stop = (reason: string, fix: string): AxeError =>
    terminal(`${service}: release stopped before the migrating hook ${hooks.join(', ')}: ${reason}; left: the running release untouched, still serving`, { customer: ctx.id, resource: 'stack', fix });
  const desired = backupDesired(ctx);
  if (!desired) throw stop('the customer has no backup (no backup: block in its manifests)', `add a backup: block to services/${service}.yaml`);
  const connection = await ctx.env.providers.hosts.connection(ctx.target);
  const sections = await runSections(connection, [{ name: 'backup', script: observeScript(ctx.env.providers.hosts.toolPaths) }]);
  const digest = (await ctx.env.scan.vault()).find((e) => e.name === desired.passwordItem)?.digest ?? null;
  const observed = parseObservation(sections.get('backup')?.output ?? '', digest);
  if (!observed.restic) throw stop('restic is not installed on the host', trap('host-restic-missing').fix);
  if (observed.repo.state === 'unreadable') {
    throw stop(`no snapshot: restic cannot read the backup repository (${observed.repo.error})`, trap('backup-repo-unreadable', { customer: ctx.id, item: desired.passwordItem, detail: observed.repo.error }).fix);
  }
  for (const action of diffBackup(desired, observed)) {
    if (action.op === 'push-files' || action.op === 'push-password' || action.op === 'init-repo') await backupReconciler.act(ctx, desired, action);
  }
  try {
    return (await runSnapshot(connection, ctx.id, 'pre-release')).id;
  } catch (error) {
    throw stop(`the snapshot failed: ${error instanceof Error ? error.message.replace(/^snapshot failed: /, '') : String(error)}`, `fix the backup (axe backup now ${ctx.id} shows the reason), then deploy again`);
  }
}
