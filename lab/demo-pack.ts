/**
 * The demo customer's pack, as the customer's IT would send it after running
 * axelabs-bootstrap.sh: made once per lab with fresh random client secrets,
 * mode 0600, never in git.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function demoPackPath(stateDir: string): string {
  return join(stateDir, 'operator', 'packs', 'axelabs-bootstrap-demo.json');
}

/** Writes the demo pack unless it exists; returns its path. */
export async function ensureDemoPack(stateDir: string): Promise<string> {
  const path = demoPackPath(stateDir);
  const existing = await readFile(path, 'utf8').catch(() => null);
  if (existing) return path;
  const secret = (): string => randomBytes(30).toString('base64url');
  const base = 'https://demo.axelabs.ai';
  const pack = {
    schema: 'axelabs-bootstrap/v1',
    customer: 'demo',
    tenant_id: '0d3a1e2f-5b6c-4d7e-8f90-a1b2c3d4e5f6',
    apps: {
      blueprint: { client_id: '7c1d2e3f-0000-4000-8000-0000000000b1', client_secret: secret() },
      vaultwarden: { client_id: '7c1d2e3f-0000-4000-8000-0000000000a1', client_secret: secret() },
      frame_mcp: {
        client_id: '7c1d2e3f-0000-4000-8000-0000000000f1',
        client_secret: secret(),
        application_id_uri: `${base}/frame/mcp`,
        scope: `${base}/frame/mcp/mcp.access`,
        redirect_uris: ['https://claude.ai/api/mcp/auth_callback', 'https://claude.com/api/mcp/auth_callback'],
      },
    },
  };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(pack, null, 2)}\n`, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return path;
}
