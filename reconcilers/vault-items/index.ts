/**
 * The vault-items reconciler: every secret the customer's service slots
 * declare exists in the operator vault (one `list` per scan serves every
 * customer); the ones a manifest says to generate are created when missing.
 * Items are never deleted, never printed: actions carry names only.
 */
import { generateSecret } from '../../core/generate.js';
import type { ResourceReconciler } from '../runtime.js';
import { desiredVaultItems, diffVaultItems, healthVaultItems, type VaultItemPayload, type VaultItemsDesired, type VaultItemsObserved } from './diff.js';

export const vaultItemsReconciler: ResourceReconciler<VaultItemsDesired, VaultItemsObserved, VaultItemPayload> = {
  kind: 'vault-items',
  dependsOn: [],
  desired(ctx) {
    return desiredVaultItems(ctx.env.state.customers, ctx.env.state.manifests, ctx.id);
  },
  async observe(ctx) {
    const items = await ctx.env.scan.vault();
    return new Set(items.map((item) => item.name));
  },
  diff: (desired, observed) => diffVaultItems(desired, observed ?? new Set()),
  health: (desired, observed) => healthVaultItems(desired, observed ?? new Set()),
  async act(ctx, _desired, action) {
    const { name, service, customer, generate } = action.payload;
    // put() is idempotent, but a generated value must never replace one that exists:
    // the engine observed right before acting, and the item was missing then.
    await ctx.env.providers.vault.put({ name, service, customer, value: generateSecret(generate.length, generate.alphabet) });
  },
  reads: ['vault'],
};
