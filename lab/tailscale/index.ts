/**
 * The lab's Tailscale: a stand-in for the operator host's `tailscale` CLI whose
 * tailnet is the lab's hosts. See README.md for what it does not do.
 *
 * `up` writes `<stateDir>/tailscale/bin/tailscale`, a small sh wrapper that
 * runs plain node on ./cli (the .js from dist; from the sources, the .ts
 * bundled by esbuild into `<stateDir>/tailscale/cli.mjs`) with
 * AXE_LAB_STATE_DIR set: point the product's `tailscale.binary` at it.
 * Tests steer it with `setPeerState` and `setDaemonState`
 * (`<stateDir>/tailscale/peers.json`). `down` removes `<stateDir>/tailscale/`.
 */
import { access, chmod, constants, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/** The wrapper script: plain node on `entry` (the stand-in's CLI), state dir in the environment. */
export function wrapperScript(stateDir: string, entry: string): string {
  const command = [process.execPath, entry].map(shellQuote).join(' ');
  return `#!/bin/sh\n# axe lab: stand-in for the tailscale CLI (lab/tailscale/README.md)\nAXE_LAB_STATE_DIR=${shellQuote(stateDir)} exec ${command} "$@"\n`;
}

/**
 * The stand-in's entry for plain node: dist's cli.js, or, from the sources,
 * cli.ts bundled with esbuild into `<stateDir>/tailscale/cli.mjs`. The product
 * runs `tailscale status --json` once per scan: a plain node start answers in
 * a fraction of the time (and CPU) of tsx's loader compiling TypeScript.
 */
async function standInEntry(stateDir: string): Promise<string> {
  const entry = nodeEntry(import.meta.url, 'cli');
  if (!entry.fromSources) return entry.file;
  const outfile = join(tailscalePaths(stateDir).dir, 'cli.mjs');
  const { build } = await import('esbuild');
  await build({ entryPoints: [entry.file], outfile, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
  return outfile;
}

export const tailscalePart: LabPart = {
  name: 'tailscale',
  async up(ctx: LabContext) {
    const paths = tailscalePaths(ctx.stateDir);
    await mkdir(paths.bin, { recursive: true });
    const tmp = `${paths.binary}.${process.pid}.tmp`;
    await writeFile(tmp, wrapperScript(ctx.stateDir, await standInEntry(ctx.stateDir)), { mode: 0o755 });
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
