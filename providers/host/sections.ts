/**
 * Batched host observation: several read-only shell sections sent to a host
 * in ONE command (one SSH round trip), their outputs split apart again.
 *
 * Rules:
 * - Each section runs in its own subshell, so one section's failure or `exit`
 *   never hides the others; its exit code is reported with its output.
 * - Sections only read. Anything that changes the host is an action, run on
 *   its own after a fresh observation.
 * - The boundary marker is random per call, so no section output can forge it.
 */
import { randomBytes } from 'node:crypto';
import type { EngineCall } from './engine-api.js';
import { PROBE_SESSION_INIT } from './probe.js';
import type { HostConnection } from './ssh.js';

export interface HostSection {
  /** Unique within one call: `probe`, `cloudflared`, `stack:frame`. */
  name: string;
  /** POSIX sh; read-only. */
  script: string;
  /** Its engine facts' Engine API calls by fact name (facts/engine.ts), asked side by side with the batch when it runs with the engine. */
  engine?: Readonly<Record<string, EngineCall>>;
}

export interface SectionOutput {
  code: number;
  output: string;
}

/** The one script that runs every section, each output framed by the marker. */
export function sectionsScript(sections: readonly HostSection[], marker: string, prelude = ''): string {
  return (prelude ? `${prelude}\n` : '') + sections
    .map((s) => [`printf '\\n%s begin %s\\n' '${marker}' '${s.name}'`, `( ${s.script}\n)`, `printf '\\n%s end %s %s\\n' '${marker}' '${s.name}' "$?"`].join('\n'))
    .join('\n');
}

/** Splits the combined output back into sections (pure). */
export function parseSections(stdout: string, marker: string): Map<string, SectionOutput> {
  const out = new Map<string, SectionOutput>();
  const re = new RegExp(`\\n${marker} begin (\\S+)\\n([\\s\\S]*?)\\n${marker} end \\1 (\\d+)\\n`, 'g');
  for (const match of `\n${stdout}`.matchAll(re)) {
    out.set(match[1]!, { code: Number(match[3]), output: match[2]!.replace(/\n$/, '') });
  }
  return out;
}

/**
 * Runs every section over the connection in one round trip (`prelude`: shell
 * function definitions first), in the connection's kept shell (ssh.ts
 * `session`; the probe's once-per-connection facts are read when it opens).
 */
export async function runSections(connection: HostConnection, sections: readonly HostSection[], timeoutMs = 60_000, prelude = ''): Promise<Map<string, SectionOutput>> {
  const marker = `@@axe-${randomBytes(8).toString('hex')}`;
  const result = await connection.session(sectionsScript(sections, marker, prelude), { timeoutMs, init: PROBE_SESSION_INIT });
  return parseSections(result.stdout, marker);
}
