/**
 * Building blocks shared by every schema. A customer id is used as a DNS label,
 * a file name, a shell word, a docker compose project name and (upper-cased)
 * inside environment variable names, so it is held to the intersection of all
 * of them: lowercase letters, digits and inner hyphens, 2–32 characters,
 * starting with a letter.
 */
import { z } from 'zod';

export const RESERVED_CUSTOMER_IDS = ['customer', 'customers', 'all', 'lab', 'default', 'services'] as const;

export const CustomerId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, {
    message: 'customer id must be 2-32 characters of a-z, 0-9 and inner "-", starting with a letter (it is used as a DNS label, file name and compose project)',
  })
  .refine((id) => !id.includes('--'), { message: 'customer id must not contain "--"' })
  .refine((id) => !(RESERVED_CUSTOMER_IDS as readonly string[]).includes(id), {
    message: `customer id is reserved (${RESERVED_CUSTOMER_IDS.join(', ')})`,
  });
export type CustomerId = z.infer<typeof CustomerId>;

export const ServiceName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, { message: 'service name must be 2-32 characters of a-z, 0-9 and inner "-"' });
export type ServiceName = z.infer<typeof ServiceName>;

export const EnvName = z.string().regex(/^[A-Z][A-Z0-9_]{0,127}$/, {
  message: 'must be an environment variable name: A-Z, 0-9 and "_", starting with a letter',
});

/** An env/secret name that may carry `{CUSTOMER}` / `{SERVICE}` placeholders. */
export const EnvNameTemplate = z.string().regex(/^[A-Z{][A-Z0-9_{}]{0,127}$/, {
  message: 'must be an environment variable name (A-Z, 0-9, "_"), optionally with {CUSTOMER} / {SERVICE} placeholders',
});

export const Hostname = z
  .string()
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/, {
    message: 'must be a lowercase DNS name like example.com',
  });

export const EntityId = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, {
  message: 'entity id must be lowercase letters, digits, "_" or "-", starting with a letter',
});

export const HttpsUrl = z.string().regex(/^https:\/\/[^\s]+$/, { message: 'must be an https:// URL' });

/** Entra (Azure AD) ids are GUIDs. */
export const Guid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
    message: 'must be a GUID like 00000000-0000-0000-0000-000000000000',
  });

/** Upper-cased customer id for env names: `new-co` → `NEW_CO`. */
export function envToken(id: string): string {
  return id.toUpperCase().replace(/-/g, '_');
}

/** Expands `{CUSTOMER}`, `{customer}`, `{SERVICE}`, `{service}` in a template. */
export function expandName(template: string, vars: { customer: string; service?: string }): string {
  return template
    .replaceAll('{CUSTOMER}', envToken(vars.customer))
    .replaceAll('{customer}', vars.customer)
    .replaceAll('{SERVICE}', vars.service ? envToken(vars.service) : '{SERVICE}')
    .replaceAll('{service}', vars.service ?? '{service}');
}
