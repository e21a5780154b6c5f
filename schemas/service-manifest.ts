/**
 * A service manifest, `services/{svc}.yaml`: how one service is deployed on a
 * customer's Mac mini. frame, blueprint and hive are three manifests of the one
 * stack engine (`kind: stack`); the customer's own Vaultwarden is
 * `kind: vaultwarden` (a compose file the customer keeps, patched in place).
 * A fourth service is a new file, not new code.
 *
 * Templates: strings may use `{customer}`, `{CUSTOMER}` (env-token form),
 * `{public_domain}`, `{ref}` (the manifest's source ref) and, in hooks, `{entity.id}`, `{entity.legal_name}`,
 * `{entity.kind}`, `{entity.accounting_standard}`.
 */
import { z } from 'zod';
import { EnvName, EnvNameTemplate, ServiceName } from './common.js';
import { RolloutPolicy } from './rollout.js';

const RelativePath = z.string().min(1).regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\0]+$/, {
  message: 'must be a relative path inside the checkout (no leading "/", no "..")',
});
/** A path on the host: absolute or under the login user's home (`~/…`). */
const HostPath = z.string().regex(/^(~\/|\/)[^\0]*$/, { message: 'must be an absolute path or start with ~/' });
const ComposeService = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, { message: 'must be a compose service name' });
/** A container reference in hooks: a compose service, or `@active` (the live blue/green color). */
const ContainerRef = z.union([z.literal('@active'), ComposeService]);

export const GeneratedSecret = z.strictObject({
  name: EnvNameTemplate,
  length: z.number().int().min(16).max(256).default(32),
  alphabet: z.enum(['alphanumeric', 'hex', 'base64url']).default('alphanumeric'),
  /** One secret per customer entity; the name carries `{ENTITY}` (e.g. PII passphrases). */
  per_entity: z.boolean().default(false),
});
export type GeneratedSecret = z.infer<typeof GeneratedSecret>;

/**
 * An env var name in `env.vars` and `env.services`: a plain name, or one with
 * `{ENTITY}` (`FRAME_PII_PASSPHRASE_{ENTITY}`), which stands for one var per
 * customer entity (the entity id in env-token form: `acme-x` → `ACME_X`); its
 * source is a secret whose name carries `{ENTITY}` too, or a value.
 */
export const EnvVarKey = z.string().regex(/^(?:[A-Z][A-Z0-9_]{0,127}|[A-Z][A-Z0-9_]{0,100}\{ENTITY\}[A-Z0-9_]{0,100})$/, {
  message: 'must be an environment variable name (A-Z, 0-9, "_"), optionally with one {ENTITY} placeholder (one var per entity)',
});

/** True for an env var name that stands for one var per entity. */
export function perEntityVar(name: string): boolean {
  return name.includes('{ENTITY}');
}

/** Where one env var's value comes from. Exactly one source per var. */
export const EnvSource = z.union([
  z.strictObject({ secret: EnvNameTemplate }),
  z.strictObject({ customer: z.string().regex(/^[a-z_][a-z0-9_.]*$/, { message: 'must be a dotted path into the customer block, e.g. sso.tenant_id' }) }),
  z.strictObject({ value: z.string() }),
  z.strictObject({ hook: z.string().regex(/^[a-z][a-z0-9_]*$/) }),
]);
export type EnvSource = z.infer<typeof EnvSource>;

export const HookExec = z.strictObject({
  /** Run in another service's stack (default: this one). */
  service: ServiceName.optional(),
  container: ContainerRef,
  command: z.array(z.string().min(1)).min(1),
});
export type HookExec = z.infer<typeof HookExec>;

export const Hook = z.strictObject({
  /**
   * before_up: its output feeds the env file; after_healthy: runs once the stack is healthy;
   * rotate: runs when the secret named by `rotates` is rotated (`axe secret rotate`), before
   * any stack restarts, with the new value on its stdin (never an argument): the secret that
   * lives inside a database (the Postgres password) is changed there first.
   */
  phase: z.enum(['before_up', 'after_healthy', 'rotate']),
  /** With phase rotate: the secret (template, e.g. FRAME_{CUSTOMER}_POSTGRES_PASSWORD) it changes. */
  rotates: EnvNameTemplate.optional(),
  exec: HookExec,
  /** The hook's stdout becomes this env var (a secret: never logged). */
  output_env: EnvName.optional(),
  /**
   * entity: run once per customer entity, listing first and registering only what is missing.
   * admin: once per e-mail of `customers.{id}.admins` missing from the list (`{admin.email}`);
   * `remove` takes the role away, only under `admins_policy: demote-others`.
   */
  foreach: z.enum(['entity', 'admin']).optional(),
  /** With foreach: a command printing a JSON array of ids (or of objects with `id`; for admins, e-mails or objects with `email`). */
  list: HookExec.optional(),
  /**
   * The hook changes data (a schema migration): a release that runs it first takes a
   * backup snapshot and waits for it; a failed snapshot stops the release before the hook.
   */
  migrating: z.boolean().default(false),
  /** With foreach: admin: the command that takes the role away (`{admin.email}`). */
  remove: HookExec.optional(),
});
export type Hook = z.infer<typeof Hook>;

