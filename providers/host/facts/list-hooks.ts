/**
 * The per-item hooks' listings (`foreach: entity`, `foreach: admin`): one
 * fact per hook, its `list` command run in its container, each hook a group
 * of the section (fact.ts FactGroup) so the lists run side by side in the
 * host's batched observation.
 *
 * Rules: a hook whose container does not run (or no docker) is `down` (its
 * items are all to do, once it runs); a list that exits non-zero or prints
 * what `parse` refuses is an `error` (nothing is done there blindly).
 *
 * Read by the entities and admins kinds, each in its own section.
 */
import { type Color, containerLookup } from '../commands/blue-green.js';
import { docker } from '../commands/docker.js';
import type { ExecTarget } from '../commands/exec.js';
import { dockerGitPrelude } from '../commands/project.js';
import { line, variable } from '../commands/quote.js';
import type { HostSection } from '../sections.js';
import { type Fact, type FactGroup, factsSection, readFacts } from './fact.js';

export type Listed<L> = L | { state: 'down' } | { state: 'error'; message: string };

export interface ListHook {
  /** `service/hook`: names the hook's fact. */
  key: string;
  list: ExecTarget;
}

/** One hook's listing: its list command's stdout and stderr (one text), run in `$c` when the group found it. */
export function listHookFact<L>(hook: ListHook, parse: (stdout: string) => L): Fact<Listed<L>> {
  const command = hook.list.command.join(' ');
  return {
    name: hook.key,
    guard: '[ -n "$c" ]',
    command: `${line(docker.exec(variable('c'), hook.list.command))} 2>&1`,
    parse(output, code): Listed<L> {
      if (code === -1) return { state: 'down' };
      const out = output.replace(/\n/g, ' ').trim();
      if (code !== 0) return { state: 'error', message: `${command} failed (exit ${code}): ${out.slice(0, 200)}` };
      try {
        return parse(output);
      } catch (error) {
        return { state: 'error', message: `${command}: ${(error as Error).message}` };
      }
    },
  };
}

/** The hook's group: its container found into `$c` ('' without docker), then its fact. `active`: the color its service's proxy was switched to in this pass (null: ask the proxy). */
function group(hook: ListHook, active: Color | null): FactGroup {
  const lookup = containerLookup(hook.list.project, hook.list.container, hook.list.blueGreen, active);
  return { prelude: `c=""\nif [ -n "$D" ]; then\n${lookup}\nfi`, facts: { [hook.key]: listHookFact(hook, () => null) } }; // the section needs its command only
}

/** The section listing every hook side by side (docker, git and the project helpers first). */
export function listHooksSection(name: string, hooks: readonly ListHook[], toolPaths: readonly string[], active: (service: string) => Color | null): HostSection {
  return factsSection(name, {}, dockerGitPrelude(toolPaths), hooks.map((h) => group(h, active(h.list.service))));
}

/** Each hook's listing from the section's output (pure); `parse` turns a list's stdout into its listing (it throws on a bad one). */
export function readListHooks<L>(output: string, hooks: readonly ListHook[], parse: (stdout: string) => L): Map<string, Listed<L>> {
  const values = readFacts(output, Object.fromEntries(hooks.map((h) => [h.key, listHookFact(h, parse)])));
  return new Map(hooks.map((h) => [h.key, values[h.key] as Listed<L>]));
}
