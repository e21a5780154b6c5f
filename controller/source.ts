/**
 * Where the desired state comes from: the config repo's branch (git, fetched
 * with simple-git into the controller's own bare mirror) or, in dev mode, a
 * local checkout watched with chokidar.
 *
 * Rules:
 * - Every revision is materialised in a directory of its own
 *   (`<stateDir>/revisions/<id>`), written once and never changed, so the last
 *   good revision's files stay intact while a newer one is checked (and
 *   perhaps rejected). The operator's working clone is never touched.
 * - A git revision is the branch's commit id; a watched revision is
 *   `watch-` + a digest of customers.yaml and services/*.yaml.
 * - A symbolic link is never followed: a git export keeps a committed link
 *   (mode 120000) as a link, and a watched link is materialised as the same
 *   link, unread, so the loader refuses it (schemas/repo.ts) and no content
 *   of its target is ever read.
 * - A fetch failure is transient (the network, the git host); a branch that
 *   does not exist is terminal.
 */
import { randomBytes, createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile, copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { watch as chokidarWatch } from 'chokidar';
import { simpleGit } from 'simple-git';
import { terminal, transient } from '../core/errors.js';
import { CUSTOMERS_FILE, SERVICES_DIR } from '../schemas/repo.js';

export interface RevisionRef {
  id: string;
  /** The commit subject (git) or null. */
  subject: string | null;
}

export interface ConfigSource {
  readonly kind: 'git' | 'watch';
  /** Where it reads from, for logs and status (a URL without credentials, or a path). */
  readonly description: string;
  /** Fetches (git) or hashes the files (watch) and returns the newest revision. */
  latest(): Promise<RevisionRef>;
  /** The revision's files in a directory of their own; made once, then reused. */
  materialize(id: string): Promise<string>;
  /** Removes materialised revisions other than `keep` (git: and runs the mirror's maintenance). */
  prune(keep: readonly string[]): Promise<void>;
  /** Watch mode: calls `onChange` (debounced) when the files change; returns a stop function. */
  watch?(onChange: () => void): Promise<() => Promise<void>>;
}

/** A URL or path with any user:password part removed, for logs. */
export function safeUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

const UNSAFE_ENV = new Set(['EDITOR', 'VISUAL', 'PAGER']);

export function gitEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  // No GIT_* from outside, and none of the editor/pager variables simple-git refuses
  // in an explicit env (npm sets EDITOR for every script it runs, `npm test` included).
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GIT_') && !UNSAFE_ENV.has(k)) env[k] = v;
  // Never prompt for credentials: the controller runs unattended.
  return { ...env, GIT_TERMINAL_PROMPT: '0', ...extra };
}

/**
 * Writes the tree of `rev` from the git directory `gitDir` into `dir` (which
 * must not exist), through a private index: no worktree bookkeeping, no tar.
 */
export async function exportTree(gitDir: string, rev: string, dir: string): Promise<void> {
  const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  const index = `${tmp}.index`;
  await mkdir(tmp, { recursive: true });
  try {
    const git = simpleGit({ baseDir: tmp }).env(gitEnv({ GIT_INDEX_FILE: index, GIT_DIR: gitDir, GIT_WORK_TREE: tmp }));
    // A pathspec checkout fills the private index and the directory in one git process; HEAD is not moved.
    await git.raw(['checkout', '--force', rev, '--', '.']);
    await rename(tmp, dir);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  } finally {
    await rm(index, { force: true });
  }
}

async function pruneRevisions(revisionsDir: string, keep: readonly string[]): Promise<void> {
  const entries = await readdir(revisionsDir).catch(() => [] as string[]);
  // An export in progress is `<id>.tmp-…` (and its `.index`): it goes with its revision, not before.
  await Promise.all(entries.filter((e) => !keep.includes(e.split('.')[0]!)).map((e) => rm(join(revisionsDir, e), { recursive: true, force: true })));
}

/** Exports in flight, by directory: concurrent callers share one export (a second one could not rename onto the first). */
const making = new Map<string, Promise<string>>();

function materializeOnce(revisionsDir: string, id: string, make: (dir: string) => Promise<void>): Promise<string> {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(id)) return Promise.reject(terminal(`invalid revision id ${JSON.stringify(id)}`));
  const dir = join(revisionsDir, id);
  const pending = making.get(dir);
  if (pending) return pending;
  // Registered before the first await, so a caller arriving meanwhile shares it. Each maker writes beside and renames.
  const work = (async () => {
    if (await exists(dir)) return dir;
    await mkdir(revisionsDir, { recursive: true });
    await make(dir);
    return dir;
  })().finally(() => making.delete(dir));
  making.set(dir, work);
  return work;
}

