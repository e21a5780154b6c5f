/**
 * The lab part `controller`: `axe controller` running detached against the
 * lab (the operator config `axe lab up` wrote), and the lab's config repo
 * calling its webhook on every push, signed like GitHub does, so a push to
 * the lab's main branch reaches the controller at once.
 *
 * Files under `<stateDir>/controller/`: `pid` (the controller's PID; it is
 * stopped by that PID only), `controller.log` (its JSON log), `url`
 * (its base URL), `webhook.secret` (0600: the HMAC secret, also put in the
 * operator vault under `repo.webhook_secret`). The bare config repo gets a
 * `post-receive` hook and `axe-notify.mjs` beside it (plain node, no TypeScript,
 * so a push waits for nothing).
 *
 * Rules: runs after the operator part (it reads the operator config); `up`
 * is idempotent (a controller that answers is left alone); `down` stops the
 * PID, removes the hook and `<stateDir>/controller/`, and nothing else (the
 * controller's history lives in the operator's AXE_HOME, which the operator
 * part removes). Port: $AXE_LAB_CONTROLLER_PORT (default 19464).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Secret } from '../core/secret.js';
import type { LabContext, LabPart, LabPartStatus } from './component.js';
import { configRepoPaths } from './config-repo.js';
import { operatorPaths } from './operator.js';
import { nodeEntry } from './vault/node-entry.js';
import { openVault } from '../providers/vault/index.js';
import { ControllerConfig } from '../schemas/controller-config.js';

export const CONTROLLER_PART = 'controller';
export const DEFAULT_LAB_CONTROLLER_PORT = 19464;

export function controllerLabPaths(stateDir: string): { dir: string; pid: string; log: string; url: string; secret: string; hook: string; notify: string } {
  const dir = join(stateDir, CONTROLLER_PART);
  const hooks = join(configRepoPaths(stateDir).bare, 'hooks');
  return { dir, pid: join(dir, 'pid'), log: join(dir, 'controller.log'), url: join(dir, 'url'), secret: join(dir, 'webhook.secret'), hook: join(hooks, 'post-receive'), notify: join(hooks, 'axe-notify.mjs') };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readPid(path: string): Promise<number | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  const pid = text ? Number(text.trim()) : NaN;
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

async function answers(url: string, path = '/healthz'): Promise<boolean> {
  try {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(1_000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** True once the controller has loaded a revision (or rejected one): its first sync is done. */
async function loaded(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return false;
    const view = (await res.json()) as { revision: unknown; rejected: unknown };
    return Boolean(view.revision || view.rejected);
  } catch {
    return false;
  }
}

async function stopPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The hook's notifier: plain node, reads the secret and URL files, signs the push, posts it. */
function notifyScript(paths: ReturnType<typeof controllerLabPaths>): string {
  return `// Written by the lab's controller part: a push to the lab config repo -> the controller's signed webhook.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
const [ref, before, after] = process.argv.slice(2);
try {
  const secret = readFileSync(${JSON.stringify(paths.secret)}, 'utf8').trim();
  const url = readFileSync(${JSON.stringify(paths.url)}, 'utf8').trim();
  const body = JSON.stringify({ ref, before, after, repository: { full_name: 'axe-lab/config' } });
  const signature = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
  await fetch(url + '/hooks/git', { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature }, body, signal: AbortSignal.timeout(3000) });
} catch {
  // The controller may be down: it polls the repo anyway.
}
`;
}

function hookScript(paths: ReturnType<typeof controllerLabPaths>): string {
  return `#!/bin/sh
# Written by the lab's controller part (axe lab): every push notifies the controller.
while read -r old new ref; do
  ${shellQuote(process.execPath)} ${shellQuote(paths.notify)} "$ref" "$old" "$new" >/dev/null 2>&1 &
done
exit 0
`;
}

