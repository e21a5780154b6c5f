/**
 * The stack kind's shell, run on the customer's host over its one SSH
 * connection: the read-only observation (one section of the host's batched
 * round trip) and the scripts each action runs.
 *
 * Rules:
 * - Pure functions of their inputs; every value is shell-quoted; tools are
 *   called by absolute path. No script ever holds a secret: the env file is
 *   written separately, over stdin (HostConnection.writeFile, 0600).
 * - The observation only reads. Compose's config hash is computed from the
 *   *resolved* config (`config | config -f - --hash`): Compose 2.26's own
 *   `config --hash` leaves `env_file` values out, while the label it puts on
 *   containers at `up` includes them, so the two never match otherwise.
 * - Right after a stack's successful deploy step, its observation leaves out
 *   what that step's own output told (ToldFacts); plans always observe all.
 */
import type { ComposeHashMemo } from '../../providers/host/access.js';
import { composeStampLookup } from '../../providers/host/probe.js';
import { shellQuote } from '../../providers/host/ssh.js';
import type { FailureRecord, StackDesired, StackHostFacts, StackServiceDesired } from './diff.js';
import { type ServiceEnv, serviceEnvHeader } from './render.js';
import { activeColor, type BlueGreenTarget, type Color, containerLookup } from '../../providers/host/commands/blue-green.js';
import type { ExecTarget } from '../../providers/host/commands/exec.js';
import { dockerGitPrelude as tools, projectListing } from '../../providers/host/commands/project.js';
import { hostPath } from '../../providers/host/commands/quote.js';
import { findTool, toolFound } from '../../providers/host/commands/tools.js';
import { healthOf } from '../../providers/host/facts/container.js';
import { EXIT } from '../../providers/host/executor.js';
import { scriptText } from '../../providers/host/scripts.js';

export const STACK_SECTION = 'stack';
/** Our labels on every container, network and volume of a stack. */
export const LABELS = {
  customer: 'ai.axelabs.axe.customer',
  service: 'ai.axelabs.axe.service',
  ref: 'ai.axelabs.axe.ref',
  envHash: 'ai.axelabs.axe.env-hash',
  revision: 'ai.axelabs.axe.revision',
} as const;
/** Files axe keeps in a checkout beside the env file (untracked). */
export const OVERRIDE_FILE = '.axe-compose.yml';
export const NEXT_OVERRIDE_FILE = '.axe-compose.next.yml';
export const FAILURE_FILE = '.axe-failure';
/**
 * The last good state of a stack (written after every successful up or swap):
 * `commit=` and `ref=` lines, and a 0600 copy of the env file it ran with. A
 * failed deploy restores the checkout and the env file from them.
 */
export const GOOD_FILE = '.axe-good';
export const GOOD_ENV_FILE = '.axe-good.env';

/**
 * awk: drops the `depends_on` block of service `s` from `docker compose config`
 * output (canonical YAML, two-space indents), as `up --no-deps s` does.
 */
export const STRIP_DEPENDS_ON = [
  '/^[^ ]/ { insvc = 0 }',
  '/^  [^ ]/ { insvc = ($0 == "  " s ":") }',
  'insvc && /^    depends_on:/ { skip = 1; next }',
  'skip && /^     / { next }',
  '{ skip = 0; print }',
].join('\n');

const PS_FORMAT = ['{{.ID}}', '{{.Label "com.docker.compose.service"}}', '{{.State}}', '{{.Status}}', '{{.Label "com.docker.compose.config-hash"}}', `{{.Label "${LABELS.ref}"}}`, `{{.Label "${LABELS.envHash}"}}`].join('|');

/** The compose command of a stack as a shell function `dc` (run from the checkout). */
export function composeFunction(d: StackServiceDesired, override: string | null, name = 'dc'): string {
  const files = [...d.composeFiles, ...(override ? [override] : [])].map((f) => `-f ${shellQuote(f)}`).join(' ');
  return `${name}() { "$D" compose -p ${shellQuote(d.project)} ${files} --env-file ${shellQuote(d.envFile)} "$@"; }`;
}

/**
 * Compares a value in the env file with what its source gives now, on the
 * host: only the two sha256 sums leave it (`<svc>.hookval=NAME <file> <now>`).
 * Run only when the env file already holds a value and `when` holds; `source`
 * sets `$w` ('' when there is nothing to compare). The values stay in shell
 * variables (printf is a builtin), never on a command line.
 */
function fileValueCheck(s: string, name: string, source: { setup?: string; when?: string; lines: string[] }): string {
  const unquote = `case "$v" in \\'*\\') v=\${v#\\'}; v=\${v%\\'};; esac`;
  return [
    '( ',
    ...(source.setup ? [source.setup] : []),
    `v=$(sed -n ${shellQuote(`s/^${name}=//p`)} "$f" 2>/dev/null | head -n 1); ${unquote}`,
    `if [ -n "$v" ]${source.when ? ` && ${source.when}` : ''}; then`,
    ...source.lines,
    `if [ -n "$w" ]; then echo "${s}.hookval=${name} $(printf '%s' "$v" | sum) $(printf '%s' "$w" | sum)"; fi`,
    'fi',
    ') &',
  ].join('\n');
}

