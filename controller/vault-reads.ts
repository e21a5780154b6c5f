/**
 * What the controller reads from the operator vault for itself: the git
 * webhook's HMAC secret (cached a minute; null when missing or unreadable)
 * and the notification webhook's URL (`notifications.webhook_url`, or the
 * vault item `webhook_url_secret`; read once).
 */
import type { Secret } from '../core/secret.js';
import type { Providers } from '../providers/index.js';
import type { ControllerConfig } from '../schemas/controller-config.js';
import type { Logger } from './logger.js';

export class VaultReads {
  readonly #config: ControllerConfig;
  readonly #providers: () => Providers | null;
  readonly #log: Logger;
  #webhookSecret: { value: Secret | null; at: number } | null = null;
  #notifyUrl: string | null | undefined;

  constructor(config: ControllerConfig, providers: () => Providers | null, log: Logger) {
    this.#config = config;
    this.#providers = providers;
    this.#log = log;
  }

  async webhookSecret(): Promise<Secret | null> {
    const now = Date.now();
    if (this.#webhookSecret && now - this.#webhookSecret.at < 60_000) return this.#webhookSecret.value;
    let value: Secret | null = null;
    try {
      value = (await this.#providers()?.vault.get(this.#config.repo.webhook_secret)) ?? null;
    } catch (error) {
      this.#log.warn({ secret: this.#config.repo.webhook_secret, err: error }, 'webhook secret unreadable');
    }
    this.#webhookSecret = { value, at: now };
    return value;
  }

  async notificationUrl(): Promise<string | null> {
    if (this.#notifyUrl !== undefined) return this.#notifyUrl;
    const n = this.#config.notifications;
    if (n.webhook_url) this.#notifyUrl = n.webhook_url;
    else if (n.webhook_url_secret) this.#notifyUrl = (await this.#providers()?.vault.get(n.webhook_url_secret).catch(() => null))?.reveal() ?? null;
    else this.#notifyUrl = null;
    return this.#notifyUrl;
  }
}
