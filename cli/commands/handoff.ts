/**
 * `axe handoff CUSTOMER [--lang ko|en] [--json]`: the runbook's message to the
 * customer's IT, printed only when a fresh read-only observation finds every
 * resource Healthy and Synced; otherwise refused (exit 1) with each resource
 * that is not, its reason and its trap.
 */
import { terminal } from '../../core/errors.js';
import { handoff, type HandoffLang, renderBlockers, renderHandoff } from '../../onboarding/handoff.js';
import { trap } from '../../reconcilers/traps.js';
import { loadRepo } from '../../schemas/repo.js';
import { line, printJson } from '../output.js';
import { loadSettings, resolveRepo } from '../settings.js';
import { planResults } from './reconcile.js';

export interface HandoffCliOptions {
  repo?: string;
  config?: string;
  lang?: string;
  json?: boolean;
}

function language(lang: string | undefined): HandoffLang {
  if (lang === undefined || lang === 'ko' || lang === 'en') return lang ?? 'ko';
  throw terminal(`unknown language "${lang}"`, { fix: 'use --lang ko or --lang en' });
}

export async function handoffCommand(customer: string, options: HandoffCliOptions): Promise<number> {
  const lang = language(options.lang);
  const settings = await loadSettings(options);
  const load = await loadRepo(resolveRepo(options, settings));
  if (!load.ok) throw terminal('the config repo is invalid; no handoff', { fix: 'run axe validate and fix the errors' });
  if (!load.state.customers.customers[customer]) throw terminal(`customer ${customer} is not in customers.yaml`, { customer, fix: trap('customer-entry-missing', { customer }).fix });
  const [result] = await planResults(customer, options);
  if (!result) throw terminal(`no reconcile result for ${customer}`, { customer, fix: `run axe plan ${customer}` });
  const h = handoff(load.state.customers, load.state.manifests, result);
  if (options.json) {
    printJson(h.ready ? { ready: true, lang, facts: h.facts, message: renderHandoff(h.facts, lang).join('\n') } : h);
    return h.ready ? 0 : 1;
  }
  if (!h.ready) {
    process.stderr.write(`axe: ${customer} is not ready for handoff (${h.blockers.length} resource(s) not Healthy and Synced); nothing was printed for the customer:\n`);
    for (const l of renderBlockers(h.blockers)) process.stderr.write(`  ${l}\n`);
    process.stderr.write(`  fix: converge it (axe apply ${customer} --apply, or let the controller) and run axe handoff ${customer} again\n`);
    return 1;
  }
  for (const l of renderHandoff(h.facts, lang)) line(l);
  return 0;
}
