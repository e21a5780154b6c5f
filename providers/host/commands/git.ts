/** git command lines for a checkout on the host (`"$G"` found by absolute path). */
import { type Argv, line, type Word } from './quote.js';
import { tool } from './tools.js';

/** `-c url.<to>.insteadOf=<from>` for each mirror rewrite of the axe config. */
export function insteadOfArgs(insteadOf: Record<string, string>): string[] {
  return Object.entries(insteadOf).flatMap(([from, to]) => ['-c', `url.${to}.insteadOf=${from}`]);
}

export function git(dir: Word, insteadOf: Record<string, string> = {}) {
  const base: Argv = [tool('git'), ...insteadOfArgs(insteadOf), '-c', 'advice.detachedHead=false', '-C', dir];
  return {
    base,
    headCommit: (): Argv => [...base, 'rev-parse', 'HEAD'],
    /** Porcelain status without untracked files: empty when the tree is clean. */
    status: (): Argv => [...base, 'status', '--porcelain', '--untracked-files=no'],
    /** The uncommitted changes of tracked files. */
    diffHead: (): Argv => [...base, 'diff', 'HEAD'],
    verifyCommit: (spec: string): Argv => [...base, 'rev-parse', '-q', '--verify', `${spec}^{commit}`],
    fetchAll: (): Argv => [...base, 'fetch', '-q', '--force', '--tags', 'origin', '+refs/heads/*:refs/remotes/origin/*'],
    checkoutDetached: (commit: Word): Argv => [...base, 'checkout', '-q', '--force', '--detach', commit],
    originUrl: (): Argv => [...base, 'config', '--get', 'remote.origin.url'],
    setOrigin: (url: string): Argv => [...base, 'remote', 'set-url', 'origin', url],
  };
}

/** `git clone -q --no-checkout REPO DIR`. */
export function gitClone(repo: string, dir: Word, insteadOf: Record<string, string> = {}): Argv {
  return [tool('git'), ...insteadOfArgs(insteadOf), 'clone', '-q', '--no-checkout', repo, dir];
}

/** A shell function `name` that runs git by absolute path with the mirror rewrites, its arguments after them (scripts/checkout.sh calls it `gitx`). */
export function gitFunction(name: string, insteadOf: Record<string, string>): string {
  return `${name}() { ${line([tool('git'), ...insteadOfArgs(insteadOf), '-c', 'advice.detachedHead=false'])} "$@"; }`;
}
