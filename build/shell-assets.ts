/**
 * Build step after tsc (`npm run build`): copies the shell files the product
 * runs on hosts (`*.sh` under providers/ and reconcilers/) into dist/ beside
 * the modules that read them, so the built product (and the image, which
 * ships dist/ only) carries them.
 *
 *   node --import tsx build/shell-assets.ts
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

/** The shell files under the product's source folders, relative to the root. */
export function shellAssets(): string[] {
  const out: string[] = [];
  for (const top of ['providers', 'reconcilers']) {
    for (const file of readdirSync(join(ROOT, top), { recursive: true, encoding: 'utf8' })) {
      if (file.endsWith('.sh')) out.push(join(top, file));
    }
  }
  return out.sort();
}

for (const file of shellAssets()) {
  const to = join(ROOT, 'dist', file);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(join(ROOT, file), to);
}
