/**
 * The checks kind's pure core: the manifests' read-only health queries
 * (`checks:`, the runbook's D+7 checks such as frame's audit log active),
 * each answer judged against its expectations. Nothing is ever planned: a
 * check only reads, and what it finds wrong is a person's to fix (the trap).
 *
 * Rules:
 * - Judging is pure: the probe's exit code, stdout and stderr, and the host's
 *   clock (`now`, epoch ms) in; a verdict and one line out.
 * - A check whose container is not running is not judged (`not-run`): the
 *   stack row says why; the check row says Missing, not Degraded.
 * - Only the fields the expectations name (and `detail`) reach a message,
 *   never the whole answer.
 */
import { type CheckExpectation, durationMs } from '../../schemas/service-manifest.js';
import type { BlueGreenTarget } from '../../providers/host/commands/blue-green.js';
import { TIMED_OUT } from '../../providers/host/facts/fact.js';
import { trap } from '../traps.js';
import { type Action, type Health, worstOf } from '../types.js';

/** One check of one stack service, resolved for the customer. */
export interface CheckDesired {
  service: string;
  name: string;
  description: string;
  /** The compose project of the service's stack. */
  project: string;
  /** A compose service, or `@active` (the live blue/green color). */
  container: string;
  blueGreen: BlueGreenTarget | null;
  command: string[];
  expect: CheckExpectation[];
  detail: string | null;
  fix: string;
}

export interface ChecksDesired {
  customer: string;
  checks: CheckDesired[];
}

/** What the host said for one check. */
export type Probe =
  /** No running container to ask (or no docker). */
  | { state: 'not-run'; why: string }
  /** The command ran: its exit code (143: killed after the time limit), stdout (one line, at most 2 KiB) and the end of its stderr. */
  | { state: 'ran'; code: number; stdout: string; stderr: string };

export type Verdict = 'pass' | 'fail' | 'unanswered' | 'not-run';

export interface CheckResult {
  service: string;
  name: string;
  verdict: Verdict;
  /** `frame audit-log: …` — what was found, or why it failed. */
  message: string;
  /** The answer's `detail` field when the check failed (the service's own reason). */
  detail: string | null;
}

export interface ChecksObserved {
  /** The host's clock when it ran the checks (epoch ms). */
  now: number;
  results: CheckResult[];
}

/** The exit code the host reports for a probe killed after its time limit (a timed fact's). */
export { TIMED_OUT };

