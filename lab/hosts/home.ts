/**
 * A lab host's home, laid out like a Mac mini's as the product sees it over SSH:
 *
 *   ~/.ssh/authorized_keys        the operator's public key (0600, owned by the user)
 *   ~/.profile                    a login shell puts ~/homebrew/bin first on PATH
 *   ~/homebrew/bin/docker         -> the machine's docker CLI (Homebrew's place on a Mac)
 *   ~/homebrew/bin/bw             the real bw CLI of this checkout, or a stand-in that
 *                                 answers a configured version (the bw-crash trap)
 *   ~/.tmp/                       TMPDIR (a Mac has one per user; here 50 users share /tmp)
 *   ~/.config/git/config          trusts the lab's root-owned bare repos (see GIT_CONFIG)
 *   ~/.axe-lab/usr/bin/           root-owned: what a Mac's /usr/bin has (sh, awk, git, ssh,
 *                                 tar, shasum …) and a `sw_vers` stand-in; the whole
 *                                 non-login PATH, so docker and bw by bare name fail there
 *   ~/.axe-lab/bin/pmset          root-owned `pmset -g` stand-in; its sleep value is
 *   ~/.axe-lab/sleep              the lab's per-host setting (`setHostSleep`)
 *
 * Rules: every step is idempotent (rewrites only what differs); the home and
 * ~/.ssh stay owned by the user and not group/world-writable (sshd StrictModes).
 */
import { constants } from 'node:fs';
import { access, chmod, chown, lchown, mkdir, readFile, readlink, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { HostSettings } from './registry.js';
import type { UserEntry } from './system.js';

/**
 * What a Mac's /usr/bin, /bin, /usr/sbin, /sbin offer that the product (probe,
 * file push, git, compose over SSH) or an operator may call. Missing ones are skipped.
 * Not here on purpose: docker, bw, node (Homebrew's on a Mac), and GNU-only tools
 * a Mac lacks (timeout, apt, systemctl).
 */
export const SYSTEM_TOOLS = [
  'sh', 'bash', 'zsh', 'env', 'cat', 'ls', 'mkdir', 'rmdir', 'mv', 'rm', 'cp', 'chmod', 'chown', 'chgrp', 'ln', 'touch',
  'id', 'whoami', 'uname', 'hostname', 'awk', 'sed', 'grep', 'egrep', 'fgrep', 'head', 'tail', 'printf', 'echo', 'test', '[',
  'true', 'false', 'expr', 'sort', 'uniq', 'cut', 'tr', 'wc', 'tee', 'stat', 'find', 'xargs', 'dirname', 'basename',
  'readlink', 'realpath', 'mktemp', 'date', 'sleep', 'kill', 'ps', 'pgrep', 'pkill', 'nohup', 'nice', 'du', 'df',
  'tar', 'gzip', 'gunzip', 'zcat', 'bzip2', 'unzip', 'zip', 'curl', 'openssl', 'base64', 'shasum', 'sha256sum', 'md5sum',
  'diff', 'cmp', 'od', 'xxd', 'less', 'more', 'vi', 'printenv', 'tty', 'stty', 'which', 'seq', 'yes', 'getconf', 'logger',
  'ssh', 'scp', 'sftp', 'ssh-keygen', 'ssh-add', 'ssh-keyscan', 'git', 'perl', 'sudo',
];

const SYSTEM_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];
const DOCKER_CANDIDATES = ['/usr/bin/docker', '/usr/local/bin/docker'];

export interface HomeLayout {
  /** The non-login PATH (sshd SetEnv): the curated "system" bin only. */
  systemBin: string;
  homebrewBin: string;
  pmset: string;
  sleepFile: string;
  tmp: string;
}

export function homeLayout(home: string): HomeLayout {
  return {
    systemBin: join(home, '.axe-lab', 'usr', 'bin'),
    homebrewBin: join(home, 'homebrew', 'bin'),
    pmset: join(home, '.axe-lab', 'bin', 'pmset'),
    sleepFile: join(home, '.axe-lab', 'sleep'),
    tmp: join(home, '.tmp'),
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path, constants.F_OK).then(() => true, () => false);
}

