/**
 * The contract every part of the lab follows, so `axe lab up|down|status|reset`
 * can drive them all the same way.
 *
 * Rules:
 * - Everything a part creates lives under `ctx.stateDir/<part>/` or carries the
 *   label/name prefix in `LAB_LABEL` / `LAB_PREFIX`, so `down` removes all of it
 *   and nothing else, and a crashed run can be swept.
 * - `up` is idempotent: when the part is already up and healthy it returns fast.
 * - `down` succeeds when there is nothing to remove.
 * - Long-running servers run as detached processes whose PID is written to
 *   `ctx.stateDir/<part>/pid`; they are stopped by that PID only.
 */
export interface LabContext {
  /** Root of all lab state, e.g. /var/lib/axe-lab or $AXE_LAB_DIR. */
  stateDir: string;
  /** Progress lines for the operator (stderr). */
  log: (message: string) => void;
}

export interface LabPartStatus {
  name: string;
  ready: boolean;
  /** One line: what runs where, or what is wrong and the fix. */
  detail: string;
}

export interface LabPart {
  name: string;
  up(ctx: LabContext): Promise<void>;
  down(ctx: LabContext): Promise<void>;
  status(ctx: LabContext): Promise<LabPartStatus>;
}

/** Docker label on every container, image, network and volume the lab makes. */
export const LAB_LABEL = 'ai.axelabs.lab';
/** Prefix of every Unix user, container and image name the lab makes. */
export const LAB_PREFIX = 'axelab';
