/**
 * `axe onboard` / `axe plan` end to end in an isolated lab: real sshd hosts,
 * real Docker (the cloudflared stand-in container), the Cloudflare emulator
 * (a stand-in for Cloudflare, driven through the official SDK), the Tailscale
 * stand-in, the file vault.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Cloudflare from 'cloudflare';
import { parse, stringify } from 'yaml';
import { readCloudflareToken } from '../lab/cloudflare/index.js';
import { setHostSleep } from '../lab/hosts/index.js';
import { parsableKeyPair } from '../lab/hosts/registry.js';
import { setPeerState } from '../lab/tailscale/index.js';
import { startVaultEmulator } from '../lab/vault/index.js';
import { git } from './helpers.js';
import { startTestLab, type TestLab } from './lab-fixture.js';

interface JsonResource {
  kind: string;
  sync: string;
  health: { status: string; reason: string; message: string; trap?: { trap: string; fix: string }; findings?: Array<{ trap: string }> };
  actions: Array<{ op: string; summary: string }>;
  applied: Array<{ op: string }>;
  error?: { message: string; fix?: string };
}
interface JsonPlan {
  exitCode: number;
  customers: Array<{ customer: string; resources: JsonResource[] }>;
}

const EXPOSURE = 'host,tunnel,dns,cloudflared';
let lab: TestLab;
let cf: Cloudflare;

function resource(plan: JsonPlan, kind: string): JsonResource {
  const found = plan.customers[0]?.resources.find((r) => r.kind === kind);
  assert.ok(found, `no ${kind} in the plan`);
  return found;
}

function trapsOf(plan: JsonPlan): string[] {
  return plan.customers.flatMap((c) => c.resources.flatMap((r) => [r.health.trap?.trap, ...(r.health.findings ?? []).map((f) => f.trap)])).filter((t): t is string => Boolean(t));
}

async function planJson(customer: string, env?: NodeJS.ProcessEnv, only = EXPOSURE): Promise<{ code: number; plan: JsonPlan; stderr: string }> {
  const result = env ? await lab.axe(['plan', customer, '--only', only, '--json'], undefined) : await lab.axe(['plan', customer, '--only', only, '--json']);
  return { code: result.code, plan: JSON.parse(result.stdout) as JsonPlan, stderr: result.stderr };
}

/** A copy of the lab's operator config with `change` applied; returns its path. */
async function configVariant(name: string, change: (config: Record<string, any>) => void): Promise<string> {
  const config = parse(await readFile(lab.env.AXE_CONFIG!, 'utf8')) as Record<string, any>;
  change(config);
  const path = join(lab.stateDir, `config-${name}.yaml`);
  await writeFile(path, stringify(config), { mode: 0o600 });
  return path;
}

async function axeWith(config: string, args: string[]) {
  const { axe } = await import('./helpers.js');
  return axe(args, { env: { ...lab.env, AXE_CONFIG: config } });
}