function fieldOf(answer: unknown, path: string): unknown {
  let at: unknown = answer;
  for (const key of path.split('.')) {
    if (!at || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** A duration in words, short: 45s, 12m, 5h, 9d. */
export function ageText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

function shown(value: unknown): string {
  if (value === undefined) return 'missing';
  return JSON.stringify(value) ?? String(value);
}

/** A time field: an ISO 8601 string, or a number of epoch seconds. NaN when it is neither. */
function timeOf(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return Date.parse(value);
  return Number.NaN;
}

/** One expectation against the answer: what was found, and whether it holds. */
export function judge(expectation: CheckExpectation, answer: unknown, now: number): { ok: boolean; found: string } {
  const value = fieldOf(answer, expectation.field);
  const f = expectation.field;
  if ('equals' in expectation) {
    const ok = value === expectation.equals;
    return { ok, found: ok ? `${f} ${shown(value)}` : `${f} is ${shown(value)} (want ${shown(expectation.equals)})` };
  }
  if ('min' in expectation) {
    const ok = typeof value === 'number' && value >= expectation.min;
    return { ok, found: ok ? `${f} ${value}` : `${f} is ${shown(value)} (want at least ${expectation.min})` };
  }
  const at = timeOf(value);
  if (Number.isNaN(at)) return { ok: false, found: `${f} is ${value === null || value === undefined ? 'none' : shown(value)} (want a time within ${expectation.max_age})` };
  const age = now - at;
  const ok = age <= durationMs(expectation.max_age);
  return { ok, found: `${f} ${ageText(age)} ago${ok ? '' : ` (max ${expectation.max_age})`}` };
}

/** The last non-empty line of a text, trimmed to 200 characters. */
function lastLine(text: string): string {
  const line = text.trim().split(/\s{2,}|\n/).filter(Boolean).pop() ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** The verdict on one check (pure). */
export function evaluateCheck(check: CheckDesired, probe: Probe | undefined, now: number): CheckResult {
  const base = { service: check.service, name: check.name, detail: null };
  const label = `${check.service} ${check.name}`;
  if (!probe) return { ...base, verdict: 'not-run', message: `${label}: not run (no answer from the host)` };
  if (probe.state === 'not-run') return { ...base, verdict: 'not-run', message: `${label}: not run (${probe.why})` };
  if (probe.code !== 0) {
    const why = probe.code === TIMED_OUT ? 'no answer in time: killed' : `exit ${probe.code}${lastLine(probe.stderr) ? `: ${lastLine(probe.stderr)}` : ''}`;
    return { ...base, verdict: 'unanswered', message: `${label}: ${check.command.join(' ')} failed (${why})` };
  }
  let answer: unknown;
  try {
    answer = JSON.parse(probe.stdout);
  } catch {
    answer = undefined;
  }
  if (!answer || typeof answer !== 'object' || Array.isArray(answer)) return { ...base, verdict: 'unanswered', message: `${label}: ${check.command.join(' ')} did not print one JSON object` };
  const judged = check.expect.map((e) => judge(e, answer, now));
  const failed = judged.filter((j) => !j.ok);
  if (failed.length === 0) return { ...base, verdict: 'pass', message: `${label}: ${check.description} (${judged.map((j) => j.found).join(', ')})` };
  const detailValue = check.detail ? fieldOf(answer, check.detail) : undefined;
  const detail = typeof detailValue === 'string' && detailValue.trim() ? detailValue.trim().slice(0, 300) : null;
  return { ...base, verdict: 'fail', detail, message: `${label} fails: ${failed.map((j) => j.found).join(', ')}${detail ? `: ${detail}` : ''}` };
}

/** Every check judged (pure); a check the host did not answer is `not-run`. */
export function evaluateChecks(desired: ChecksDesired, probes: ReadonlyMap<string, Probe>, now: number): ChecksObserved {
  return { now, results: desired.checks.map((c) => evaluateCheck(c, probes.get(checkKey(c)), now)) };
}

/** A check's key in the observation: `service/name`. */
export function checkKey(c: { service: string; name: string }): string {
  return `${c.service}/${c.name}`;
}

/** Checks only read: there is never anything to do. */
export function diffChecks(_desired: ChecksDesired, _observed: ChecksObserved | null): Action[] {
  return [];
}

const REASON: Record<Verdict, string> = { pass: 'ChecksPassing', fail: 'CheckFailing', unanswered: 'CheckUnanswered', 'not-run': 'CheckNotRun' };
const STATUS = { pass: 'Healthy', fail: 'Degraded', unanswered: 'Degraded', 'not-run': 'Missing' } as const;

export function healthChecks(desired: ChecksDesired, observed: ChecksObserved | null): Health {
  if (!observed) return { status: 'Unknown', reason: 'NotObserved', message: 'the host could not be observed' };
  const each = observed.results.map((r) => ({ status: STATUS[r.verdict], reason: REASON[r.verdict], message: r.message, r }));
  if (each.length === 0) return { status: 'Healthy', reason: 'NoChecks', message: 'no check is declared for this customer' };
  const worst = worstOf(each);
  const bad = each.find((e) => e.r.verdict === 'fail' || e.r.verdict === 'unanswered');
  const check = bad ? desired.checks.find((c) => c.service === bad.r.service && c.name === bad.r.name) : undefined;
  const found = bad && check
    ? trap('service-check-failed', { service: check.service, check: check.name, customer: desired.customer, description: check.description, fix: check.fix, command: `docker compose -p ${check.project} exec ${check.container === '@active' ? '<the live color>' : check.container} ${check.command.join(' ')}` })
    : undefined;
  return { status: worst.status, reason: worst.reason, message: each.map((e) => e.message).join('; '), ...(found ? { trap: found } : {}) };
}
