import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import type { HostConnection } from '../providers/host/ssh.js';
import { withExecSession } from '../providers/host/local-connection.js';
import type { Providers } from './runtime.js';
import { newScan, SCAN_KEYS } from './scan.js';

/** A host whose commands run in a local sh; counts round trips. */
function localHost(): { providers: Providers; trips: string[] } {
  const trips: string[] = [];
  const connection = withExecSession({
    exec(command: string, options: { stdin?: string } = {}) {
      trips.push(options.stdin ?? command);
      return new Promise((resolve) => {
        const child = execFile('/bin/sh', ['-s'], (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }));
        child.stdin!.end(options.stdin ?? '');
      });
    },
  }) as unknown as HostConnection;
  const providers = { hosts: { connection: async () => connection, probeMemo: new Map() } } as unknown as Providers;
  return { providers, trips };
}

const target = { name: 'h.ts.net', address: '127.0.0.1', port: 22, user: 'axe' };

describe('scan: host sections', () => {
  test('one round trip for the batch; a dropped section re-runs alone; a dropped host re-runs all', async () => {
    const { providers, trips } = localHost();
    const scan = newScan(providers, 'axelabs.ai');
    let n = 0;
    const sections = () => [
      { name: 'a', script: `echo a${++n}` },
      { name: 'b', script: 'echo b' },
    ];
    const first = await scan.host(target, sections);
    assert.equal(first.get('a')?.output, 'a1');
    assert.equal((await scan.host(target, sections)).get('a')?.output, 'a1', 'served from the scan');
    assert.equal(trips.length, 1);

    scan.forget(target, { hostSection: 'b' });
    const again = await scan.host(target, sections);
    assert.equal(trips.length, 2);
    assert.doesNotMatch(trips[1]!, /echo a/, 'only the stale section ran');
    assert.equal(again.get('a')?.output, 'a1');
    assert.equal(again.get('b')?.output, 'b');

    scan.forget(target, 'host');
    scan.forget(target, { hostSection: 'a' });
    assert.equal((await scan.host(target, sections)).get('a')?.output, 'a3');
    assert.equal(trips.length, 3, 'a full batch, the stale mark absorbed');
    assert.equal((await scan.host(target, sections)).get('a')?.output, 'a3');
    assert.equal(trips.length, 3);
  });

  test('a reader naming its section re-runs only that one; fetchedAt says when each entry was read, none once dropped', async () => {
    const { providers, trips } = localHost();
    const scan = newScan(providers, 'axelabs.ai');
    const sections = () => [
      { name: 'a', script: 'echo a' },
      { name: 'b', script: 'echo b' },
    ];
    assert.equal(scan.fetchedAt(SCAN_KEYS.hostSection(target, 'a')), undefined);
    const t0 = Date.now();
    await scan.host(target, sections);
    const batchAt = scan.fetchedAt(SCAN_KEYS.hostSection(target, 'a'))!;
    assert.ok(batchAt >= t0);
    assert.equal(scan.fetchedAt(SCAN_KEYS.hostSection(target, 'b')), batchAt);
    assert.equal(scan.fetchedAt(SCAN_KEYS.host(target)), batchAt);

    scan.forget(target, { hostSection: 'a' });
    scan.forget(target, { hostSection: 'b' });
    assert.equal(scan.fetchedAt(SCAN_KEYS.hostSection(target, 'a')), undefined, 'dropped: not held');
    await new Promise((r) => setTimeout(r, 5));
    await scan.host(target, sections, 'b');
    assert.equal(trips.length, 2);
    assert.doesNotMatch(trips[1]!, /echo a/, 'only the named section ran');
    assert.ok(scan.fetchedAt(SCAN_KEYS.hostSection(target, 'b'))! > batchAt);
    assert.equal(scan.fetchedAt(SCAN_KEYS.hostSection(target, 'a')), undefined, 'a is still stale');
    // The engine's question (Pass.fresh): a host read held and made since then; any other read never is.
    assert.equal(scan.hostReadSince(target, { hostSection: 'b' }, batchAt + 1), true);
    assert.equal(scan.hostReadSince(target, { hostSection: 'a' }, 0), false, 'stale');
    assert.equal(scan.hostReadSince(target, 'host', batchAt), true);
    assert.equal(scan.hostReadSince(target, 'host', batchAt + 1), false);
    assert.equal(scan.hostReadSince(target, 'vault', 0), false);
    await scan.host(target, sections);
    assert.equal(trips.length, 3);
    assert.doesNotMatch(trips[2]!, /echo b/, 'the rest of the stale sections');
    assert.ok(scan.fetchedAt(SCAN_KEYS.hostSection(target, 'a'))! > batchAt);

    scan.forget(target, 'host');
    assert.equal(scan.fetchedAt(SCAN_KEYS.hostSection(target, 'a')), undefined);
  });
});
