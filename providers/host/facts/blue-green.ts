/**
 * What a blue/green stack's proxy says: its switch command without a color
 * prints the color it routes to (commands/blue-green.ts). Needs the project
 * helpers (`cid`) and "$D" (commands/project.ts `dockerPrelude`).
 */
import { docker } from '../commands/docker.js';
import { line, shellQuote, variable } from '../commands/quote.js';
import type { Fact } from './fact.js';

/** The last line the proxy's show command prints, trimmed ('' when the proxy does not run or says nothing). */
export function proxyAnswerFact(name: string, project: string, proxy: string, showCommand: readonly string[]): Fact<string> {
  return {
    name,
    command: `pc=$(cid ${shellQuote(project)} ${shellQuote(proxy)}); if [ -n "$pc" ]; then ${line(docker.exec(variable('pc'), showCommand))} 2>/dev/null | tail -n 1; fi`,
    parse: (output) => output.trim(),
  };
}