export const HealthCheck = z.strictObject({
  /** Inside the stack: a compose service and an HTTP path on its port. */
  inside: z
    .strictObject({ container: ContainerRef, port: z.number().int().min(1).max(65535), path: z.string().startsWith('/') })
    .optional(),
  /** Public, through the tunnel: a path on https://{public_domain}. */
  public: z.strictObject({ path: z.string().startsWith('/') }).optional(),
  timeout_seconds: z.number().int().min(1).max(3600).default(120),
});

export const Ingress = z.strictObject({
  path: z.string().regex(/^\/[a-zA-Z0-9/_-]*$/, { message: 'must be a URL path like /frame' }),
  /** The compose service (network alias) cloudflared forwards to. */
  service: ComposeService,
  port: z.number().int().min(1).max(65535),
});

/** A duration: minutes, hours or days (`90m`, `26h`, `7d`). */
export const Duration = z.string().regex(/^[1-9][0-9]{0,5}(m|h|d)$/, { message: 'must be a duration like 26h, 90m or 7d' });

/** Milliseconds of a Duration (`26h` → 93 600 000). */
export function durationMs(text: string): number {
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[text.slice(-1) as 'm' | 'h' | 'd'];
  return Number(text.slice(0, -1)) * unit;
}

/** A consistent dump of a database, taken instead of copying its live files. */
export const BackupDump = z.strictObject({
  /** The file the dump is kept as in the snapshot (`dumps/<file>`). */
  file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'must be a file name like frame.sql' }),
  /** Run in this compose service's running container (docker exec); its stdout is the dump, e.g. [pg_dump, -U, frame, frame]. */
  exec: z.strictObject({ container: ComposeService, command: z.array(z.string().min(1)).min(1) }),
  /**
   * Restore drill: the dump is piped into this command in a throwaway container of the same
   * image (no network, removed after); exit 0 = the dump loads. Without it the drill checks
   * the restored files only.
   */
  load: z.strictObject({ command: z.array(z.string().min(1)).min(1) }).optional(),
});
export type BackupDump = z.infer<typeof BackupDump>;

/** What of this service is backed up, and how fresh the newest snapshot must be. */
export const Backup = z
  .strictObject({
    /** Docker volumes (templates: `axe-{customer}-frame-data`) whose files go into each snapshot, read through a container that mounts them. */
    volumes: z.array(z.string().min(1)).default([]),
    dumps: z.array(BackupDump).default([]),
    /** The newest snapshot older than this is Degraded `backup-stale`. */
    max_age: Duration.default('26h'),
  })
  .refine((b) => b.volumes.length + b.dumps.length > 0, { message: 'backup needs at least one of volumes or dumps (what holds this service\'s data)' });
export type Backup = z.infer<typeof Backup>;

/** A dotted path into a JSON object: `enabled`, `audit.newest_at`. */
const FieldPath = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, { message: 'must be a JSON field path like enabled or audit.newest_at' });

/** One expectation on a check's JSON answer: a field equal to a value, at least a number, or an ISO time no older than a duration. */
export const CheckExpectation = z.union([
  z.strictObject({ field: FieldPath, equals: z.union([z.string(), z.number(), z.boolean()]) }),
  z.strictObject({ field: FieldPath, min: z.number() }),
  z.strictObject({ field: FieldPath, max_age: Duration }),
]);
export type CheckExpectation = z.infer<typeof CheckExpectation>;

/**
 * A read-only health query of the service, run on the host in the host's one
 * batched observation (the runbook's D+7 checks, e.g. frame's audit log active):
 * `docker exec` of `command` in the stack's running container, its stdout one JSON
 * object judged by `expect`. The command must only read (it runs on every
 * observation) and answer within 10 s; it prints no secret (its answer is shown).
 */
export const ServiceCheck = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, { message: 'must be a check name like audit-log (a-z, 0-9, "-")' }),
  /** What holds when the check passes, for status: "the audit log records journal entries". */
  description: z.string().min(1),
  exec: z.strictObject({ container: ContainerRef, command: z.array(z.string().min(1)).min(1) }),
  expect: z.array(CheckExpectation).min(1),
  /** A string field of the answer that says why (shown when an expectation fails). */
  detail: FieldPath.optional(),
  /** What a person does when the check fails (shown with the trap). */
  fix: z.string().min(1),
});
export type ServiceCheck = z.infer<typeof ServiceCheck>;

const Common = {
  name: ServiceName,
  description: z.string().optional(),
  depends_on: z.array(ServiceName).default([]),
  ingress: Ingress.optional(),
  health: HealthCheck.default({ timeout_seconds: 120 }),
  /** The names a customer's `services.{svc}.{customer}.secrets[]` slot must list. */
  secrets: z
    .strictObject({
      required: z.array(EnvNameTemplate).default([]),
      generate: z.array(GeneratedSecret).default([]),
    })
    .default({ required: [], generate: [] }),
  /** Which data of the service the customer's `backup` kind snapshots (none: the service holds no data). */
  backup: Backup.optional(),
};

