/**
 * The host probe: one POSIX sh script, sent over the host's one SSH
 * connection in one round trip, that reports everything the host check needs
 * as `key=value` lines: the non-login PATH, where docker / compose / git / bw
 * are by absolute path (and whether a bare name finds them), their versions,
 * `pmset -g` sleep, the OS. Parsing is pure.
 */
export const TOOLS = ['docker', 'git', 'bw'] as const;
export type Tool = (typeof TOOLS)[number];

/** Where macOS keeps these tools, in the order they are tried. `~` is the login user's home. */
export const DEFAULT_TOOL_DIRS = ['/opt/homebrew/bin', '/usr/local/bin', '~/.docker/bin', '/Applications/Docker.app/Contents/Resources/bin', '/usr/bin', '/bin', '~/homebrew/bin'];

function shellWord(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

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
}

/** Where the docker CLI looks for plugins, in its own order. */
const COMPOSE_PLUGIN_DIRS = ['~/.docker/cli-plugins', '/usr/local/lib/docker/cli-plugins', '/usr/local/libexec/docker/cli-plugins', '/usr/lib/docker/cli-plugins', '/usr/libexec/docker/cli-plugins'];

/**
 * `size-mtime` of each argument (space-separated) with GNU stat or BSD stat,
 * following symlinks: one process where GNU stat answers (BSD stat refuses -c,
 * then answers -f; GNU stat would read -f as "file system").
 */
const STAMP = 'stamp() { st=$(stat -L -c "%s-%Y" "$@" 2>/dev/null || stat -L -f "%z-%m" "$@" 2>/dev/null); echo $st; }';

/** Where the docker CLI reaches the engine by default: a unix socket, or none (a TCP/SSH DOCKER_HOST: not memoised). */
const DOCKER_SOCKET = 'sock=""; case "${DOCKER_HOST:-}" in unix://*) sock="${DOCKER_HOST#unix://}";; "") for s in /var/run/docker.sock "$HOME/.docker/run/docker.sock"; do if [ -S "$s" ]; then sock="$s"; break; fi; done;; esac';

/** What this probe's facts let the next probe skip. */
export function memoFrom(facts: HostFacts): ProbeMemo | null {
  if (!facts.bwStamp && !facts.composeStamp && !facts.dockerStamp && !facts.gitStamp) return null;
  return {
    bwStamp: facts.bwStamp && facts.tools.bw.version ? facts.bwStamp : '',
    bwVersion: facts.tools.bw.version ?? '',
    ...(facts.composeStamp && facts.composeVersion ? { composeStamp: facts.composeStamp, composeVersion: facts.composeVersion } : {}),
    ...(facts.dockerStamp && facts.dockerVersionRaw ? { dockerStamp: facts.dockerStamp, dockerVersion: facts.dockerVersionRaw } : {}),
    ...(facts.gitStamp && facts.gitVersionRaw ? { gitStamp: facts.gitStamp, gitVersion: facts.gitVersionRaw } : {}),
  };
}

/** The probe script. `extraDirs` come first (operator config `ssh.tool_paths`). */
export function probeScript(extraDirs: readonly string[] = [], known?: ProbeMemo | null): string {
  const word = (d: string) => (d.startsWith('~/') ? `"$HOME"/${shellWord(d.slice(2))}` : shellWord(d));
  const dirs = [...extraDirs, ...DEFAULT_TOOL_DIRS].map(word);
  const pluginDirs = COMPOSE_PLUGIN_DIRS.map(word).join(' ');
  const lines = [
    'printf "path=%s\\n" "$PATH"',
    'printf "home=%s\\n" "$HOME"',
    'printf "user=%s\\n" "$(id -un 2>/dev/null)"',
    'printf "uname=%s\\n" "$(uname -s 2>/dev/null)"',
    'if command -v sw_vers >/dev/null 2>&1; then printf "os_version=%s\\n" "$(sw_vers -productVersion 2>/dev/null)"; fi',
    `for t in ${TOOLS.join(' ')}; do`,
    '  found=""',
    `  for d in ${dirs.join(' ')}; do if [ -x "$d/$t" ]; then found="$d/$t"; break; fi; done`,
    '  printf "tool_%s=%s\\n" "$t" "$found"',
    '  printf "bare_%s=%s\\n" "$t" "$(command -v "$t" 2>/dev/null)"',
    'done',
    STAMP,
    `for d in ${dirs.join(' ')}; do if [ -x "$d/docker" ]; then`,
    // `docker version` starts the CLI and makes the engine run `runc --version` and `docker-init --version`:
    // skipped while the CLI binary and the engine's socket (made anew by each engine start) are the ones already known.
    `  ${DOCKER_SOCKET}`,
    '  dst=""; if [ -n "$sock" ]; then dst=$(stamp "$d/docker" "$sock"); fi',
    '  printf "docker_stamp=%s\\n" "$dst"',
    `  if [ -n "$dst" ] && [ "$dst" = ${shellWord(known?.dockerStamp ?? '')} ]; then printf "docker_version=%s\\n" ${shellWord(known?.dockerVersion ?? '')};`,
    '  else printf "docker_version=%s\\n" "$("$d/docker" version --format "{{.Server.Version}}" 2>/dev/null | head -n1)"; fi',
    // `docker compose version` starts two Go binaries: skipped while the plugin binary is the one already known.
    `  cst=""; for p in ${pluginDirs}; do if [ -x "$p/docker-compose" ]; then cst=$(stamp "$p/docker-compose"); break; fi; done`,
    '  printf "compose_stamp=%s\\n" "$cst"',
    `  if [ -n "$cst" ] && [ "$cst" = ${shellWord(known?.composeStamp ?? '')} ]; then printf "compose_version=%s\\n" ${shellWord(known?.composeVersion ?? '')};`,
    '  else printf "compose_version=%s\\n" "$("$d/docker" compose version --short 2>/dev/null | head -n1)"; fi',
    '  break; fi; done',
    `for d in ${dirs.join(' ')}; do if [ -x "$d/git" ]; then`,
    '  gst=$(stamp "$d/git")',
    '  printf "git_stamp=%s\\n" "$gst"',
    `  if [ -n "$gst" ] && [ "$gst" = ${shellWord(known?.gitStamp ?? '')} ]; then printf "git_version=%s\\n" ${shellWord(known?.gitVersion ?? '')};`,
    '  else printf "git_version=%s\\n" "$("$d/git" --version 2>/dev/null | head -n1)"; fi',
    '  break; fi; done',
    // bw --version starts a Node.js process (~0.5 s of CPU): skipped when the binary is the one already known.
    `for d in ${dirs.join(' ')}; do if [ -x "$d/bw" ]; then`,
    '  st=$(stamp "$d/bw")',
    '  printf "bw_stamp=%s\\n" "$st"',
    `  if [ -n "$st" ] && [ "$st" = ${shellWord(known?.bwStamp ?? '')} ]; then printf "bw_version=%s\\n" ${shellWord(known?.bwVersion ?? '')};`,
    '  else printf "bw_version=%s\\n" "$(BITWARDENCLI_APPDATA_DIR="${TMPDIR:-/tmp}/axe-probe-bw" "$d/bw" --version 2>/dev/null | head -n1)"; fi',
    '  break; fi; done',
    'pm=""; for p in /usr/bin/pmset "$HOME/.axe-lab/bin/pmset"; do if [ -x "$p" ]; then pm="$p"; break; fi; done',
    'if [ -n "$pm" ]; then printf "sleep=%s\\n" "$("$pm" -g 2>/dev/null | awk \'$1=="sleep"{print $2; exit}\')"; fi',
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
