/**
 * The exit codes of axe's host scripts, and what each means: named once, here.
 * The `.sh` files and the builders exit with these numbers (a test holds the
 * `.sh` files to it); the executor (executor.ts) is the only reader.
 * An unnamed non-zero code is transient (retrying may help).
 */
import type { ErrorClass } from '../../core/errors.js';

interface ExitMeaning {
  code: number;
  class: ErrorClass;
  /** The fix when the caller gives none for this code. */
  fix?: string;
}

export const EXIT = {
  /** docker / git / bw / cloudflared not found by absolute path. */
  toolMissing: { code: 3, class: 'transient', fix: 'install the tool on the Mac mini, or add its directory to ssh.tool_paths in the axe config' },
  /** The checkout directory exists and is not a git checkout. */
  notACheckout: { code: 4, class: 'transient' },
  /** The ref is in none of the repository's tags and branches. */
  refNotFound: { code: 5, class: 'terminal' },
  /** No running container for the service a command runs in. */
  noContainer: { code: 6, class: 'transient' },
  /** The inside health check did not answer 2xx. */
  insideCheckFailed: { code: 7, class: 'transient' },
  /** No earlier good state recorded to roll back to. */
  noGoodState: { code: 8, class: 'transient' },
  /** No env file to split per service. */
  noEnvFile: { code: 9, class: 'transient' },
  /** `compose up --wait` failed (diagnostics on stderr). */
  upFailed: { code: 10, class: 'transient' },
  /** The service's container exited while starting. */
  serviceExited: { code: 11, class: 'transient', fix: 'see the service log on the host; axe retries' },
  /** The service did not become ready within its wait. */
  serviceNotReady: { code: 12, class: 'transient', fix: 'see the service log on the host; axe retries' },
  /** sudo asked for a password (launchctl in the system domain needs it without one). */
  sudoPassword: { code: 13, class: 'terminal', fix: 'allow the axe user passwordless sudo for launchctl and tee of the LaunchDaemon plist (see the runbook)' },
  /** The pull wrapper: no bw session file on the host. */
  pullNoSession: { code: 20, class: 'transient' },
  /** The pull wrapper: bw missing, or its session does not unlock the vault. */
  pullLocked: { code: 21, class: 'transient' },
  /** The pull wrapper: an item is missing or empty in the host's vault. */
  pullItemMissing: { code: 22, class: 'terminal' },
  /** The pull wrapper: a value holds a quote or a line break. */
  pullBadValue: { code: 23, class: 'terminal' },
  /** The pull wrapper: the env file could not be written. */
  pullWriteFailed: { code: 24, class: 'transient' },
} as const satisfies Record<string, ExitMeaning>;

export type ExitName = keyof typeof EXIT;
