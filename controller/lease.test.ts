import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { History } from './history.js';
import { describeHolder, tryLease, waitLease } from './lease.js';

const dir = await mkdtemp(join(tmpdir(), 'axe-lease-'));
after(() => rm(dir, { recursive: true, force: true }));

describe('customer leases', () => {
  it('one writer at a time: the second is refused with the holder, gets it after release', () => {
    const history = History.open(join(dir, 'a.sqlite'));
    try {
      const controller = tryLease({ history, holder: 'controller', command: 'reconcile (revision)' }, 'demo');
      assert.ok('lease' in controller);
      const cli = tryLease({ history, holder: 'cli', command: 'axe apply demo --apply' }, 'demo');
      assert.ok('held' in cli);
      assert.equal(cli.held.holder, 'controller');
      assert.equal(cli.held.pid, process.pid);
      assert.match(describeHolder(cli.held), new RegExp(`^the controller \\(pid ${process.pid} on ${hostname()}, reconcile \\(revision\\)\\) since \\d{4}-`));
      assert.ok('lease' in tryLease({ history, holder: 'cli', command: 'x' }, 'acme'), 'another customer is free');
      controller.lease.release();
      assert.equal(controller.lease.held, false);
      const again = tryLease({ history, holder: 'cli', command: 'axe apply demo --apply' }, 'demo');
      assert.ok('lease' in again);
      again.lease.release();
    } finally {
      history.close();
    }
  });

  it('a holder in another process sees the same lease (one database, two connections)', () => {
    const path = join(dir, 'b.sqlite');
    const one = History.open(path);
    const two = History.open(path);
    try {
      const held = tryLease({ history: one, holder: 'controller', command: 'reconcile' }, 'demo');
      assert.ok('lease' in held);
      assert.ok('held' in tryLease({ history: two, holder: 'cli', command: 'axe deploy frame demo --apply' }, 'demo'));
      held.lease.release();
      assert.ok('lease' in tryLease({ history: two, holder: 'cli', command: 'axe deploy frame demo --apply' }, 'demo'));
    } finally {
      one.close();
      two.close();
    }
  });

  it('an expired lease is free (its holder crashed elsewhere), and the crashed holder cannot renew it', async () => {
    const history = History.open(join(dir, 'c.sqlite'));
    try {
      history.acquireLease({ customer: 'demo', token: 'old', holder: 'controller', pid: 1, host: 'another-host', command: 'reconcile', now: Date.now() - 10_000, expires_at: Date.now() - 1 });
      const taken = tryLease({ history, holder: 'cli', command: 'axe apply demo --apply' }, 'demo');
      assert.ok('lease' in taken, 'expired: taken');
      assert.equal(history.renewLease('demo', 'old', Date.now() + 60_000), false, 'the old token lost it');
      taken.lease.release();
    } finally {
      history.close();
    }
  });

  it('a live lease of a process on this host that is gone is free at once', async () => {
    const history = History.open(join(dir, 'd.sqlite'));
    try {
      const child = spawn(process.execPath, ['-e', '0']);
      const pid = child.pid!;
      await new Promise((resolve) => child.on('exit', resolve));
      history.acquireLease({ customer: 'demo', token: 'dead', holder: 'cli', pid, host: hostname(), command: 'axe apply demo --apply', now: Date.now(), expires_at: Date.now() + 600_000 });
      assert.ok('lease' in tryLease({ history, holder: 'controller', command: 'reconcile' }, 'demo'));
      // A live holder on another host is respected until it expires.
      history.acquireLease({ customer: 'acme', token: 'far', holder: 'cli', pid, host: 'another-host', command: 'axe apply acme --apply', now: Date.now(), expires_at: Date.now() + 600_000 });
      assert.ok('held' in tryLease({ history, holder: 'controller', command: 'reconcile' }, 'acme'));
    } finally {
      history.close();
    }
  });

  it('waitLease waits for the holder, or stops with a one-line error naming it and the fix', async () => {
    const history = History.open(join(dir, 'e.sqlite'));
    try {
      const held = tryLease({ history, holder: 'controller', command: 'reconcile (engine-event)' }, 'demo');
      assert.ok('lease' in held);
      await assert.rejects(waitLease({ history, holder: 'cli', command: 'axe apply demo --apply' }, 'demo', 0), (error: Error & { fix?: string }) => {
        assert.match(error.message, /^locked by the controller \(pid \d+ on .+, reconcile \(engine-event\)\) since /);
        assert.match(error.fix ?? '', /--lock-wait/);
        return true;
      });
      let told = 0;
      setTimeout(() => held.lease.release(), 300);
      const started = Date.now();
      const got = await waitLease({ history, holder: 'cli', command: 'axe apply demo --apply' }, 'demo', 5_000, () => (told += 1), 50);
      assert.ok(Date.now() - started >= 250, 'it waited for the release');
      assert.equal(told, 1, 'told once that it waits');
      got.release();
    } finally {
      history.close();
    }
  });
});
