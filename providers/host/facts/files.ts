/**
 * Files on the host: their sha256 and mode. One stat for all of them every
 * time (mode and stamp: size, mtime, ctime, inode); the hashing process only
 * for files whose stamp is not one whose sum is already known (FileSums), so a
 * no-op scan of unchanged files starts no hashing process.
 */
import { transient } from '../../../core/errors.js';
import { fs } from '../commands/fs.js';
import { line, type Word } from '../commands/quote.js';
import type { Fact } from './fact.js';

export interface FileFact {
  sha256: string;
  mode: string;
}

/**
 * Sums of files read on hosts, by `<where>/<file>`, with the stamp they were
 * read at. A sum is trusted (its file not hashed again) only once two readings
 * of the same stamp agreed: a write in the same second as the first reading
 * can leave the stamp equal, the second reading sees it (git's racy-clean rule).
 */
export class FileSums {
  readonly #sums = new Map<string, { stamp: string; sha256: string; confirmed: boolean }[]>();

  /** `<file>=<stamp>` of the files under `where` whose sum is trusted. */
  trusted(where: string, files: readonly string[]): string[] {
    return files.flatMap((f) => (this.#sums.get(`${where}/${f}`) ?? []).filter((s) => s.confirmed).map((s) => `${f}=${s.stamp}`));
  }

  /** The sum of `file` read at `stamp`, or null. */
  sum(where: string, file: string, stamp: string): string | null {
    return this.#sums.get(`${where}/${file}`)?.find((s) => s.stamp === stamp)?.sha256 ?? null;
  }

  /** A reading: confirms the known sum when it agrees, else starts over for this stamp. Keeps the last two stamps. */
  record(where: string, file: string, stamp: string, sha256: string): void {
    const key = `${where}/${file}`;
    const list = this.#sums.get(key) ?? [];
    const same = list.find((s) => s.stamp === stamp);
    const entry = { stamp, sha256, confirmed: same?.sha256 === sha256 };
    this.#sums.set(key, [entry, ...list.filter((s) => s.stamp !== stamp)].slice(0, 2));
  }
}

/** A host's sums (`where`: the host's scan key, with the directory appended by filesFact's callers), or none (a test double). */
export type HostFileSums = { store: FileSums; where: string } | undefined;

/** The same sums for the files of `dir`. */
export function inDir(sums: HostFileSums, dir: string): HostFileSums {
  return sums && { store: sums.store, where: `${sums.where}:${dir}` };
}

/**
 * `<octal> <stamp> <dir>/<file>` and `<hex>  <dir>/<file>` lines, by file name
 * (only names asked for); a file with no sum line takes the one `sums` holds
 * for its stamp (and is recorded in `sums` when it has one).
 */
export function parseFileFacts(output: string, files: readonly string[], sums?: { store: FileSums; where: string }): Map<string, FileFact> {
  const stamps = new Map<string, { mode: string; stamp: string }>();
  const read = new Map<string, string>();
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  for (const raw of output.split('\n')) {
    const text = raw.trim();
    const sum = /^([0-9a-f]{64}) [ *]?(.+)$/.exec(text);
    const mode = /^([0-7]{3,4}) (\d+-[\d.]+-[\d.]+-\d+) (.+)$/.exec(text);
    if (sum && files.includes(base(sum[2]!))) read.set(base(sum[2]!), sum[1]!);
    else if (mode && files.includes(base(mode[3]!))) stamps.set(base(mode[3]!), { mode: mode[1]!, stamp: mode[2]! });
  }
  const out = new Map<string, FileFact>();
  for (const [name, { mode, stamp }] of stamps) {
    const fresh = read.get(name);
    if (fresh) sums?.store.record(sums.where, name, stamp, fresh);
    const sha256 = fresh ?? sums?.store.sum(sums.where, name, stamp);
    if (!sha256) throw transient(`the sum of ${name} was not read and is not remembered`, { resource: 'host', fix: 'nothing to do: the next scan hashes it' });
    out.set(name, { sha256, mode });
  }
  return out;
}

/** The sha256 and mode of each of `files` present in `dir`; with `sums` (the host's, `where` naming host and dir), unchanged files are not hashed again. */
export function filesFact(name: string, dir: Word, files: readonly string[], sums?: { store: FileSums; where: string }): Fact<Map<string, FileFact>> {
  const known = sums ? sums.store.trusted(sums.where, files) : [];
  return { name, command: line(fs.fileFacts(dir, files, known)), parse: (output) => parseFileFacts(output, files, sums) };
}
