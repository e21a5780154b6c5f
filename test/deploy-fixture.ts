/**
 * The lab for the `axe deploy` tests (test/deploy.test.ts): an isolated lab
 * (real sshd hosts, the real Docker engine and Compose v2, the Cloudflare
 * emulator and edge, the cloudflared and service stand-ins), the demo
 * customer's host with its vault installed the runbook's way (without the
 * four keys), its bootstrap pack, and the helpers the tests use.
 *
 * Everything the lab or axe made is removed by `stopDeployLab` (the fleet
 * sweep by the customer label, the vault project by name).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labSshCredentials, sshTarget } from '../lab/hosts/index.js';
import { vaultwardenComposeFile } from '../lab/images/vaultwarden-compose.js';
import { publicFetcher } from '../providers/public/index.js';
import { connect, type HostConnection } from '../providers/host/ssh.js';
import type { CliResult } from './helpers.js';
import { bootstrapPack, startTestLab, type TestLab } from './lab-fixture.js';

export interface DeployLab {
  lab: TestLab;
  /** The demo customer's lab id. */
  id: string;
  /** The sovereign customer's lab id (no service slots). */
  sovereign: string;
  /** The demo host, over the lab's SSH as its user. */
  host: HostConnection;
  /** The pack's three client secrets (must never reach any output). */
  packSecrets: string[];
  /** The bootstrap pack for the demo customer (0600). */
  packPath: string;
}

let lab: TestLab;
let id = '';
let host: HostConnection;

export async function startDeployLab(): Promise<DeployLab> {
  lab = await startTestLab();
  id = lab.ids.demo;
  const labHost = lab.hosts.find((h) => h.name === id);
  assert.ok(labHost);
  host = await connect(sshTarget(labHost), await labSshCredentials(lab.stateDir));
  // The customer's IT installed its vault the runbook's way: without the four keys, DOMAIN without /vault.
  await host.writeFile('~/.axe/vault/docker-compose.yml', vaultwardenComposeFile({ domain: `https://${id}.axelabs.ai`, withKeys: false, network: `axe-${id}` }), 0o644);
  const secret = () => `s-${randomBytes(12).toString('base64url')}`;
  const packSecrets = [secret(), secret(), secret()];
  const pack = bootstrapPack(id, [packSecrets[0]!, packSecrets[1]!, packSecrets[2]!]);
  const packPath = join(lab.stateDir, 'pack.json');
  await writeFile(packPath, JSON.stringify(pack), { mode: 0o600 });
  return { lab, id, sovereign: lab.ids.realchoice, host, packSecrets, packPath };
}

export async function stopDeployLab(): Promise<void> {
  // The vault is the customer's compose project (no axe labels): take it down here.
  if (host) {
    await host.exec(`/bin/sh -c 'cd ~/.axe/vault 2>/dev/null && for d in /usr/local/bin/docker /usr/bin/docker; do [ -x $d ] && exec $d compose -p ${id}-vault down -v -t 1; done'`).catch(() => undefined);
    host.close();
  }
  await lab?.[Symbol.asyncDispose]();
}

const exec = promisify(execFile);

/** The real `axe` CLI, as a subprocess with the lab's environment. */
export function deployCli(args: string[]): Promise<CliResult> {
  return lab.axe(args);
}

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** A command on the customer's host, as its user, over the lab's SSH. */
export async function onHost(script: string): Promise<string> {
  const result = await host.exec(`/bin/sh -c '${script.replace(/'/g, `'\\''`)}'`);
  assert.equal(result.code, 0, `on the host: ${script}\n${result.stderr}`);
  return result.stdout.trim();
}

export function fetchPublic(path: string) {
  return publicFetcher(lab.cloudflare.edgeUrl)(`https://${id}.axelabs.ai${path}`, 5000);
}

export async function container(service: string, project: string): Promise<string> {
  return docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`);
}

/** Edits a service manifest in the operator's working clone (what a merged change would bring). */
export async function editManifest(service: string, edit: (text: string) => string): Promise<void> {
  const file = join(lab.repo, 'services', `${service}.yaml`);
  await writeFile(file, edit(await readFile(file, 'utf8')));
}

export interface PollSummary {
  ok: number;
  failed: number;
  seen: string[];
  errors: string[];
}

/** Hits the public frame endpoint every 50 ms until stopped. */
export function poll(): { stop(): Promise<PollSummary> } {
  const summary: PollSummary = { ok: 0, failed: 0, seen: [], errors: [] };
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      try {
        const res = await fetchPublic('/frame/version');
        const body = JSON.parse(res.body) as { color?: string; version?: string };
        if (res.status === 200) {
          summary.ok++;
          const tag = `${body.color}@${body.version}`;
          if (summary.seen[summary.seen.length - 1] !== tag) summary.seen.push(tag);
        } else {
          summary.failed++;
          summary.errors.push(`HTTP ${res.status}`);
        }
      } catch (error) {
        summary.failed++;
        summary.errors.push(String(error));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 50 - (Date.now() - started))));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return summary;
    },
  };
}
