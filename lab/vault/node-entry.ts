/**
 * How a lab stand-in runs one of its modules as its own node process, from
 * the sources (under tsx) and from the build (dist/, plain node) alike.
 *
 * Rules:
 * - The entry is the sibling of the calling module with the same extension
 *   (`main.ts` beside `index.ts`, `main.js` beside `index.js`).
 * - From the sources, the loader flags of this process (`--import tsx`, …) are
 *   kept, with bare specifiers made absolute, so the child loads TypeScript
 *   whatever its working directory; other flags (`--test`, `--eval`) are not.
 * - From the build, no flag is passed.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

function absolute(specifier: string): string {
  if (specifier.startsWith('file:') || specifier.startsWith('/') || specifier.startsWith('.')) return specifier;
  try {
    return import.meta.resolve(specifier);
  } catch {
    return specifier;
  }
}

/** The loader flags of this process, specifiers made absolute. */
export function loaderArgs(execArgv: string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i += 1) {
    const arg = execArgv[i]!;
    const eq = arg.indexOf('=');
    if (eq > 0 && LOADER_FLAGS.has(arg.slice(0, eq))) {
      out.push(arg.slice(0, eq), absolute(arg.slice(eq + 1)));
    } else if (LOADER_FLAGS.has(arg) && i + 1 < execArgv.length) {
      out.push(arg, absolute(execArgv[i + 1]!));
      i += 1;
    }
  }
  return out;
}

export interface NodeEntry {
  /** Absolute path of the entry module. */
  file: string;
  /** Arguments for `process.execPath` before the entry file. */
  nodeArgs: string[];
  fromSources: boolean;
}

/** The sibling module `name` of `moduleUrl` (an `import.meta.url`), and how to run it. */
export function nodeEntry(moduleUrl: string, name: string): NodeEntry {
  const here = fileURLToPath(moduleUrl);
  const fromSources = here.endsWith('.ts');
  const file = join(dirname(here), `${name}${fromSources ? '.ts' : '.js'}`);
  if (!fromSources) return { file, nodeArgs: [], fromSources };
  const args = loaderArgs();
  return { file, nodeArgs: args.length > 0 ? args : ['--import', absolute('tsx')], fromSources };
}
