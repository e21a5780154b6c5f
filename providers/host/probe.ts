/**
 * The host probe: one POSIX sh script, sent over the host's one SSH
 * connection in one round trip, that reports everything the host check needs
 * as `key=value` lines: the non-login PATH, where docker / compose / git / bw
 * are by absolute path (and whether a bare name finds them), their versions,
 * `pmset -g` sleep, the OS. Parsing is pure.
 */
import { hostPath, shellQuote } from './ssh.js';

export const TOOLS = ['docker', 'git', 'bw'] as const;
export type Tool = (typeof TOOLS)[number];

/** Where macOS keeps these tools, in the order they are tried. `~` is the login user's home. */
export const DEFAULT_TOOL_DIRS = ['/opt/homebrew/bin', '/usr/local/bin', '~/.docker/bin', '/Applications/Docker.app/Contents/Resources/bin', '/usr/bin', '/bin', '~/homebrew/bin'];

/** What an earlier probe of the same host learnt, so this one can skip slow commands. */
export interface ProbeMemo {
  /** `size-mtime` of the bw binary when its version was read. */
  bwStamp: string;
  bwVersion: string;
  /** `size-mtime` of the Compose v2 plugin binary when its version was read. */
  composeStamp?: string;
  composeVersion?: string;
  /** `size-mtime` of the docker CLI and of the engine's socket (recreated when the engine restarts) when the server version was read. */
  dockerStamp?: string;
  dockerVersion?: string;
  /** `size-mtime` of the git binary when its version was read. */
  gitStamp?: string;
  gitVersion?: string;
  /** The unix socket of the host's Docker engine (Docker Desktop, OrbStack and colima each keep it elsewhere). */
  dockerSocket?: string;
  /** The stamped paths (`$D|$S|$P|$G|$B`), their stamps as the last stat read them, and when (epoch ms). */
  statPaths?: string;
  stamps?: string;
  statAt?: number;
}

/**
 * How long the tool binaries' stamps are trusted without a stat: a tool's
 * path is checked every scan (shell builtins), its version (by its stamp)
 * every 10 minutes and on each new probe memo.
 */
export const STAMPS_FRESH_MS = 10 * 60_000;

/** Where the docker CLI looks for plugins, in its own order. */
const COMPOSE_PLUGIN_DIRS = ['~/.docker/cli-plugins', '/usr/local/lib/docker/cli-plugins', '/usr/local/libexec/docker/cli-plugins', '/usr/lib/docker/cli-plugins', '/usr/libexec/docker/cli-plugins'];

/** Sets `$variable` to the path of the Compose v2 plugin binary, or '' (shell builtins only). */
function composePluginLookup(variable: string): string {
  return `${variable}=""; for p in ${COMPOSE_PLUGIN_DIRS.map(hostPath).join(' ')}; do if [ -x "$p/docker-compose" ]; then ${variable}="$p/docker-compose"; break; fi; done`;
}

/**
 * `size-mtime` of each of `paths` (shell words; all exist), one per line,
 * following symlinks: one process where GNU stat answers (BSD stat refuses -c,
 * then answers -f; GNU stat would read -f as "file system").
 */
function statStamps(paths: string): string {
  return `stat -L -c "%s-%Y" ${paths} 2>/dev/null || stat -L -f "%z-%m" ${paths} 2>/dev/null`;
}

/** Sets `$variable` to the `size-mtime` of the Compose v2 plugin binary, or '' (one stat). */
export function composeStampLookup(variable: string): string {
  return `${composePluginLookup('cp')}; ${variable}=""; if [ -n "$cp" ]; then ${variable}=$(${statStamps('"$cp"')}); fi`;
}

/** The stamps of the paths in `$@` (see statStamps), in order, word-split into the positional parameters. */
const STAT_ALL = `sts=""; if [ $# -gt 0 ]; then sts=$(${statStamps('"$@"')}); fi; set -- $sts`;

/**
 * Sets `$variable` to the unix socket where the docker CLI reaches the engine
 * by default (DOCKER_HOST, then Docker's and Docker Desktop's sockets), or ''
 * (a TCP/SSH DOCKER_HOST). Shell builtins only.
 */
export function dockerSocketLookup(variable: string): string {
  return `${variable}=""; case "\${DOCKER_HOST:-}" in unix://*) ${variable}="\${DOCKER_HOST#unix://}";; "") for s in /var/run/docker.sock "$HOME/.docker/run/docker.sock"; do if [ -S "$s" ]; then ${variable}="$s"; break; fi; done;; esac`;
}
const DOCKER_SOCKET = dockerSocketLookup('S');

