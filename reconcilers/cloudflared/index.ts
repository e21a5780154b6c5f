/**
 * The cloudflared reconciler: renders config.yml from the customer's ingress
 * (services with an ingress path, longest first, catch-all last), pushes it
 * and the tunnel credentials (from the vault, 0600, over stdin) to the host,
 * and (re)starts the service when a file or the way it runs changed. Its host
 * observation rides in the host's one batched round trip.
 */
import { terminal } from '../../core/errors.js';
import { EXIT, runBatch, runScript } from '../../providers/host/executor.js';
import { hostFileSums, hostReachable, hostSectionOutput } from '../host-read.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { desiredIngress, type TunnelObserved } from '../tunnel-ingress.js';
import { credentialsItemName } from '../vault-names.js';
import { CLOUDFLARED_DIR, type CloudflaredDesired, type CloudflaredObserved, type CloudflaredPayload, desiredCloudflared, diffCloudflared, healthCloudflared } from './diff.js';
import { observeSection, parseObservation, serviceSpec, startScript } from './service.js';
import { cloudflaredDeletion } from './delete.js';

export const CLOUDFLARED_SECTION = 'cloudflared';

function settings(ctx: CustomerContext) {
  return ctx.env.settings.cloudflared;
}

export const cloudflaredReconciler: ResourceReconciler<CloudflaredDesired, CloudflaredObserved, CloudflaredPayload> = {
  kind: 'cloudflared',
  dependsOn: ['host', 'tunnel'],
  delete: cloudflaredDeletion,
  desired(ctx) {
    const observed = ctx.pass.results.get('tunnel')?.observed as TunnelObserved | null | undefined;
    const tunnel = observed?.tunnel ?? null;
    const s = settings(ctx);
    return desiredCloudflared({
      customer: ctx.id,
      tunnelId: tunnel?.id ?? null,
      ingress: desiredIngress(ctx.env.state.customers, ctx.env.state.manifests, ctx.id),
      credentialsItem: credentialsItemName(ctx.id),
      credentialsDigest: observed?.credentialsDigest ?? null,
      publicDomain: ctx.customer.public_domain,
      serviceSpec: serviceSpec(s.mode, s.image, s.publish, s.metrics_port),
    });
  },
  hostSection(ctx) {
    const s = settings(ctx);
    return observeSection(CLOUDFLARED_SECTION, ctx.id, s.mode, s.metrics_port, ctx.env.providers.hosts.toolPaths, hostFileSums(ctx));
  },
  async observe(ctx, desired) {
    const seen = parseObservation(await hostSectionOutput(ctx, CLOUDFLARED_SECTION, 'cloudflared'), ctx.id, settings(ctx).metrics_port, hostFileSums(ctx));
    let publicTrace: CloudflaredObserved['publicTrace'] = null;
    if (seen.state === 'running' && desired.tunnelId) {
      try {
        const res = await ctx.env.providers.fetchPublic(desired.publicTraceUrl, 5000);
        const ok = res.status === 200 && /(^|\n)colo=/.test(res.body);
        publicTrace = { ok, status: res.status, detail: ok ? 'ok' : `HTTP ${res.status}` };
      } catch (error) {
        publicTrace = { ok: false, status: 0, detail: error instanceof Error ? error.message.split('\n')[0]! : String(error) };
      }
    }
    return {
      manager: seen.manager,
      config: seen.config,
      credentials: seen.credentials,
      service: { state: seen.state, ready: seen.ready, hash: seen.hash },
      publicTrace,
      ...(seen.guiDomain ? { launchdGuiDomain: true } : {}),
    };
  },
  diff: diffCloudflared,
  health: healthCloudflared,
  async act(ctx, desired, action) {
    hostReachable(ctx, 'cloudflared');
    if (!desired.tunnelId || !desired.configText || !desired.serviceHash) {
      const fix = 'reconcile the tunnel first (axe onboard runs it before cloudflared)';
      throw terminal(`the tunnel for ${ctx.id} or its credentials are not ready`, { customer: ctx.id, resource: 'cloudflared', fix });
    }
    const connection = await ctx.env.providers.hosts.connection(ctx.target);
    if (action.op === 'push-config') {
      await connection.writeFile(`~/${CLOUDFLARED_DIR}/config.yml`, desired.configText, 0o644);
      return;
    }
    if (action.op === 'push-credentials') {
      const value = await ctx.env.providers.vault.get(desired.credentialsItem);
      if (!value) throw terminal(`${desired.credentialsItem} is not in the vault`, { customer: ctx.id, resource: 'cloudflared', fix: 'let the tunnel reconciler store it (axe onboard --apply)' });
      await connection.writeFile(`~/${CLOUDFLARED_DIR}/credentials.json`, value.reveal(), 0o600);
      return;
    }
    if (action.op === 'reload') {
      const s = settings(ctx);
      const toolPaths = ctx.env.providers.hosts.toolPaths;
      const sections = await runBatch(connection, [observeSection('manager', ctx.id, s.mode, s.metrics_port, toolPaths)]);
      const manager = parseObservation(sections.get('manager')?.output ?? '', ctx.id, s.metrics_port).manager;
      const where = { customer: ctx.id, resource: 'cloudflared' };
      if (manager === 'none') throw terminal('neither launchctl nor docker was found on the host', { ...where, fix: 'install cloudflared with Homebrew (macOS) or Docker' });
      const { serviceHash, tunnelId } = desired;
      const script = startScript({ customer: ctx.id, manager, serviceHash, tunnelId, image: s.image, publish: s.publish, metricsPort: s.metrics_port, toolPaths });
      const fix = 'see the cloudflared log on the host; axe retries';
      await runScript(connection, script, { what: 'starting cloudflared', ...where, timeoutMs: 90_000, fix, fixes: { sudoPassword: EXIT.sudoPassword.fix } });
    }
  },
  reads: ['host', 'vault'],
};