/** A hook-supplied value against what the hook prints now (a fresh stack's hook is never run by an observation). */
function hookValueCheck(s: string, name: string, exec: ExecTarget): string {
  return fileValueCheck(s, name, {
    lines: [containerLookup(exec.project, exec.container, exec.blueGreen), `if [ -n "$c" ]; then w=$("$D" exec "$c" ${exec.command.map(shellQuote).join(' ')} 2>/dev/null) || w=""; else w=""; fi`],
  });
}

/**
 * Pull mode: a pulled secret against the item in the host's vault. It reads
 * bw's local data as of its last sync (every deploy's pull syncs; an
 * observation never does, as it never fetches a service repo): a hand-edited
 * value is seen at once, a rotation in the customer's vault once the host's bw
 * has synced it. Nothing is printed when the session cannot read.
 */
function pulledValueCheck(s: string, name: string, item: string, sessionFile: string, toolPaths: readonly string[]): string {
  const sf = hostPath(sessionFile);
  const get = (field: string) => `BW_NOINTERACTION=true BW_SESSION="$(cat ${sf})" "$B" get ${field} ${shellQuote(item)} </dev/null 2>/dev/null`;
  return fileValueCheck(s, name, { setup: findTool('B', 'bw', toolPaths), when: `[ -n "$B" ] && [ -f ${sf} ]`, lines: [`w=$(${get('password')}) || w=$(${get('notes')}) || w=""`] });
}

/**
 * What a stack's last action in this pass established by its own successful
 * output (compose up --wait exit 0, the proxy switch, the health gate, the
 * hook value just written), so the observation right after it need not ask
 * again: no config-hash run (compose just labelled the containers from these
 * files), no hook-value or inside check, and the active color as switched.
 */
export interface ToldFacts {
  active: Color | null;
}

/**
 * Compose's config hashes, or the memo's when the inputs they come from are
 * unchanged: `compose config | compose config --hash` starts two Go programs
 * per service on every observation, while the inputs are summed by one `cat`
 * and one sha256: the Compose plugin binary's stamp, the checkout's commit
 * (and its uncommitted diff, when dirty), the active color, the compose
 * files, the override and the env file. The key is printed (`<svc>.hashkey=`)
 * so the caller can keep the hashes under it.
 */
function hashesOrMemo(s: string, d: StackServiceDesired, compute: string, color: string, memo: ComposeHashMemo | undefined): string {
  const files = [...d.composeFiles.map(shellQuote), '"$f"', ...(d.serviceEnvs ?? []).map((e) => shellQuote(e.file)), '${O:+"$O"}'].join(' ');
  const key = `hk=$( { printf '%s\\n' "$CST" "$h" "$dy" "${color}"; if [ "$dy" != 0 ]; then "$G" -C "$dir" diff HEAD 2>/dev/null; fi; cat ${files} 2>/dev/null; } | sum)`;
  // `compute` ends with `&`: it is followed by a newline, never by `;`.
  const cached = memo ? `if [ "$hk" = ${shellQuote(memo.key)} ]; then printf '%s\\n' ${memo.lines.map((l) => shellQuote(`${s}.${l}`)).join(' ')}; else ${compute}\nfi` : compute;
  return `${key}; echo "${s}.hashkey=$hk"; ${cached}\n`;
}

