/**
 * How a reconcile pass is shown: text for a terminal, markdown for a pull
 * request comment, JSON for machines, and the plan's exit code (like
 * Terraform's -detailed-exitcode: 0 in sync, 2 changes pending, 1 error).
 *
 * Rules: only names, hashes and fingerprints appear; actions never carry a
 * secret value (the reconcilers guarantee it; this only prints them).
 */
import type { CustomerResult, KindResult } from './engine.js';
import type { Trap } from './traps.js';
import type { Action, Kind } from './types.js';

export function planExitCode(results: readonly CustomerResult[]): 0 | 1 | 2 {
  const shown = results.flatMap((r) => r.resources.filter((k) => !k.context));
  if (shown.some((k) => k.error)) return 1;
  if (shown.some((k) => k.actions.length > 0)) return 2;
  return 0;
}

function traps(k: KindResult): Array<Trap & { finding: boolean }> {
  const out: Array<Trap & { finding: boolean }> = [];
  if (k.health.trap) out.push({ ...k.health.trap, finding: false });
  for (const f of k.health.findings ?? []) out.push({ ...f, finding: true });
  return out;
}

/** A pass as JSON (`--json`, the controller's plan answer): the shown resources, their actions by op, target and summary. */
export interface ResultJson {
  applied: boolean;
  exitCode: 0 | 1 | 2;
  customers: Array<Pick<CustomerResult, 'customer' | 'mode' | 'suspended' | 'sync' | 'health'> & { resources: KindJson[] }>;
}

type ActionJson = Pick<Action, 'op' | 'target' | 'summary'>;
type KindJson = Pick<KindResult, 'kind' | 'sync' | 'health' | 'error' | 'durationMs'> & { actions: ActionJson[]; applied: ActionJson[] };

export function resultJson(results: readonly CustomerResult[], applied: boolean): ResultJson {
  return {
    applied,
    exitCode: planExitCode(results),
    customers: results.map((r) => ({
      customer: r.customer,
      mode: r.mode,
      suspended: r.suspended,
      sync: r.sync,
      health: r.health,
      resources: r.resources
        .filter((k) => !k.context)
        .map((k) => ({
          kind: k.kind,
          sync: k.sync,
          health: k.health,
          actions: k.actions.map(({ op, target, summary }) => ({ op, target, summary })),
          applied: k.applied.map(({ op, target, summary }) => ({ op, target, summary })),
          ...(k.error ? { error: k.error } : {}),
          durationMs: k.durationMs,
        })),
    })),
  };
}

/** The results `resultJson` shows, back as results the renderers take (its JSON and text are the same again). */
export function resultsFromJson(json: ResultJson): CustomerResult[] {
  const actions = (kind: Kind, list: readonly ActionJson[]): Action[] => list.map((a) => ({ ...a, kind, payload: null }));
  const kind = (k: KindJson): KindResult => ({ ...k, actions: actions(k.kind, k.actions), applied: actions(k.kind, k.applied), observed: null, context: false });
  return json.customers.map((c) => ({ ...c, resources: c.resources.map(kind) }));
}

export function renderText(results: readonly CustomerResult[], applied: boolean): string {
  const lines: string[] = [];
  for (const r of results) {
    const flags = [r.mode === 'observe' ? 'observe only' : null, r.suspended ? 'suspended' : null].filter(Boolean).join(', ');
    lines.push(`${r.customer}${flags ? ` (${flags})` : ''}: ${r.sync}, ${r.health}`);
    for (const k of r.resources.filter((x) => !x.context)) {
      lines.push(`  ${k.kind.padEnd(12)} ${k.sync.padEnd(10)} ${k.health.status.padEnd(11)} ${k.health.reason}: ${k.health.message}`);
      for (const a of k.applied) lines.push(`      ✓ ${a.summary}`);
      for (const a of k.actions) lines.push(`      ${applied ? '…' : '+'} ${a.summary}`);
      for (const t of traps(k)) lines.push(`      ! ${t.trap}${t.finding ? ' (finding)' : ''}: ${t.fix}`);
      if (k.error?.fix && !k.health.trap) lines.push(`      fix: ${k.error.fix}`);
    }
  }
  const pending = results.flatMap((r) => r.resources.filter((k) => !k.context)).reduce((n, k) => n + k.actions.length, 0);
  const done = results.flatMap((r) => r.resources).reduce((n, k) => n + k.applied.length, 0);
  const errors = results.flatMap((r) => r.resources.filter((k) => !k.context && k.error)).length;
  const summary = applied ? `Applied ${done} change(s); ${pending} still pending` : `Plan: ${pending} change(s) for ${results.length} customer(s)`;
  lines.push('', `${summary}${errors ? `; ${errors} resource(s) failed` : ''}.${!applied && pending > 0 ? ' Run again with --apply to make them.' : ''}`);
  return `${lines.join('\n')}\n`;
}

function md(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderMarkdown(results: readonly CustomerResult[], title = 'axe plan'): string {
  const out: string[] = [`### ${title}`, ''];
  const pending = results.flatMap((r) => r.resources.filter((k) => !k.context)).reduce((n, k) => n + k.actions.length, 0);
  out.push(pending === 0 ? 'No changes: every customer is in sync.' : `**${pending} change(s)** will be made by the controller when this is merged.`, '');
  for (const r of results) {
    out.push(`#### \`${r.customer}\` — ${r.sync}, ${r.health}${r.mode === 'observe' ? ' (observe only: drift is reported, never corrected)' : ''}`, '');
    out.push('| resource | sync | health | actions |', '|---|---|---|---|');
    for (const k of r.resources.filter((x) => !x.context)) {
      const acts = k.actions.length ? k.actions.map((a) => `\`${a.op}\` ${md(a.summary)}`).join('<br>') : '—';
      out.push(`| ${k.kind} | ${k.sync} | ${k.health.status}: ${md(k.health.message)} | ${acts} |`);
    }
    const found = r.resources.filter((x) => !x.context).flatMap((k) => traps(k).map((t) => ({ kind: k.kind, ...t })));
    if (found.length) {
      out.push('', '**Traps found before merge**', '');
      for (const t of found) out.push(`- \`${t.kind}\` **${t.trap}**${t.finding ? ' (finding)' : ''}: ${md(t.fix)}`);
    }
    out.push('');
  }
  out.push('<sub>Secret values are never shown: vault items appear by name only.</sub>', '');
  return out.join('\n');
}
