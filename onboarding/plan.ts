/**
 * Planning an onboarding edit of customers.yaml — pure: text, desired state and
 * inputs in; the new text, a unified diff and the vault writes out. Nothing here
 * touches the disk, git or the vault.
 *
 * `customers add` makes a customer block and its service slots; `customers
 * ingest` fills the block's `sso` from the customer's pack (creating the block
 * when asked to) and names the three client secrets for the vault.
 */
import { createTwoFilesPatch } from 'diff';
import type { Secret } from '../core/secret.js';
import { terminal } from '../core/errors.js';
import { envToken, expandName } from '../schemas/common.js';
import type { Customer, CustomersFile, Sso } from '../schemas/customers.js';
import { MCP_CLIENT_CALLBACK_ORIGINS, type Pack } from '../schemas/pack.js';
import type { ServiceManifest } from '../schemas/service-manifest.js';
import { CUSTOMERS_FILE, SSO_APP_SERVICE, isSovereign } from '../schemas/repo.js';
import { setIn } from '../schemas/yaml-edit.js';

export const DEFAULT_ZONE = 'axelabs.ai';

export interface NewCustomerInput {
  id: string;
  legalName: string;
  primaryDomain: string;
  publicDomain?: string;
  tailscaleHost?: string;
  tailnet?: string;
  entities?: string[];
  sovereign?: boolean;
  /** ISO date (YYYY-MM-DD) written as `onboarded` when the block is created. */
  today: string;
  zone?: string;
}

export interface VaultWrite {
  name: string;
  service: string;
  customer: string;
  action: 'create' | 'update' | 'unchanged';
  /** Fingerprint of the new value (never the value). */
  fingerprint: string;
  value: Secret;
}

export interface EditPlan {
  customer: string;
  before: string;
  after: string;
  /** Unified diff of customers.yaml; '' when unchanged. */
  diff: string;
  vaultWrites: VaultWrite[];
  nothingToDo: boolean;
}

function unifiedDiff(before: string, after: string): string {
  if (before === after) return '';
  return createTwoFilesPatch(`a/${CUSTOMERS_FILE}`, `b/${CUSTOMERS_FILE}`, before, after, undefined, undefined, { context: 3 });
}

/** The secret names each service's slot should list for a customer. */
export function slotNamesFor(manifest: ServiceManifest, customer: string): string[] {
  const names = manifest.secrets.required.map((t) => expandName(t, { customer, service: manifest.name }));
  for (const generated of manifest.secrets.generate) {
    if (!generated.per_entity) names.push(expandName(generated.name, { customer, service: manifest.name }));
  }
  return names;
}

