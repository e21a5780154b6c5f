/**
 * Zones, accounts and token verification: GET /zones, /zones/:zone_id,
 * /accounts, /accounts/:account_id, /user/tokens/verify.
 */
import type { FastifyInstance } from 'fastify';
import type { EmulatorState, ZoneState } from '../state.js';
import { paginate, success } from '../v4.js';
import { type ApiContext, queryOf, requireAccount, requireZone } from './context.js';

export const ACCOUNT_NAME = 'axe lab (Cloudflare emulator)';
const ZONE_PAGES = { defaultPerPage: 20, minPerPage: 5, maxPerPage: 50 };

export function zoneView(zone: ZoneState, state: EmulatorState): Record<string, unknown> {
  return {
    id: zone.id,
    name: zone.name,
    status: 'active',
    paused: false,
    type: 'full',
    development_mode: 0,
    name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'],
    original_name_servers: null,
    original_registrar: null,
    original_dnshost: null,
    created_on: zone.created_on,
    modified_on: zone.modified_on,
    activated_on: zone.created_on,
    meta: { step: 2, custom_certificate_quota: 0, page_rule_quota: 3, phishing_detected: false },
    owner: { id: state.accountId, name: ACCOUNT_NAME, type: 'organization' },
    account: { id: state.accountId, name: ACCOUNT_NAME },
    permissions: ['#dns_records:edit', '#dns_records:read', '#zone:read'],
    plan: { id: '0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee', name: 'Free Website', price: 0, currency: 'USD', frequency: '', is_subscribed: false, can_subscribe: false, legacy_id: 'free', legacy_discount: false, externally_managed: false },
  };
}

/** `name` filter: exact, or the documented `contains:` / `starts_with:` / `ends_with:` forms. */
function nameMatches(name: string, filter: string): boolean {
  const [op, value] = filter.includes(':') ? [filter.slice(0, filter.indexOf(':')), filter.slice(filter.indexOf(':') + 1)] : ['equal', filter];
  const v = value.toLowerCase();
  if (op === 'contains') return name.includes(v);
  if (op === 'starts_with') return name.startsWith(v);
  if (op === 'ends_with') return name.endsWith(v);
  return name === filter.toLowerCase().replace(/\.$/, '');
}

export function zoneRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/zones', async (request) => {
    const query = queryOf(request);
    const state = ctx.store.state;
    let zones = [...state.zones];
    const name = query.get('name');
    if (name !== null) zones = zones.filter((z) => nameMatches(z.name, name));
    const status = query.get('status');
    if (status !== null) zones = zones.filter(() => status === 'active');
    const accountId = query.get('account.id');
    if (accountId !== null) zones = zones.filter(() => accountId === state.accountId);
    const desc = query.get('direction') === 'desc';
    zones.sort((a, b) => (desc ? -1 : 1) * a.name.localeCompare(b.name));
    const page = paginate(zones, query, ZONE_PAGES);
    return success(
      page.result.map((z) => zoneView(z, state)),
      page.result_info,
    );
  });

  app.get<{ Params: { zone_id: string } }>('/zones/:zone_id', async (request) => {
    return success(zoneView(requireZone(ctx, request.params.zone_id, request), ctx.store.state));
  });

  app.get('/accounts', async (request) => {
    const account = { id: ctx.store.state.accountId, name: ACCOUNT_NAME, type: 'standard', settings: { enforce_twofactor: false }, created_on: '2024-01-01T00:00:00Z' };
    const page = paginate([account], queryOf(request), ZONE_PAGES);
    return success(page.result, page.result_info);
  });

  app.get<{ Params: { account_id: string } }>('/accounts/:account_id', async (request) => {
    requireAccount(ctx, request.params.account_id);
    return success({ id: ctx.store.state.accountId, name: ACCOUNT_NAME, type: 'standard', settings: { enforce_twofactor: false }, created_on: '2024-01-01T00:00:00Z' });
  });

  app.get('/user/tokens/verify', async () => {
    // The token id is not the token: a stable id for "the lab's token".
    return success({ id: 'a11ab0000000000000000000000a11ab', status: 'active' }, undefined, [{ code: 10000, message: 'This API Token is valid and active', type: null }]);
  });
}