function serviceObservation(d: StackServiceDesired, toolPaths: readonly string[], told?: ToldFacts, memo?: ComposeHashMemo): string {
  const s = d.service;
  const dir = hostPath(d.checkout);
  const p = shellQuote(d.project);
  const ref = d.ref;
  const rev = (spec: string) => `"$G" -C "$dir" rev-parse -q --verify ${shellQuote(spec)} 2>/dev/null`;
  // The env file and each compose service's own file (env.services), summed as one text (envFilesText).
  const own = (d.serviceEnvs ?? []).map((e) => `"$dir"/${shellQuote(e.file)}`);
  const envCat = `cat "$f"${own.map((g) => ` ${g}`).join('')} 2>/dev/null`;
  const hookPattern = d.hookVars.length ? `${envCat} | grep -v -E ${shellQuote(`^(${d.hookVars.join('|')})=`)}` : envCat;
  const lines = [
    ...(d.pull ? [bwSessionCheck(s, d.pull.sessionFile, toolPaths)] : []),
    `dir=${dir}`,
    'h=""; dy=0',
    'if [ -n "$G" ] && [ -d "$dir/.git" ]; then',
    `  h=$(${rev('HEAD^{commit}')}); echo "${s}.head=$h"`,
    `  echo "${s}.want=$(${rev(`refs/tags/${ref}^{commit}`)} || ${rev(`refs/remotes/origin/${ref}^{commit}`)} || ${rev(`${ref}^{commit}`)})"`,
    `  dy=$("$G" -C "$dir" status --porcelain --untracked-files=no 2>/dev/null | wc -l | tr -d ' '); echo "${s}.dirty=$dy"`,
    `  echo "${s}.origin=$("$G" -C "$dir" config --get remote.origin.url 2>/dev/null)"`,
    'fi',
    `f="$dir"/${shellQuote(d.envFile)}`,
    'if [ -f "$f" ]; then',
    // The mode reported is the env file's, or the first of its compose services' files that is not 0600.
    `  m=$(mode "$f")${own.map((g) => `; if [ "$m" = 600 ] && [ -f ${g} ]; then m=$(mode ${g}); fi`).join('')}`,
    `  echo "${s}.env_mode=$m"`,
    `  echo "${s}.env_sha=$(${hookPattern} | sum)"`,
    `  echo "${s}.env_keys=$(awk -F= '/^[A-Za-z_][A-Za-z0-9_]*=/ { printf "%s%s ", $1, (length($0) > length($1) + 1 ? "" : "!") }' "$f")"`,
    'fi',
    ...(d.pull && !told ? d.pull.secrets.map((secret) => pulledValueCheck(s, secret.name, secret.item, d.pull!.sessionFile, toolPaths)) : []),
    `if [ -f "$dir/${OVERRIDE_FILE}" ]; then echo "${s}.override=1"; O=${shellQuote(OVERRIDE_FILE)}; else O=""; fi`,
    'if [ -n "$D" ] && [ -f "$f" ] && [ -d "$dir/.git" ] && cd "$dir"; then',
    `  dcf() { if [ -n "$O" ]; then "$D" compose -p ${p} ${d.composeFiles.map((x) => `-f ${shellQuote(x)}`).join(' ')} -f "$O" --env-file ${shellQuote(d.envFile)} "$@"; else "$D" compose -p ${p} ${d.composeFiles.map((x) => `-f ${shellQuote(x)}`).join(' ')} --env-file ${shellQuote(d.envFile)} "$@"; fi; }`,
    `  cfg=1`,
    // A blue/green stack's hashes wait for its active color (below).
    ...(d.blueGreen || told ? [] : [`  ${hashesOrMemo(s, d, `( dcf config 2>/dev/null | "$D" compose -p ${p} -f - config --hash '*' 2>/dev/null | while read -r a b; do echo "${s}.hash=$a $b"; done ) &`, '', memo)}`]),
    'fi',
    'if [ -n "$D" ]; then',
    // One listing of the project's containers: printed, and what `cid` answers for this project from here on.
    `  ${projectListing(d.project, PS_FORMAT)}`,
    `  if [ -n "$PSO" ]; then printf '%s\\n' "$PSO" | while IFS= read -r l; do echo "${s}.ctr=$l"; done; fi`,
    `  ids=$(printf '%s\\n' "$PSO" | cut -d'|' -f1)`,
    `  if [ -n "$PSO" ]; then "$D" inspect --format '{{.Id}}|{{range $k, $v := .NetworkSettings.Networks}}{{$v.NetworkID}} {{end}}' $ids 2>/dev/null | while IFS= read -r l; do echo "${s}.net=$l"; done; fi`,
  ];
  if (d.blueGreen) {
    // A color is always brought up alone (`up --no-deps`), which drops its depends_on from the
    // hash compose labels it with: the active color's desired hash is computed the same way
    // (its depends_on stripped; the other services' hashes do not change by it), in the one run.
    const colorOf = `case "$A" in blue) cs=${shellQuote(d.blueGreen.blue)};; green) cs=${shellQuote(d.blueGreen.green)};; *) cs="";; esac`;
    lines.push(
      told?.active ? `A=${told.active}` : activeColor('A', d.blueGreen),
      `  echo "${s}.active=$A"`,
      `  ${colorOf}`,
      ...(told ? [] : [`  if [ -n "$cfg" ]; then ${hashesOrMemo(s, d, `( dcf config 2>/dev/null | awk -v s="$cs" ${shellQuote(STRIP_DEPENDS_ON)} | "$D" compose -p ${p} -f - config --hash '*' 2>/dev/null | while read -r a b; do echo "${s}.hash=$a $b"; if [ -n "$cs" ] && [ "$a" = "$cs" ]; then echo "${s}.colorhash=$a $b"; fi; done ) &`, '$cs', memo)}  fi`]),
    );
  }
  lines.push(`  if [ -f "$dir/${FAILURE_FILE}" ]; then echo "${s}.failure=$(head -n 1 "$dir/${FAILURE_FILE}")"; fi`);
  if (!told) lines.push(...d.beforeHooks.map((hook) => `  ${hookValueCheck(s, hook.outputEnv, hook.exec)}`));
  if (d.inside && !told) {
    const url = shellQuote(`http://127.0.0.1:${d.inside.port}${d.inside.path}`);
    const container =
      d.inside.container === '@active' && d.blueGreen
        ? `case "$A" in blue) ic=$(cid ${p} ${shellQuote(d.blueGreen.blue)});; green) ic=$(cid ${p} ${shellQuote(d.blueGreen.green)});; *) ic="";; esac`
        : `ic=$(cid ${p} ${shellQuote(d.inside.container)})`;
    lines.push(
      `  ${container}`,
      `  if [ -n "$ic" ]; then ( if "$D" exec "$ic" wget -q -O /dev/null ${url} >/dev/null 2>&1 || "$D" exec "$ic" curl -fsS -o /dev/null ${url} >/dev/null 2>&1; then echo "${s}.inside=ok"; else echo "${s}.inside=fail"; fi ) & fi`,
    );
  }
  lines.push('fi', 'wait');
  // Each service in its own background subshell: the services are observed in parallel; every line names its service.
  return `(\n${lines.join('\n')}\n) &`;
}