export const StackManifest = z.strictObject({
  ...Common,
  kind: z.literal('stack').default('stack'),
  source: z.strictObject({ repo: z.string().min(1), ref: z.string().min(1) }),
  /** Where the repo is checked out on the host. */
  checkout: HostPath,
  compose: z.strictObject({
    files: z.array(RelativePath).min(1).default(['docker-compose.yml']),
    /** Compose project name (template). */
    project: z.string().regex(/^[a-z0-9{][a-z0-9_{}-]*$/).default('{customer}-{service}'),
  }),
  env: z.strictObject({
    file: RelativePath.default('.env.local'),
    /**
     * push (default): axe renders the env file from the operator vault and pushes it (0600);
     * the host needs no vault session. pull: the runbook's wrapper renders it on the host at
     * deploy time from the host's own bw session (`session_file`); secrets never leave the host's vault.
     */
    secrets: z.enum(['push', 'pull'], { message: 'push = axe renders the env file from the operator vault; pull = the host renders it at deploy time with its own bw session' }).default('push'),
    /** pull only: the host's bw session file (mode 0600), made by the customer's IT with `bw unlock --raw`. */
    session_file: HostPath.default('~/.bw-session'),
    vars: z.record(EnvVarKey, EnvSource).default({}),
    /**
     * Which compose service gets which vars: `{ compose service: [VAR, …] }`. axe renders one
     * file per listed compose service (`.env.axe.<service>`, 0600, beside the env file) holding
     * only its vars, and its compose override sets each container's `env_file` to its own file
     * (`!override`, replacing the compose file's `env_file:` lines); a compose service not listed
     * gets none of them (`env_file: !reset`). The env file itself stays whole: Compose
     * interpolates the compose files with it (`--env-file`), it reaches no container.
     * Every listed var must be declared in `vars`; every var in `vars` must go to some compose
     * service or be in `compose_only`. Without this map (older manifests) the compose file's own
     * `env_file:` lines decide, as before: each container that names the env file gets every var.
     */
    services: z.record(ComposeService, z.array(EnvVarKey)).optional(),
    /** With `services`: vars only the compose files read (`${AXE_REF}` in an image tag, a network name), given to no container. */
    compose_only: z.array(EnvName).default([]),
  }),
  networks: z.array(z.strictObject({ name: z.string().min(1), external: z.boolean().default(true) })).default([]),
  volumes: z.array(z.strictObject({ name: z.string().min(1), external: z.boolean().default(true) })).default([]),
  blue_green: z
    .strictObject({
      colors: z.strictObject({ blue: ComposeService, green: ComposeService }),
      proxy: z.strictObject({ container: ComposeService, switch: z.array(z.string().min(1)).min(1) }),
    })
    .optional(),
  hooks: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), Hook).default({}),
  /** Read-only health queries judged on every observation (the customer's `checks` resource; runbook D+7). */
  checks: z.array(ServiceCheck).default([]),
  /** How a new `source.ref` reaches the fleet: canary, waves, bake, failure budget (schemas/rollout.ts). */
  rollout: RolloutPolicy.optional(),
});
export type StackManifest = z.infer<typeof StackManifest>;

export const VaultwardenManifest = z.strictObject({
  ...Common,
  kind: z.literal('vaultwarden'),
  /** The customer's Vaultwarden compose file on the host. */
  compose_file: HostPath,
  container: ComposeService,
  /** Env keys the compose must carry (the runbook's four keys; configurable since the last exists only in the OIDCWarden fork). */
  required_env: z.record(EnvName, z.string()),
  /** Missing keys are inserted after this key when present. */
  anchor: EnvName.optional(),
  /** DOMAIN must end with this path. */
  domain_path: z.string().startsWith('/').default('/vault'),
  /**
   * The vault's SSO settings, delivered the way the stacks get theirs: rendered from the
   * operator vault and customers.yaml into `file` beside the compose file (0600, over stdin;
   * never a value in the compose file or on a command line). The compose file is patched in
   * place to name that file under the service's `env_file:` and to drop these keys from its
   * `environment:` (Compose lets `environment:` win over `env_file:`). A running vault with
   * one of them empty, or not the rendered value (compared by sha256), is Degraded
   * `SsoNotConfigured`. Value templates also know `{customer.<path>}`, e.g.
   * `https://login.microsoftonline.com/{customer.sso.tenant_id}/v2.0`.
   */
  env: z
    .strictObject({
      file: z.string().regex(/^[A-Za-z0-9._-]+$/, { message: 'must be a file name (it sits beside the compose file)' }).default('.env.axe'),
      vars: z.record(EnvName, EnvSource),
    })
    .optional(),
});
export type VaultwardenManifest = z.infer<typeof VaultwardenManifest>;

export const ServiceManifest = z.discriminatedUnion('kind', [StackManifest, VaultwardenManifest]);
export type ServiceManifest = z.infer<typeof ServiceManifest>;

/** Stack manifests may omit `kind`; this fills it before the union is checked. */
export function withDefaultKind(data: unknown): unknown {
  if (data && typeof data === 'object' && !Array.isArray(data) && !('kind' in data)) return { kind: 'stack', ...data };
  return data;
}