function ensureSlots(text: string, customers: CustomersFile, manifests: Map<string, ServiceManifest>, id: string, extra: Record<string, string[]> = {}): string {
  let out = text;
  for (const [service, manifest] of [...manifests.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const current = customers.services[service]?.[id]?.secrets ?? null;
    const wanted = [...slotNamesFor(manifest, id), ...(extra[service] ?? [])];
    const merged = current ? [...current, ...wanted.filter((n) => !current.includes(n))] : [...new Set(wanted)];
    if (current && merged.length === current.length) continue;
    out = setIn(out, ['services', service, id], { secrets: merged }, { strings: 'PLAIN' });
  }
  return out;
}

function newBlock(input: NewCustomerInput): Record<string, unknown> {
  const zone = input.zone ?? DEFAULT_ZONE;
  const entities = input.entities ?? [input.id.replace(/-/g, '_')];
  const host = input.tailscaleHost ?? (input.tailnet ? `${input.id}-macmini.${input.tailnet}` : undefined);
  if (!host) {
    throw terminal('no Tailscale host for the new customer', {
      fix: `pass --tailscale-host ${input.id}-macmini.<tailnet>.ts.net (the MagicDNS FQDN, not the short alias) or --tailnet`,
    });
  }
  return {
    legal_name: input.legalName,
    primary_domain: input.primaryDomain,
    public_domain: input.publicDomain ?? `${input.id}.${zone}`,
    entities,
    tailscale_host: host,
    user_entity_map: {},
    default_entities_by_domain: { [input.primaryDomain]: entities },
    onboarded: input.today,
  };
}

/** `axe customers add`: a new block and its service slots. Nothing to do when the customer exists. */
export function planAdd(text: string, customers: CustomersFile, manifests: Map<string, ServiceManifest>, input: NewCustomerInput): EditPlan {
  if (customers.customers[input.id]) {
    return { customer: input.id, before: text, after: text, diff: '', vaultWrites: [], nothingToDo: true };
  }
  let after = setIn(text, ['customers', input.id], newBlock(input));
  if (!input.sovereign) after = ensureSlots(after, customers, manifests, input.id);
  return { customer: input.id, before: text, after, diff: unifiedDiff(text, after), vaultWrites: [], nothingToDo: after === text };
}

/** Checks the pack against the customer it is for; throws a one-line terminal error naming the field. */
export function checkPack(pack: Pack, id: string, publicDomain: string): void {
  const bad = (field: string, message: string): never => {
    throw terminal(`pack ${field}: ${message}`, { customer: id, fix: "ask the customer's IT to re-run axelabs-bootstrap.sh with the right customer id and domain" });
  };
  if (pack.customer !== undefined && pack.customer !== id) bad('customer', `is "${pack.customer}", not "${id}"`);
  const base = `https://${publicDomain}`;
  const app = pack.apps.frame_mcp;
  if (app.application_id_uri !== `${base}/frame/mcp`) bad('apps.frame_mcp.application_id_uri', `must be ${base}/frame/mcp (the customer's public domain)`);
  if (!app.scope.startsWith(`${app.application_id_uri}/`)) bad('apps.frame_mcp.scope', `must start with ${app.application_id_uri}/`);
  app.redirect_uris.forEach((uri, i) => {
    const ok = uri.startsWith(`${base}/`) || MCP_CLIENT_CALLBACK_ORIGINS.some((origin) => uri.startsWith(`${origin}/`));
    if (!ok) bad(`apps.frame_mcp.redirect_uris[${i}]`, `${uri} matches neither ${base} nor an MCP client callback (${MCP_CLIENT_CALLBACK_ORIGINS.join(', ')})`);
  });
  const expected = { blueprint: `${base}/api/auth/callback/azure-ad`, vaultwarden: `${base}/vault/identity/connect/oidc-signin` } as const;
  for (const name of ['blueprint', 'vaultwarden'] as const) {
    const uri = pack.apps[name].redirect_uri;
    if (uri !== undefined && uri !== expected[name]) bad(`apps.${name}.redirect_uri`, `is ${uri}, expected ${expected[name]}`);
  }
}

/** The `sso` block a pack gives, keeping env names the customer block already uses. */
export function ssoFromPack(pack: Pack, id: string, publicDomain: string, existing?: Sso): Sso {
  const base = `https://${publicDomain}`;
  const env = (app: 'BLUEPRINT' | 'VAULTWARDEN' | 'FRAME_MCP'): string => `AZURE_${envToken(id)}_${app}_CLIENT_SECRET`;
  const fm = pack.apps.frame_mcp;
  return {
    provider: 'microsoft_entra_id',
    tenant_id: pack.tenant_id,
    apps: {
      blueprint: {
        client_id: pack.apps.blueprint.client_id,
        client_secret_env: existing?.apps.blueprint.client_secret_env ?? env('BLUEPRINT'),
        redirect_uri: `${base}/api/auth/callback/azure-ad`,
      },
      vaultwarden: {
        client_id: pack.apps.vaultwarden.client_id,
        client_secret_env: existing?.apps.vaultwarden.client_secret_env ?? env('VAULTWARDEN'),
        redirect_uri: `${base}/vault/identity/connect/oidc-signin`,
      },
      frame_mcp: {
        client_id: fm.client_id,
        client_secret_env: existing?.apps.frame_mcp.client_secret_env ?? env('FRAME_MCP'),
        application_id_uri: fm.application_id_uri,
        redirect_uris: fm.redirect_uris,
        scopes: ['openid', 'profile', 'email', fm.scope],
      },
    },
  };
}

export interface IngestInput {
  id: string;
  pack: Pack;
  /** Used only when the customer is not in customers.yaml yet. */
  create?: Omit<NewCustomerInput, 'id'>;
  /** Current fingerprints of vault items by name (from one `list`). */
  vaultFingerprints: Map<string, string>;
  /** The same vault's fingerprint of a value (`VaultProvider.fingerprint`): the one key the listing used. */
  fingerprint: (value: Secret) => string;
  zone?: string;
}

/** `axe customers ingest`: the edit of customers.yaml and the three vault writes. */
export function planIngest(text: string, customers: CustomersFile, manifests: Map<string, ServiceManifest>, input: IngestInput): EditPlan {
  const { id, pack } = input;
  let existing: Customer | undefined = customers.customers[id];
  let after = text;
  if (!existing) {
    if (!input.create) {
      throw terminal(`customer ${id} is not in ${CUSTOMERS_FILE}`, {
        fix: `add it first (axe customers add ${id} --legal-name … --domain …) or pass --legal-name and --domain to ingest`,
      });
    }
    const block = newBlock({ ...input.create, id });
    after = setIn(after, ['customers', id], block);
    existing = block as unknown as Customer;
  }
  const publicDomain = existing.public_domain;
  checkPack(pack, id, publicDomain);
  const sso = ssoFromPack(pack, id, publicDomain, existing.sso);
  after = setIn(after, ['customers', id, 'sso'], sso);
  const sovereign = customers.customers[id] ? isSovereign(customers, id) : input.create?.sovereign === true;
  const secretsByService: Record<string, string> = {
    [SSO_APP_SERVICE.blueprint]: sso.apps.blueprint.client_secret_env,
    [SSO_APP_SERVICE.vaultwarden]: sso.apps.vaultwarden.client_secret_env,
    [SSO_APP_SERVICE.frame_mcp]: sso.apps.frame_mcp.client_secret_env,
  };
  if (!sovereign) {
    const extra = Object.fromEntries(Object.entries(secretsByService).map(([svc, name]) => [svc, [name]]));
    after = ensureSlots(after, customers, manifests, id, extra);
  }
  const values: Array<[string, string, Secret]> = [
    ['blueprint', sso.apps.blueprint.client_secret_env, pack.apps.blueprint.client_secret],
    ['vaultwarden', sso.apps.vaultwarden.client_secret_env, pack.apps.vaultwarden.client_secret],
    ['frame', sso.apps.frame_mcp.client_secret_env, pack.apps.frame_mcp.client_secret],
  ];
  const vaultWrites: VaultWrite[] = values.map(([service, name, value]) => {
    const current = input.vaultFingerprints.get(name);
    const fingerprint = input.fingerprint(value);
    return { name, service, customer: id, value, fingerprint, action: current === undefined ? 'create' : current === fingerprint ? 'unchanged' : 'update' };
  });
  const nothingToDo = after === text && vaultWrites.every((w) => w.action === 'unchanged');
  return { customer: id, before: text, after, diff: unifiedDiff(text, after), vaultWrites, nothingToDo };
}