/**
 * The read-only observation of every stack service of one customer (one
 * section), or of the services named in `only` (the networks and volumes of all).
 */
export function observeScript(desired: StackDesired, toolPaths: readonly string[], only?: readonly string[], told?: ReadonlyMap<string, ToldFacts>, memos?: ReadonlyMap<string, ComposeHashMemo>): string {
  const volumes = [...new Set(desired.services.flatMap((d) => d.volumes))];
  return [
    tools(toolPaths),
    'if [ -z "$D" ]; then echo "_.docker=missing"; else echo "_.docker=$D"; fi',
    composeStampLookup('CST'),
    'if [ -n "$D" ]; then',
    `  "$D" network ls --no-trunc --format '{{.ID}} {{.Name}}' 2>/dev/null | while IFS= read -r l; do echo "_.network=$l"; done`,
    ...volumes.map((v) => `  if "$D" volume inspect ${shellQuote(v)} >/dev/null 2>&1; then echo "_.volume="${shellQuote(v)}; fi`),
    'fi',
    ...desired.services.filter((d) => !only || only.includes(d.service)).map((d) => serviceObservation(d, toolPaths, told?.get(d.service), memos?.get(d.service))),
    'wait',
  ].join('\n');
}

export interface ParsedStackObservation {
  docker: boolean;
  networks: Set<string>;
  volumes: Set<string>;
  services: Map<string, StackHostFacts>;
  /** Per service whose hashes came back with their inputs' key: what the next observation may reuse. */
  hashMemos: Map<string, ComposeHashMemo>;
}

function emptyFacts(): StackHostFacts {
  return { checkout: null, env: null, override: false, services: null, hashes: new Map(), containers: [], active: null, failure: null, inside: null, hookValues: new Map(), bwSession: null };
}

/** Parses the observation (pure). Services not in `names` are ignored. */
export function parseObservation(output: string, names: readonly string[]): ParsedStackObservation {
  const networkIds = new Set<string>();
  const networks = new Set<string>();
  const volumes = new Set<string>();
  let docker = false;
  const raw = new Map<string, Array<[string, string]>>();
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    const dot = line.indexOf('.');
    if (eq < 0 || dot < 0 || dot > eq) continue;
    const scope = line.slice(0, dot);
    const key = line.slice(dot + 1, eq);
    const value = line.slice(eq + 1);
    if (scope === '_') {
      if (key === 'docker') docker = value !== 'missing' && value !== '';
      if (key === 'network') {
        const [id, name] = value.split(' ');
        if (id) networkIds.add(id);
        if (name) networks.add(name);
      }
      if (key === 'volume') volumes.add(value);
      continue;
    }
    const list = raw.get(scope) ?? [];
    list.push([key, value]);
    raw.set(scope, list);
  }
  const services = new Map<string, StackHostFacts>();
  const hashMemos = new Map<string, ComposeHashMemo>();
  for (const name of names) {
    const entries = raw.get(name) ?? [];
    const key = entries.find(([k]) => k === 'hashkey')?.[1];
    const lines = entries.filter(([k]) => k === 'hash' || k === 'colorhash').map(([k, v]) => `${k}=${v}`);
    if (key && lines.length) hashMemos.set(name, { key, lines });
    const facts = emptyFacts();
    const single = new Map<string, string>();
    const svcs: string[] = [];
    const containerNets = new Map<string, string[]>();
    const ctrs: string[] = [];
    let colorHash: [string, string] | null = null;
    for (const [key, value] of raw.get(name) ?? []) {
      if (key === 'hash') {
        const [svc, hash] = value.split(' ');
        if (svc && hash) {
          facts.hashes.set(svc, hash);
          svcs.push(svc);
        }
      } else if (key === 'colorhash') {
        const [svc, hash] = value.split(' ');
        if (svc && hash) colorHash = [svc, hash];
      } else if (key === 'hookval') {
        const [env, file, now] = value.split(' ');
        if (env && file && now) facts.hookValues.set(env, { file, now });
      } else if (key === 'bw_session') {
        const [state = '', mode = ''] = value.split(' ');
        facts.bwSession = { present: state === 'present', mode, status: facts.bwSession?.status ?? '' };
      } else if (key === 'bw_status') {
        facts.bwSession = { present: facts.bwSession?.present ?? true, mode: facts.bwSession?.mode ?? '', status: value };
      } else if (key === 'ctr') ctrs.push(value);
      else if (key === 'net') {
        const [id, nets] = value.split('|');
        if (id) containerNets.set(id, (nets ?? '').split(' ').filter(Boolean));
      } else single.set(key, value);
    }
    if (single.has('head')) {
      facts.checkout = { head: single.get('head') ?? '', want: single.get('want') || null, dirty: Number(single.get('dirty') ?? 0) || 0, origin: single.get('origin') ?? '' };
    }
    if (single.has('env_sha')) {
      const keys = new Map<string, boolean>();
      for (const k of (single.get('env_keys') ?? '').split(' ').filter(Boolean)) keys.set(k.replace(/!$/, ''), !k.endsWith('!'));
      facts.env = { mode: (single.get('env_mode') ?? '').trim(), sha256: single.get('env_sha') ?? '', keys };
    }
    facts.override = single.get('override') === '1';
    facts.services = svcs.length ? svcs : null;
    if (colorHash) facts.hashes.set(colorHash[0], colorHash[1]);
    for (const line of ctrs) {
      const [id = '', service = '', state = '', status = '', configHash = '', ref = '', envHash = ''] = line.split('|');
      const nets = containerNets.get(id) ?? [];
      facts.containers.push({ id, service, state, health: healthOf(status), configHash, ref, envHash, orphaned: nets.some((n) => !networkIds.has(n)) });
    }
    const active = single.get('active');
    facts.active = active === 'blue' || active === 'green' ? active : null;
    const failure = single.get('failure');
    if (failure) {
      try {
        facts.failure = JSON.parse(failure) as FailureRecord;
      } catch {
        facts.failure = null;
      }
    }
    const inside = single.get('inside');
    facts.inside = inside === 'ok' || inside === 'fail' ? inside : null;
    services.set(name, facts);
  }
  return { docker, networks, volumes, services, hashMemos };
}

