/**
 * Shell pieces shared by the host-side kinds (stack, entities, vaultwarden, cloudflared):
 * finding tools by absolute path (the non-login PATH trap), hashing, finding a
 * compose service's running container, and resolving a blue/green stack's
 * active color on the host.
 *
 * Rules: pure functions returning POSIX sh; every value in them is
 * shell-quoted; nothing here ever carries a secret.
 */
import { DEFAULT_TOOL_DIRS } from '../../providers/host/probe.js';
import { hostPath, shellQuote } from '../../providers/host/ssh.js';

export { hostPath };

function dirList(extra: readonly string[]): string {
  return [...extra, ...DEFAULT_TOOL_DIRS].map(hostPath).join(' ');
}

/** A container's health from the engine's `Status` text (`Up 3 minutes (healthy)`), as `docker ps` and the engine's list give it. */
export function healthOf(status: string): 'healthy' | 'unhealthy' | 'starting' | null {
  if (/\(healthy\)/.test(status)) return 'healthy';
  if (/\(unhealthy\)/.test(status)) return 'unhealthy';
  if (/\(health: starting\)/.test(status)) return 'starting';
  return null;
}

/** Sets `variable` to the tool's absolute path, or '' when it is nowhere. */
export function findTool(variable: string, tool: string, extra: readonly string[]): string {
  return `${variable}=""; for d in ${dirList(extra)}; do if [ -x "$d/${tool}" ]; then ${variable}="$d/${tool}"; break; fi; done`;
}

/**
 * `sum` hashes stdin (sha256, hex); `mode` prints a file's permission bits
 * (GNU stat first: BSD's -f means another thing there); `cid PROJECT SERVICE`
 * prints the running container of a compose service — from `$PSO` (lines
 * `ID|service|state|…`, one `docker ps` of project `$PSO_P`, see
 * `projectListing`) when it is that project, else by asking docker.
 */
export const HELPERS = [
  'sum() { if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d" " -f1; elif [ -x /usr/bin/shasum ]; then /usr/bin/shasum -a 256 | cut -d" " -f1; else openssl dgst -sha256 -r | cut -d" " -f1; fi; }',
  'mode() { stat -c %a "$1" 2>/dev/null || stat -f %Lp "$1" 2>/dev/null; }',
  `cid() { if [ -n "\${PSO_P:-}" ] && [ "$1" = "$PSO_P" ]; then printf '%s\\n' "\${PSO:-}" | awk -F'|' -v s="$2" '$2 == s && $3 == "running" { print $1; exit }'; else "$D" ps -q --no-trunc --filter "label=com.docker.compose.project=$1" --filter "label=com.docker.compose.service=$2" --filter status=running 2>/dev/null | head -n 1; fi; }`,
].join('\n');

/**
 * Lists a compose project's containers once (`ID|service|state`, or the
 * given format, which must start with those three) into `$PSO`: `cid` answers
 * for that project from it, without asking docker again.
 */
export function projectListing(project: string, format = PSO_FORMAT): string {
  const p = shellQuote(project);
  return `PSO_P=${p}; PSO=$("$D" ps -a --no-trunc --filter label=com.docker.compose.project=${p} --format ${shellQuote(format)} 2>/dev/null)`;
}

const PSO_FORMAT = '{{.ID}}|{{.Label "com.docker.compose.service"}}|{{.State}}';

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
export function switchCommand(template: readonly string[], color: 'blue' | 'green' | null): string[] {
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
    `if [ -z "$${variable}" ]; then pc=$(cid ${p} ${shellQuote(bg.proxy)}); if [ -n "$pc" ]; then a=$("$D" exec "$pc" ${bg.showCommand.map(shellQuote).join(' ')} 2>/dev/null | tail -n 1); ${mapColor}; fi; fi`,
    `if [ -z "$${variable}" ]; then b=$(cid ${p} ${shellQuote(bg.blue)}); g=$(cid ${p} ${shellQuote(bg.green)}); if [ -n "$b" ] && [ -z "$g" ]; then ${variable}=blue; elif [ -n "$g" ] && [ -z "$b" ]; then ${variable}=green; fi; fi`,
  ].join('\n');
}

/** Splits `key=value` lines (first `=`), later keys win. */
export function keyValues(output: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return values;
}
