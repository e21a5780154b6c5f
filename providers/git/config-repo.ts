/**
 * The config repo on the operator's machine, through simple-git: read a file
 * at a ref, check the working tree, switch to a branch, commit. The operator
 * pushes and opens the pull request; `mergeAndPush` stands in for the merge.
 */
import { simpleGit, type SimpleGit } from 'simple-git';
import { terminal } from '../../core/errors.js';

export interface ConfigRepo {
  readonly root: string;
  isRepo(): Promise<boolean>;
  currentBranch(): Promise<string | null>;
  branchExists(branch: string): Promise<boolean>;
  /** The file's content at `ref`, or null when it does not exist there. */
  show(ref: string, path: string): Promise<string | null>;
  /** True when `path` has no staged or unstaged change. */
  isClean(path: string): Promise<boolean>;
  /** Switches to `branch`, creating it from HEAD when missing. */
  switchTo(branch: string): Promise<void>;
  /** Commits exactly `paths`; returns the new commit's short hash. */
  commit(paths: string[], message: string): Promise<string>;
  head(): Promise<string | null>;
  /**
   * Merges `branch` into `into` and pushes `into` to origin: what merging the
   * pull request does on the git host (the lab demo plays that part).
   * Returns false when there was nothing to merge.
   */
  mergeAndPush(branch: string, into: string): Promise<boolean>;
}

export function openConfigRepo(root: string): ConfigRepo {
  const git: SimpleGit = simpleGit({ baseDir: root, trimmed: true });
  return {
    root,
    async isRepo() {
      try {
        return (await git.revparse(['--is-inside-work-tree'])) === 'true';
      } catch {
        return false;
      }
    },
    async currentBranch() {
      try {
        const name = await git.raw(['symbolic-ref', '--quiet', '--short', 'HEAD']);
        return name.trim() || null;
      } catch {
        return null;
      }
    },
    async branchExists(branch) {
      // simple-git treats a silent non-zero exit as success, so judge by the output.
      const refs = await git.raw(['for-each-ref', '--format=%(refname)', `refs/heads/${branch}`]);
      return refs.trim() === `refs/heads/${branch}`;
    },
    async show(ref, path) {
      try {
        return await simpleGit({ baseDir: root, trimmed: false }).show([`${ref}:${path}`]);
      } catch {
        return null;
      }
    },
    async isClean(path) {
      const status = await git.status(['--', path]);
      return status.files.length === 0;
    },
    async switchTo(branch) {
      if (await this.branchExists(branch)) await git.checkout(branch);
      else await git.checkoutLocalBranch(branch);
    },
    async commit(paths, message) {
      await git.add(paths);
      const result = await git.commit(message, paths, { '--no-verify': null });
      if (!result.commit) throw terminal('git commit made no commit', { fix: 'check `git status` in the config repo' });
      return result.commit;
    },
    async head() {
      try {
        return await git.revparse(['HEAD']);
      } catch {
        return null;
      }
    },
    async mergeAndPush(branch, into) {
      await git.checkout(into);
      const before = await git.revparse([into]);
      await git.merge(['--no-ff', '--no-edit', '-m', `Merge ${branch}`, branch]).catch(async (error: unknown) => {
        await git.merge(['--abort']).catch(() => undefined);
        throw terminal(`cannot merge ${branch} into ${into}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, { fix: `resolve it by hand in ${root}` });
      });
      const after = await git.revparse([into]);
      await git.push('origin', into);
      return before !== after;
    },
  };
}
