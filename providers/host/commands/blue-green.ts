/**
 * A blue/green stack on the host: where its active color is recorded, the
 * proxy's switch command, and the shell that resolves the active color
 * (record, then the proxy's answer, then the only color running). Shared by
 * the kinds that work on stacks (stack, ingress, entities, admins, the
 * rotation). Needs `cid` (project.ts HELPERS) and "$D".
 */
import { hostPath, shellQuote } from './quote.js';

/** One of a blue/green stack's two colors. */
export type Color = 'blue' | 'green';

/** Where a blue/green stack keeps its active color on the host (read when its proxy is down). */
export const ACTIVE_RECORD = '.axe-active';

export interface BlueGreenTarget {
  project: string;
  checkout: string;
  blue: string;
  green: string;
  proxy: string;
  /** The switch command without its `{color}` argument: prints the active color. */
  showCommand: string[];
}

/** The switch command with the color filled in, or without it (to ask for the active one). */
export function switchCommand(template: readonly string[], color: Color | null): string[] {
  if (color) return template.map((arg) => arg.replaceAll('{color}', color));
  return template.filter((arg) => !arg.includes('{color}'));
}

/**
 * Sets `variable` to `blue`, `green` or '' (none): the record on the host
 * (axe's decision, written at every switch), else the proxy's answer, else
 * the only color running. A proxy routing elsewhere than the record is the
 * ingress kind's drift, not a reason to move the colors.
 */
export function activeColor(variable: string, bg: BlueGreenTarget): string {
  const p = shellQuote(bg.project);
  const mapColor = `case "$a" in blue|${shellQuote(bg.blue)}) ${variable}=blue;; green|${shellQuote(bg.green)}) ${variable}=green;; esac`;
  return [
    `${variable}=""; a=""`,
    `if [ -f ${hostPath(bg.checkout)}/${ACTIVE_RECORD} ]; then a=$(head -n 1 ${hostPath(bg.checkout)}/${ACTIVE_RECORD}); ${mapColor}; fi`,
    `if [ -z "$${variable}" ]; then pc=$(cid ${p} ${shellQuote(bg.proxy)}); if [ -n "$pc" ]; then ` +
      `a=$("$D" exec "$pc" ${bg.showCommand.map(shellQuote).join(' ')} 2>/dev/null | tail -n 1); ${mapColor}; fi; fi`,
    `if [ -z "$${variable}" ]; then b=$(cid ${p} ${shellQuote(bg.blue)}); g=$(cid ${p} ${shellQuote(bg.green)}); ` +
      `if [ -n "$b" ] && [ -z "$g" ]; then ${variable}=blue; elif [ -n "$g" ] && [ -z "$b" ]; then ${variable}=green; fi; fi`,
  ].join('\n');
}


/**
 * Sets `$c` to the running container a command runs in ('' when none): a
 * compose service, or `@active` (the live color: resolved as activeColor
 * does, or the color a switch in this pass just set: `active`).
 */
export function containerLookup(project: string, container: string, bg: BlueGreenTarget | null, active?: Color | null): string {
  const p = shellQuote(project);
  if (container === '@active') {
    if (!bg) return 'c=""';
    return [active ? `A=${active}` : activeColor('A', bg), `case "$A" in blue) c=$(cid ${p} ${shellQuote(bg.blue)});; green) c=$(cid ${p} ${shellQuote(bg.green)});; *) c="";; esac`].join('\n');
  }
  return `c=$(cid ${p} ${shellQuote(container)})`;
}
