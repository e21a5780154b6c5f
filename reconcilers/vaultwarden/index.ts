/**
 * The vaultwarden reconciler (`axe vault bootstrap`): reads the customer's
 * vault compose file and the running vault container in the host's batched
 * observation, patches the file in place when keys are missing, and
 * force-recreates the container only when something changed.
 */
import { terminal, transient } from '../../core/errors.js';
import { shellQuote } from '../../providers/host/ssh.js';
import type { VaultwardenManifest } from '../../schemas/service-manifest.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { SCAN_KEYS } from '../scan.js';
import { createScript, tools } from '../stack/host.js';
import { hostReachable, hostSectionOutput } from '../host/index.js';
import { expandTemplate } from '../stack/render.js';
import { hostPath } from '../stack/shell.js';
import { diffVaultwarden, healthVaultwarden, type VaultwardenDesired, type VaultwardenObserved, type VaultwardenPayload } from './diff.js';
import { patchVaultCompose, readVaultFile } from './patch.js';

export const VAULTWARDEN_SECTION = 'vaultwarden';

function manifestFor(ctx: CustomerContext): [string, VaultwardenManifest] | null {
  const only = ctx.env.services;
  for (const [name, manifest] of ctx.env.state.manifests) {
    if (manifest.kind !== 'vaultwarden' || !ctx.env.state.customers.services[name]?.[ctx.id]) continue;
    if (only && !only.includes(name)) continue;
    return [name, manifest];
  }
  return null;
}

function desiredVaultwarden(ctx: CustomerContext): VaultwardenDesired | null {
  const found = manifestFor(ctx);
  if (!found) return null;
  const [name, m] = found;
  const vars = { customer: ctx.id, service: name, publicDomain: ctx.customer.public_domain, ref: '' };
  return {
    customer: ctx.id,
    publicDomain: ctx.customer.public_domain,
    composeFile: expandTemplate(m.compose_file, vars),
    container: m.container,
    required: m.required_env,
    ...(m.anchor ? { anchor: m.anchor } : {}),
    domainPath: m.domain_path,
    defaultDomain: `https://${ctx.customer.public_domain}${m.domain_path}`,
    defaultProject: `${ctx.id}-vault`,
    port: m.ingress?.port ?? 80,
    alivePath: m.health.public?.path ?? `${m.domain_path}/alive`,
  };
}

const ENV_KEYS = (d: VaultwardenDesired) => ['DOMAIN', ...Object.keys(d.required)];

function sectionScript(d: VaultwardenDesired, toolPaths: readonly string[]): string {
  const keys = shellQuote(`^(${ENV_KEYS(d).join('|')})=`);
  const url = shellQuote(`http://127.0.0.1:${d.port}${d.alivePath}`);
  return [
    tools(toolPaths),
    `f=${hostPath(d.composeFile)}; dir=$(dirname "$f")`,
    'if [ -f "$f" ]; then echo "vw.mode=$(mode "$f")"; echo "vw.file=$(base64 < "$f" | tr -d \'\\n\')"; else echo "vw.file=missing"; fi',
    'if [ -z "$D" ]; then echo "vw.docker=missing"; exit 0; fi',
    `"$D" network ls --no-trunc --format '{{.ID}} {{.Name}}' 2>/dev/null | while IFS= read -r l; do echo "vw.network=$l"; done`,
    `id=$("$D" ps -aq --no-trunc --filter ${shellQuote(`label=com.docker.compose.service=${d.container}`)} --filter "label=com.docker.compose.project.working_dir=$dir" 2>/dev/null | head -n 1)`,
    'if [ -z "$id" ]; then exit 0; fi',
    `"$D" inspect --format '{{.Id}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{index .Config.Labels "com.docker.compose.project"}}|{{range $k, $v := .NetworkSettings.Networks}}{{$v.NetworkID}} {{end}}' "$id" | sed 's/^/vw.ctr=/'`,
    `"$D" inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$id" | grep -E ${keys} | sed 's/^/vw.env=/'`,
    `if [ "$("$D" inspect --format '{{.State.Status}}' "$id")" = running ]; then if "$D" exec "$id" wget -q -O /dev/null ${url} >/dev/null 2>&1 || "$D" exec "$id" curl -fsS -o /dev/null ${url} >/dev/null 2>&1; then echo "vw.inside=ok"; else echo "vw.inside=fail"; fi; fi`,
  ].join('\n');
}

