/**
 * The stack kind's labels and the compose override that puts them on every
 * container (and the customer label on the networks and volumes compose
 * makes). The scripts that act on the host are providers/host's
 * (commands/stack.ts, stack-records.ts, steps.ts); the compose model the
 * override is rendered from is read there too (facts/compose-up.ts).
 */
import type { Color } from '../../providers/host/commands/blue-green.js';
import type { ComposeModel } from '../../providers/host/facts/compose-up.js';
import type { StackServiceDesired } from './diff.js';
import type { ServiceEnv } from './render.js';

/** Our labels on every container, network and volume of a stack. */
export const LABELS = {
  customer: 'ai.axelabs.axe.customer',
  service: 'ai.axelabs.axe.service',
  ref: 'ai.axelabs.axe.ref',
  envHash: 'ai.axelabs.axe.env-hash',
  revision: 'ai.axelabs.axe.revision',
} as const;

export interface OverrideLabels {
  customer: string;
  service: string;
  ref: string;
  envHash: string;
  revision: string;
}

/**
 * The compose override that puts our labels on every container (and the
 * customer label on the networks and volumes compose makes). A pure function
 * of its inputs: written again with the same inputs, it changes nothing.
 */
export function renderOverride(model: ComposeModel, labels: OverrideLabels, envs: readonly ServiceEnv[] | null = null): string {
  const q = (v: string) => JSON.stringify(v);
  const containerLabels = [
    [LABELS.customer, labels.customer],
    [LABELS.service, labels.service],
    [LABELS.ref, labels.ref],
    [LABELS.envHash, labels.envHash],
    [LABELS.revision, labels.revision],
  ];
  const out = [`# Written by axe for ${labels.customer}/${labels.service}: our labels on the stack. Edits here are reverted.`, 'services:'];
  for (const s of model.services) {
    out.push(`  ${q(s)}:`, '    labels:', ...containerLabels.map(([k, v]) => `      ${k}: ${q(v!)}`));
    // env.services: each container gets its own file only, whatever the compose file's `env_file:` says.
    if (envs) {
      const own = envs.find((e) => e.service === s);
      out.push(own ? `    env_file: !override [${q(own.file)}]` : '    env_file: !reset []');
    }
  }
  for (const [section, keys] of [['networks', model.networks], ['volumes', model.volumes]] as const) {
    if (keys.length === 0) continue;
    out.push(`${section}:`);
    for (const k of keys) out.push(`  ${q(k)}:`, '    labels:', `      ${LABELS.customer}: ${q(labels.customer)}`);
  }
  return `${out.join('\n')}\n`;
}

/** The compose service of one color of a blue/green stack. */
export function colorService(d: StackServiceDesired, color: Color): string {
  if (!d.blueGreen) throw new Error(`${d.service} is not blue/green`);
  return color === 'blue' ? d.blueGreen.blue : d.blueGreen.green;
}
