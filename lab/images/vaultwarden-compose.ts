/**
 * The customer's `~/.axe/vault/docker-compose.yml` as the runbook's customer has it,
 * running the lab's vaultwarden stand-in. Tests and the lab hosts write it; `axe vault
 * bootstrap` then patches it.
 *
 * Rules:
 * - Service `axe-vaultwarden`, `environment` as a YAML map of quoted strings, aligned
 *   like the runbook's block.
 * - `withKeys` puts the four SSO keys right after `SSO_SIGNUPS_MATCH_EMAIL` (the
 *   runbook's patch anchor); without it they are absent, as on a customer that never
 *   ran the bootstrap. `INVITATIONS_ALLOWED: "false"` is always there (the runbook's default).
 * - No secret value is written: the SSO client secret comes from `.env` beside the file
 *   through `${SSO_CLIENT_SECRET}` interpolation, as the customer's IT left it (empty in the
 *   lab). `axe vault bootstrap` moves the SSO keys to `.env.axe` (rendered, 0600), named
 *   under the service's `env_file:` (the manifest's `env`).
 */
import { LAB_LABEL } from '../component.js';

export const VAULTWARDEN_IMAGE = 'axelab-vaultwarden:1';

/** The four keys `axe vault bootstrap` ensures, with the values it sets. */
export const VAULT_SSO_KEYS = {
  SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION: 'true',
  SIGNUPS_ALLOWED: 'true',
  SSO_ONLY: 'false',
  ORGANIZATION_INVITE_AUTO_ACCEPT: 'true',
} as const;

export interface VaultwardenComposeOptions {
  /** Full public URL of the vault, e.g. `https://acme.axelabs.ai/vault`. */
  domain: string;
  /** Whether the four SSO keys are present. */
  withKeys: boolean;
  /** External docker network the container joins (cloudflared reaches it there). */
  network: string;
}

function quote(value: string): string {
  return JSON.stringify(value);
}

export function vaultwardenComposeFile(options: VaultwardenComposeOptions): string {
  const env: Array<[string, string, string?]> = [
    ['DOMAIN', options.domain],
    ['ROCKET_PORT', '80'],
    ['SSO_ENABLED', 'true'],
    ['SSO_AUTHORITY', 'https://login.microsoftonline.com/${SSO_TENANT_ID:-}/v2.0'],
    ['SSO_CLIENT_ID', '${SSO_CLIENT_ID:-}'],
    ['SSO_CLIENT_SECRET', '${SSO_CLIENT_SECRET:-}'],
    ['SSO_SCOPES', 'email profile offline_access'],
    ['SSO_SIGNUPS_MATCH_EMAIL', 'true'],
  ];
  if (options.withKeys) {
    env.push(
      ['SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION', VAULT_SSO_KEYS.SSO_ALLOW_UNKNOWN_EMAIL_VERIFICATION, 'D-ops-24'],
      ['SIGNUPS_ALLOWED', VAULT_SSO_KEYS.SIGNUPS_ALLOWED, 'D-ops-26'],
      ['SSO_ONLY', VAULT_SSO_KEYS.SSO_ONLY, 'D-ops-27: keep the master-password fallback'],
      ['ORGANIZATION_INVITE_AUTO_ACCEPT', VAULT_SSO_KEYS.ORGANIZATION_INVITE_AUTO_ACCEPT, 'D-ops-27'],
    );
  }
  env.push(['INVITATIONS_ALLOWED', 'false']);
  const width = Math.max(...env.map(([key]) => key.length)) + 1;
  const envLines = env.map(([key, value, comment]) => {
    const line = `      ${`${key}:`.padEnd(width)} ${quote(value)}`;
    return comment ? `${line.padEnd(60)} # ${comment}` : line;
  });
  return [
    '# Customer vault (Vaultwarden). Secrets come from .env beside this file (mode 0600).',
    'services:',
    '  axe-vaultwarden:',
    `    image: ${VAULTWARDEN_IMAGE}`,
    '    restart: unless-stopped',
    '    environment:',
    ...envLines,
    '    labels:',
    `      ${LAB_LABEL}: "1"`,
    '    volumes:',
    '      - vw-data:/data',
    '    networks:',
    '      - axe',
    '',
    'volumes:',
    '  vw-data:',
    '    labels:',
    `      ${LAB_LABEL}: "1"`,
    '',
    'networks:',
    '  axe:',
    `    name: ${quote(options.network)}`,
    '    external: true',
    '',
  ].join('\n');
}