function parseSection(output: string, d: VaultwardenDesired): VaultwardenObserved {
  const networkIds = new Set<string>();
  const networks = new Set<string>();
  const env = new Map<string, string>();
  let file: VaultwardenObserved['file'] = null;
  let mode = '';
  let ctr: string | null = null;
  let docker = true;
  let inside: VaultwardenObserved['inside'] = null;
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (!line.startsWith('vw.') || eq < 0) continue;
    const key = line.slice(3, eq);
    const value = line.slice(eq + 1);
    if (key === 'docker') docker = false;
    else if (key === 'mode') mode = value.trim();
    else if (key === 'network') {
      const [id, name] = value.split(' ');
      if (id) networkIds.add(id);
      if (name) networks.add(name);
    } else if (key === 'ctr') ctr = value;
    else if (key === 'env') {
      const e = value.indexOf('=');
      if (e > 0) env.set(value.slice(0, e), value.slice(e + 1));
    } else if (key === 'inside') inside = value === 'ok' ? 'ok' : 'fail';
    else if (key === 'file' && value !== 'missing') {
      const text = Buffer.from(value, 'base64').toString('utf8');
      try {
        file = { text, mode, parsed: readVaultFile(text, d.container) };
      } catch (error) {
        file = { text, mode, parsed: null, error: (error as Error).message };
      }
    }
  }
  if (file) file.mode = mode;
  let container: VaultwardenObserved['container'] = null;
  if (ctr) {
    const [id = '', state = '', health = '', project = '', nets = ''] = ctr.split('|');
    container = { id, state, health: health || null, project, orphaned: nets.split(' ').filter(Boolean).some((n) => !networkIds.has(n)), env };
  }
  return { docker, file, container, networks, inside };
}

export const vaultwardenReconciler: ResourceReconciler<VaultwardenDesired, VaultwardenObserved, VaultwardenPayload> = {
  kind: 'vaultwarden',
  dependsOn: ['host'],
  desired: desiredVaultwarden,
  hostSection(ctx) {
    const d = desiredVaultwarden(ctx);
    return d ? { name: VAULTWARDEN_SECTION, script: sectionScript(d, ctx.env.providers.hosts.toolPaths) } : null;
  },
  async observe(ctx, desired) {
    return parseSection(await hostSectionOutput(ctx, VAULTWARDEN_SECTION, 'vaultwarden'), desired);
  },
  diff: diffVaultwarden,
  health: healthVaultwarden,
  async act(ctx, desired, action) {
    hostReachable(ctx, 'vaultwarden');
    const connection = await ctx.env.providers.hosts.connection(ctx.target);
    const toolPaths = ctx.env.providers.hosts.toolPaths;
    const run = (script: string, timeoutMs = 60_000) => connection.exec(`/bin/sh -c ${shellQuote(script)}`, { timeoutMs });
    if (action.op === 'patch') {
      // Read the file again right before writing it: never patch a stale copy.
      const read = await run(`f=${hostPath(desired.composeFile)}; mode() { stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1" 2>/dev/null; }; echo "$(mode "$f")"; base64 < "$f" | tr -d '\\n'`);
      if (read.code !== 0) throw transient(`cannot read ${desired.composeFile}: ${read.stderr.trim().split('\n')[0] ?? ''}`, { customer: ctx.id, resource: 'vaultwarden' });
      const [mode = '644', b64 = ''] = read.stdout.split('\n');
      let patched: string;
      try {
        patched = patchVaultCompose(Buffer.from(b64, 'base64').toString('utf8'), desired).text;
      } catch (error) {
        throw terminal(`cannot patch ${desired.composeFile}: ${(error as Error).message}`, { customer: ctx.id, resource: 'vaultwarden', fix: `add ${Object.keys(desired.required).join(', ')} to the environment of ${desired.container} by hand; the file was not changed` });
      }
      await connection.writeFile(desired.composeFile, patched, Number.parseInt(mode.trim(), 8) || 0o644);
      return;
    }
    if (action.op === 'create-network') {
      const result = await run(createScript('network', action.payload.name!, ctx.id, toolPaths));
      if (result.code !== 0) throw transient(`creating network ${action.payload.name} failed: ${result.stderr.trim()}`, { customer: ctx.id, resource: 'vaultwarden' });
      return;
    }
    if (action.op === 'up') {
      // The project the vault already runs under (the customer may have started it by hand), else ours.
      const script = [
        'set -e',
        tools(toolPaths),
        `f=${hostPath(desired.composeFile)}; dir=$(dirname "$f"); cd "$dir"`,
        `p=$("$D" ps -a --filter ${shellQuote(`label=com.docker.compose.service=${desired.container}`)} --filter "label=com.docker.compose.project.working_dir=$dir" --format '{{.Label "com.docker.compose.project"}}' | head -n 1)`,
        `if [ -z "$p" ]; then p=${shellQuote(desired.defaultProject)}; fi`,
        `"$D" compose -p "$p" -f "$f" up -d --wait --wait-timeout 120 --no-deps ${action.payload.recreate ? '--force-recreate ' : ''}${shellQuote(desired.container)}`,
      ].join('\n');
      const project = desired.defaultProject;
      const result = await run(script, 300_000);
      if (result.code !== 0) {
        throw transient(`starting ${desired.container} failed: ${result.stderr.trim().split('\n').pop() ?? `exit ${result.code}`}; left: ${desired.composeFile} ${action.payload.recreate ? 'patched' : 'unchanged'}, the vault container not healthy`, { customer: ctx.id, resource: 'vaultwarden', fix: `see docker compose -p ${project} logs on the host` });
      }
    }
  },
  cacheKeys(ctx) {
    // Only this kind's section of the host's batch: a re-observation runs it alone.
    return [SCAN_KEYS.hostSection(ctx.target, VAULTWARDEN_SECTION)];
  },
};