/** Clone (when missing) or fetch, then check out the ref detached, discarding local changes. */
export function checkoutScript(d: StackServiceDesired, insteadOf: Record<string, string>, toolPaths: readonly string[]): string {
  const rewrites = Object.entries(insteadOf)
    .map(([from, to]) => `-c ${shellQuote(`url.${to}.insteadOf=${from}`)}`)
    .join(' ');
  const repo = shellQuote(d.repo);
  const ref = d.ref;
  const rev = (spec: string) => `gitx -C "$dir" rev-parse -q --verify ${shellQuote(spec)}`;
  return [
    'set -e',
    tools(toolPaths),
    toolFound('git'),
    `gitx() { "$G" ${rewrites} -c advice.detachedHead=false "$@"; }`,
    `dir=${hostPath(d.checkout)}`,
    'if [ ! -d "$dir/.git" ]; then',
    `  if [ -d "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then echo "$dir exists and is not a git checkout" >&2; exit ${EXIT.notACheckout.code}; fi`,
    '  mkdir -p "$dir"',
    `  gitx clone -q --no-checkout ${repo} "$dir"`,
    '  cloned=1',
    'fi',
    `if [ "$(gitx -C "$dir" config --get remote.origin.url || true)" != ${repo} ]; then gitx -C "$dir" remote set-url origin ${repo}; fi`,
    `want() { ${rev(`refs/tags/${ref}^{commit}`)} || ${rev(`refs/remotes/origin/${ref}^{commit}`)} || ${rev(`${ref}^{commit}`)}; }`,
    // A clone just fetched the branches and their tags: fetch again only when the ref is not among them.
    `if [ -z "\${cloned:-}" ] || ! want >/dev/null; then gitx -C "$dir" fetch -q --force --tags origin '+refs/heads/*:refs/remotes/origin/*'; fi`,
    `c=$(want) || { echo ${shellQuote(`ref ${ref} was not found in ${d.repo}`)} >&2; exit ${EXIT.refNotFound.code}; }`,
    'gitx -C "$dir" checkout -q --force --detach "$c"',
    'gitx -C "$dir" rev-parse HEAD',
  ].join('\n');
}

/** Creates an external network or volume unless it exists, labelled for the lab sweep and for humans. */
export function createScript(what: 'network' | 'volume', name: string, customer: string, toolPaths: readonly string[]): string {
  const n = shellQuote(name);
  return [
    'set -e',
    tools(toolPaths),
    toolFound('docker'),
    `"$D" ${what} inspect ${n} >/dev/null 2>&1 || "$D" ${what} create --label ${shellQuote(`${LABELS.customer}=${customer}`)} ${n} >/dev/null`,
  ].join('\n');
}

/**
 * Prints the compose model as JSON (services, networks, volumes) for the label
 * override, uninterpolated: env_file values (secrets) are not read into it.
 */
export function configJsonScript(d: StackServiceDesired, toolPaths: readonly string[]): string {
  return ['set -e', tools(toolPaths), `cd ${hostPath(d.checkout)}`, composeFunction(d, null), 'dc config --format json --no-interpolate'].join('\n');
}

export interface ComposeModel {
  services: string[];
  /** Networks and volumes compose creates itself (not external), by their key in the file. */
  networks: string[];
  volumes: string[];
}

/** Reads the parts of `config --format json` the override needs; drops everything else. */
export function parseComposeModel(json: string): ComposeModel {
  const doc = JSON.parse(json) as { services?: Record<string, unknown>; networks?: Record<string, { external?: unknown }>; volumes?: Record<string, { external?: unknown }> };
  const own = (m: Record<string, { external?: unknown }> | undefined) => Object.entries(m ?? {}).filter(([, v]) => !v?.external).map(([k]) => k).sort();
  return { services: Object.keys(doc.services ?? {}).sort(), networks: own(doc.networks), volumes: own(doc.volumes) };
}

export interface OverrideLabels {
  customer: string;
  service: string;
  ref: string;
  envHash: string;
  revision: string;
}

/**
 * The compose override that puts our labels on every container (and the
 * customer label on the networks and volumes compose makes). A pure function
 * of its inputs: written again with the same inputs, it changes nothing.
 */
