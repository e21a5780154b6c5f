/**
 * `axe controller [--config F] [--watch DIR] [--once] [--listen H:P]`
 * (`axe status` and `axe history` are in status.ts and history.ts).
 */
import { terminal } from '../../core/errors.js';
import { runForever, runOnce } from '../../controller/run.js';
import { loadSettings } from '../settings.js';

export interface ControllerCliOptions {
  config?: string;
  watch?: string;
  once?: boolean;
  listen?: string;
}

/** `axe controller`: run the controller in the foreground (JSON log on stdout). */
export async function controllerCommand(options: ControllerCliOptions): Promise<number> {
  const settings = await loadSettings(options);
  if (!settings.config) throw terminal('axe controller needs an axe config', { fix: 'write ~/.axe/config.yaml (see examples/axe-config.yaml) or pass --config FILE' });
  const common = {
    config: settings.config,
    vault: settings.vault,
    zone: settings.zone,
    axeHome: settings.home,
    ...(options.watch ? { watchDir: options.watch } : {}),
    ...(options.listen ? { listen: options.listen } : {}),
  };
  return options.once ? runOnce(common) : runForever(common);
}
