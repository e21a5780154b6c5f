/**
 * The shell that observes and (re)starts cloudflared on a host, for both
 * service managers: a LaunchDaemon in launchd's system domain on macOS (a
 * gui/ LaunchAgent fails over SSH without a GUI login: the runbook's trap),
 * or a container on a host with Docker and no launchd (the lab's hosts).
 *
 * Rules:
 * - Scripts are pure functions of their inputs; every value in them is
 *   shell-quoted. No secret is ever in a script: the credentials file is
 *   written separately, over stdin.
 * - Tools are called by absolute path (the non-login PATH trap).
 */
import { dockerSocketLookup } from '../../providers/host/probe.js';
import { shellQuote } from '../../providers/host/ssh.js';
import { findTool, healthOf } from '../stack/shell.js';
import { CLOUDFLARED_DIR, type ServiceManager } from './diff.js';

export const LAUNCHD_LABEL = 'ai.axelabs.cloudflared';
export const LAUNCHD_PLIST = `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`;
export const LOADED_FILE = '.loaded';

export function containerName(customer: string): string {
  return `axe-cloudflared-${customer}`;
}

export const SERVICE_HASH_LABEL = 'ai.axelabs.axe.service-hash';

/** The engine API's container list (all states) filtered to exactly this name. */
export function engineListUrl(name: string): string {
  return `http://localhost/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ name: [`^/${name}$`] }))}`;
}

/** The container's state, health and service hash, as observed (the engine API's list, or `docker inspect`). */
interface ContainerSeen {
  status: string;
  health: ReturnType<typeof healthOf>;
  hash: string;
}

/** One container of the engine API's list, or null when not listed. */
export function containerFromList(json: string, name: string): ContainerSeen | null {
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    return null;
  }
  if (!Array.isArray(list)) return null;
  const entry = list.find((c): c is { Names?: string[]; State?: string; Status?: string; Labels?: Record<string, string> } => typeof c === 'object' && c !== null && Array.isArray((c as { Names?: unknown }).Names) && (c as { Names: string[] }).Names.includes(`/${name}`));
  if (!entry) return null;
  return { status: entry.State ?? '', health: healthOf(entry.Status ?? ''), hash: entry.Labels?.[SERVICE_HASH_LABEL] ?? '' };
}

/** The `docker inspect` fallback's `status|health|hash` line. */
function containerFromInspect(line: string): ContainerSeen {
  const [status = '', health = '', hash = ''] = line.split('|');
  return { status, health: health === 'healthy' || health === 'unhealthy' || health === 'starting' ? health : null, hash };
}

/** The files axe pushes into the cloudflared directory (CLOUDFLARED_DIR). */
const PUSHED_FILES = ['config.yml', 'credentials.json'] as const;

/**
 * The sha256 and the mode of the files present in "$d", as the tools print
 * them (`<hex>  <file>`, `<octal> <file>`; parsed by fileFacts): one hashing
 * process and one stat for all of them, no shell loop around them
 * (sha256sum before perl's shasum; GNU stat before BSD stat, whose -f means
 * "file system" to GNU stat).
 */
const FILE_FACTS = [
  'if cd "$d" 2>/dev/null; then',
  `  set --; for f in ${PUSHED_FILES.join(' ')}; do if [ -f "$f" ]; then set -- "$@" "$f"; fi; done`,
  '  if [ $# -gt 0 ]; then',
  '    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; elif [ -x /usr/bin/shasum ]; then /usr/bin/shasum -a 256 "$@"; else openssl dgst -sha256 -r "$@"; fi',
  '    stat -c "%a %n" "$@" 2>/dev/null || stat -f "%Lp %N" "$@" 2>/dev/null',
  '  fi',
  '  cd / || true',
  'fi',
].join('\n');

/** The hash and mode lines of FILE_FACTS, by file name. */
function fileFacts(output: string): Map<string, { sha256?: string; mode?: string }> {
  const out = new Map<string, { sha256?: string; mode?: string }>();
  for (const line of output.split('\n')) {
    const sum = /^([0-9a-f]{64}) [ *]?(\S+)$/.exec(line.trim());
    const mode = /^([0-7]{3,4}) (\S+)$/.exec(line.trim());
    const [name, fact] = sum ? [sum[2]!, { sha256: sum[1]! }] : mode ? [mode[2]!, { mode: mode[1]! }] : [null, null];
    if (name && (PUSHED_FILES as readonly string[]).includes(name)) out.set(name, { ...out.get(name), ...fact });
  }
  return out;
}