export function renderOverride(model: ComposeModel, labels: OverrideLabels, envs: readonly ServiceEnv[] | null = null): string {
  const q = (v: string) => JSON.stringify(v);
  const containerLabels = [
    [LABELS.customer, labels.customer],
    [LABELS.service, labels.service],
    [LABELS.ref, labels.ref],
    [LABELS.envHash, labels.envHash],
    [LABELS.revision, labels.revision],
  ];
  const out = [`# Written by axe for ${labels.customer}/${labels.service}: our labels on the stack. Edits here are reverted.`, 'services:'];
  for (const s of model.services) {
    out.push(`  ${q(s)}:`, '    labels:', ...containerLabels.map(([k, v]) => `      ${k}: ${q(v!)}`));
    // env.services: each container gets its own file only, whatever the compose file's `env_file:` says.
    if (envs) {
      const own = envs.find((e) => e.service === s);
      out.push(own ? `    env_file: !override [${q(own.file)}]` : '    env_file: !reset []');
    }
  }
  for (const [section, keys] of [['networks', model.networks], ['volumes', model.volumes]] as const) {
    if (keys.length === 0) continue;
    out.push(`${section}:`);
    for (const k of keys) out.push(`  ${q(k)}:`, '    labels:', `      ${LABELS.customer}: ${q(labels.customer)}`);
  }
  return `${out.join('\n')}\n`;
}

/** Lines `diag=<service>|<state>|<health>|<last health output>` for a project's containers (after a failed up). */
function diagnostics(project: string, services: readonly string[] = []): string {
  const filter = services.length ? ` | grep -E ${shellQuote(`^(${services.map((s) => s.replace(/[.]/g, '\\.')).join('|')})\\|`)}` : '';
  return `for id in $("$D" ps -aq --filter label=com.docker.compose.project=${shellQuote(project)}); do "$D" inspect --format '{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}|{{range .State.Health.Log}}{{.Output}} {{end}}{{end}}' "$id" 2>/dev/null | tr '\\n' ' '; echo; done${filter} | sed 's/^/diag=/' >&2`;
}

export interface UpOptions {
  /** `up` arguments after `up -d --wait --wait-timeout N`. */
  args: string[];
  /** A second `up` in the same round trip, run only when the first succeeded (a blue/green stack's color after its shared services). */
  then?: string[];
  override: string | null;
  /** Services to recreate first (their network was removed). */
  recreate?: string[];
  /** Limit diagnostics to these services. */
  diagnose?: string[];
}

/** `compose up -d --wait` with a bounded wait; on failure prints diagnostics (names and health output, no env). */
export function upScript(d: StackServiceDesired, options: UpOptions, toolPaths: readonly string[]): string {
  const wait = `--wait --wait-timeout ${d.waitSeconds}`;
  const lines = ['set -e', tools(toolPaths), toolFound('docker'), `cd ${hostPath(d.checkout)}`, composeFunction(d, options.override)];
  const up = (args: readonly string[]) => `dc up -d ${wait} ${args.map(shellQuote).join(' ')} || { ${diagnostics(d.project, options.diagnose)}; exit ${EXIT.upFailed.code}; }`;
  if (options.recreate?.length) lines.push(up(['--no-deps', '--force-recreate', ...options.recreate]));
  if (options.args.length > 0 || !options.recreate?.length) lines.push(up(options.args));
  if (options.then) lines.push(up(options.then));
  return lines.join('\n');
}

/** Runs a compose subcommand for a stack (rm, stop), ignoring a missing container. */
export function composeScript(d: StackServiceDesired, override: string | null, args: string[], toolPaths: readonly string[]): string {
  return ['set -e', tools(toolPaths), `cd ${hostPath(d.checkout)}`, composeFunction(d, override), `dc ${args.map(shellQuote).join(' ')}`].join('\n');
}

/** The pauses between a poll's tries: short first (a stack just reported healthy usually answers at once), then every 0.5 s, `budget` seconds in all. */
export function pollPauses(budgetSeconds: number): string[] {
  const pauses = ['0.05', '0.1', '0.2', '0.4'];
  let left = budgetSeconds - 0.75;
  while (left > 0) {
    pauses.push('0.5');
    left -= 0.5;
  }
  return pauses;
}

/** Polls an HTTP path inside a container until it answers 2xx (wget, else curl), with `pollPauses(budgetSeconds)` between tries. */
export function insideCheckScript(target: { project: string; container: string; blueGreen: BlueGreenTarget | null }, port: number, path: string, budgetSeconds: number, toolPaths: readonly string[], active?: Color | null): string {
  const url = shellQuote(`http://127.0.0.1:${port}${path}`);
  return [
    tools(toolPaths),
    containerLookup(target.project, target.container, target.blueGreen, active),
    `if [ -z "$c" ]; then echo ${shellQuote(`no running container for ${target.container}`)} >&2; exit ${EXIT.noContainer.code}; fi`,
    `for p in ${pollPauses(budgetSeconds).join(' ')} 0; do if "$D" exec "$c" wget -q -O /dev/null ${url} >/dev/null 2>&1 || "$D" exec "$c" curl -fsS -o /dev/null ${url} >/dev/null 2>&1; then exit 0; fi; [ "$p" = 0 ] || sleep "$p"; done`,
    `echo ${shellQuote(`${path} on port ${port} did not answer 2xx`)} >&2; exit ${EXIT.insideCheckFailed.code}`,
  ].join('\n');
}

