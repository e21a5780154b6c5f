/**
 * Tools on the host by absolute path (the non-login PATH trap: a bare name
 * finds nothing over SSH on a Mac). `findTool` is shell builtins only, so a
 * scan starts no process to find a tool.
 */
import { EXIT } from '../exit-codes.js';
import { DEFAULT_TOOL_DIRS } from '../probe.js';
import { hostPath, variable, type ShellWord } from './quote.js';

/** The shell variable each tool is found into. */
export const TOOL_VARIABLE = { docker: 'D', git: 'G', bw: 'B', cloudflared: 'C' } as const;
export type HostTool = keyof typeof TOOL_VARIABLE;

/** Sets `name` to the tool's absolute path, or '' when it is nowhere in `extra` + the default dirs. */
export function findTool(name: string, tool: string, extra: readonly string[]): string {
  const dirs = [...extra, ...DEFAULT_TOOL_DIRS].map(hostPath).join(' ');
  return `${name}=""; for d in ${dirs}; do if [ -x "$d/${tool}" ]; then ${name}="$d/${tool}"; break; fi; done`;
}

/** The shell test that `tool` was found (its variable is not empty): a fact's guard. */
export function toolPresent(tool: HostTool): string {
  return `[ -n "$${TOOL_VARIABLE[tool]}" ]`;
}

/** Ends the script with EXIT.toolMissing when `tool` was not found (its variable is empty). */
export function toolFound(tool: HostTool): string {
  return `if [ -z "$${TOOL_VARIABLE[tool]}" ]; then echo "${tool} not found by absolute path on the host" >&2; exit ${EXIT.toolMissing.code}; fi`;
}

/** Finds `tool` into its variable, ending the script with EXIT.toolMissing when it is not there. */
export function requireTool(tool: HostTool, extra: readonly string[]): string {
  return `${findTool(TOOL_VARIABLE[tool], tool, extra)}\n${toolFound(tool)}`;
}

/** A shell test, builtins only: `tool` was found (its variable is set by findTool / requireTool). A fact's guard. */
export function hasTool(tool: HostTool): string {
  return `[ -n "$${TOOL_VARIABLE[tool]}" ]`;
}

/** The word that runs a tool found by findTool / requireTool. */
export function tool(name: HostTool): ShellWord {
  return variable(TOOL_VARIABLE[name]);
}
