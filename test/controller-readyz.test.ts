/**
 * `/readyz` and the operator's own bw (the one that runs `bw serve`): with the
 * `vaultwarden` vault provider, a bw in the crash range against the
 * OIDCWarden fork makes the controller unready, with the trap and its fix;
 * a pinned bw leaves it ready. The controller runs in-process against the
 * controller fixture (real bare repo, Cloudflare emulator); its providers are
 * the fixture's (a file vault), only the vault config names a vaultwarden
 * with a fake bw.
 */
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../controller/logger.js';
import { openController } from '../controller/run.js';
import { openConfiguredProviders } from '../providers/index.js';
import { controllerFixture } from './controller-fixture.js';

interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string; trap?: string; fix?: string }>;
}

async function readyz(bwVersion: string): Promise<{ status: number; body: Readiness; log: Array<Record<string, unknown>> }> {
  await using fixture = await controllerFixture();
  const bw = join(fixture.dir, 'bw');
  await writeFile(bw, `#!/bin/sh\n[ "$1" = --version ] && echo ${bwVersion} && exit 0\nexit 2\n`);
  await chmod(bw, 0o755);
  const log: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _e, done) {
        for (const l of String(chunk).trim().split('\n')) log.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    }),
  });
  const running = await openController({
    config: fixture.config,
    vault: { provider: 'vaultwarden', url: 'http://127.0.0.1:8087', session_store: 'file', sync_interval: '5m', bw },
    zone: 'axelabs.ai',
    axeHome: fixture.home,
    listen: '127.0.0.1:0',
    log: logger,
    providers: await openConfiguredProviders(fixture.config, fixture.vault, { cacheDir: join(fixture.home, 'cache'), home: fixture.home }),
    driftSchedule: false,
    timings: { pollIntervalMs: 0 },
  });
  try {
    const response = await fetch(`${running.url}/readyz`);
    return { status: response.status, body: (await response.json()) as Readiness, log };
  } finally {
    await running.stop();
  }
}

describe('/readyz checks the operator bw (vaultwarden provider)', () => {
  it('bw 2025.8.0 against the fork: 503 with the trap and its fix, warned once at start', async () => {
    const { status, body, log } = await readyz('2025.8.0');
    assert.equal(status, 503);
    assert.equal(body.ready, false);
    assert.equal(body.checks.bw?.ok, false);
    assert.equal(body.checks.bw?.trap, 'bw-cli-crashing-version');
    assert.match(body.checks.bw?.detail ?? '', /bw 2025\.8\.0 .* is newer than 2025\.7\.0/);
    assert.match(body.checks.bw?.fix ?? '', /npm install -g @bitwarden\/cli@2025\.7\.0/);
    assert.equal(body.checks.revision?.ok, true, 'the rest is ready');
    assert.equal(log.filter((l) => l.msg === 'operator bw unusable').length, 1);
  });

  it('bw 2025.7.0: 200', async () => {
    const { status, body } = await readyz('2025.7.0');
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.checks.bw?.ok, true);
  });
});
