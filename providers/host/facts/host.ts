/**
 * Facts about the host itself: its clock, and whether a tool was found by
 * absolute path (the section's prelude found it: builtins only).
 */
import { TOOL_VARIABLE, type HostTool } from '../commands/tools.js';
import type { Fact } from './fact.js';

/** The host's clock (epoch ms); null when it did not say. */
export function hostClockFact(name: string): Fact<number | null> {
  return {
    name,
    command: 'date +%s',
    parse: (output) => {
      const seconds = Number(output.trim());
      return output.trim() && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : null;
    },
  };
}

/** Whether the prelude found `tool` (findTool into its variable); null when the fact did not run. No process. */
export function toolFoundFact(name: string, tool: HostTool): Fact<boolean | null> {
  return { name, command: `printf '%s' "$${TOOL_VARIABLE[tool]}"`, parse: (output, code) => (code === -1 ? null : output !== '') };
}

/** The service manager commands/service-manager.ts `chooseManager` found into `$m`: launchd, container, or none. No process. */
export function managerFact(name: string): Fact<'launchd' | 'container' | 'none'> {
  return {
    name,
    command: 'printf "%s\\n" "$m"',
    parse: (output) => {
      const m = output.trim();
      return m === 'launchd' || m === 'container' ? m : 'none';
    },
  };
}