async function firstExisting(candidates: readonly string[]): Promise<string | null> {
  for (const candidate of candidates) if (await exists(candidate)) return candidate;
  return null;
}

interface Owner {
  uid: number;
  gid: number;
}

const ROOT: Owner = { uid: 0, gid: 0 };

async function ensureDir(path: string, mode: number, owner: Owner): Promise<void> {
  await mkdir(path, { recursive: true });
  await chown(path, owner.uid, owner.gid);
  await chmod(path, mode);
}

async function ensureFile(path: string, content: string, mode: number, owner: Owner): Promise<void> {
  const current = await readFile(path, 'utf8').catch(() => null);
  if (current !== content) {
    const temp = `${path}.axe-tmp`;
    await writeFile(temp, content, { mode });
    await rename(temp, path);
  }
  await chown(path, owner.uid, owner.gid);
  await chmod(path, mode);
}

async function ensureSymlink(target: string, path: string, owner: Owner): Promise<void> {
  const current = await readlink(path).catch(() => null);
  if (current === target) return;
  if (current !== null) await rm(path, { force: true });
  await symlink(target, path);
  if (owner.uid !== 0) await lchown(path, owner.uid, owner.gid);
}

let systemTools: Promise<Array<[string, string]>> | null = null;

/** [tool, absolute path] for every SYSTEM_TOOLS entry this machine has; looked up once per process. */
function resolveSystemTools(): Promise<Array<[string, string]>> {
  systemTools ??= Promise.all(SYSTEM_TOOLS.map(async (tool) => [tool, await firstExisting(SYSTEM_DIRS.map((d) => join(d, tool)))] as const)).then((pairs) =>
    pairs.filter((pair): pair is [string, string] => pair[1] !== null),
  );
  return systemTools;
}

/** The bw CLI of this checkout (node_modules/@bitwarden/cli), or null when it is not installed. */
export async function realBwScript(): Promise<string | null> {
  try {
    const require = createRequire(import.meta.url);
    const pkgPath = require.resolve('@bitwarden/cli/package.json');
    const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as { bin?: string | Record<string, string> };
    const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.bw;
    return bin ? join(dirname(pkgPath), bin) : null;
  } catch {
    return null;
  }
}

function bwWrapper(node: string, script: string | null, version: string | null): string {
  const lines = ['#!/bin/sh'];
  if (version !== null) {
    lines.push(`# axe lab stand-in: answers --version with ${version} (the bw-crash trap); every other command goes to the real bw.`);
    lines.push(`case "$1" in --version|-v) echo ${version}; exit 0;; esac`);
  } else {
    lines.push('# axe lab: the real bw CLI of the axe checkout, by absolute node path (as Homebrew links it).');
  }
  lines.push(script ? `exec ${node} ${script} "$@"` : 'echo "bw: not installed in this lab (npm install @bitwarden/cli)" >&2; exit 127');
  return `${lines.join('\n')}\n`;
}

function pmsetScript(sleepFile: string): string {
  return `#!/bin/sh
# axe lab stand-in for macOS pmset: only \`pmset -g\`, in macOS's shape; the sleep value is the lab's
# per-host setting (${sleepFile}). Only sh builtins, so it answers under any PATH.
s=0
if [ -r ${sleepFile} ]; then read -r s < ${sleepFile}; fi
case "$1" in
  -g)
    printf 'System-wide power settings:\\nCurrently in use:\\n'
    printf ' standby              0\\n Sleep On Power Button 1\\n autorestart          1\\n'
    printf ' hibernatefile        /var/vm/sleepimage\\n powernap             1\\n networkoversleep     0\\n'
    printf ' disksleep            %s\\n sleep                %s\\n' "$s" "$s"
    printf ' hibernatemode        0\\n ttyskeepawake        1\\n displaysleep         10\\n tcpkeepalive         1\\n womp                 1\\n'
    ;;
  *)
    echo 'pmset: this lab stand-in answers only "pmset -g" (changing settings needs root on a Mac)' >&2
    exit 1
    ;;
esac
`;
}

