/**
 * The controller's own config (`~/.axe/config.yaml`, or `--config`): where the
 * config repo is, how to reach the vault, Cloudflare, Tailscale and the hosts,
 * and the schedules. It never holds a secret value: tokens live in the vault
 * and are named here.
 */
import { z } from 'zod';
import { CustomerId, Hostname } from './common.js';

const Uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, { message: 'must be a UUID' });
const Duration = z.string().regex(/^\d+(ms|s|m|h)$/, { message: 'must be a duration like 500ms, 60s, 5m or 8h' });

export const VaultConfig = z.discriminatedUnion('provider', [
  z.strictObject({
    provider: z.literal('file'),
    /** The encrypted vault file. */
    path: z.string().min(1),
    /** A 0600 file holding the key; or set AXE_VAULT_KEY in the environment. */
    key_file: z.string().min(1).optional(),
  }),
  z.strictObject({
    provider: z.literal('vaultwarden'),
    /** `bw serve` base URL (loopback). */
    url: z.string().regex(/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+\/?$/, { message: 'must be a loopback http URL of `bw serve`' }),
    /** Where the session is kept: the OS keychain, or a 0600 file on Linux. */
    session_store: z.enum(['keychain', 'file']).default('file'),
    sync_interval: Duration.default('5m'),
    /** Absolute path of the bw that runs `bw serve` (its version is checked); default: the bw bundled with axe (@bitwarden/cli). */
    bw: z.string().regex(/^\//, { message: 'must be an absolute path' }).optional(),
    /** bw versions above this crash against this vault (the OIDCWarden fork); null: this vault is not the fork. Default: the top-level bw_max_version. */
    bw_max_version: z.union([z.string().regex(/^\d+\.\d+\.\d+$/), z.null()]).optional(),
  }),
  z.strictObject({
    provider: z.literal('bitwarden-sm'),
    /** The organization that owns the secrets (a UUID, from the web app's URL). */
    organization_id: Uuid,
    /** The project axe reads and creates secrets in; the machine account needs read and write on it. */
    project_id: Uuid,
    /** Bitwarden's API server; self-hosted: `https://HOST/api`. */
    api_url: z.string().url().default('https://api.bitwarden.com'),
    /** Bitwarden's identity server; self-hosted: `https://HOST/identity`. */
    identity_url: z.string().url().default('https://identity.bitwarden.com'),
    /** A 0600 file holding the machine account's access token. Takes precedence over access_token_env. */
    access_token_file: z.string().min(1).optional(),
    /** The environment variable holding the access token when no file is given. */
    access_token_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, { message: 'must be an environment variable name' }).default('BWS_ACCESS_TOKEN'),
  }),
]);
export type VaultConfig = z.infer<typeof VaultConfig>;

/**
 * A customer vault's own `bw serve` on the operator's machine (the `vault-org` kind): the bw CLI
 * logged in to the customer's Vaultwarden (`bw config server https://{public_domain}/vault`) as its
 * bot owner `ai@{primary_domain}`, with its own app-data folder. `axe vault login --customer C`
 * unlocks it (the owner session); no secret is written here.
 */
export const CustomerVaultConfig = z.strictObject({
  /** That `bw serve`'s base URL (loopback). */
  url: z.string().regex(/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+\/?$/, { message: 'must be a loopback http URL of the bw serve logged in to this customer\'s vault' }),
  /** Where its session is kept: the OS keychain (item `axe.vault.session.{customer}`), or a 0600 file (`$AXE_HOME/customer-vaults/bw-session-{customer}.json`). */
  session_store: z.enum(['keychain', 'file']).default('file'),
});
export type CustomerVaultConfig = z.infer<typeof CustomerVaultConfig>;

export const HostOverride = z.strictObject({
  address: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().min(1).optional(),
});

