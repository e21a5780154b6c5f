/**
 * `/readyz`: a good revision loaded, the providers reachable, and (vault
 * provider `vaultwarden`) the operator's bw outside the crash range against
 * the OIDCWarden fork. A failing check carries its trap and fix.
 *
 * Rules: the vault's answer is cached 30 s (5 s to answer); the bw version
 * check runs at start and again when older than 10 min; a bad bw is logged
 * once per version and raises OperatorBwUnusable (`onBwUnusable`).
 */
import { errorLine } from '../core/errors.js';
import type { Providers } from '../providers/index.js';
import { checkOperatorBw, type OperatorBwCheck } from '../providers/vault/operator-bw.js';
import type { VaultConfig } from '../schemas/controller-config.js';
import type { Logger } from './logger.js';
import { short } from './record-result.js';

/** One `/readyz` check; a failing one may carry the runbook trap and its fix. */
export interface ReadinessCheck {
  ok: boolean;
  detail: string;
  trap?: string;
  fix?: string;
}

/** How long a verdict on the operator's bw stands before `/readyz` runs `bw --version` again. */
const BW_RECHECK_MS = 10 * 60_000;

export interface ReadinessInputs {
  running: string | null;
  rejected: boolean;
  providers: Providers | null;
  lastFetchError: string | null;
}

export class Readiness {
  readonly #vault: VaultConfig;
  readonly #bwMaxVersion: string | null;
  readonly #log: Logger;
  readonly #onBwUnusable: () => void;
  #vaultCheck: { ok: boolean; at: number; error: string | null } | null = null;
  #bwCheck: { result: Promise<OperatorBwCheck | null>; at: number } | null = null;
  #bwLast: OperatorBwCheck | null = null;

  constructor(options: { vault: VaultConfig; bwMaxVersion: string | null; log: Logger; onBwUnusable(): void }) {
    this.#vault = options.vault;
    this.#bwMaxVersion = options.bwMaxVersion;
    this.#log = options.log;
    this.#onBwUnusable = options.onBwUnusable;
  }

  /** The last bw verdict (null before the first, or without the vaultwarden provider). */
  get bw(): OperatorBwCheck | null {
    return this.#bwLast;
  }

  /** Resolves when the running bw check is done. */
  async idle(): Promise<void> {
    await this.#bwCheck?.result;
  }

  async check(input: ReadinessInputs): Promise<{ ready: boolean; checks: Record<string, ReadinessCheck> }> {
    const checks: Record<string, ReadinessCheck> = {};
    checks.revision = input.running ? { ok: true, detail: short(input.running) } : { ok: false, detail: input.rejected ? 'newest revision rejected and no good one yet' : 'no revision loaded yet' };
    const providers = input.providers;
    if (!providers) {
      checks.providers = { ok: false, detail: 'not opened' };
    } else {
      checks.cloudflare = providers.cloudflare ? { ok: true, detail: 'configured' } : { ok: false, detail: providers.cloudflareError ? errorLine(providers.cloudflareError) : 'not configured' };
      const now = Date.now();
      if (!this.#vaultCheck || now - this.#vaultCheck.at > 30_000) {
        try {
          await Promise.race([providers.vault.list(), new Promise((_, reject) => setTimeout(() => reject(new Error('vault did not answer within 5 s')), 5_000).unref())]);
          this.#vaultCheck = { ok: true, at: now, error: null };
        } catch (error) {
          this.#vaultCheck = { ok: false, at: now, error: errorLine(error) };
        }
      }
      checks.vault = { ok: this.#vaultCheck.ok, detail: this.#vaultCheck.error ?? `${providers.vault.kind} answers` };
    }
    if (input.lastFetchError) checks.git = { ok: input.running !== null, detail: input.lastFetchError };
    const bw = await (this.#bwCheck && Date.now() - this.#bwCheck.at <= BW_RECHECK_MS ? this.#bwCheck.result : this.checkBw());
    if (bw) checks.bw = { ok: bw.ok, detail: bw.detail, ...(bw.trap ? { trap: bw.trap.trap } : {}), ...(bw.fix ? { fix: bw.fix } : {}) };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  /** Runs the operator's bw version check; warns (and raises OperatorBwUnusable) once per bad version. */
  checkBw(): Promise<OperatorBwCheck | null> {
    const result = checkOperatorBw(this.#vault, this.#bwMaxVersion).catch((error: unknown) => {
      this.#log.warn({ err: error }, 'operator bw check failed');
      return null;
    });
    this.#bwCheck = { result, at: Date.now() };
    void result.then((check) => {
      const before = this.#bwLast;
      this.#bwLast = check;
      if (!check) return;
      if (check.ok) {
        if (before && !before.ok) this.#log.info({ bw: check.path, version: check.version }, 'operator bw fixed');
        return;
      }
      if (before && !before.ok && before.version === check.version) return;
      this.#log.warn({ bw: check.path, version: check.version, trap: check.trap?.trap ?? null, fix: check.fix }, 'operator bw unusable');
      this.#onBwUnusable();
    });
    return result;
  }
}