/** One step of a `stepsScript`. */
export interface HostStep {
  name: string;
  script: string;
  /** A failure is reported (`STEP_SOFT_FAILED`) and the next steps still run; the script exits 1 at the end. */
  soft?: boolean;
}

/** The last stderr line of a failed `stepsScript`: `axe-step-failed=<name>`. */
export const STEP_FAILED = 'axe-step-failed=';
/** A soft step's failure, on its own stderr line: `axe-step-soft-failed=<name>`. */
export const STEP_SOFT_FAILED = 'axe-step-soft-failed=';

/**
 * Runs several steps in one round trip, in order, each in its own subshell
 * (its `exit` and `set -e` stay inside): the first step that fails ends the
 * script with its exit code, its stderr, then `axe-step-failed=<name>`.
 * With `listing`, the project's containers are listed once first, for every
 * step's container lookups (the steps must not create or remove containers).
 */
export function stepsScript(steps: readonly HostStep[], listing?: { project: string; toolPaths: readonly string[] }): string {
  // The project's containers listed once for every step's `cid` (they do not change while the steps run).
  const lines = ['soft=""', ...(listing ? [tools(listing.toolPaths), projectListing(listing.project)] : [])];
  for (const step of steps) {
    const marker = shellQuote(`${step.soft ? STEP_SOFT_FAILED : STEP_FAILED}${step.name}`);
    lines.push(step.soft ? `( ${step.script}\n) || { echo ${marker} >&2; soft=1; }` : `( ${step.script}\n) || { rc=$?; echo ${marker} >&2; exit $rc; }`);
  }
  lines.push('if [ -n "$soft" ]; then exit 1; fi');
  return lines.join('\n');
}

/** Which step of a `stepsScript` failed (null: none, or not a steps script), and the soft ones. */
export function failedSteps(stderr: string): { failed: string | null; soft: string[] } {
  const lines = stderr.split('\n');
  const failed = lines.find((l) => l.startsWith(STEP_FAILED))?.slice(STEP_FAILED.length) ?? null;
  return { failed, soft: lines.filter((l) => l.startsWith(STEP_SOFT_FAILED)).map((l) => l.slice(STEP_SOFT_FAILED.length)) };
}

/** The stderr before a step's marker line, other steps' markers left out (its last line is the step's detail). */
export function stepStderr(stderr: string, step: string): string {
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => l === `${STEP_FAILED}${step}` || l === `${STEP_SOFT_FAILED}${step}`);
  return (at < 0 ? lines : lines.slice(0, at)).filter((l) => !l.startsWith(STEP_FAILED) && !l.startsWith(STEP_SOFT_FAILED)).join('\n');
}

/** Writes (or removes) a small record file in the checkout; the content is not secret. */
export function recordScript(d: StackServiceDesired, file: string, content: string | null): string {
  const path = `${hostPath(d.checkout)}/${shellQuote(file)}`;
  if (content === null) return `rm -f ${path}`;
  return `printf '%s\\n' ${shellQuote(content)} > ${path}.tmp && mv -f ${path}.tmp ${path}`;
}

/** Where axe pushes the deploy-time pull wrapper on the host (pull mode). */
export const PULL_WRAPPER_PATH = '~/.axe/bin/axe-env-pull';

/** The runbook's wrapper, as axe pushes it (providers/host/scripts/axe-env-pull.sh: usage and exit codes there). */
export const PULL_WRAPPER = scriptText('axe-env-pull.sh');

/** Finds bw by absolute path (\`$B\`). */
function bwTool(toolPaths: readonly string[]): string {
  return findTool('B', 'bw', toolPaths);
}

/** Runs the pushed wrapper for one stack (the env file's template on stdin). */
export function pullScript(d: StackServiceDesired, toolPaths: readonly string[]): string {
  const pull = d.pull!;
  return [
    tools(toolPaths),
    bwTool(toolPaths),
    `if [ -z "$B" ]; then echo "bw not found by absolute path on the host" >&2; exit ${EXIT.pullLocked.code}; fi`,
    `exec /bin/sh ${hostPath(PULL_WRAPPER_PATH)} "$B" ${hostPath(pull.sessionFile)} ${hostPath(d.checkout)}/${shellQuote(d.envFile)}`,
  ].join('\n');
}

/**
 * Pull mode: the host's bw session file, observed like any resource: present,
 * its mode, and what \`bw status\` says with it (the session goes to bw through
 * its environment; only the status word leaves the host).
 */
function bwSessionCheck(s: string, sessionFile: string, toolPaths: readonly string[]): string {
  const sf = hostPath(sessionFile);
  return [
    `( ${bwTool(toolPaths)}`,
    `if [ ! -f ${sf} ]; then echo "${s}.bw_session=missing"; else`,
    `echo "${s}.bw_session=present $(mode ${sf})"`,
    `if [ -z "$B" ]; then echo "${s}.bw_status=nobw"; else st=$(BW_NOINTERACTION=true BW_SESSION="$(cat ${sf})" "$B" status </dev/null 2>/dev/null | sed -n 's/.*"status": *"\\([a-z]*\\)".*/\\1/p'); echo "${s}.bw_status=\${st:-unknown}"; fi`,
    'fi ) &',
  ].join('\n');
}

