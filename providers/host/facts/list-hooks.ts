/**
 * The host-section half of the per-item hooks (`foreach: entity`,
 * `foreach: admin`): each hook's `list` command runs in its container, all
 * side by side in one script of the host's batched observation, and each
 * output line names its hook (`key|state=down`, `key|rc=N`, `key|out=…`).
 *
 * Rules: a hook whose container does not run is `down` (its items are all to
 * do, once it runs); a list that exits non-zero or prints what `parse` refuses
 * is an `error` (nothing is done there blindly).
 *
 * Read by the entities and admins kinds, each in its own section. Not a
 * `Fact` (fact.ts) yet: its lines carry their own keys and it runs the lists
 * side by side as jobs.
 */
import { type Color, containerLookup } from '../commands/blue-green.js';
import type { ExecTarget } from '../commands/exec.js';
import { dockerGitPrelude } from '../commands/project.js';
import { shellQuote } from '../commands/quote.js';

export type Listed<L> = L | { state: 'down' } | { state: 'error'; message: string };

export interface ListHook {
  /** `service/hook`: names the hook's lines. */
  key: string;
  list: ExecTarget;
}

/** `active`: the color a service's proxy was switched to in this pass (null: ask the proxy). */
export function listHooksScript(hooks: readonly ListHook[], toolPaths: readonly string[], active: (service: string) => Color | null): string {
  const parts = hooks.map((h) => {
    const key = shellQuote(h.key);
    return [
      '(',
      containerLookup(h.list.project, h.list.container, h.list.blueGreen, active(h.list.service)),
      `if [ -z "$c" ]; then echo ${key}'|state=down'; exit 0; fi`,
      `out=$("$D" exec "$c" ${h.list.command.map(shellQuote).join(' ')} 2>&1); rc=$?`,
      `echo ${key}"|rc=$rc"`,
      `echo ${key}"|out=$(printf '%s' "$out" | tr '\\n' ' ')"`,
      ') &',
    ].join('\n');
  });
  return [dockerGitPrelude(toolPaths), 'if [ -z "$D" ]; then exit 0; fi', ...parts, 'wait'].join('\n');
}

/** Each hook's listing from the section's output; `parse` turns a list's stdout into its listing (it throws on a bad one). */
export function parseListHooks<L>(output: string, hooks: readonly ListHook[], parse: (stdout: string) => L): Map<string, Listed<L>> {
  const fields = new Map<string, Map<string, string>>();
  for (const line of output.split('\n')) {
    const bar = line.indexOf('|');
    const eq = line.indexOf('=', bar);
    if (bar < 0 || eq < 0) continue;
    const map = fields.get(line.slice(0, bar)) ?? new Map<string, string>();
    map.set(line.slice(bar + 1, eq), line.slice(eq + 1));
    fields.set(line.slice(0, bar), map);
  }
  const out = new Map<string, Listed<L>>();
  for (const h of hooks) {
    const f = fields.get(h.key);
    const command = h.list.command.join(' ');
    if (!f || f.get('state') === 'down') out.set(h.key, { state: 'down' });
    else if (f.get('rc') !== '0') out.set(h.key, { state: 'error', message: `${command} failed (exit ${f.get('rc')}): ${(f.get('out') ?? '').trim().slice(0, 200)}` });
    else {
      try {
        out.set(h.key, parse(f.get('out') ?? ''));
      } catch (error) {
        out.set(h.key, { state: 'error', message: `${command}: ${(error as Error).message}` });
      }
    }
  }
  return out;
}
