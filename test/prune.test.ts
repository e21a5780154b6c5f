/**
 * Pruning in the lab (real sshd host, real Docker and Compose, the Cloudflare
 * emulator standing in for Cloudflare): a customer with `policy.prune` on is
 * removed from customers.yaml by a commit; the PR plan shows its teardown;
 * `axe controller --once` (a fresh process: the customer's last revision is
 * read back from the history) tears down its stacks, cloudflared, DNS and
 * tunnel, keeps its vault items and data volumes; pruning again plans nothing.
 * A customer removed with pruning off is left in place. The tunnel is deleted even
 * though Cloudflare still lists a stale connector of it (a stopped cloudflared it
 * never heard from again): axe cleans up the connections first, as the API documents.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { buildEnv } from '../reconcilers/env.js';
import { openConfiguredProviders } from '../providers/index.js';
import { pruneCustomer } from '../reconcilers/prune.js';
import { planTeardown } from '../reconcilers/teardown.js';
import { loadSettings } from '../cli/settings.js';
import { TUNNEL_LABEL } from '../lab/cloudflare/connectors.js';
import { LAB_LABEL } from '../lab/component.js';
import { loadRepo } from '../schemas/repo.js';
import type { Kind } from '../reconcilers/types.js';
import { assertEngineFactsMatchShell } from './engine-facts-lab.js';
import { git } from './helpers.js';
import { startTestLab } from './lab-fixture.js';

const run = promisify(execFile);

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args)).stdout.trim();
}

describe('pruning a removed customer (lab)', () => {
  it('plans the teardown in the PR, the controller tears it down on merge, and a second prune plans nothing', async () => {
    await using lab = await startTestLab();
    const id = lab.ids.realchoice;
    const kept = lab.ids.demo;
    const file = join(lab.repo, 'customers.yaml');
    // realchoice (exposure only) in apply mode with pruning on; demo with pruning off; acme suspended (not this test's).
    const doc = parse(await readFile(file, 'utf8')) as { customers: Record<string, { policy?: Record<string, unknown> }> };
    doc.customers[id]!.policy = { mode: 'apply', prune: true };
    doc.customers[lab.ids.acme]!.policy = { suspend: true };
    doc.customers[kept]!.policy = { suspend_kinds: ['stack', 'vaultwarden', 'entities', 'endpoints', 'vault-items'] };
    await writeFile(file, stringify(doc));
    await git(lab.repo, 'commit', '-qam', 'prune on for realchoice');
    await git(lab.repo, 'push', '-q', 'origin', 'HEAD:main');

    const first = await lab.axe(['controller', '--once']);
    assert.ok(first.stdout.includes('"msg":"reconcile started"'), first.stderr);
    const label = `label=ai.axelabs.axe.customer=${id}`;
    assert.equal(await docker('ps', '-q', '--filter', `name=^axe-cloudflared-${id}$`).then((o) => o.length > 0), true, 'cloudflared runs after the first pass');

    // What axe's stacks look like on the host: a compose project labelled for the customer, with a data volume.
    const project = `${id}-extra`;
    const compose = join(lab.stateDir, 'extra-compose.yml');
    await writeFile(
      compose,
      stringify({
        services: { app: { image: 'axelab-base:1', command: ['sleep', '3600'], labels: { 'ai.axelabs.axe.customer': id }, volumes: ['data:/data'] } },
        volumes: { data: { labels: { 'ai.axelabs.axe.customer': id } } },
      }),
    );
    await run('docker', ['compose', '-p', project, '-f', compose, 'up', '-d']);
    {
      // The scan's engine facts (Engine API over SSH) observe what their shell forms (curl, the docker CLI) observe.
      const settings = await loadSettings({}, lab.env);
      const state = await loadRepo(lab.repo);
      assert.ok(state.ok);
      const providers = await openConfiguredProviders(settings.config, settings.vault, { home: settings.home });
      try {
        await assertEngineFactsMatchShell(buildEnv({ config: settings.config, zone: settings.zone, state: state.state, providers }), id);
      } finally {
        providers.hosts.close();
      }
    }
    const stale = `${id}-stale-cloudflared`;
    try {
      // The PR removing both customers: realchoice's teardown is planned, demo is left in place.
      const base = (await git(lab.repo, 'rev-parse', 'HEAD')).trim();
      const removed = parse(await readFile(file, 'utf8')) as { customers: Record<string, unknown>; services: Record<string, Record<string, unknown>> };
      delete removed.customers[id];
      delete removed.customers[kept];
      for (const slots of Object.values(removed.services)) delete slots[kept];
      await writeFile(file, stringify(removed));
      await git(lab.repo, 'commit', '-qam', `offboard ${id} and ${kept}`);
      const pr = await lab.axe(['plan', '--base', base, '--head', 'HEAD', '--markdown']);
      assert.equal(pr.code, 0, pr.stderr);
      assert.match(pr.stdout, new RegExp(`\`${id}\` is torn down on merge`));
      assert.match(pr.stdout, new RegExp(`docker compose -p ${project} down`));
      assert.match(pr.stdout, new RegExp(`remove the cloudflared container axe-cloudflared-${id}`));
      assert.match(pr.stdout, new RegExp(`delete CNAME ${id}\\.axelabs\\.ai`));
      assert.match(pr.stdout, new RegExp(`delete tunnel axe-${id} `));
      assert.match(pr.stdout, new RegExp(`Removed from customers.yaml: \`${kept}\`\\. Nothing is torn down`));
      assert.equal(await docker('ps', '-q', '--filter', label).then((o) => o.split('\n').filter(Boolean).length), 2, 'planning touched nothing');

      // A stale connector of the tunnel: a cloudflared that stopped without Cloudflare hearing of it
      // (say on a replaced Mac mini). Cloudflare still lists its connection, and refuses a plain delete (1022).
      const tunnelId = await docker('inspect', '-f', `{{index .Config.Labels "${TUNNEL_LABEL}"}}`, `axe-cloudflared-${id}`);
      assert.match(tunnelId, /^[0-9a-f-]{36}$/);
      await docker('create', '--name', stale, '--label', `${LAB_LABEL}=1`, '--label', `${TUNNEL_LABEL}=${tunnelId}`, 'axelab-base:1', 'true');

      // Merge: the controller (a new process) prunes realchoice and leaves demo alone.
      await git(lab.repo, 'push', '-q', 'origin', 'HEAD:main');
      const second = await lab.axe(['controller', '--once']);
      const history = await lab.axe(['history', id]);
      assert.match(history.stdout, /pruned \(as declared at [0-9a-f]{12}\): 6 step\(s\)/, `${history.stdout}\n${second.stdout.slice(-2000)}`);
      assert.equal(await docker('ps', '-aq', '--filter', label), '', 'no container of the customer is left');
      assert.notEqual(await docker('volume', 'ls', '-q', '--filter', label), '', 'its data volume stays');
      const demoHistory = await lab.axe(['history', kept]);
      assert.match(demoHistory.stdout, /left in place \(pruning is off/);

      // Observed again from the base revision: nothing left, so nothing planned; vault items kept.
      const settings = await loadSettings({}, lab.env);
      await git(lab.repo, 'checkout', '-q', base);
      const state = await loadRepo(lab.repo);
      assert.ok(state.ok);
      const providers = await openConfiguredProviders(settings.config, settings.vault, { home: settings.home });
      const env = buildEnv({ config: settings.config, zone: settings.zone, state: state.state, providers });
      try {
        const again = await pruneCustomer(env, id, { apply: false });
        assert.equal(again.error, null);
        assert.deepEqual(again.actions, [], 'a second prune plans nothing');
        assert.ok((await env.scan.vault()).some((item) => item.name === `CLOUDFLARED_${id.toUpperCase()}_CREDENTIALS`), 'vault items are never pruned');
        assert.equal((await env.scan.tunnels()).some((t) => t.name === `axe-${id}`), false, 'the tunnel is deleted');
        assert.equal((await env.scan.dns()).some((r) => r.name === `${id}.axelabs.ai`), false, 'the DNS record is deleted');
        assert.equal((await env.scan.dns()).some((r) => r.name === `${kept}.axelabs.ai`), true, "demo's DNS record stays (pruning off)");
      } finally {
        providers.hosts.close();
        await git(lab.repo, 'checkout', '-q', 'main');
      }
    } finally {
      await run('docker', ['compose', '-p', project, '-f', compose, 'down', '-v']).catch(() => undefined);
      await run('docker', ['rm', '-f', stale]).catch(() => undefined);
    }
  });

  it('the teardown plan: an unobserved host plans nothing, not even in Cloudflare; else the order of the links', () => {
    const kinds = new Map<Kind, unknown>([
      ['stack', { projects: ['x-frame'], secretFiles: [], networks: ['axe-x'] }],
      ['cloudflared', { secretFiles: ['~/.axe/cloudflared/credentials.json'], service: 'container' }],
      ['dns', { records: [{ id: 'r', type: 'CNAME', name: 'x.axelabs.ai' }], zoneId: 'z' }],
      ['tunnel', { tunnel: { id: 't', name: 'axe-x' } }],
    ]);
    assert.deepEqual(planTeardown('x', { kinds, hostError: 'down' }), []);
    const ops = planTeardown('x', { kinds, hostError: null }).map((a) => `${a.kind}:${a.op}`);
    assert.deepEqual(ops, ['stack:compose-down', 'cloudflared:remove-file', 'cloudflared:remove-service', 'stack:remove-network', 'dns:delete', 'tunnel:delete']);
  });
});
