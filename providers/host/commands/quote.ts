/**
 * The one place a value becomes a shell word. Every command builder returns
 * an argv array of Words; `line` turns it into the command line the host's
 * /bin/sh runs.
 *
 * A Word is a plain string (quoted, always) or a ShellWord: a word that is
 * already shell (a tool found on the host, `"$D"`; a path under the login
 * user's home, `"$HOME"/'x'`). ShellWords are made only by the helpers here,
 * never from input.
 */
export interface ShellWord {
  readonly sh: string;
}
export type Word = string | ShellWord;
export type Argv = readonly Word[];

/** A value as one single-quoted shell word. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A path on the host as a shell word: `~/x` becomes `"$HOME"/'x'`. */
export function hostPath(path: string): string {
  return path.startsWith('~/') ? `"$HOME"/${shellQuote(path.slice(2))}` : shellQuote(path);
}

/** The value of a shell variable set earlier in the same script (`"$D"`). */
export function variable(name: string): ShellWord {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a shell variable name: ${name}`);
  return { sh: `"$${name}"` };
}

/** A shell test, builtins only: the variable set earlier in the same script is not empty (`[ -n "$id" ]`). */
export function isSet(name: string): string {
  return `[ -n ${variable(name).sh} ]`;
}

/** A host path as a word (`~/` is the login user's home). */
export function path(value: string): ShellWord {
  return { sh: hostPath(value) };
}

/** One word of a command line. */
export function word(w: Word): string {
  return typeof w === 'string' ? shellQuote(w) : w.sh;
}

/** The command line of an argv array. */
export function line(argv: Argv): string {
  return argv.map(word).join(' ');
}
