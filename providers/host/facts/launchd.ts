/** launchd on macOS: a job in the system domain, in the login user's gui/ domain, and small reads around it. */
import { line, shellQuote, type Word } from '../commands/quote.js';
import type { Fact } from './fact.js';

export type JobState = 'running' | 'stopped' | 'missing';

/** `launchctl print system/LABEL`: running, stopped (loaded, not running) or missing (pure parse). */
export function systemJobFact(name: string, label: string): Fact<JobState> {
  return {
    name,
    command: `/bin/launchctl print ${shellQuote(`system/${label}`)} 2>/dev/null`,
    parse: (output, code) => (code !== 0 ? 'missing' : /state = running/.test(output) ? 'running' : 'stopped'),
  };
}

/** Whether the job is (wrongly) loaded in the login user's gui/ domain. */
export function guiJobFact(name: string, label: string): Fact<boolean> {
  return { name, command: `/bin/launchctl print "gui/$(id -u)/"${shellQuote(label)} >/dev/null 2>&1`, parse: (_output, code) => code === 0 };
}

/** Whether a local URL answers 2xx within `seconds` (curl by absolute path). */
export function httpOkFact(name: string, url: string, seconds: number): Fact<boolean> {
  return { name, command: `/usr/bin/curl -fsS -m ${seconds} -o /dev/null ${shellQuote(url)} 2>/dev/null`, parse: (_output, code) => code === 0 };
}

/** A small text file's first line, or null when it is absent. */
export function textFileFact(name: string, file: Word): Fact<string | null> {
  return { name, command: `if [ -f ${line([file])} ]; then cat ${line([file])}; fi`, parse: (output) => (output === '' ? null : output.split('\n')[0]!.trim()) };
}
