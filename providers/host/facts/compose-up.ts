/**
 * What compose says back to a stack's actions, read as typed values: the
 * compose model (`config --format json`, for the labels override) and, after
 * a failed `up --wait`, each container's state and health (the `diag=` lines
 * `upDiagnostics` prints on stderr: names and health output, never env).
 */
import { shellQuote } from '../commands/quote.js';

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

/** The prefix of a diagnostics line on stderr. */
const DIAG = 'diag=';

/** Lines `diag=<service>|<state>|<health>|<last health output>` for a project's containers on stderr (after a failed up). */
export function upDiagnostics(project: string, services: readonly string[] = []): string {
  const filter = services.length ? ` | grep -E ${shellQuote(`^(${services.map((s) => s.replace(/[.]/g, '\\.')).join('|')})\\|`)}` : '';
  return `for id in $("$D" ps -aq --filter label=com.docker.compose.project=${shellQuote(project)}); do "$D" inspect --format '{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}|{{range .State.Health.Log}}{{.Output}} {{end}}{{end}}' "$id" 2>/dev/null | tr '\\n' ' '; echo; done${filter} | sed 's/^/${DIAG}/' >&2`;
}

/** The last line of a command's stderr, leaving out the diagnostics lines: what the command itself said last. */
export function commandDetail(text: string): string {
  return text.trim().split('\n').filter((l) => !l.startsWith(DIAG)).pop()?.trim() ?? '';
}

/** One container of a failed up, as its diagnostics line tells it. */
export interface ContainerDiagnosis {
  service: string;
  /** Absent only on a line without its fields. */
  state: string | undefined;
  /** '' or absent: no health check. */
  health: string | undefined;
  /** The last health checks' output on one line, spaces collapsed ('' when none). */
  output: string;
}

/** What a failed up said: compose's own last line and each container's diagnosis, in order (pure). */
export interface UpFailure {
  compose: string;
  containers: ContainerDiagnosis[];
}

export function readUpFailure(stderr: string): UpFailure {
  const containers = stderr
    .split('\n')
    .filter((l) => l.startsWith(DIAG))
    .map((l) => l.slice(DIAG.length).split('|'))
    .map(([service, state, health, output]) => ({ service: service ?? '', state, health, output: (output ?? '').replace(/\s+/g, ' ').trim() }));
  return { compose: commandDetail(stderr), containers };
}
