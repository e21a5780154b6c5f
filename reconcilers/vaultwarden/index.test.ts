import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { vaultwardenComposeFile } from '../../lab/images/vaultwarden-compose.js';
import { sha256 } from '../templates.js';
import type { VaultwardenDesired } from './diff.js';
import { hostScript } from '../../providers/host/executor.js';
import { observeSection, parseSection } from './index.js';

describe('vaultwarden observation', () => {
  test('for real with a docker stand-in: each SSO key comes back as the sha256 of its value (or "-" when empty), the env file as its mode and sum; no value leaves the host', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axe-vw-'));
    try {
      const secret = 'the-vault-client-secret-value';
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      const env = ['PATH=/usr/bin', 'DOMAIN=https://acme.axelabs.ai/vault', 'SSO_CLIENT_ID=', `SSO_CLIENT_SECRET=${secret}`, 'SSO_ENABLED=true'];
      writeFileSync(
        join(bin, 'docker'),
        [
          '#!/bin/sh',
          'case "$*" in',
          '  ps*) echo c1;;',
          "  *'Config.Env'*) printf '%s\\n' " + env.map((e) => `'${e}'`).join(' ') + ';;',
          `  *'"id":'*) echo '${JSON.stringify({ id: 'c1', state: 'running', health: 'healthy', project: 'acme-vault', networks: { 'axe-acme': { NetworkID: 'n1' } } })}';;`,
          "  *'State.Status'*) echo running;;",
          `  network*) echo '${JSON.stringify({ ID: 'n1', Name: 'axe-acme' })}';;`,
          'esac',
        ].join('\n'),
        { mode: 0o755 },
      );
      writeFileSync(join(dir, 'docker-compose.yml'), vaultwardenComposeFile({ domain: 'https://acme.axelabs.ai/vault', withKeys: true, network: 'axe-acme' }));
      writeFileSync(join(dir, '.env.axe'), `SSO_CLIENT_SECRET=${secret}\n`, { mode: 0o600 });
      const names = ['SSO_AUTHORITY', 'SSO_CLIENT_ID', 'SSO_CLIENT_SECRET', 'SSO_ENABLED'];
      const d = {
        customer: 'acme',
        publicDomain: 'acme.axelabs.ai',
        composeFile: join(dir, 'docker-compose.yml'),
        container: 'axe-vaultwarden',
        required: {},
        domainPath: '/vault',
        defaultDomain: 'https://acme.axelabs.ai/vault',
        defaultProject: 'acme-vault',
        port: 80,
        alivePath: '/vault/alive',
        sso: { path: join(dir, '.env.axe'), vars: names.map((name) => ({ name, kind: 'value' as const, value: '' })) },
        envFile: { name: '.env.axe', keys: names },
      } satisfies VaultwardenDesired;
      const out = execFileSync('sh', ['-c', hostScript(observeSection(d, [bin]).script)]).toString();
      assert.ok(!out.includes(secret), 'the secret value left the host');
      const o = parseSection(out, d);
      assert.deepEqual(o.container?.sso, new Map([['SSO_AUTHORITY', null], ['SSO_CLIENT_ID', null], ['SSO_CLIENT_SECRET', sha256(secret)], ['SSO_ENABLED', sha256('true')]]));
      assert.deepEqual(o.envFile, { mode: '600', sha256: sha256(`SSO_CLIENT_SECRET=${secret}\n`) });
      assert.equal(o.container?.env.get('DOMAIN'), 'https://acme.axelabs.ai/vault');
      assert.deepEqual({ ...o.container, env: null, sso: null }, { id: 'c1', state: 'running', health: 'healthy', project: 'acme-vault', orphaned: false, env: null, sso: null });
      assert.deepEqual([o.docker, [...o.networks], o.inside, o.file?.mode], [true, ['axe-acme'], 'ok', '644']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