/** What this probe's facts let the next probe skip. */
export function memoFrom(facts: HostFacts, previous?: ProbeMemo | null, now = Date.now()): ProbeMemo | null {
  if (!facts.bwStamp && !facts.composeStamp && !facts.dockerStamp && !facts.gitStamp && !facts.dockerSocket) return null;
  const statAt = facts.statRead ? now : previous?.statAt;
  return {
    ...(facts.statPaths !== null && facts.stamps !== null && statAt !== undefined ? { statPaths: facts.statPaths, stamps: facts.stamps, statAt } : {}),
    ...(facts.dockerSocket ? { dockerSocket: facts.dockerSocket } : {}),
    bwStamp: facts.bwStamp && facts.tools.bw.version ? facts.bwStamp : '',
    bwVersion: facts.tools.bw.version ?? '',
    ...(facts.composeStamp && facts.composeVersion ? { composeStamp: facts.composeStamp, composeVersion: facts.composeVersion } : {}),
    ...(facts.dockerStamp && facts.dockerVersionRaw ? { dockerStamp: facts.dockerStamp, dockerVersion: facts.dockerVersionRaw } : {}),
    ...(facts.gitStamp && facts.gitVersionRaw ? { gitStamp: facts.gitStamp, gitVersion: facts.gitVersionRaw } : {}),
  };
}

/**
 * Run once in a connection's kept shell when it opens (ssh.ts `session`): the
 * OS, which only a reboot changes, and a reboot ends the connection. The probe
 * reads these variables when they are set, else asks uname and sw_vers itself.
 */
export const PROBE_SESSION_INIT = 'axe_os_uname=$(uname -s 2>/dev/null); axe_os_version=""; if command -v sw_vers >/dev/null 2>&1; then axe_os_version=$(sw_vers -productVersion 2>/dev/null); fi; axe_os_read=1';

/** The probe script. `extraDirs` come first (operator config `ssh.tool_paths`). */
export function probeScript(extraDirs: readonly string[] = [], known?: ProbeMemo | null, now = Date.now()): string {
  const dirs = [...extraDirs, ...DEFAULT_TOOL_DIRS].map(hostPath);
  // Few processes: a Mac's sshd runs this every scan. The user from sshd's LOGNAME, bare names by the
  // `command` builtin, every stamp from one stat, the pmset line read by the shell (no awk).
  const memo = (stamp: string, known: string | undefined, version: string | undefined, ask: string, key: string) =>
    `if [ -n "${stamp}" ] && [ "${stamp}" = ${shellQuote(known ?? '')} ]; then printf "${key}=%s\\n" ${shellQuote(version ?? '')}; else printf "${key}=%s\\n" "$(${ask} 2>/dev/null | head -n1)"; fi`;
  const lines = [
    'printf "path=%s\\n" "$PATH"',
    'printf "home=%s\\n" "$HOME"',
    'u="${LOGNAME:-${USER:-}}"; if [ -z "$u" ]; then u=$(id -un 2>/dev/null); fi; printf "user=%s\\n" "$u"',
    'if [ -n "${axe_os_read:-}" ]; then printf "uname=%s\\nos_version=%s\\n" "$axe_os_uname" "$axe_os_version"; else',
    '  printf "uname=%s\\n" "$(uname -s 2>/dev/null)"',
    '  if command -v sw_vers >/dev/null 2>&1; then printf "os_version=%s\\n" "$(sw_vers -productVersion 2>/dev/null)"; fi',
    'fi',
    'D=""; G=""; B=""',
    `for t in ${TOOLS.join(' ')}; do`,
    '  found=""',
    `  for d in ${dirs.join(' ')}; do if [ -x "$d/$t" ]; then found="$d/$t"; break; fi; done`,
    '  printf "tool_%s=%s\\n" "$t" "$found"',
    '  printf "bare_%s=" "$t"; command -v "$t" 2>/dev/null || echo',
    '  case "$t" in docker) D="$found";; git) G="$found";; bw) B="$found";; esac',
    'done',
    // The engine's socket (made anew by each engine start) and the Compose plugin, when there is a docker CLI.
    'S=""; P=""',
    `if [ -n "$D" ]; then ${DOCKER_SOCKET}; ${composePluginLookup('P')}; fi`,
    'printf "docker_socket=%s\\n" "$S"',
    'set --; for f in "$D" "$S" "$P" "$G" "$B"; do if [ -n "$f" ]; then set -- "$@" "$f"; fi; done',
    'ps="$D|$S|$P|$G|$B"',
    // The stat only when a path changed or the stamps are over STAMPS_FRESH_MS old.
    known?.statPaths !== undefined && known.stamps !== undefined && known.statAt !== undefined && now - known.statAt < STAMPS_FRESH_MS
      ? `if [ "$ps" = ${shellQuote(known.statPaths)} ]; then set -- ${known.stamps.split(' ').filter(Boolean).map(shellQuote).join(' ')}; printf "stat=memo\\n"; else ${STAT_ALL}; printf "stat=read\\n"; fi`
      : `${STAT_ALL}; printf "stat=read\\n"`,
    'printf "stat_paths=%s\\nstamps=%s\\n" "$ps" "$*"',
    'sD=""; sS=""; sP=""; sG=""; sB=""',
    'for k in D S P G B; do eval "f=\\$$k"; if [ -n "$f" ] && [ $# -gt 0 ]; then eval "s$k=\\$1"; shift; fi; done',
    'if [ -n "$D" ]; then',
    // `docker version` starts the CLI and makes the engine run `runc --version` and `docker-init --version`:
    // skipped while the CLI binary and the engine's socket are the ones already known.
    '  dst=""; if [ -n "$sD" ] && [ -n "$sS" ]; then dst="$sD $sS"; fi',
    '  printf "docker_stamp=%s\\n" "$dst"',
    `  ${memo('$dst', known?.dockerStamp, known?.dockerVersion, '"$D" version --format "{{.Server.Version}}"', 'docker_version')}`,
    // `docker compose version` starts two Go binaries: skipped while the plugin binary is the one already known.
    '  printf "compose_stamp=%s\\n" "$sP"',
    `  ${memo('$sP', known?.composeStamp, known?.composeVersion, '"$D" compose version --short', 'compose_version')}`,
    'fi',
    'if [ -n "$G" ]; then',
    '  printf "git_stamp=%s\\n" "$sG"',
    `  ${memo('$sG', known?.gitStamp, known?.gitVersion, '"$G" --version', 'git_version')}`,
    'fi',
    // bw --version starts a Node.js process (~0.5 s of CPU): skipped when the binary is the one already known.
    'if [ -n "$B" ]; then',
    '  printf "bw_stamp=%s\\n" "$sB"',
    `  ${memo('$sB', known?.bwStamp, known?.bwVersion, 'BITWARDENCLI_APPDATA_DIR="${TMPDIR:-/tmp}/axe-probe-bw" "$B" --version', 'bw_version')}`,
    'fi',
    'pm=""; for p in /usr/bin/pmset "$HOME/.axe-lab/bin/pmset"; do if [ -x "$p" ]; then pm="$p"; break; fi; done',
    'if [ -n "$pm" ]; then "$pm" -g 2>/dev/null | while read -r k v rest; do if [ "$k" = sleep ]; then printf "sleep=%s\\n" "$v"; break; fi; done; fi',
    'printf "probe=done\\n"',
  ];
  return `${lines.join('\n')}\n`;
}

