/** Files on the host: their sha256 and mode (one hashing process and one stat for all of them). */
import { fs } from '../commands/fs.js';
import { line, type Word } from '../commands/quote.js';
import type { Fact } from './fact.js';

export interface FileFact {
  sha256: string;
  mode: string;
}

/** `<hex>  <dir>/<file>` and `<octal> <dir>/<file>` lines, by file name (pure); only names asked for. */
export function parseFileFacts(output: string, files: readonly string[]): Map<string, FileFact> {
  const seen = new Map<string, Partial<FileFact>>();
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  for (const raw of output.split('\n')) {
    const text = raw.trim();
    const sum = /^([0-9a-f]{64}) [ *]?(.+)$/.exec(text);
    const mode = /^([0-7]{3,4}) (.+)$/.exec(text);
    const [name, fact] = sum ? [base(sum[2]!), { sha256: sum[1]! }] : mode ? [base(mode[2]!), { mode: mode[1]! }] : [null, null];
    if (name && files.includes(name)) seen.set(name, { ...seen.get(name), ...fact });
  }
  const out = new Map<string, FileFact>();
  for (const [name, f] of seen) if (f.sha256 && f.mode) out.set(name, { sha256: f.sha256, mode: f.mode });
  return out;
}

/** The sha256 and mode of each of `files` present in `dir`. */
export function filesFact(name: string, dir: Word, files: readonly string[]): Fact<Map<string, FileFact>> {
  return { name, command: line(fs.fileFacts(dir, files)), parse: (output) => parseFileFacts(output, files) };
}
