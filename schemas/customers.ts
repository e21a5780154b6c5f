/**
 * customers.yaml: every customer, and the `services.{svc}.{customer}` secret
 * slots. The shape is the one the operators already keep (runbook block);
 * `policy` and `ssh_user` are axe's additions. Unknown keys are errors, so a
 * typo never silently drops a setting.
 */
import { z } from 'zod';
import { CustomerId, EntityId, EnvName, Guid, Hostname, HttpsUrl, ServiceName } from './common.js';
import { Label, Maintenance, Pins, RolloutPolicy } from './rollout.js';

export const SsoRedirectApp = z.strictObject({
  client_id: Guid,
  client_secret_env: EnvName,
  redirect_uri: HttpsUrl,
});
export type SsoRedirectApp = z.infer<typeof SsoRedirectApp>;

export const SsoFrameMcpApp = z.strictObject({
  client_id: Guid,
  client_secret_env: EnvName,
  application_id_uri: HttpsUrl,
  redirect_uris: z.array(HttpsUrl).min(1),
  scopes: z.array(z.string().min(1)).min(1),
});
export type SsoFrameMcpApp = z.infer<typeof SsoFrameMcpApp>;

export const Sso = z.strictObject({
  provider: z.literal('microsoft_entra_id'),
  tenant_id: Guid,
  apps: z.strictObject({
    blueprint: SsoRedirectApp,
    vaultwarden: SsoRedirectApp,
    frame_mcp: SsoFrameMcpApp,
  }),
});
export type Sso = z.infer<typeof Sso>;

/** An entity: its id, or an object with the names the register hooks need. */
export const Entity = z.union([
  EntityId,
  z.strictObject({
    id: EntityId,
    legal_name: z.string().min(1).optional(),
    kind: z.enum(['corporate', 'individual']).optional(),
    accounting_standard: z.string().min(1).optional(),
  }),
]);
export type Entity = z.infer<typeof Entity>;

export const Policy = z.strictObject({
  /** apply: correct drift; observe: record and alert only. */
  mode: z.enum(['apply', 'observe']).default('apply'),
  /** A suspended customer is neither observed nor changed. */
  suspend: z.boolean().default(false),
  /** Resource kinds suspended for this customer. */
  suspend_kinds: z.array(z.string()).default([]),
  /** Remove resources that left git, per kind. Vault items are never pruned. */
  prune: z.boolean().default(false),
});
export type Policy = z.infer<typeof Policy>;

export const Customer = z.strictObject({
  legal_name: z.string().min(1),
  primary_domain: Hostname,
  public_domain: Hostname,
  entities: z.array(Entity).default([]),
  /** The Mac mini's Tailscale MagicDNS name; a short alias is accepted here and flagged by the host check. */
  tailscale_host: z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, { message: 'must be a Tailscale host name' }),
  /** The Unix user axe logs in as on the Mac mini (default `axe`). */
  ssh_user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { message: 'must be a Unix user name' }).optional(),
  /** Filled by `axe customers ingest` from the customer's pack; absent until then. */
  sso: Sso.optional(),
  user_entity_map: z.record(z.string().min(1), z.array(EntityId)).default({}),
  default_entities_by_domain: z.record(z.string().min(1), z.array(EntityId)).default({}),
  onboarded: z.union([z.string(), z.null()]).optional(),
  policy: Policy.optional(),
  /** Labels a rollout's canary may select (`rollout.canary.label`). */
  labels: z.array(Label).optional(),
  /** service → the ref this customer stays on, whatever the manifest says (schemas/rollout.ts). */
  pins: Pins.optional(),
  /** Disruptive actions (a blue/green swap, a container recreate, a migrate hook) wait for one of these windows. */
  maintenance: Maintenance.optional(),
  /**
   * Blueprint admins (runbook D+1, `UPDATE User SET role = 'admin'`): each gets the admin
   * role through the service's `foreach: admin` hook; observed and corrected on drift.
   */
  admins: z.array(z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { message: 'must be an e-mail address' }).transform((e) => e.toLowerCase())).default([]),
  /**
   * keep (default): an admin not in `admins` is left alone (someone the customer made admin
   * in the app stays one); demote-others: every admin not listed loses the role.
   */
  /**
   * The customer vault's human owner (runbook D+2, D-ops-29: the dual identity): an employee's
   * account, owner of the vault organization beside the bot `ai@{primary_domain}`.
   */
  vault_admin: z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { message: 'must be an e-mail address' }).transform((e) => e.toLowerCase()).optional(),
  admins_policy: z.enum(['keep', 'demote-others'], { message: 'keep = never demote someone not listed; demote-others = the list is the whole admin set' }).default('keep'),
});
export type Customer = z.infer<typeof Customer>;

export const ServiceSlot = z.strictObject({
  secrets: z.array(EnvName).default([]),
});
export type ServiceSlot = z.infer<typeof ServiceSlot>;

export const CustomersFile = z.strictObject({
  /** The fleet default for every manifest without its own `rollout:` (field by field). */
  rollout: RolloutPolicy.optional(),
  customers: z.record(CustomerId, Customer),
  services: z.record(ServiceName, z.record(CustomerId, ServiceSlot).nullable().default({})).default({}),
});
export type CustomersFile = z.infer<typeof CustomersFile>;

/** The entity id of an entry of `entities`. */
export function entityId(entity: Entity): string {
  return typeof entity === 'string' ? entity : entity.id;
}
