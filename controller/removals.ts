/**
 * A customer that left customers.yaml: forgotten (status, metrics, queue),
 * and torn down only when the revision that last declared it had
 * `policy.prune` on (mode apply, not suspended): then reconcilers/prune.ts
 * removes its stacks, env and credentials files, cloudflared, its DNS records
 * and tunnel. Vault items and the customer's own Vaultwarden stay. Recorded
 * in the history either way.
 *
 * Rules:
 * - A prune intent is written before the prune starts and cleared when it
 *   ends; one cut short by a restart starts again at the next revision.
 * - A customer known to the history but absent from the revision (removed
 *   while the controller was down) is removed too, with the policy of the
 *   revision its status rows name.
 */
import { errorLine } from '../core/errors.js';
import { pruneCustomer, prunesOnRemoval } from '../reconcilers/prune.js';
import type { ReconcileEnv } from '../reconcilers/runtime.js';
import type { DesiredState } from '../schemas/repo.js';
import type { History } from './history.js';
import { short } from './record-result.js';
import { PRUNE_KIND, type Recorder } from './recorder.js';

export interface RemovalsDeps {
  history: History;
  recorder: Recorder;
  /** The applied revision's id (what the removal events carry). */
  revision(): string | null;
  /** An older revision's desired state (null when it does not load). */
  load(id: string): Promise<DesiredState | null>;
  buildEnv(state: DesiredState, revision: string | null): ReconcileEnv;
  /** The customer leaves the queue and the running drift scan. */
  forget(id: string): void;
  /** Keeps background work for `settled()`. */
  track(work: Promise<void>): void;
}

export class Removals {
  readonly #deps: RemovalsDeps;

  constructor(deps: RemovalsDeps) {
    this.#deps = deps;
  }

  /**
   * After a revision is applied: prunes a restart cut short, the customers it
   * removed, and the ones the history knows that it does not declare.
   */
  afterRevision(declared: ReadonlyMap<string, string>, removed: readonly string[], previous: { id: string; state: DesiredState } | null): void {
    const history = this.#deps.history;
    // Prunes a restart cut short (before the removals below write their own intents).
    const resumed = new Set<string>();
    for (const intent of history.intents()) {
      if (intent.kind !== PRUNE_KIND || declared.has(intent.customer) || removed.includes(intent.customer) || resumed.has(intent.customer)) continue;
      resumed.add(intent.customer);
      this.#deps.track(this.#prune(intent.customer, intent.revision, null));
    }
    for (const id of removed) this.#remove(id, previous);
    // Customers known to the history but not in this revision (removed while the controller was down).
    for (const id of history.customersWithStatus()) if (!declared.has(id) && !removed.includes(id) && !resumed.has(id)) this.#remove(id, null);
  }

  #remove(id: string, previous: { id: string; state: DesiredState } | null): void {
    // The revision that last declared the customer: the previous one, or (removed while the controller was down) its status rows'.
    const declaredIn = previous?.id ?? this.#deps.history.resources(id).find((r) => r.revision)?.revision ?? null;
    this.#deps.forget(id);
    this.#deps.recorder.customerRemoved(id, declaredIn);
    this.#deps.track(this.#prune(id, declaredIn, previous?.state ?? null));
  }

  async #prune(id: string, declaredIn: string | null, known: DesiredState | null): Promise<void> {
    const { recorder } = this.#deps;
    const revision = this.#deps.revision();
    const done = (message: string): void => recorder.removalDone(id, revision, message);
    try {
      let state = known;
      if (!state && declaredIn) {
        state = await this.#deps.load(declaredIn);
        if (!state) return done(`customer ${id} left customers.yaml; the revision that last declared it (${short(declaredIn)}) does not load, so its policy is unknown: nothing torn down`);
      }
      const policy = state?.customers.customers[id]?.policy;
      const at = declaredIn ? ` (as declared at ${short(declaredIn)})` : '';
      recorder.log.warn({ customer: id, prune: Boolean(policy?.prune) }, 'customer removed from the desired state');
      if (!state || !policy?.prune) return done(`customer ${id} left customers.yaml; its tunnel, DNS, stacks and vault items are left in place (pruning is off${declaredIn ? ` in ${short(declaredIn)}` : ''})`);
      if (!prunesOnRemoval(state, id)) {
        return done(`customer ${id} left customers.yaml; pruning is on but the customer was ${policy.suspend ? 'suspended' : 'observe-only'}${at}: nothing torn down`);
      }
      const result = await pruneCustomer(this.#deps.buildEnv(state, declaredIn), id, {
        apply: true,
        onAction: (a) => recorder.log.info({ customer: id, kind: a.kind, op: a.op, target: a.target }, 'prune'),
      });
      for (const a of result.applied) recorder.pruneStep(id, revision, a);
      // When it stopped, the intent stays: the next start tries again.
      if (result.error) return recorder.pruneFailed(id, revision, `pruning ${id} stopped: ${result.error}`, result.error);
      done(`customer ${id} left customers.yaml and was pruned${at}: ${result.applied.length} step(s) (stacks down, cloudflared removed, DNS and tunnel deleted); vault items, its own vault and data volumes stay`);
    } catch (error) {
      recorder.pruneFailed(id, revision, `pruning ${id} failed: ${errorLine(error)}`, error);
    }
  }
}
