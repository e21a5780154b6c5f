/**
 * The lab's `tailscale` CLI stand-in, run by the wrapper `axe lab up` writes
 * (`<stateDir>/tailscale/bin/tailscale`), which sets AXE_LAB_STATE_DIR.
 * Answers `status [--json] [--self=…] [--peers=…] [--active]` and
 * `version [--json]` like the real CLI, from lab state (./status.ts).
 *
 * Exit codes and messages follow the real CLI: with tailscaled not running,
 * every `status` fails (exit 1, "failed to connect to local tailscaled…" on
 * stderr); when stopped, `status --json` still prints the JSON (BackendState
 * "Stopped", exit 0) and plain `status` prints "Tailscale is stopped." (exit 1).
 */
import { buildTailscaleStatus, renderPlainStatus, renderVersion, versionJson } from './status.js';

const NOT_RUNNING = "failed to connect to local tailscaled; it doesn't appear to be running";

function flag(args: string[], name: string, fallback: boolean): boolean {
  let value = fallback;
  for (const arg of args) {
    if (arg === `--${name}` || arg === `-${name}`) value = true;
    else if (arg.startsWith(`--${name}=`) || arg.startsWith(`-${name}=`)) value = /^(1|t|true)$/i.test(arg.slice(arg.indexOf('=') + 1));
  }
  return value;
}

async function main(argv: string[]): Promise<number> {
  const stateDir = process.env.AXE_LAB_STATE_DIR;
  // Global flags (--socket=…) come before the subcommand; they mean nothing here.
  const at = argv.findIndex((a) => !a.startsWith('-'));
  const command = at === -1 ? undefined : argv[at];
  const args = at === -1 ? [] : argv.slice(at + 1);
  if (command === 'version') {
    process.stdout.write(flag(args, 'json', false) ? `${JSON.stringify(versionJson(), null, 2)}\n` : renderVersion());
    return 0;
  }
  if (command !== 'status') {
    process.stderr.write(command ? `tailscale: unknown subcommand: ${command}\n` : 'USAGE\n  tailscale [flags] <subcommand> [command flags]\n\n(axe lab stand-in: only status and version)\n');
    return command ? 1 : 0;
  }
  const unknown = args.find((a) => !a.startsWith('-'));
  if (unknown) {
    process.stderr.write("unexpected non-flag arguments to 'tailscale status'\n");
    return 1;
  }
  if (!stateDir) {
    process.stderr.write(`${NOT_RUNNING}\n`);
    return 1;
  }
  const status = await buildTailscaleStatus(stateDir);
  if (!status) {
    process.stderr.write(`${NOT_RUNNING}\n`);
    return 1;
  }
  if (flag(args, 'json', false)) {
    if (!flag(args, 'peers', true)) status.Peer = null;
    if (flag(args, 'active', false) && status.Peer) {
      for (const [key, peer] of Object.entries(status.Peer)) if (!peer.Active) delete status.Peer[key];
    }
    process.stdout.write(JSON.stringify(status, null, 2));
    return 0;
  }
  if (status.BackendState !== 'Running') {
    process.stdout.write(status.BackendState === 'Stopped' ? 'Tailscale is stopped.\n' : `unexpected state: ${status.BackendState}\n`);
    return 1;
  }
  process.stdout.write(renderPlainStatus(status, { self: flag(args, 'self', true), peers: flag(args, 'peers', true), active: flag(args, 'active', false) }));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`tailscale (axe lab stand-in): ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
