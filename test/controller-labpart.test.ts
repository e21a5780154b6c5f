/**
 * The lab part `controller`: `axe controller` detached against an isolated
 * lab, with the lab config repo's post-receive hook calling the signed
 * webhook, so a plain `git push` reaches the controller at once. `down`
 * stops that PID and removes the hook.
 */
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { controllerLabPart, controllerLabPaths } from '../lab/controller-part.js';
import type { StatusView } from '../controller/status.js';
import { freePort, git } from './helpers.js';
import { startTestLab } from './lab-fixture.js';
import { parse, stringify } from 'yaml';


describe('lab part: controller', () => {
  it('runs the controller detached; a git push reaches it through the signed hook; down stops it', async () => {
    await using lab = await startTestLab();
    const ctx = { stateDir: lab.stateDir, log: () => undefined };
    const previousPort = process.env.AXE_LAB_CONTROLLER_PORT;
    process.env.AXE_LAB_CONTROLLER_PORT = String(await freePort());
    const paths = controllerLabPaths(lab.stateDir);
    let pid = 0;
    try {
      // Keep this test on the controller: the lab's customers are suspended first.
      const file = join(lab.repo, 'customers.yaml');
      const doc = parse(await readFile(file, 'utf8')) as { customers: Record<string, { policy?: Record<string, unknown> }> };
      for (const c of Object.values(doc.customers)) c.policy = { ...c.policy, suspend: true };
      await writeFile(file, stringify(doc));
      await git(lab.repo, 'commit', '-qam', 'suspend everyone');
      await git(lab.repo, 'push', '-q', 'origin', 'HEAD:main');

      await controllerLabPart.up(ctx);
      const url = (await readFile(paths.url, 'utf8')).trim();
      pid = Number((await readFile(paths.pid, 'utf8')).trim());
      assert.ok(pid > 0);
      const first = (await (await fetch(`${url}/status`)).json()) as StatusView;
      assert.equal(first.revision?.id, (await git(lab.repo, 'rev-parse', 'HEAD')).trim());
      assert.equal(((await stat(paths.secret)).mode & 0o777).toString(8), '600');
      await controllerLabPart.up(ctx);
      assert.equal(Number((await readFile(paths.pid, 'utf8')).trim()), pid, 'up is idempotent: the running controller is kept');

      // A plain push: the hook signs it and the controller applies it without polling (poll_interval is 60 s).
      await writeFile(file, (await readFile(file, 'utf8')).replace('legal_name: Demo Company\n', 'legal_name: Demo Company Ltd.\n'));
      await git(lab.repo, 'commit', '-qam', 'rename demo');
      const pushed = Date.now();
      await git(lab.repo, 'push', '-q', 'origin', 'HEAD:main');
      const head = (await git(lab.repo, 'rev-parse', 'HEAD')).trim();
      let applied = 0;
      while (Date.now() - pushed < 10_000) {
        const s = (await (await fetch(`${url}/status`)).json()) as StatusView;
        if (s.revision?.id === head) {
          applied = Date.now() - pushed;
          break;
        }
        await sleep(50);
      }
      assert.ok(applied > 0, 'the push reached the controller');
      console.log(`# git push → revision applied by the detached controller: ${applied} ms`);
      const log = await readFile(paths.log, 'utf8');
      assert.match(log, /"msg":"webhook push"/);
      const status = await controllerLabPart.status(ctx);
      assert.match(status.detail, new RegExp(`pid ${pid}`));
    } finally {
      await controllerLabPart.down(ctx);
      if (previousPort === undefined) delete process.env.AXE_LAB_CONTROLLER_PORT;
      else process.env.AXE_LAB_CONTROLLER_PORT = previousPort;
    }
    assert.throws(() => process.kill(pid, 0), 'the controller process is gone');
    await assert.rejects(stat(paths.hook), 'the hook is gone');
    await assert.rejects(stat(paths.dir));
    assert.equal((await controllerLabPart.status(ctx)).ready, false);
  });
});
