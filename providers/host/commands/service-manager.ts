/**
 * How a long-running service (cloudflared) is managed on a host: a
 * LaunchDaemon in launchd's system domain on macOS, or a container where
 * there is Docker and no launchd (the lab's hosts). The choice is made on the
 * host into `$m` (builtins only) and read by the facts' guards; removing the
 * service is a script of its own.
 */
import { EXIT } from '../exit-codes.js';
import { docker } from './docker.js';
import { line, shellQuote } from './quote.js';
import { findTool, requireTool } from './tools.js';

export type Manager = 'launchd' | 'container';

/** A shell test, builtins only: launchctl is on the host (macOS). */
export const HAS_LAUNCHCTL = '[ -x /bin/launchctl ]';

/** Chooses the manager into `$m` (launchd, container or none; `auto`: launchd when launchctl is there) and finds docker into `$D` for a container: builtins only. */
export function chooseManager(manager: 'auto' | Manager, toolPaths: readonly string[]): string {
  return [
    `m=${shellQuote(manager)}`,
    `if [ "$m" = auto ]; then if ${HAS_LAUNCHCTL}; then m=launchd; else m=container; fi; fi`,
    `if [ "$m" = container ]; then ${findTool('D', 'docker', toolPaths)}; if [ -z "$D" ]; then m=none; fi; fi`,
  ].join('\n');
}

/** A shell test, builtins only: the manager chooseManager found is `manager`. */
export function managerIs(manager: Manager): string {
  return `[ "$m" = ${manager} ]`;
}

/** Removes a LaunchDaemon from the system domain and its plist (sudo without a password: EXIT.sudoPassword). */
export function removeLaunchDaemonScript(label: string, plist: string): string {
  return [
    `/usr/bin/sudo -n /bin/launchctl bootout system/${label} 2>/dev/null || true`,
    `/usr/bin/sudo -n /bin/rm -f ${plist} || { echo "sudo without a password is needed to remove ${plist}" >&2; exit ${EXIT.sudoPassword.code}; }`,
  ].join('\n');
}

/** Removes a container, whatever its state (docker required). */
export function removeContainerScript(name: string, toolPaths: readonly string[]): string {
  return `${requireTool('docker', toolPaths)}\n${line(docker.removeForce(name))} >/dev/null`;
}
