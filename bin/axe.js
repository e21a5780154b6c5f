#!/usr/bin/env node
// The `axe` executable: runs the compiled CLI (npm ci builds it via `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('axe: not built yet (dist/cli/main.js missing); run `npm ci` or `npm run build` in the axe checkout\n');
  process.exit(1);
}
await import(main);
