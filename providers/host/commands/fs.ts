/**
 * Files on the host. Hashing and modes go through the functions of
 * scripts/lib.sh (sha256sum or shasum or openssl; GNU or BSD stat), so the
 * choice between the tools is written once, in shell that shellcheck reads.
 */
import { type Argv, type Word } from './quote.js';

export const fs = {
  /** `<octal> <stamp> <file>` per file present (relative names, in `dir`), then `<hex>  <file>` for those whose stamp is not in `known` (`name=stamp`). */
  fileFacts: (dir: Word, files: readonly string[], known: readonly string[] = []): Argv => [{ sh: 'axe_file_facts' }, dir, known.join(' '), ...files],
  /** The file's mode, then its content in base64 (one line each); nothing when it is absent. */
  base64: (file: Word): Argv => [{ sh: 'axe_file_b64' }, file],
  /** `<octal>` of one file, nothing when it is absent. */
  mode: (file: Word): Argv => [{ sh: 'axe_mode' }, file],
  /** The file's content on stdout. */
  read: (file: Word): Argv => ['cat', file],
  mkdirP: (dir: Word): Argv => ['mkdir', '-p', dir],
  removeForce: (...files: Word[]): Argv => ['rm', '-f', ...files],
};
