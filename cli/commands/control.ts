/**
 * `axe reconcile C`, `axe suspend C [--kind K] --reason TEXT`, `axe resume C
 * [--kind K]`: asked of the running controller through its authenticated API
 * (controller/control-api.ts), recorded in its history with who asked (the
 * user and host) and why; `axe status` shows the suspensions.
 */
import { controllerPaths } from '../../controller/config.js';
import { askController, type ControlOp } from '../../controller/control-api.js';
import type { ControlAnswer } from '../../controller/controls.js';
import { line, printJson } from '../output.js';
import { requester } from '../requester.js';
import { loadSettings } from '../settings.js';

export interface ControlCliOptions {
  config?: string;
  kind?: string;
  reason?: string;
  json?: boolean;
}

/** Asks the controller of this axe config (its state_dir) to do `op` for `customer`. */
export async function requestControl(op: ControlOp, customer: string, options: Omit<ControlCliOptions, 'json'>, by = requester()): Promise<ControlAnswer> {
  const settings = await loadSettings(options);
  const paths = controllerPaths(settings.config, settings.home);
  return askController(paths.stateDir, op, customer, { by, ...(options.kind ? { kind: options.kind } : {}), ...(options.reason !== undefined ? { reason: options.reason } : {}) });
}

async function command(op: ControlOp, customer: string, options: ControlCliOptions): Promise<number> {
  const answer = await requestControl(op, customer, options);
  if (options.json) printJson(answer);
  else line(answer.message);
  return 0;
}

export const reconcileNow = (customer: string, options: ControlCliOptions): Promise<number> => command('reconcile', customer, options);
export const suspend = (customer: string, options: ControlCliOptions): Promise<number> => command('suspend', customer, options);
export const resume = (customer: string, options: ControlCliOptions): Promise<number> => command('resume', customer, options);
