/**
 * `axe secret rotate NAME [--customer C] [--apply] [--json]`: a secret gets a
 * new value (generated ones: made here; provided ones: from a hidden prompt or
 * stdin, never an argument) and every service using it restarts with it,
 * after the manifest's rotate hook changed it where it lives (the database).
 * Without --apply: the plan (hooks, services that restart), exit 2. The
 * rotation is recorded in the controller's history (names and fingerprints).
 */
import { terminal } from '../../core/errors.js';
import { Secret } from '../../core/secret.js';
import { controllerPaths } from '../../controller/config.js';
import { History } from '../../controller/history.js';
import { planExitCode, renderText, resultJson } from '../../reconcilers/report.js';
import { desiredVaultItems } from '../../reconcilers/vault-items/diff.js';
import { describeRotation, planRotation, rotateSecret, rotationContext } from '../../reconcilers/vault-items/rotate.js';
import { line, printJson, progress } from '../output.js';
import { readSecretInput } from '../prompt.js';
import { loadSettings } from '../settings.js';
import { asWriter, type WriterCliOptions } from '../writer.js';
import { openEnv } from './reconcile.js';

export interface SecretRotateOptions extends WriterCliOptions {
  customer?: string;
  apply?: boolean;
  json?: boolean;
}

export async function secretRotate(name: string, options: SecretRotateOptions): Promise<number> {
  const env = await openEnv(options);
  try {
    const owners = Object.keys(env.state.customers.customers).filter((id) => desiredVaultItems(env.state.customers, env.state.manifests, id).items.some((i) => i.name === name));
    const customer = options.customer ?? (owners.length === 1 ? owners[0]! : null);
    if (!customer) throw terminal(owners.length ? `${name} belongs to several customers (${owners.join(', ')})` : `${name} is no customer's secret`, { fix: owners.length ? `name one: axe secret rotate ${name} --customer ${owners[0]}` : 'axe secret list shows the declared secrets' });
    const plan = planRotation(rotationContext(env, customer), name);
    if (!options.apply) {
      if (options.json) printJson({ applied: false, customer, name, generated: plan.generate !== null, hooks: plan.hooks.map((h) => ({ service: h.service, hook: h.hook })), restarts: plan.restarts });
      else for (const l of describeRotation(plan)) line(`+ ${l}`);
      return 2;
    }
    const provided = plan.generate ? null : new Secret(await readSecretInput(`new value of ${name} (hidden):`));
    if (provided && provided.reveal().length === 0) throw terminal(`no value given for ${name}`, { fix: `pipe it: printf %s "$VALUE" | axe secret rotate ${name} --customer ${customer} --apply` });
    if (!options.json) for (const l of describeRotation(plan)) line(`+ ${l}`);
    const result = await asWriter(customer, `axe secret rotate ${name} --customer ${customer} --apply`, options, () => rotateSecret(env, customer, name, provided, progress));
    const settings = await loadSettings(options);
    const history = History.open(controllerPaths(settings.config, settings.home).history);
    const failed = result.rollout?.resources.some((k) => k.error) ?? false;
    try {
      const restarted = result.plan.restarts.map((r) => r.service).join(', ') || 'none';
      const hooks = result.plan.hooks.map((h) => `${h.service}/${h.hook}`).join(', ') || 'none';
      history.event({ type: failed ? 'error' : 'action', customer, kind: 'vault-items', op: 'rotate', target: `vault:${name}`, message: `rotated ${name} (${result.from} → ${result.to}); hooks first: ${hooks}; restarted: ${restarted}${result.rollout ? `; rollout ${result.rollout.sync}, ${result.rollout.health}` : ''}` });
    } finally {
      history.close();
    }
    if (options.json) printJson({ applied: true, customer, name, from: result.from, to: result.to, restarts: result.plan.restarts, rollout: result.rollout ? resultJson([result.rollout], true) : null });
    else {
      line(`${name}: rotated (${result.from} → ${result.to})`);
      if (result.rollout) process.stdout.write(renderText([result.rollout], true));
    }
    return failed ? 1 : result.rollout && planExitCode([result.rollout]) === 2 ? 1 : 0;
  } finally {
    env.providers.hosts.close();
  }
}