export const ControllerConfig = z.strictObject({
  repo: z.strictObject({
    /** URL or path of the config repo. */
    url: z.string().min(1),
    branch: z.string().min(1).default('main'),
    /** Local working clone the controller keeps. */
    checkout: z.string().min(1).optional(),
    poll_interval: Duration.default('60s'),
    /** Vault item holding the HMAC secret of the push webhook (`POST /hooks/git`); without it every webhook call is refused. */
    webhook_secret: z.string().min(1).default('AXE_WEBHOOK_SECRET'),
  }),
  /** The controller's own state (git mirror, revisions, history.sqlite); default $AXE_HOME/controller. */
  state_dir: z.string().min(1).optional(),
  listen: z.string().regex(/^[^\s:]+:\d+$/, { message: 'must be host:port' }).default('127.0.0.1:9464'),
  drift_schedule: z.string().min(9).default('*/5 * * * *'),
  concurrency: z.number().int().min(1).max(64).default(4),
  vault: VaultConfig,
  cloudflare: z.strictObject({
    api_base_url: z.string().url().default('https://api.cloudflare.com/client/v4'),
    account_id: z.string().min(1),
    zone: Hostname.default('axelabs.ai'),
    /** Vault item holding the API token. */
    token_secret: z.string().min(1).default('CLOUDFLARE_API_TOKEN'),
    requests_per_5m: z.number().int().min(1).max(1200).default(1000),
    /**
     * Where public endpoints are requested (the Host header still names the
     * customer's domain). Unset: the real internet. The lab sets its edge stand-in.
     */
    edge_url: z.string().regex(/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+\/?$/, { message: 'must be a loopback http URL (the lab edge)' }).optional(),
  }),
  /** How cloudflared runs on the hosts. */
  cloudflared: z
    .strictObject({
      /** auto: a LaunchDaemon where launchctl exists (macOS), else a container. */
      mode: z.enum(['auto', 'launchd', 'container']).default('auto'),
      /** Image for container mode. */
      image: z.string().min(1).default('cloudflare/cloudflared:latest'),
      /** Extra `docker run -p` publications in container mode (the lab publishes its edge port). */
      publish: z.array(z.string().regex(/^[0-9.:]+$/, { message: 'must be a docker -p value like 127.0.0.1::8080' })).default([]),
      /** Metrics / readiness port of cloudflared on the host (launchd mode). */
      metrics_port: z.number().int().min(1).max(65535).default(20241),
    })
    .default({ mode: 'auto', image: 'cloudflare/cloudflared:latest', publish: [], metrics_port: 20241 }),
  /** Backups on the hosts (restic, the `backup` kind): the host's own schedule, restore drills, an optional off-box repository. */
  backup: z
    .strictObject({
      /** How often the host's schedule (a LaunchDaemon on macOS) takes a snapshot. */
      interval_minutes: z.number().int().min(5).max(1440).default(360),
      /** How often the schedule runs a restore drill (`axe backup verify` does it now). */
      verify_every_days: z.number().int().min(1).max(365).default(30),
      /** A second, off-box repository each snapshot also goes to, e.g. `sftp:backup@nas.example.com:/srv/restic/{customer}`. */
      offsite: z
        .strictObject({
          repository: z.string().regex(/^sftp:[^\s@]+@[^\s:]+:\/?[^\s]*\{customer\}[^\s]*$/, { message: 'must be an sftp: repository naming {customer}, like sftp:backup@nas.example.com:/srv/restic/{customer}' }),
        })
        .optional(),
    })
    .default({ interval_minutes: 360, verify_every_days: 30 }),
  /** customer id → the `bw serve` logged in to that customer's own vault (its organization: the `vault-org` kind). */
  customer_vaults: z.record(CustomerId, CustomerVaultConfig).default({}),
  /** bw CLI versions above this crash against the Vaultwarden (OIDCWarden) fork; null when the vault is not that fork. */
  bw_max_version: z.union([z.string().regex(/^\d+\.\d+\.\d+$/), z.null()]).default('2025.7.0'),
  tailscale: z
    .strictObject({
      binary: z.string().min(1).default('tailscale'),
      tailnet: Hostname.optional(),
    })
    .default({ binary: 'tailscale' }),
  ssh: z
    .strictObject({
      key_file: z.string().min(1).optional(),
      known_hosts: z.string().min(1).optional(),
      default_user: z.string().min(1).default('axe'),
      /** How a MagicDNS name is reached when it is not resolvable here (the lab). */
      overrides: z.record(z.string(), HostOverride).default({}),
      /** Extra absolute directories searched for docker/compose/git/bw on hosts. */
      tool_paths: z.array(z.string()).default([]),
    })
    .default({ default_user: 'axe', overrides: {}, tool_paths: [] }),
  /** Git URL rewrites (git's url.<base>.insteadOf), e.g. to local mirrors. */
  git: z.strictObject({ instead_of: z.record(z.string(), z.string()).default({}) }).default({ instead_of: {} }),
  /**
   * The config repo's git host: commit statuses `axe/{customer}` on every revision the controller
   * applies, and the plan comment on pull requests (`pull_request` webhooks). The token lives in the vault.
   */
  git_host: z
    .strictObject({
      kind: z.enum(['github', 'gitea']),
      /** GitHub: https://api.github.com (the default; GHE: https://HOST/api/v3). Gitea: https://HOST/api/v1 (required). */
      api_url: z.string().url().optional(),
      /** The config repo on that host, as owner/name. */
      repo: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9_.-]+$/, { message: 'must be owner/name, the config repo on the git host' }),
      /** Vault item holding the API token (statuses and comments write). */
      token_secret: z.string().min(1).default('GIT_HOST_TOKEN'),
      /** Link on each status (e.g. the controller's /status page as the operators reach it); `{customer}` is replaced. */
      target_url: z.string().url().optional(),
    })
    .refine((h) => h.kind === 'github' || h.api_url !== undefined, { message: 'gitea needs api_url: set git_host.api_url to https://YOUR-GITEA/api/v1', path: ['api_url'] })
    .optional(),
  /** Alert notifications: sent on transitions only, after `for`, repeated every `repeat`, resolved after `keep_firing_for` clear. */
  notifications: z
    .strictObject({
      /** A generic JSON webhook (Slack/Teams-compatible `text`). Use webhook_url_secret instead when the URL holds a token. */
      webhook_url: z.string().url().optional(),
      /** Vault item holding the webhook URL (Slack and Teams URLs are credentials). */
      webhook_url_secret: z.string().min(1).optional(),
      /**
       * Alertmanager (v2 API) that gets every firing alert, one per customer and
       * resource kind, re-posted every `resend` and resolved on recovery; its
       * routes, silences and inhibitions then apply (controller/alertmanager.ts).
       */
      alertmanager: z
        .strictObject({
          url: z.string().url(),
          resend: Duration.default('1m'),
        })
        .optional(),
      for: Duration.default('2m'),
      repeat: Duration.default('4h'),
      keep_firing_for: Duration.default('5m'),
    })
    .default({ for: '2m', repeat: '4h', keep_firing_for: '5m' }),
});
export type ControllerConfig = z.infer<typeof ControllerConfig>;