/** Read-only: file hashes and modes, the manager, the service state and its hash. */
export function observeScript(customer: string, manager: 'auto' | ServiceManager, metricsPort: number, toolPaths: readonly string[]): string {
  const lines = [
    `d="$HOME/${CLOUDFLARED_DIR}"`,
    FILE_FACTS,
    `m=${shellQuote(manager)}`,
    'if [ "$m" = auto ]; then if [ -x /bin/launchctl ]; then m=launchd; else m=container; fi; fi',
    'if [ "$m" = launchd ]; then',
    '  printf "manager=launchd\\n"',
    `  if out=$(/bin/launchctl print system/${LAUNCHD_LABEL} 2>/dev/null); then`,
    '    case "$out" in *"state = running"*) printf "state=running\\n";; *) printf "state=stopped\\n";; esac',
    `    if /usr/bin/curl -fsS -m 3 -o /dev/null http://127.0.0.1:${metricsPort}/ready; then printf "ready=yes\\n"; else printf "ready=no\\n"; fi`,
    `    [ -f "$d/${LOADED_FILE}" ] && printf "hash=%s\\n" "$(cat "$d/${LOADED_FILE}")"`,
    '  else printf "state=missing\\n"; fi',
    `  if /bin/launchctl print "gui/$(id -u)/${LAUNCHD_LABEL}" >/dev/null 2>&1; then printf "gui_domain=yes\\n"; fi`,
    'else',
    `  ${findTool('D', 'docker', toolPaths)}`,
    '  if [ -z "$D" ]; then printf "manager=none\\n"; exit 0; fi',
    '  printf "manager=container\\n"',
    // The engine's own API on its socket, by curl: a fraction of the docker CLI's start (a Go binary) on every scan.
    `  ${dockerSocketLookup('S')}`,
    `  if [ -n "$S" ] && [ -x /usr/bin/curl ] && ps=$(/usr/bin/curl -sf -m 10 --unix-socket "$S" ${shellQuote(engineListUrl(containerName(customer)))} 2>/dev/null); then`,
    '    printf "engine_ps=%s\\n" "$ps"',
    `  elif info=$("$D" inspect --format '{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{index .Config.Labels "${SERVICE_HASH_LABEL}"}}' ${shellQuote(containerName(customer))} 2>/dev/null); then`,
    '    printf "container=%s\\n" "$info"',
    '  else printf "state=missing\\n"; fi',
    'fi',
  ];
  return lines.join('\n');
}

export interface ServiceObservation {
  manager: ServiceManager | 'none';
  config: { sha256: string; mode: string } | null;
  credentials: { sha256: string; mode: string } | null;
  state: 'running' | 'stopped' | 'missing';
  ready: boolean | null;
  hash: string | null;
  guiDomain: boolean;
}

/** Parses the observe script's output (pure). */
export function parseObservation(output: string, customer: string): ServiceObservation {
  const values = new Map<string, string>();
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const files = fileFacts(output);
  const file = (name: string) => {
    const fact = files.get(name);
    return fact?.sha256 && fact.mode ? { sha256: fact.sha256, mode: fact.mode } : null;
  };
  const manager = values.get('manager');
  let state: ServiceObservation['state'] = 'missing';
  let ready: boolean | null = null;
  let hash: string | null = values.get('hash') ?? null;
  const listed = values.get('engine_ps');
  const inspected = values.get('container');
  const container = listed !== undefined ? containerFromList(listed, containerName(customer)) : inspected !== undefined ? containerFromInspect(inspected) : null;
  if (container) {
    state = container.status === 'running' ? 'running' : 'stopped';
    ready = container.health ? container.health === 'healthy' : null;
    hash = container.hash || null;
  } else if (values.get('state') === 'running' || values.get('state') === 'stopped') {
    state = values.get('state') as 'running' | 'stopped';
    ready = values.has('ready') ? values.get('ready') === 'yes' : null;
  }
  return {
    manager: manager === 'launchd' || manager === 'container' ? manager : 'none',
    config: file('config.yml'),
    credentials: file('credentials.json'),
    state,
    ready,
    hash,
    guiDomain: values.get('gui_domain') === 'yes',
  };
}

export interface StartSpec {
  customer: string;
  manager: ServiceManager;
  serviceHash: string;
  tunnelId: string;
  image: string;
  publish: readonly string[];
  metricsPort: number;
  toolPaths: readonly string[];
}

/** What decides how the service runs (part of its hash): a change restarts it. */
export function serviceSpec(manager: string, image: string, publish: readonly string[], metricsPort: number): string {
  return JSON.stringify({ manager, image, publish, metricsPort });
}

