/**
 * What every CLI command that acts on a customer (`--apply`) does first: it
 * becomes that customer's one writer. It refuses a config checkout other
 * than the revision the controller runs (naming both), unless told to, and
 * takes the customer's lease (controller/lease.ts) that the controller takes
 * for its reconciles: while the controller (or another command) changes the
 * customer, the command waits up to `--lock-wait` or stops naming the holder.
 */
import { terminal } from '../core/errors.js';
import { controllerPaths, parseDuration } from '../controller/config.js';
import { History } from '../controller/history.js';
import { describeHolder, waitLease } from '../controller/lease.js';
import { checkoutAt } from './checkout.js';
import { progress } from './output.js';
import { loadSettings, resolveRepo } from './settings.js';

export interface WriterCliOptions {
  repo?: string;
  config?: string;
  /** How long to wait for another writer of the customer (`--lock-wait 5m`; default: do not wait). */
  lockWait?: string;
  /** Act on this checkout even when it is not the revision the controller runs. */
  revisionMismatchOk?: boolean;
}

/** Refuses a checkout whose HEAD (or uncommitted change) is not the controller's applied revision. */
async function checkRevision(history: History, root: string, mismatchOk: boolean): Promise<void> {
  const applied = history.lastGoodRevision();
  if (!applied) return;
  const { head, dirty } = await checkoutAt(root);
  if (head === applied.id && !dirty) return;
  if (mismatchOk) {
    progress(`note: acting on ${root} at ${head ? head.slice(0, 12) : 'no git revision'}${dirty ? ' with uncommitted changes' : ''}, not the controller's revision ${applied.id.slice(0, 12)} (--revision-mismatch-ok)`);
    return;
  }
  throw terminal(
    `the checkout ${root} is at ${head ? head.slice(0, 12) : 'no git revision'}${dirty ? ' with uncommitted changes' : ''}, but the controller runs ${applied.id.slice(0, 12)}${applied.subject ? ` (${applied.subject})` : ''}`,
    { fix: `merge the change so the controller applies it, or check out ${applied.id.slice(0, 12)}; pass --revision-mismatch-ok to act on this checkout anyway (the controller will put its revision back)` },
  );
}

/** Runs `act` as the customer's one writer; the lease is released when it ends, however it ends. */
export async function asWriter<T>(customer: string, command: string, options: WriterCliOptions, act: () => Promise<T>): Promise<T> {
  const waitMs = options.lockWait === undefined ? 0 : parseDuration(options.lockWait);
  const settings = await loadSettings(options);
  const history = History.open(controllerPaths(settings.config, settings.home).history);
  try {
    await checkRevision(history, resolveRepo(options, settings), Boolean(options.revisionMismatchOk));
    const lease = await waitLease({ history, holder: 'cli', command }, customer, waitMs, (held) => progress(`${customer}: waiting up to ${options.lockWait} for ${describeHolder(held)}`));
    try {
      return await act();
    } finally {
      lease.release();
    }
  } finally {
    history.close();
  }
}
