/**
 * The checks kind's host read: one read-only section of the host's batched
 * round trip, one fact per check (the command `docker exec`ed in its stack's
 * running container, the live color for `@active`), all side by side, each
 * killed after 10 s; and the host's clock. The facts and their shell are
 * providers/host's (facts/exec.ts, the timed form of facts/fact.ts); this
 * file only names them and reads their typed values.
 */
import { dockerPrelude } from '../../providers/host/commands/project.js';
import { type ExecAnswer, execInContainerFact } from '../../providers/host/facts/exec.js';
import { type Fact, factsSection, readFacts } from '../../providers/host/facts/fact.js';
import { hostClockFact, toolFoundFact } from '../../providers/host/facts/host.js';
import type { HostSection } from '../../providers/host/sections.js';
import { type CheckDesired, type ChecksDesired, checkKey, type Probe } from './diff.js';

export const CHECKS_SECTION = 'checks';
/** A check that has not answered after this many seconds is killed (the batch must not hang on it). */
export const CHECK_TIMEOUT_SECONDS = 10;

const factName = (i: number) => `check${i}`;
/** `@active` needs the stack's blue/green target; without one there is nothing to run in. */
const runnable = (c: CheckDesired) => c.container !== '@active' || c.blueGreen !== null;

function facts(desired: ChecksDesired, timeoutSeconds: number) {
  const checks: Record<string, Fact<ExecAnswer>> = {};
  desired.checks.forEach((c, i) => {
    if (runnable(c)) checks[factName(i)] = execInContainerFact(factName(i), c, c.command, timeoutSeconds);
  });
  return { host: { now: hostClockFact('now'), docker: toolFoundFact('docker', 'docker') }, checks };
}

/** The read-only section: the host's clock, then every check (side by side). */
export function checksSection(desired: ChecksDesired, toolPaths: readonly string[], timeoutSeconds = CHECK_TIMEOUT_SECONDS): HostSection {
  const f = facts(desired, timeoutSeconds);
  return factsSection(CHECKS_SECTION, { ...f.host, ...f.checks }, dockerPrelude(toolPaths));
}

function probeOf(check: CheckDesired, answer: ExecAnswer | undefined): Probe {
  if (!answer || answer.state === 'no-container') return { state: 'not-run', why: `no running container for ${check.container} in ${check.project}` };
  if (answer.state === 'not-started') return { state: 'not-run', why: answer.why };
  return { state: 'ran', code: answer.code, stdout: answer.stdout, stderr: answer.stderr };
}

/** The probes by check key and the host's clock (epoch ms; `fallbackNow` when it did not say). Pure. */
export function readChecks(output: string, desired: ChecksDesired, fallbackNow: number): { now: number; probes: Map<string, Probe> } {
  const f = facts(desired, CHECK_TIMEOUT_SECONDS);
  const host = readFacts(output, f.host);
  const answers = readFacts(output, f.checks);
  const probes = new Map<string, Probe>();
  // The docker fact did not run: the section gave no answer, and no check is judged.
  if (host.docker !== null) {
    desired.checks.forEach((check, i) => {
      probes.set(checkKey(check), host.docker ? probeOf(check, answers[factName(i)]) : { state: 'not-run', why: 'docker was not found by absolute path on the host' });
    });
  }
  return { now: host.now ?? fallbackNow, probes };
}