/** (Re)starts cloudflared with the files in ~/.axe/cloudflared; waits up to `waitSeconds` for readiness. */
export function startScript(spec: StartSpec, waitSeconds = 30): string {
  if (spec.manager === 'launchd') return launchdScript(spec, waitSeconds);
  const name = shellQuote(containerName(spec.customer));
  const network = shellQuote(`axe-${spec.customer}`);
  const labels = [
    `ai.axelabs.axe.customer=${spec.customer}`,
    `ai.axelabs.axe.service=cloudflared`,
    `ai.axelabs.axe.tunnel=${spec.tunnelId}`,
    `${SERVICE_HASH_LABEL}=${spec.serviceHash}`,
  ];
  return [
    'set -e',
    findTool('D', 'docker', spec.toolPaths),
    'if [ -z "$D" ]; then echo "docker not found by absolute path" >&2; exit 3; fi',
    `"$D" network inspect ${network} >/dev/null 2>&1 || "$D" network create --label ai.axelabs.axe.customer=${shellQuote(spec.customer)} ${network} >/dev/null`,
    `"$D" rm -f ${name} >/dev/null 2>&1 || true`,
    [
      `"$D" run -d --name ${name} --restart unless-stopped`,
      ...labels.map((l) => `--label ${shellQuote(l)}`),
      `--network ${network}`,
      ...spec.publish.map((p) => `-p ${shellQuote(p)}`),
      `-v "$HOME/${CLOUDFLARED_DIR}:/etc/cloudflared:ro"`,
      shellQuote(spec.image),
      'tunnel --no-autoupdate --config /etc/cloudflared/config.yml --credentials-file /etc/cloudflared/credentials.json --metrics 0.0.0.0:2000 run >/dev/null',
    ].join(' '),
    `i=0; while [ $i -lt ${waitSeconds * 2} ]; do s=$("$D" inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' ${name}); case "$s" in "running healthy"|"running ") exit 0;; exited*|dead*) echo "cloudflared exited: $("$D" logs --tail 3 ${name} 2>&1 | tr '\\n' ' ')" >&2; exit 4;; esac; sleep 0.5; i=$((i+1)); done`,
    `echo "cloudflared not ready after ${waitSeconds} s" >&2; exit 5`,
  ].join('\n');
}

/** The LaunchDaemon plist (system domain, runs as the axe user). */
export function launchdPlist(cloudflared: string, home: string, user: string, metricsPort: number): string {
  const args = [cloudflared, 'tunnel', '--no-autoupdate', '--config', `${home}/${CLOUDFLARED_DIR}/config.yml`, '--credentials-file', `${home}/${CLOUDFLARED_DIR}/credentials.json`, '--metrics', `127.0.0.1:${metricsPort}`, 'run'];
  const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0"><dict>',
    `  <key>Label</key><string>${LAUNCHD_LABEL}</string>`,
    '  <key>ProgramArguments</key><array>',
    ...args.map((a) => `    <string>${esc(a)}</string>`),
    '  </array>',
    `  <key>UserName</key><string>${esc(user)}</string>`,
    '  <key>RunAtLoad</key><true/>',
    '  <key>KeepAlive</key><true/>',
    `  <key>StandardErrorPath</key><string>${esc(home)}/${CLOUDFLARED_DIR}/cloudflared.log</string>`,
    '</dict></plist>',
    '',
  ].join('\n');
}

function launchdScript(spec: StartSpec, waitSeconds: number): string {
  return [
    'set -e',
    findTool('C', 'cloudflared', spec.toolPaths),
    'if [ -z "$C" ]; then echo "cloudflared not found by absolute path (brew install cloudflared)" >&2; exit 3; fi',
    `d="$HOME/${CLOUDFLARED_DIR}"`,
    // The plist text is built on the host so it names the host's own paths; it holds no secret.
    `plist=$(printf '%s' ${shellQuote(launchdPlist('@CLOUDFLARED@', '@HOME@', '@USER@', spec.metricsPort))} | sed -e "s#@CLOUDFLARED@#$C#" -e "s#@HOME@#$HOME#g" -e "s#@USER@#$(id -un)#")`,
    `printf '%s\\n' "$plist" | /usr/bin/sudo -n /usr/bin/tee ${LAUNCHD_PLIST} >/dev/null || { echo "sudo without a password is needed for launchctl in the system domain" >&2; exit 6; }`,
    `/usr/bin/sudo -n /bin/launchctl bootout system/${LAUNCHD_LABEL} 2>/dev/null || true`,
    `/usr/bin/sudo -n /bin/launchctl bootstrap system ${LAUNCHD_PLIST}`,
    `printf '%s' ${shellQuote(spec.serviceHash)} > "$d/${LOADED_FILE}"`,
    `i=0; while [ $i -lt ${waitSeconds * 2} ]; do if /usr/bin/curl -fsS -m 2 -o /dev/null http://127.0.0.1:${spec.metricsPort}/ready; then exit 0; fi; sleep 0.5; i=$((i+1)); done`,
    `echo "cloudflared not ready after ${waitSeconds} s" >&2; exit 5`,
  ].join('\n');
}
