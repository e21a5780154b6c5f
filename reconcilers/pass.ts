/**
 * One reconcile of one customer, owned by the engine (engine.ts): what the
 * kinds of that pass share, and nothing outlives it. No module keeps per-pass
 * state; a kind that needs some keeps it in its scratch area here.
 *
 * - `scan`: the scan's view (shared by every customer of the scan);
 * - `results`: each kind's result, set by the engine once the kind is done
 *   (a kind reads those of the kinds it depends on, never its own);
 * - `scratch(kind)`: a kind's own per-pass area (e.g. what the stack's actions
 *   told about the host), created on first use;
 * - the host change clock: when the last action of a kind that changes the
 *   host ended, so a host read made after it counts as fresh (`fresh`).
 */
import type { SshTarget } from '../providers/host/ssh.js';
import type { Read, Scan } from './scan.js';
import type { Kind, ResourceResult } from './types.js';

export class Pass {
  readonly startedAt = Date.now();
  readonly results = new Map<Kind, ResourceResult>();
  readonly #scratch = new Map<Kind, unknown>();
  #hostChangedAt = 0;

  constructor(readonly scan: Scan) {}

  /** The kind's scratch area for this pass, made by `make` on first use. */
  scratch<T>(kind: Kind, make: () => T): T {
    if (!this.#scratch.has(kind)) this.#scratch.set(kind, make());
    return this.#scratch.get(kind) as T;
  }

  /** Called when an action of a kind that changes the host ended (failed ones too: they may have changed it). */
  hostChanged(): void {
    this.#hostChangedAt = Date.now();
  }

  /**
   * The read is a read of the host at `target` made in this pass after the
   * last change this pass made there. Only host reads are clocked: any other
   * read (the vault, Cloudflare) is never fresh, it is read again.
   */
  fresh(target: SshTarget, read: Read): boolean {
    return this.scan.hostReadSince(target, read, Math.max(this.startedAt, this.#hostChangedAt));
  }
}
