/**
 * Vault items for one customer: every secret its service slots declare exists
 * in the operator vault; secrets a manifest says to generate are created when
 * missing (the value is made at act time and never appears in a plan).
 * Items are never deleted and never printed.
 */
import { entityId, type CustomersFile } from '../../schemas/customers.js';
import { envToken, expandName } from '../../schemas/common.js';
import type { GeneratedSecret, ServiceManifest } from '../../schemas/service-manifest.js';
import { resticPasswordItem } from '../vault-names.js';
import { trap } from '../traps.js';
import type { Action, Health } from '../types.js';

export interface WantedItem {
  name: string;
  service: string;
  /** How to make it when missing; absent = a person must push it. */
  generate?: Pick<GeneratedSecret, 'length' | 'alphabet'>;
  entity?: string;
}

export interface VaultItemsDesired {
  customer: string;
  items: WantedItem[];
}

/** Names present in the vault (from the one `list` of the scan). */
export type VaultItemsObserved = Set<string>;

export interface VaultItemPayload {
  name: string;
  service: string;
  customer: string;
  generate: Pick<GeneratedSecret, 'length' | 'alphabet'>;
}

export function desiredVaultItems(customers: CustomersFile, manifests: Map<string, ServiceManifest>, id: string): VaultItemsDesired {
  const items = new Map<string, WantedItem>();
  const customer = customers.customers[id];
  for (const [service, slots] of Object.entries(customers.services)) {
    const slot = slots?.[id];
    if (!slot) continue;
    const manifest = manifests.get(service);
    const generated = new Map<string, GeneratedSecret>();
    for (const g of manifest?.secrets.generate ?? []) {
      if (g.per_entity) {
        for (const entity of customer?.entities ?? []) {
          const eid = entityId(entity);
          const name = expandName(g.name, { customer: id, service }).replaceAll('{ENTITY}', envToken(eid));
          items.set(name, { name, service, generate: { length: g.length, alphabet: g.alphabet }, entity: eid });
        }
      } else {
        generated.set(expandName(g.name, { customer: id, service }), g);
      }
    }
    for (const name of slot.secrets) {
      const g = generated.get(name);
      items.set(name, { name, service, ...(g ? { generate: { length: g.length, alphabet: g.alphabet } } : {}) });
    }
    for (const [name, g] of generated) if (!items.has(name)) items.set(name, { name, service, generate: { length: g.length, alphabet: g.alphabet } });
  }
  // The restic password of the customer's backup (any of its services' manifests has a backup: block).
  if (Object.entries(customers.services).some(([service, slots]) => slots?.[id] && manifests.get(service)?.backup)) {
    const name = resticPasswordItem(id);
    items.set(name, { name, service: 'backup', generate: { length: 48, alphabet: 'alphanumeric' } });
  }
  return { customer: id, items: [...items.values()].sort((a, b) => a.name.localeCompare(b.name)) };
}

export function diffVaultItems(desired: VaultItemsDesired, observed: VaultItemsObserved): Action<VaultItemPayload>[] {
  return desired.items
    .filter((item) => !observed.has(item.name) && item.generate)
    .map((item) => ({
      kind: 'vault-items' as const,
      op: 'generate',
      target: `vault:${item.name}`,
      summary: `generate ${item.name} (${item.generate!.length} ${item.generate!.alphabet} characters) for ${item.service}`,
      payload: { name: item.name, service: item.service, customer: desired.customer, generate: item.generate! },
    }));
}

export function healthVaultItems(desired: VaultItemsDesired, observed: VaultItemsObserved): Health {
  const missing = desired.items.filter((item) => !observed.has(item.name));
  const manual = missing.filter((item) => !item.generate);
  if (manual.length > 0) {
    const first = manual[0]!;
    const fromPack = /^AZURE_.*_CLIENT_SECRET$/.test(first.name);
    return {
      status: 'Degraded',
      reason: 'SecretMissing',
      message: `missing from the vault: ${manual.map((m) => m.name).join(', ')}`,
      ...(fromPack
        ? { trap: trap('blueprint-sso-missing', { customer: desired.customer }) }
        : {}),
    };
  }
  const entityMissing = missing.find((item) => item.entity);
  if (entityMissing) {
    return { status: 'Missing', reason: 'PiiPassphraseMissing', message: `${missing.length} item(s) to generate`, trap: trap('pii-passphrase-missing', { entity: entityMissing.entity! }) };
  }
  if (missing.length > 0) return { status: 'Missing', reason: 'ToGenerate', message: `${missing.length} generated item(s) to create: ${missing.map((m) => m.name).join(', ')}` };
  return { status: 'Healthy', reason: 'AllPresent', message: `${desired.items.length} item(s) present` };
}