function swVersScript(version: string): string {
  return `#!/bin/sh
# axe lab stand-in for macOS sw_vers: the lab host runs Debian, not macOS.
case "$1" in
  -productName) echo macOS ;;
  -productVersion) echo ${version} ;;
  -buildVersion) echo 24B83 ;;
  *) printf 'ProductName:\\t\\tmacOS\\nProductVersion:\\t\\t${version}\\nBuildVersion:\\t\\t24B83\\n' ;;
esac
`;
}

/**
 * A lab artefact, not a Mac's: the lab serves the service repos as root-owned bare repos over
 * file:// (a Mac mini clones them over https), and git >= 2.39.4 refuses to read a repository
 * another user owns ("dubious ownership"). In the XDG file, so a `git config --global` the
 * product runs writes ~/.gitconfig and never loses this.
 */
const GIT_CONFIG = `# axe lab host: the lab's git repos are root-owned and cloned over file:// (a Mac mini clones over https).
[safe]
\tdirectory = *
`;

const PROFILE = `# axe lab host: a login shell finds Homebrew's tools, as \`eval "$(brew shellenv)"\` in ~/.zprofile does
# on a Mac. A non-login \`ssh host cmd\` never reads this file: that is the non-login PATH trap.
PATH="$HOME/homebrew/bin:$PATH"
export PATH
`;

/** Lays out (or repairs) the host's home. Safe to call on a home that is already laid out. */
export async function layoutHome(user: UserEntry, settings: HostSettings, operatorPublicKey: string): Promise<HomeLayout> {
  const me: Owner = { uid: user.uid, gid: user.gid };
  const layout = homeLayout(user.home);
  await ensureDir(user.home, 0o755, me);
  await ensureDir(join(user.home, '.ssh'), 0o700, me);
  await ensureFile(join(user.home, '.ssh', 'authorized_keys'), `${operatorPublicKey.trim()}\n`, 0o600, me);
  await ensureFile(join(user.home, '.profile'), PROFILE, 0o644, me);
  await ensureDir(layout.tmp, 0o700, me);
  await ensureDir(join(user.home, '.config'), 0o755, me);
  await ensureDir(join(user.home, '.config', 'git'), 0o755, me);
  await ensureFile(join(user.home, '.config', 'git', 'config'), GIT_CONFIG, 0o644, me);

  await ensureDir(join(user.home, 'homebrew'), 0o755, me);
  await ensureDir(layout.homebrewBin, 0o755, me);
  const docker = await firstExisting(DOCKER_CANDIDATES);
  if (docker) await ensureSymlink(docker, join(layout.homebrewBin, 'docker'), me);
  const node = await realpath(process.execPath);
  await ensureFile(join(layout.homebrewBin, 'bw'), bwWrapper(node, await realBwScript(), settings.bwVersion), 0o755, me);

  await ensureDir(join(user.home, '.axe-lab'), 0o755, ROOT);
  await ensureDir(dirname(layout.systemBin), 0o755, ROOT);
  await ensureDir(layout.systemBin, 0o755, ROOT);
  await Promise.all((await resolveSystemTools()).map(([tool, target]) => ensureSymlink(target, join(layout.systemBin, tool), ROOT)));
  await ensureFile(join(layout.systemBin, 'sw_vers'), swVersScript(settings.macosVersion), 0o755, ROOT);
  await ensureDir(dirname(layout.pmset), 0o755, ROOT);
  await ensureFile(layout.pmset, pmsetScript(layout.sleepFile), 0o755, ROOT);
  await writeSleep(user.home, settings.sleep);
  return layout;
}

/** Sets what the pmset stand-in answers as `sleep` (minutes; 0 = disabled). */
export async function writeSleep(home: string, minutes: number): Promise<void> {
  await ensureFile(homeLayout(home).sleepFile, `${Math.max(0, Math.trunc(minutes))}\n`, 0o644, ROOT);
}