export interface ToolFact {
  /** Absolute path found, or null when the tool is not on the host at all. */
  path: string | null;
  /** What a bare name resolves to in the non-login shell, or null (the non-login PATH trap). */
  bare: string | null;
  version: string | null;
}

export interface HostFacts {
  complete: boolean;
  path: string;
  home: string;
  user: string;
  os: string;
  osVersion: string | null;
  tools: Record<Tool, ToolFact>;
  composeVersion: string | null;
  /** `pmset -g` sleep minutes; 0 = sleep disabled; null = no pmset (not macOS). */
  sleepMinutes: number | null;
  /** `size-mtime` of the bw binary, for the next probe's memo. */
  bwStamp: string | null;
  /** `size-mtime` of the Compose plugin binary, for the next probe's memo. */
  composeStamp: string | null;
  /** `size-mtime` of the docker CLI and the engine's socket, and the server version as answered, for the next probe's memo. */
  dockerStamp: string | null;
  dockerVersionRaw: string | null;
  /** `size-mtime` of the git binary and its version line as answered, for the next probe's memo. */
  gitStamp: string | null;
  gitVersionRaw: string | null;
  /** The unix socket the docker CLI reaches the engine by, or null (no docker CLI, or a TCP/SSH DOCKER_HOST). */
  dockerSocket: string | null;
  /** The stamped paths and their stamps, and whether this probe ran the stat (else they came from the memo). */
  statPaths: string | null;
  stamps: string | null;
  statRead: boolean;
}

export function parseProbe(output: string): HostFacts {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const get = (key: string): string | null => {
    const v = values.get(key);
    return v === undefined || v === '' ? null : v;
  };
  const version = (tool: Tool): string | null => {
    const raw = get(`${tool}_version`);
    if (!raw) return null;
    return raw.match(/\d+\.\d+(\.\d+)?/)?.[0] ?? raw;
  };
  const tools = Object.fromEntries(TOOLS.map((t) => [t, { path: get(`tool_${t}`), bare: get(`bare_${t}`), version: version(t) }])) as Record<Tool, ToolFact>;
  const sleep = get('sleep');
  return {
    complete: values.get('probe') === 'done',
    path: values.get('path') ?? '',
    home: values.get('home') ?? '',
    user: values.get('user') ?? '',
    os: get('os_version') ? 'macOS' : (values.get('uname') ?? 'unknown'),
    osVersion: get('os_version'),
    tools,
    composeVersion: get('compose_version')?.replace(/^v/, '') ?? null,
    sleepMinutes: sleep === null ? null : Number.isFinite(Number(sleep)) ? Number(sleep) : null,
    bwStamp: get('bw_stamp'),
    composeStamp: get('compose_stamp'),
    dockerStamp: get('docker_stamp'),
    dockerVersionRaw: get('docker_version'),
    gitStamp: get('git_stamp'),
    gitVersionRaw: get('git_version'),
    dockerSocket: get('docker_socket'),
    statPaths: values.get('stat_paths') ?? null,
    stamps: values.get('stamps') ?? null,
    statRead: values.get('stat') === 'read',
  };
}

/** Compares dotted versions: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
