/**
 * Build step after tsc (`npm run build`): bundles providers/cloudflare/sdk.ts
 * with esbuild into dist/providers/cloudflare/sdk.js, replacing tsc's output
 * of that one module. The SDK's `createClient` with the few resources axe
 * uses tree-shakes down to ~80 KB; tsc's re-exports would load the SDK's
 * whole client (every resource of the API) at run time.
 *
 *   node --import tsx build/sdk-bundle.ts [OUTFILE]
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');
export const SDK_ENTRY = join(ROOT, 'providers', 'cloudflare', 'sdk.ts');
export const SDK_OUTFILE = join(ROOT, 'dist', 'providers', 'cloudflare', 'sdk.js');

/** Writes the bundle (and its source map) to `outfile`; returns its size in bytes. */
export async function bundleSdk(outfile: string = SDK_OUTFILE): Promise<number> {
  await build({
    entryPoints: [SDK_ENTRY],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
  return (await stat(outfile)).size;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outfile = process.argv[2] ?? SDK_OUTFILE;
  const size = await bundleSdk(outfile);
  process.stdout.write(`cloudflare SDK bundle: ${outfile} (${Math.round(size / 1024)} KB)\n`);
}
