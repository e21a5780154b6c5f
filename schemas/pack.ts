/**
 * The customer's pack, `axelabs-bootstrap-{customer}.json`, schema
 * `axelabs-bootstrap/v1`: what the customer's IT sends after registering the
 * three Entra apps. Client secrets are parsed straight into `Secret`, so no
 * error message, log or plan can show them.
 */
import { z } from 'zod';
import { Secret } from '../core/secret.js';
import { Guid, HttpsUrl } from './common.js';

const ClientSecret = z
  .string()
  .min(1, { message: 'must not be empty' })
  .refine((v) => v.trim() === v && !/[\r\n]/.test(v), { message: 'must not contain line breaks or surrounding spaces' })
  .transform((v) => new Secret(v));

export const PackApp = z.object({
  client_id: Guid,
  client_secret: ClientSecret,
  redirect_uri: HttpsUrl.optional(),
});

export const Pack = z.object({
  schema: z.literal('axelabs-bootstrap/v1', { message: 'schema must be "axelabs-bootstrap/v1"' }),
  customer: z.string().optional(),
  tenant_id: Guid,
  apps: z.object({
    blueprint: PackApp,
    vaultwarden: PackApp,
    frame_mcp: PackApp.extend({
      application_id_uri: HttpsUrl,
      scope: z.string().min(1),
      redirect_uris: z.array(HttpsUrl).min(1),
    }),
  }),
});
export type Pack = z.infer<typeof Pack>;

/** Callback origins of MCP clients allowed as frame_mcp redirect URIs besides the customer's own domain. */
export const MCP_CLIENT_CALLBACK_ORIGINS = ['https://claude.ai', 'https://claude.com'] as const;