/** GET through the edge stand-in with the customer's name in Host (fetch() cannot set Host). */
function getVia(edgeUrl: string, host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(edgeUrl);
    const req = request({ hostname: url.hostname, port: url.port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function fqdn(id: string): string {
  return `${id}-macmini.tail-lab.ts.net`;
}

describe('axe onboard and plan in the lab', { timeout: 600_000 }, () => {
  before(async () => {
    lab = await startTestLab();
    cf = new Cloudflare({ apiToken: (await readCloudflareToken(lab.stateDir)).reveal(), baseURL: lab.cloudflare.apiBaseUrl, maxRetries: 0 });
  });
  after(async () => {
    await lab?.[Symbol.asyncDispose]();
  });

  it('names the traps it finds before anything is created', async () => {
    const demo = lab.ids.demo;
    // Always there in the lab: docker only by absolute path, a bw newer than the fork tolerates.
    let { plan } = await planJson(demo);
    assert.equal(resource(plan, 'host').health.status, 'Healthy');
    assert.ok(trapsOf(plan).includes('ssh-non-login-path'));
    assert.ok(trapsOf(plan).includes('bw-cli-crashing-version'));

    // TXT where the tunnel CNAME must go.
    const txt = await cf.dns.records.create({ zone_id: lab.cloudflare.zoneId, type: 'TXT', name: `${demo}.axelabs.ai`, content: '"ms=verify"', ttl: 1 });
    ({ plan } = await planJson(demo));
    assert.equal(resource(plan, 'dns').health.trap?.trap, 'dns-txt-beside-cname');
    await cf.dns.records.delete(txt.id, { zone_id: lab.cloudflare.zoneId });

    // Peer offline, then relayed; the Mac mini asleep.
    try {
      await setPeerState(lab.stateDir, fqdn(demo), { online: false });
      ({ plan } = await planJson(demo));
      assert.equal(resource(plan, 'host').health.trap?.trap, 'tailscale-peer-offline');
      assert.match(resource(plan, 'cloudflared').error?.message ?? '', /is not reachable/, 'nothing is pushed to an unreachable host');
      await setPeerState(lab.stateDir, fqdn(demo), { online: true, relayed: true });
      ({ plan } = await planJson(demo));
      assert.equal(resource(plan, 'host').health.trap?.trap, 'tailscale-relayed');
      await setPeerState(lab.stateDir, fqdn(demo), { online: true, relayed: false });
      await setHostSleep(lab.stateDir, demo, 10);
      ({ plan } = await planJson(demo));
      assert.equal(resource(plan, 'host').health.trap?.trap, 'host-asleep');
    } finally {
      await setPeerState(lab.stateDir, fqdn(demo), { online: true, relayed: false });
      await setHostSleep(lab.stateDir, demo, 0);
    }

    // The short alias in customers.yaml: still reached by its FQDN, flagged.
    const file = join(lab.repo, 'customers.yaml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace(`tailscale_host: "${fqdn(demo)}"`, `tailscale_host: "${demo}-macmini"`));
    try {
      ({ plan } = await planJson(demo));
      assert.equal(resource(plan, 'host').health.status, 'Healthy');
      assert.ok(trapsOf(plan).includes('tailscale-short-alias'));
    } finally {
      await writeFile(file, original);
    }

    // The customer entry missing; a service slot missing; a secret not in the manifest.
    const missing = await lab.axe(['plan', 'nosuchcustomer']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /customer nosuchcustomer is not in customers\.yaml \(fix: Add the customer block/);
    const slot = await lab.axe(['secret', 'push', 'X_TOKEN', '--service', 'hive', '--customer', lab.ids.realchoice], 'value');
    assert.equal(slot.code, 1);
    assert.match(slot.stderr, new RegExp(`service hive is not declared for ${lab.ids.realchoice}`));
    const notDeclared = await lab.axe(['secret', 'push', 'NOT_DECLARED', '--service', 'frame', '--customer', demo], 'value');
    assert.match(notDeclared.stderr, /NOT_DECLARED not in manifest/);
  });

  it('names the operator-side traps: token missing, vault locked, a changed host key', async () => {
    const demo = lab.ids.demo;
    const noToken = await configVariant('no-token', (c) => (c.cloudflare.token_secret = 'NO_SUCH_TOKEN'));
    let result = await axeWith(noToken, ['plan', demo, '--only', EXPOSURE, '--json']);
    assert.equal(result.code, 1);
    assert.equal(resource(JSON.parse(result.stdout) as JsonPlan, 'tunnel').health.trap?.trap, 'cloudflare-token-missing');

    await using vault = await startVaultEmulator({ dir: join(lab.stateDir, 'vault-locked') });
    const locked = await configVariant('locked', (c) => (c.vault = { provider: 'vaultwarden', url: vault.url, session_store: 'file' }));
    result = await axeWith(locked, ['plan', demo, '--json']);
    assert.equal(result.code, 1);
    const lockedPlan = JSON.parse(result.stdout) as JsonPlan;
    assert.ok(['bw-vault-locked', 'bw-session-not-cached'].includes(resource(lockedPlan, 'vault-items').health.trap?.trap ?? ''), JSON.stringify(resource(lockedPlan, 'vault-items').health));

    const knownHosts = join(lab.stateDir, 'known_hosts.changed');
    const pinned = await readFile(join(lab.stateDir, 'hosts', 'known_hosts'), 'utf8');
    const other = pinned.split('\n').find((l) => l.includes(lab.ids.acme))!.split(' ').slice(1).join(' ');
    await writeFile(knownHosts, pinned.split('\n').map((l) => (l.includes(fqdn(demo)) ? `${l.split(' ')[0]} ${other}` : l)).join('\n'));
    const changed = await configVariant('changed-key', (c) => (c.ssh.known_hosts = knownHosts));
    result = await axeWith(changed, ['plan', demo, '--only', 'host', '--json']);
    assert.equal(resource(JSON.parse(result.stdout) as JsonPlan, 'host').health.trap?.trap, 'ssh-host-key-changed');

    const strangerKey = join(lab.stateDir, 'stranger_ed25519');
    await writeFile(strangerKey, parsableKeyPair().private, { mode: 0o600 });
    const stranger = await configVariant('stranger-key', (c) => (c.ssh.key_file = strangerKey));
    result = await axeWith(stranger, ['plan', demo, '--only', 'host', '--json']);
    const refused = resource(JSON.parse(result.stdout) as JsonPlan, 'host').health;
    assert.equal(refused.trap?.trap, 'ssh-key-refused');
    assert.match(refused.trap?.fix ?? '', new RegExp(`authorized_keys of axelab-${demo}`));
  });

  it('converges a new customer; plan is then clean; a second apply writes nothing', async () => {
    const demo = lab.ids.demo;
    const { code, plan } = await planJson(demo);
    assert.equal(code, 2, 'changes pending before the first apply');
    assert.deepEqual(resource(plan, 'tunnel').actions.map((a) => a.op), ['create']);

    const applied = await lab.axe(['onboard', demo, '--apply', '--json']);
    assert.equal(applied.code, 0, applied.stderr);
    const after = JSON.parse(applied.stdout) as JsonPlan;
    for (const kind of ['tunnel', 'dns', 'cloudflared']) assert.ok(resource(after, kind).applied.length > 0, `${kind} acted`);
    assert.equal(resource(after, 'cloudflared').health.status, 'Healthy', JSON.stringify(resource(after, 'cloudflared').health));
    assert.match(applied.stderr, /create tunnel axe-/, 'progress shown step by step');

    const clean = await planJson(demo);
    assert.equal(clean.code, 0, JSON.stringify(clean.plan));
    for (const kind of ['host', 'tunnel', 'dns', 'cloudflared']) assert.equal(resource(clean.plan, kind).health.status, 'Healthy', kind);

    // The public name answers through the edge stand-in and the customer's own cloudflared.
    const trace = await getVia(lab.cloudflare.edgeUrl, `${demo}.axelabs.ai`, '/cdn-cgi/trace');
    assert.equal(trace.status, 200);
    assert.match(trace.body, /colo=/);

    await lab.resetCloudflareStats();
    const again = await lab.axe(['onboard', demo, '--apply', '--json']);
    assert.equal(again.code, 0);
    assert.equal((await lab.cloudflareStats()).writes, 0, 'a second apply performs no Cloudflare write');
    assert.deepEqual((JSON.parse(again.stdout) as JsonPlan).customers[0]!.resources.flatMap((r) => r.applied), []);
  });

  it('corrects drift on the host: an edited config, loose credentials, a stopped cloudflared', async () => {
    const demo = lab.ids.demo;
    const host = lab.hosts.find((h) => h.name === demo)!;
    const dir = join(host.home, '.axe', 'cloudflared');
    await writeFile(join(dir, 'config.yml'), '# edited by hand\n', { flag: 'a' });
    const { chmod } = await import('node:fs/promises');
    await chmod(join(dir, 'credentials.json'), 0o644);
    const { plan } = await planJson(demo);
    assert.deepEqual(resource(plan, 'cloudflared').actions.map((a) => a.op), ['push-config', 'push-credentials', 'reload']);
    const fixed = await lab.axe(['onboard', demo, '--apply']);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal((await planJson(demo)).code, 0);

    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    await promisify(execFile)('docker', ['stop', '-t', '1', `axe-cloudflared-${demo}`]);
    const stopped = await planJson(demo);
    assert.deepEqual(resource(stopped.plan, 'cloudflared').actions.map((a) => a.op), ['reload']);
    assert.equal((await lab.axe(['onboard', demo, '--apply'])).code, 0);
    const clean = await planJson(demo);
    assert.equal(clean.code, 0);
    assert.equal(resource(clean.plan, 'cloudflared').health.status, 'Healthy');
  });

  it('adopts a tunnel and a record that already exist: ids unchanged', async () => {
    const acme = lab.ids.acme;
    const tunnel = await cf.zeroTrust.tunnels.cloudflared.create({ account_id: lab.cloudflare.accountId, name: `axe-${acme}`, config_src: 'local', tunnel_secret: Buffer.alloc(32, 7).toString('base64') });
    const record = await cf.dns.records.create({ zone_id: lab.cloudflare.zoneId, type: 'CNAME', name: `${acme}.axelabs.ai`, content: `${tunnel.id}.cfargotunnel.com`, proxied: true, ttl: 1 });
    const { plan } = await planJson(acme);
    assert.deepEqual(resource(plan, 'tunnel').actions.map((a) => a.op), ['adopt']);
    assert.deepEqual(resource(plan, 'dns').actions.map((a) => a.op), ['adopt']);
    const applied = await lab.axe(['onboard', acme, '--apply']);
    assert.equal(applied.code, 0, applied.stderr);
    const tunnels = await cf.zeroTrust.tunnels.cloudflared.list({ account_id: lab.cloudflare.accountId, name: `axe-${acme}`, is_deleted: false });
    assert.deepEqual(tunnels.result.map((t) => t.id), [tunnel.id], 'no second tunnel');
    const after = await cf.dns.records.get(record.id, { zone_id: lab.cloudflare.zoneId });
    assert.equal(after.content, `${tunnel.id}.cfargotunnel.com`);
    assert.match(after.comment ?? '', /managed-by=axe/);
    assert.equal((await planJson(acme)).code, 0);
  });

  it('leaves a foreign A record untouched and says how to fix it', async () => {
    const rc = lab.ids.realchoice;
    const foreign = await cf.dns.records.create({ zone_id: lab.cloudflare.zoneId, type: 'A', name: `${rc}.axelabs.ai`, content: '192.0.2.10', ttl: 300 });
    const applied = await lab.axe(['onboard', rc, '--apply', '--json']);
    const dns = resource(JSON.parse(applied.stdout) as JsonPlan, 'dns');
    assert.equal(dns.health.status, 'Degraded');
    assert.equal(dns.health.trap?.trap, 'dns-foreign-record');
    assert.match(dns.health.trap?.fix ?? '', /remove or rename it in the Cloudflare dashboard/);
    const still = await cf.dns.records.get(foreign.id, { zone_id: lab.cloudflare.zoneId });
    assert.equal(still.content, '192.0.2.10');
    assert.equal(still.modified_on, foreign.modified_on);
    // A sovereign customer: exposure only, no vault items, no stacks.
    assert.deepEqual((JSON.parse(applied.stdout) as JsonPlan).customers[0]!.resources.map((r) => r.kind), ['host', 'tunnel', 'dns', 'cloudflared']);
    await git(lab.repo, 'status', '--short');
  });
});
