/**
 * The lab's Tailscale: a stand-in for the operator host's `tailscale` CLI whose
 * tailnet is the lab's hosts. See README.md for what it does not do.
 *
 * `up` writes `<stateDir>/tailscale/bin/tailscale`, a small sh wrapper that
 * runs node on ./cli (the .ts under tsx from the sources, the .js from dist)
 * with AXE_LAB_STATE_DIR set: point the product's `tailscale.binary` at it.
 * Tests steer it with `setPeerState` and `setDaemonState`
 * (`<stateDir>/tailscale/peers.json`). `down` removes `<stateDir>/tailscale/`.
 */
import { access, chmod, constants, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import type { LabContext, LabPart, LabPartStatus } from '../component.js';
import { nodeEntry } from '../vault/node-entry.js';
import { buildTailscaleStatus, readTailscaleLabState, tailscalePaths } from './status.js';

export {
  buildTailscaleStatus,
  readTailscaleLabState,
  setDaemonState,
  setPeerState,
  tailnetAddresses,
  tailscalePaths,
  TAILSCALE_VERSION,
  type DaemonState,
  type PeerOverride,
} from './status.js';

/** The stand-in binary the product calls: `<stateDir>/tailscale/bin/tailscale`. */
export function tailscaleBinary(stateDir: string): string {
  return tailscalePaths(stateDir).binary;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The wrapper script: node (with tsx's loader from the sources) on cli, state dir in the environment. */
export function wrapperScript(stateDir: string): string {
  const entry = nodeEntry(import.meta.url, 'cli');
  const command = [process.execPath, ...entry.nodeArgs, entry.file].map(shellQuote).join(' ');
  return `#!/bin/sh\n# axe lab: stand-in for the tailscale CLI (lab/tailscale/README.md)\nAXE_LAB_STATE_DIR=${shellQuote(stateDir)} exec ${command} "$@"\n`;
}

export const tailscalePart: LabPart = {
  name: 'tailscale',
  async up(ctx: LabContext) {
    const paths = tailscalePaths(ctx.stateDir);
    await mkdir(paths.bin, { recursive: true });
    const tmp = `${paths.binary}.${process.pid}.tmp`;
    await writeFile(tmp, wrapperScript(ctx.stateDir), { mode: 0o755 });
    await chmod(tmp, 0o755);
    await rename(tmp, paths.binary);
    const state = await readTailscaleLabState(ctx.stateDir);
    if (!(await access(paths.state).then(() => true, () => false))) {
      await writeFile(paths.state, `${JSON.stringify(state, null, 2)}\n`);
    }
  },
  async down(ctx: LabContext) {
    await rm(tailscalePaths(ctx.stateDir).dir, { recursive: true, force: true });
  },
  async status(ctx: LabContext): Promise<LabPartStatus> {
    const { binary } = tailscalePaths(ctx.stateDir);
    if (!(await access(binary, constants.X_OK).then(() => true, () => false))) {
      return { name: 'tailscale', ready: false, detail: 'stand-in not written (run axe lab up)' };
    }
    const status = await buildTailscaleStatus(ctx.stateDir);
    if (!status) return { name: 'tailscale', ready: true, detail: `${binary}: tailscaled "not running" (setDaemonState)` };
    const peers = Object.values(status.Peer ?? {}).map((p) => `${p.DNSName.replace(/\.$/, '')} ${p.Online ? (p.CurAddr ? 'direct' : 'relayed') : 'offline'}`);
    return { name: 'tailscale', ready: true, detail: `${binary}: ${status.BackendState}, ${peers.length} peer(s)${peers.length ? `: ${peers.join(', ')}` : ''}` };
  },
};
