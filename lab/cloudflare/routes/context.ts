/**
 * What every route module gets: the state store, the connectors, and the
 * lookups that answer the v4 errors for an unknown account, zone or id.
 */
import type { FastifyRequest } from 'fastify';
import type { ConnectorSource } from '../connectors.js';
import type { StateStore, ZoneState } from '../state.js';
import { V4Failure } from '../v4.js';

export interface ApiContext {
  store: StateStore;
  connectors: ConnectorSource;
}

/** The raw query string as the SDK sent it (`name.exact=…`, repeated keys kept). */
export function queryOf(request: FastifyRequest): URLSearchParams {
  const i = request.url.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : request.url.slice(i + 1));
}

/** The body as an object, or a 400 when it is something else. */
export function bodyObject(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new V4Failure(400, { code: 9207, message: 'Request body is invalid.' });
  return body as Record<string, unknown>;
}

/** A path the token may not see: another account (403, 10000, as the real API answers a token without access). */
export function requireAccount(ctx: ApiContext, accountId: string): void {
  if (accountId !== ctx.store.state.accountId) throw new V4Failure(403, { code: 10000, message: 'Authentication error' });
}

function objectIdentifierError(path: string): V4Failure {
  return new V4Failure(400, { code: 7003, message: `Could not route to ${path}, perhaps your object identifier is invalid?` });
}

export function requireZone(ctx: ApiContext, zoneId: string, request: FastifyRequest): ZoneState {
  const zone = ctx.store.state.zones.find((z) => z.id === zoneId);
  if (!zone) throw objectIdentifierError(request.url.split('?')[0]?.replace(/^\/client\/v4/, '') ?? '');
  return zone;
}
