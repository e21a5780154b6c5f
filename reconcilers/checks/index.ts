/**
 * The checks reconciler: per customer whose declared stacks' manifests have
 * `checks:`, every check run read-only in the host's one batched round trip
 * (its own section) and judged against its expectations (the runbook's D+7
 * checks: frame's audit log active). It plans nothing, ever: Healthy while
 * every check passes; Degraded `CheckFailing` / `CheckUnanswered` with the
 * manifest's fix (trap `service-check-failed`); Missing `CheckNotRun` while
 * the service has no running container (the stack row says why).
 */
import { terminal } from '../../core/errors.js';
import { hostSectionOutput } from '../host-read.js';
import type { CustomerContext, ResourceReconciler } from '../runtime.js';
import { blueGreenOf, declaredStacks, templateVars } from '../services.js';
import { expandTemplate } from '../templates.js';
import { type ChecksDesired, type ChecksObserved, diffChecks, evaluateChecks, healthChecks } from './diff.js';
import { CHECKS_SECTION, checksSection, readChecks } from './host.js';

/** The customer's checks, from its declared stack services' manifests (pure); null when none has any. */
export function checksDesired(ctx: CustomerContext): ChecksDesired | null {
  const checks = declaredStacks(ctx).flatMap(([service, manifest]) => {
    const vars = templateVars(ctx, service, manifest);
    return manifest.checks.map((c) => ({
      service,
      name: c.name,
      description: c.description,
      project: expandTemplate(manifest.compose.project, vars),
      container: c.exec.container,
      blueGreen: blueGreenOf(ctx, service, manifest),
      command: c.exec.command.map((a) => expandTemplate(a, vars)),
      expect: c.expect,
      detail: c.detail ?? null,
      fix: expandTemplate(c.fix, vars),
    }));
  });
  return checks.length ? { customer: ctx.id, checks } : null;
}

export const checksReconciler: ResourceReconciler<ChecksDesired, ChecksObserved> = {
  kind: 'checks',
  dependsOn: ['host', 'stack'],
  desired: checksDesired,
  hostSection(ctx) {
    const desired = checksDesired(ctx);
    return desired ? checksSection(desired, ctx.env.providers.hosts.toolPaths) : null;
  },
  async observe(ctx, desired) {
    const output = await hostSectionOutput(ctx, CHECKS_SECTION, 'checks');
    const { now, probes } = readChecks(output, desired, Date.now());
    return evaluateChecks(desired, probes, now);
  },
  diff: diffChecks,
  health: healthChecks,
  async act(ctx, _desired, action) {
    throw terminal(`the checks kind plans nothing (asked to ${action.op})`, { customer: ctx.id, resource: 'checks' });
  },
  reads: [{ hostSection: CHECKS_SECTION }],
};