/** The shell words of a stack's checkout, env file and last-good records. */
function goodPaths(d: StackServiceDesired): { dir: string; env: string; good: string; goodEnv: string } {
  const dir = hostPath(d.checkout);
  return { dir, env: `${dir}/${shellQuote(d.envFile)}`, good: `${dir}/${shellQuote(GOOD_FILE)}`, goodEnv: `${dir}/${shellQuote(GOOD_ENV_FILE)}` };
}

/** The prefix of the compose services' own env files (`env.services`), beside the env file. */
export const SERVICE_ENV_PREFIX = '.env.axe.';

/**
 * Writes each compose service's own env file from the env file, on the host
 * (`env.services`): its header, then the env file's lines of its vars, as
 * renderServiceEnvFile does (grep reads the file: no value is ever on a
 * command line, and a hook's or a pulled value never leaves the host). Each
 * 0600 through a temp file and a rename; other `.env.axe.*` files beside it
 * (a compose service no longer listed) are removed. Exit 9 without an env file.
 */
export function splitEnvScript(d: StackServiceDesired): string {
  const dir = hostPath(d.checkout);
  const envDir = d.envFile.includes('/') ? `${dir}/${shellQuote(d.envFile.slice(0, d.envFile.lastIndexOf('/')))}` : dir;
  const env = `${dir}/${shellQuote(d.envFile)}`;
  const envs = d.serviceEnvs ?? [];
  const keep = envs.map((e) => shellQuote(e.file.slice(e.file.lastIndexOf('/') + 1))).join('|');
  return [
    'set -e',
    'umask 077',
    `if [ ! -f ${env} ]; then echo ${shellQuote(`no ${d.envFile} to split`)} >&2; exit ${EXIT.noEnvFile.code}; fi`,
    ...envs.map((e) => {
      const to = `${dir}/${shellQuote(e.file)}`;
      const pick = e.vars.length ? `grep -E ${shellQuote(`^(${e.vars.join('|')})=`)} ${env} || [ $? = 1 ]` : ':';
      return `{ printf '%s\\n' ${shellQuote(serviceEnvHeader(d.customer, d.service, e.service))}; ${pick}; } > ${to}.tmp\nchmod 600 ${to}.tmp\nmv -f ${to}.tmp ${to}`;
    }),
    `for g in ${envDir}/${SERVICE_ENV_PREFIX}*; do [ -e "$g" ] || continue; case "\${g##*/}" in ${keep ? `${keep}) ;; *) ` : '*) '}rm -f "$g";; esac; done`,
  ].join('\n');
}

/** Copies a file 0600 through a temp file and a rename (a half-written env file is never seen). */
function copy0600(from: string, to: string): string {
  return `cp ${from} ${to}.tmp && chmod 600 ${to}.tmp && mv -f ${to}.tmp ${to}`;
}

/** Records the checkout's HEAD, the ref and a 0600 copy of the env file as the stack's last good state. */
export function saveGoodScript(d: StackServiceDesired, toolPaths: readonly string[]): string {
  const { dir, env, good, goodEnv } = goodPaths(d);
  return [
    'set -e',
    tools(toolPaths),
    'umask 077',
    `c=$("$G" -C ${dir} rev-parse HEAD)`,
    copy0600(env, goodEnv),
    `printf 'commit=%s\\nref=%s\\n' "$c" ${shellQuote(d.ref)} > ${good}.tmp && mv -f ${good}.tmp ${good}`,
  ].join('\n');
}

/**
 * Puts the checkout and the env file back to the last good state; prints its
 * ref. Exit 8 when there is none (nothing is changed then).
 */
export function restoreGoodScript(d: StackServiceDesired, toolPaths: readonly string[]): string {
  const { dir, env, good, goodEnv } = goodPaths(d);
  return [
    'set -e',
    tools(toolPaths),
    `if [ ! -f ${good} ] || [ ! -f ${goodEnv} ]; then echo "no earlier good state recorded" >&2; exit ${EXIT.noGoodState.code}; fi`,
    `c=$(sed -n 's/^commit=//p' ${good}); r=$(sed -n 's/^ref=//p' ${good})`,
    `"$G" -C ${dir} -c advice.detachedHead=false checkout -q --force --detach "$c"`,
    'umask 077',
    copy0600(goodEnv, env),
    `( ${splitEnvScript(d)}\n)`,
    'printf \'%s\\n\' "$r"',
  ].join('\n');
}

/** Moves the next override into place (after a good swap) or drops it (after a failed one). */
export function overrideCommitScript(d: StackServiceDesired, keep: boolean): string {
  const dir = hostPath(d.checkout);
  return keep ? `mv -f ${dir}/${shellQuote(NEXT_OVERRIDE_FILE)} ${dir}/${shellQuote(OVERRIDE_FILE)}` : `rm -f ${dir}/${shellQuote(NEXT_OVERRIDE_FILE)}`;
}

export function colorService(d: StackServiceDesired, color: Color): string {
  if (!d.blueGreen) throw new Error(`${d.service} is not blue/green`);
  return color === 'blue' ? d.blueGreen.blue : d.blueGreen.green;
}
