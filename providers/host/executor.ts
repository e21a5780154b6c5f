/**
 * The one executor of commands on a host: runs a command line or a script
 * over the host's existing SSH connection, and turns a failure into an
 * AxeError (transient or terminal, fix, trap). It is the only place that
 * classifies a host command's failure: scripts and builders exit with the
 * named codes of EXIT, and kinds never read an exit code themselves.
 *
 * Rules:
 * - Every exit code a script axe runs on a host may use is named here, once;
 *   the `.sh` files and the builders use the same numbers (tests hold them to
 *   it). An unnamed non-zero code is transient (retrying may help).
 * - Data (a file's content, an env template) goes on stdin, never into the
 *   command line; the message quotes the last stderr line, never stdin.
 * - The batched observation (one round trip, many facts) is `runBatch`. Its
 *   engine facts (facts/engine.ts) are Engine API calls over the same SSH
 *   connection, side by side with the round trip: channels to the engine's
 *   socket, not processes and not round trips of their own.
 */
import { AxeError, type ErrorClass } from '../../core/errors.js';
import { EXIT, type ExitName } from './exit-codes.js';
import { engineDebug, engineFailed, type EngineApi } from './engine-api.js';
import { answerEngineFacts } from './facts/fact.js';
import { ENGINE_VARIABLE } from './facts/engine.js';
import { type Argv, line } from './commands/quote.js';
import { scriptText } from './scripts.js';

export { EXIT, type ExitName };
import { type HostSection, runSections, type SectionOutput } from './sections.js';
import type { ExecResult, HostConnection } from './ssh.js';


/** The name and class of an exit code (pure); null for 0. */
export function classifyExit(code: number): { name: ExitName | null; class: ErrorClass } | null {
  if (code === 0) return null;
  const name = (Object.keys(EXIT) as ExitName[]).find((n) => EXIT[n].code === code) ?? null;
  return { name, class: name ? EXIT[name].class : 'transient' };
}

/** The last non-empty stderr line (what a failed host command said last). */
export function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop()?.trim() ?? '';
}

export interface RunSpec {
  /** What is being done, for the message: `starting cloudflared`. */
  what: string;
  customer?: string;
  resource?: string;
  stdin?: string | Buffer;
  timeoutMs?: number;
  /** The fix for any failure, unless `fixes` names one for its code. */
  fix?: string;
  fixes?: Partial<Record<ExitName, string>>;
  trap?: string;
  /** What the failure left on the host, appended to the message: `the running containers untouched`. */
  left?: string;
  /** Appended to the message as is, after `left`: what the caller did about the failure (`the vault keeps the old value`). */
  note?: string;
  /** Forces the class: a command whose exit codes are not axe's (a hook run in a container) fails transient whatever its code. */
  class?: ErrorClass;
  /** What the failure says (default: its stderr's last line); a caller whose script prints diagnostics reads them here. */
  detail?: (result: ExecResult) => string;
  /** What the failure says when its stderr says nothing (default `exit N`); providers/host's runners word it for their commands. */
  silent?: (code: number) => string;
  /** Runs when the command ran and failed, before its error is thrown (not when the host was not reached): the caller puts back what it changed. */
  onFailure?: () => Promise<void>;
}

/** The AxeError for a failed command (pure). */
export function hostFailure(result: ExecResult, spec: RunSpec): AxeError {
  const meaning = classifyExit(result.code) ?? { name: null, class: 'transient' as const };
  const named = meaning.name ? EXIT[meaning.name] : null;
  const fix = (meaning.name ? spec.fixes?.[meaning.name] : undefined) ?? spec.fix ?? (named && 'fix' in named ? named.fix : undefined);
  const detail = spec.detail?.(result) || lastLine(result.stderr) || spec.silent?.(result.code) || `exit ${result.code}`;
  return new AxeError(spec.class ?? meaning.class, `${spec.what} failed: ${detail}${spec.left ? `; left: ${spec.left}` : ''}${spec.note ? `; ${spec.note}` : ''}`, {
    ...(spec.customer ? { customer: spec.customer } : {}),
    resource: spec.resource ?? 'host',
    ...(fix ? { fix } : {}),
    ...(spec.trap ? { trap: spec.trap } : {}),
  });
}

/** A script for `/bin/sh -s`: lib.sh's functions, then the body. */
export function hostScript(body: string): string {
  return `${scriptText('lib.sh')}\n${body}\n`;
}

