import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { AxeError } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import type { SessionStore } from './session-store.js';
import { VaultError, vaultLogin, VaultwardenVault } from './vaultwarden.js';

/** A loopback server answering every request with bw serve's failure envelope (HTTP 400), as the CLI's StatusCommand does when it throws. */
async function failingBwServe(message: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    request.resume();
    response.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify({ success: false, message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const noStore: SessionStore = {
  kind: 'file',
  location: 'nowhere',
  load: async () => null,
  save: async () => {
    throw new Error('not expected');
  },
  clear: async () => undefined,
};

describe('bw serve client: a /status that fails', () => {
  it('is a classified, terminal VaultError (rejected), not a bare rejection, for the provider and for vault login', async () => {
    const bw = await failingBwServe('Failed to read the state.');
    try {
      const vault = new VaultwardenVault({ url: bw.url, syncIntervalMs: 60_000 });
      const listed = await vault.list().then(
        () => null,
        (error: unknown) => error,
      );
      assert.ok(listed instanceof VaultError, `expected a VaultError, got ${String(listed)}`);
      assert.ok(listed instanceof AxeError);
      assert.equal(listed.reason, 'rejected');
      assert.equal(listed.class, 'terminal');
      assert.match(listed.message, /status/);
      assert.match(listed.message, /Failed to read the state\./);

      const login = await vaultLogin({ url: bw.url, password: new Secret('not-the-password'), store: noStore }).then(
        () => null,
        (error: unknown) => error,
      );
      assert.ok(login instanceof VaultError, `expected a VaultError, got ${String(login)}`);
      assert.equal(login.reason, 'rejected');
    } finally {
      await bw.close();
    }
  });
});