/** The config repo's branch, fetched into `<stateDir>/git/mirror.git`. */
export function gitSource(options: { url: string; branch: string; stateDir: string }): ConfigSource {
  const mirror = join(options.stateDir, 'git', 'mirror.git');
  const revisionsDir = join(options.stateDir, 'revisions');
  const remoteRef = `refs/remotes/origin/${options.branch}`;
  let ready: Promise<void> | null = null;

  async function init(): Promise<void> {
    if (!(await exists(join(mirror, 'HEAD')))) {
      await mkdir(mirror, { recursive: true });
      await simpleGit({ baseDir: mirror }).env(gitEnv()).raw(['init', '--bare', '-q']);
    }
    const git = simpleGit({ baseDir: mirror }).env(gitEnv({ GIT_DIR: mirror }));
    const remotes = await git.getRemotes(true);
    const origin = remotes.find((r) => r.name === 'origin');
    if (!origin) await git.addRemote('origin', options.url);
    else if (origin.refs.fetch !== options.url) await git.remote(['set-url', 'origin', options.url]);
    // A fetch would end with `git maintenance run --auto`: one more process between a push and its reconcile.
    // The mirror's maintenance runs after the revision is applied instead (prune).
    await git.raw(['config', 'maintenance.auto', 'false']);
  }

  return {
    kind: 'git',
    description: `${safeUrl(options.url)}#${options.branch}`,
    async latest() {
      ready ??= init();
      ready.catch(() => (ready = null));
      await ready;
      const git = simpleGit({ baseDir: mirror }).env(gitEnv({ GIT_DIR: mirror }));
      try {
        await git.raw(['fetch', '--no-tags', '--prune', '--quiet', 'origin', `+refs/heads/${options.branch}:${remoteRef}`]);
      } catch (error) {
        // Ask the remote which heads it has rather than reading git's message.
        const heads = await git.raw(['ls-remote', '--heads', 'origin', `refs/heads/${options.branch}`]).catch(() => null);
        if (heads !== null && heads.trim() === '') {
          throw terminal(`branch ${options.branch} does not exist in the config repo ${safeUrl(options.url)}`, { resource: 'config-repo', fix: 'set repo.branch in the axe config to an existing branch' });
        }
        throw transient(`cannot fetch the config repo ${safeUrl(options.url)}`, { resource: 'config-repo', fix: 'check the URL, the network and the deploy key; the last good revision keeps running', cause: error });
      }
      const [id = '', subject = ''] = (await git.raw(['log', '-1', '--format=%H%n%s', remoteRef])).split('\n');
      return { id: id.trim(), subject: subject.trim() || null };
    },
    async materialize(id) {
      ready ??= init();
      await ready;
      return materializeOnce(revisionsDir, id, (dir) => exportTree(mirror, id, dir));
    },
    async prune(keep) {
      await pruneRevisions(revisionsDir, keep);
      if (!(await exists(join(mirror, 'HEAD')))) return;
      // The mirror's housekeeping (gc when loose objects pile up), off the path from a push to its reconcile.
      await simpleGit({ baseDir: mirror })
        .env(gitEnv({ GIT_DIR: mirror }))
        .raw(['-c', 'maintenance.auto=true', 'maintenance', 'run', '--auto', '--quiet'])
        .catch(() => undefined);
    },
  };
}

/** A watched file's bytes, null when unreadable, or the link found on its way (never followed). */
type WatchedFile = Buffer | null | { at: string; target: string };

async function watchedFiles(root: string): Promise<string[]> {
  const services = (await readdir(join(root, SERVICES_DIR)).catch(() => [] as string[])).filter((f) => /\.ya?ml$/.test(f)).sort();
  return [CUSTOMERS_FILE, ...services.map((f) => `${SERVICES_DIR}/${f}`)];
}

/** A local checkout, watched with chokidar (`axe controller --watch DIR`). */
export function watchSource(options: { dir: string; stateDir: string; debounceMs?: number }): ConfigSource {
  const root = resolve(options.dir);
  const revisionsDir = join(options.stateDir, 'revisions');
  const snapshots = new Map<string, Map<string, WatchedFile>>();

  /** The first component of `file` that is a symbolic link (its relative path and target), or null. */
  async function linkOn(file: string): Promise<{ at: string; target: string } | null> {
    const parts = file.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const at = parts.slice(0, i).join('/');
      const info = await lstat(join(root, at)).catch(() => null);
      if (info?.isSymbolicLink()) return { at, target: await readlink(join(root, at)) };
    }
    return null;
  }

  async function read(): Promise<Map<string, WatchedFile>> {
    const files = new Map<string, WatchedFile>();
    for (const f of await watchedFiles(root)) {
      const link = await linkOn(f);
      files.set(f, link ?? (await readFile(join(root, f)).catch(() => null)));
    }
    return files;
  }

  return {
    kind: 'watch',
    description: root,
    async latest() {
      const files = await read();
      const hash = createHash('sha256');
      for (const [f, content] of files) hash.update(`${f}\0${content === null ? '-' : Buffer.isBuffer(content) ? createHash('sha256').update(content).digest('hex') : `link:${content.at}:${content.target}`}\0`);
      const id = `watch-${hash.digest('hex').slice(0, 16)}`;
      snapshots.set(id, files);
      return { id, subject: null };
    },
    async materialize(id) {
      return materializeOnce(revisionsDir, id, async (dir) => {
        const files = snapshots.get(id) ?? (await read());
        const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
        await mkdir(join(tmp, SERVICES_DIR), { recursive: true });
        for (const [f, content] of files) {
          if (content !== null && !Buffer.isBuffer(content)) {
            // The same link, unread: the loader refuses it.
            await rm(join(tmp, content.at), { recursive: true, force: true });
            await symlink(content.target, join(tmp, content.at)).catch(() => undefined);
          } else if (content) await writeFile(join(tmp, f), content);
          else if (f === CUSTOMERS_FILE) await copyFile(join(root, f), join(tmp, f)).catch(() => undefined);
        }
        await rename(tmp, dir);
      });
    },
    prune: (keep) => pruneRevisions(revisionsDir, keep),
    async watch(onChange) {
      let timer: NodeJS.Timeout | null = null;
      const watcher = chokidarWatch(root, {
        ignoreInitial: true,
        depth: 2,
        ignored: (path) => path.includes(`${'/'}.git`),
        awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 },
      });
      watcher.on('all', () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(onChange, options.debounceMs ?? 200);
      });
      await new Promise<void>((r) => watcher.once('ready', () => r()));
      return async () => {
        if (timer) clearTimeout(timer);
        await watcher.close();
      };
    },
  };
}