/**
 * Runs a script on the host (lib.sh first) and returns its result, failed or
 * not: the one way axe runs a script there. Without data the script goes on
 * stdin (`/bin/sh -s`); with data (`stdin`: a file's lines, a template) the
 * script goes on the command line (it holds no secret) and the data on stdin.
 * Kinds call `runScript`, which throws the classified failure; this raw form
 * is for a caller that reads a failed script's own output as an answer (a
 * steps run's markers, compose's diagnostics before a rollback, a probe).
 */
export function execHostScript(connection: HostConnection, body: string, options: { stdin?: string | Buffer; timeoutMs?: number } = {}): Promise<ExecResult> {
  const command = options.stdin === undefined ? '/bin/sh -s' : `/bin/sh -c ${line([hostScript(body)])}`;
  return connection.exec(command, { stdin: options.stdin ?? hostScript(body), ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
}

/** Runs a script (execHostScript) and returns its result; throws the classified error (hostFailure) when it fails. */
export async function runScript(connection: HostConnection, body: string, spec: RunSpec): Promise<ExecResult> {
  const result = await execHostScript(connection, body, { ...(spec.stdin === undefined ? {} : { stdin: spec.stdin }), ...(spec.timeoutMs ? { timeoutMs: spec.timeoutMs } : {}) });
  if (result.code !== 0) {
    await spec.onFailure?.();
    throw hostFailure(result, spec);
  }
  return result;
}

/** Runs a section's script alone (execHostScript; a re-observation reads its frames, failed or not). */
export function execSectionAlone(connection: HostConnection, body: string, timeoutMs = 60_000): Promise<ExecResult> {
  return execHostScript(connection, body, { timeoutMs });
}

/** Runs one command line (argv) as a script. */
export function runCommand(connection: HostConnection, argv: Argv, spec: RunSpec, prelude = ''): Promise<ExecResult> {
  return runScript(connection, `${prelude}${prelude ? '\n' : ''}${line(argv)}`, spec);
}

/** How long an engine fact may take (as the shell form's curl, `-m 10`); then the batch falls back to the shell. */
const ENGINE_TIMEOUT_MS = 10_000;

/** A promise that rejects after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * The batched observation: every section in one round trip (lib.sh's functions
 * defined once, first). With `engine` (engine-api.ts `batchEngine`), the
 * sections' engine facts are asked of the engine side by side with the round
 * trip and their shell forms skipped; when the engine fails, the sections
 * holding engine facts run again with their shell forms (a second round trip,
 * only then) and the host's next batches use the shell for a while.
 */
export async function runBatch(connection: HostConnection, sections: readonly HostSection[], timeoutMs = 60_000, engine: EngineApi | null = null): Promise<Map<string, SectionOutput>> {
  const calls = sections.flatMap((s) => Object.entries(s.engine ?? {}).map(([fact, call]) => ({ section: s.name, fact, call })));
  if (!engine || calls.length === 0) return runSections(connection, sections, timeoutMs, scriptText('lib.sh'));
  const [out, answers] = await Promise.all([
    runSections(connection, sections, timeoutMs, `${scriptText('lib.sh')}\n${ENGINE_VARIABLE}=1`),
    Promise.allSettled(calls.map((c) => within(c.call(engine), Math.min(timeoutMs, ENGINE_TIMEOUT_MS), `the engine's ${c.fact}`))),
  ]);
  const failure = answers.find((a): a is PromiseRejectedResult => a.status === 'rejected');
  if (failure) {
    engineFailed(connection, failure.reason);
    const again = sections.filter((s) => s.engine && Object.keys(s.engine).length > 0);
    for (const [name, output] of await runSections(connection, again, timeoutMs, scriptText('lib.sh'))) out.set(name, output);
    return out;
  }
  for (const section of new Set(calls.map((c) => c.section))) {
    const got = out.get(section);
    if (!got) continue;
    const mine = new Map(calls.flatMap((c, i) => (c.section === section ? [[c.fact, (answers[i] as PromiseFulfilledResult<unknown>).value] as const] : [])));
    out.set(section, { ...got, output: answerEngineFacts(got.output, mine) });
  }
  engineDebug('%s: %d engine facts answered by the engine', connection.target?.name, calls.length);
  return out;
}
