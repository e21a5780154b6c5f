/**
 * The commit a config checkout is at and whether it has uncommitted changes
 * (untracked files count), from one `git status --porcelain=v2 --branch`
 * (git's stable machine format) run without optional locks: what `axe plan`
 * checks before asking the controller, and what a writer command checks
 * against the controller's revision (writer.ts). One git process, and no git
 * library loaded for it.
 */
import { execFile } from 'node:child_process';

/** The commit `root` is at (null: not a git checkout, or no commit yet) and whether it has uncommitted changes. */
export async function checkoutAt(root: string): Promise<{ head: string | null; dirty: boolean }> {
  const out = await new Promise<string | null>((resolve) => {
    execFile('git', ['--no-optional-locks', 'status', '--porcelain=v2', '--branch', '--', '.'], { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => resolve(error ? null : stdout));
  });
  const lines = out?.split('\n').filter(Boolean) ?? [];
  const oid = /^# branch\.oid ([0-9a-f]{40,64})$/m.exec(out ?? '')?.[1] ?? null;
  return { head: oid, dirty: oid !== null && lines.some((l) => !l.startsWith('#')) };
}