function port(): number {
  const raw = Number(process.env.AXE_LAB_CONTROLLER_PORT ?? DEFAULT_LAB_CONTROLLER_PORT);
  return Number.isInteger(raw) && raw > 0 && raw < 65536 ? raw : DEFAULT_LAB_CONTROLLER_PORT;
}

export const controllerLabPart: LabPart = {
  name: CONTROLLER_PART,
  async up(ctx: LabContext) {
    const paths = controllerLabPaths(ctx.stateDir);
    const running = await readPid(paths.pid);
    const knownUrl = (await readFile(paths.url, 'utf8').catch(() => '')).trim();
    if (running !== null && alive(running) && knownUrl && (await answers(knownUrl))) return;
    if (running !== null) await stopPid(running);
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    const operator = operatorPaths(ctx.stateDir);
    const config = ControllerConfig.parse(parse(await readFile(operator.config, 'utf8')));
    // The webhook's secret: in the operator vault (what the controller reads) and in a 0600 file (what the hook reads).
    let secret = (await readFile(paths.secret, 'utf8').catch(() => '')).trim();
    if (!secret) secret = randomBytes(24).toString('base64url');
    await writeFile(paths.secret, `${secret}\n`, { mode: 0o600 });
    await chmod(paths.secret, 0o600);
    await openVault(config.vault, {}).put({ name: config.repo.webhook_secret, service: 'controller', customer: 'operator', value: new Secret(secret) });
    const url = `http://127.0.0.1:${port()}`;
    await writeFile(paths.url, `${url}\n`, { mode: 0o600 });
    await writeFile(paths.notify, notifyScript(paths), { mode: 0o600 });
    await writeFile(paths.hook, hookScript(paths), { mode: 0o700 });
    await chmod(paths.hook, 0o700);

    // The same `axe` CLI the operator runs (cli/main), next to this module's folder.
    const entry = nodeEntry(import.meta.url, '../cli/main');
    const log = await open(paths.log, 'a', 0o600);
    let exited: number | null = null;
    try {
      const child = spawn(process.execPath, [...entry.nodeArgs, entry.file, 'controller', '--config', operator.config, '--listen', `127.0.0.1:${port()}`], {
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        env: { ...process.env, AXE_HOME: operator.home },
      });
      child.once('exit', (code) => (exited = code ?? -1));
      child.unref();
      await writeFile(paths.pid, `${child.pid}\n`, { mode: 0o600 });
    } finally {
      await log.close();
    }
    const deadline = Date.now() + 60_000;
    while (!(await loaded(url))) {
      const tail = async (): Promise<string> => (await readFile(paths.log, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
      if (exited !== null) throw new Error(`the controller exited (code ${exited}) before answering on ${url}: ${await tail()} (is port ${port()} taken? set AXE_LAB_CONTROLLER_PORT)`);
      if (Date.now() > deadline) throw new Error(`the controller did not answer on ${url} within 60 s: ${await tail()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  },
  async down(ctx: LabContext) {
    const paths = controllerLabPaths(ctx.stateDir);
    const pid = await readPid(paths.pid);
    if (pid !== null) await stopPid(pid);
    await rm(paths.hook, { force: true });
    await rm(paths.notify, { force: true });
    await rm(paths.dir, { recursive: true, force: true });
  },
  async status(ctx: LabContext): Promise<LabPartStatus> {
    const paths = controllerLabPaths(ctx.stateDir);
    const pid = await readPid(paths.pid);
    const url = (await readFile(paths.url, 'utf8').catch(() => '')).trim();
    if (pid === null || !alive(pid) || !url) return { name: CONTROLLER_PART, ready: false, detail: 'not running (run axe lab up)' };
    const ready = await answers(url, '/readyz');
    return { name: CONTROLLER_PART, ready, detail: `pid ${pid} on ${url} (axe status --url ${url}); log ${paths.log}${ready ? '' : '; not ready: see /readyz'}` };
  },
};
