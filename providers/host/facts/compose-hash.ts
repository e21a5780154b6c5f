/**
 * Compose's config hash of each service of a stack, as compose computes the
 * label it puts on containers at `up`: from the *resolved* config
 * (`config | config -f - --hash '*'`; Compose 2.26's own `config --hash`
 * leaves `env_file` values out). A blue/green stack's active color is always
 * brought up alone (`up --no-deps`), which drops its depends_on from its hash:
 * its desired hash is computed the same way (STRIP_DEPENDS_ON), in the one run.
 *
 * The memo: two Go programs per stack on every scan are skipped when the
 * inputs are unchanged. They are summed by one `cat` and one sha256 (the
 * Compose plugin's stamp `$CST`, HEAD `$h` and the dirty count `$dy` and, when
 * dirty, the diff, the active color's service `$cs`, the compose files, the
 * env files and the override `$O`): the key comes back first, then the hashes
 * (from the memo when its key is the same). Runs in the stack's checkout, in
 * its group (facts/stack.ts) whose prelude set those variables.
 */
import { compose } from '../commands/compose.js';
import { git } from '../commands/git.js';
import { line, shellQuote, variable } from '../commands/quote.js';
import { IN_CHECKOUT } from './stack.js';
import type { Fact } from './fact.js';

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

/** What a stack's hashes came back with: its lines (`hash=<svc> <hash>`, `colorhash=…`) are what a memo keeps. */
export interface ComposeHashes {
  /** The sum of the inputs; null when the fact did not print one. */
  key: string | null;
  lines: string[];
  /** Per compose service, in compose's order (the color's hash as computed without its depends_on). */
  hashes: Array<[string, string]>;
  /** The active color's service and its no-deps hash (blue/green). */
  color: [string, string] | null;
}

export interface HashSpec {
  project: string;
  composeFiles: readonly string[];
  envFile: string;
  ownEnvFiles: readonly string[];
  blueGreen: boolean;
  /** The last hashes computed, under their inputs' key. */
  memo?: { key: string; lines: readonly string[] } | undefined;
}

/** The config hashes (or the memo's, same key): a background fact (two Go programs when computed). */
export function composeHashesFact(name: string, spec: HashSpec): Fact<ComposeHashes | null> {
  const p = spec.project;
  const files = spec.composeFiles;
  const config = (withOverride: boolean) => `${line([...compose(p, withOverride ? [...files, variable('O')] : files, spec.envFile).base, 'config'])} 2>/dev/null`;
  const hash = `${line(compose(p, ['-']).configHash('*'))} 2>/dev/null`;
  const strip = spec.blueGreen ? ` | awk -v s="$cs" ${shellQuote(STRIP_DEPENDS_ON)}` : '';
  const color = spec.blueGreen ? '; if [ -n "$cs" ] && [ "$a" = "$cs" ]; then echo "colorhash=$a $b"; fi' : '';
  const compute = `{ if [ -n "$O" ]; then ${config(true)}; else ${config(false)}; fi; }${strip} | ${hash} | while read -r a b; do echo "hash=$a $b"${color}; done`;
  const inputs = [...files.map(shellQuote), '"$f"', ...spec.ownEnvFiles.map(shellQuote), '${O:+"$O"}'].join(' ');
  const key = `hk=$( { printf '%s\\n' "$CST" "$h" "$dy" "${spec.blueGreen ? '$cs' : ''}"; if [ "$dy" != 0 ]; then ${line(git(variable('dir')).diffHead())} 2>/dev/null; fi; cat ${inputs} 2>/dev/null; } | axe_sum)`;
  const memo = spec.memo;
  return {
    name,
    background: true,
    guard: `[ -n "$D" ] && [ -f "$f" ] && ${IN_CHECKOUT} && cd "$dir"`,
    command: [key, 'echo "hashkey=$hk"', memo ? `if [ "$hk" = ${shellQuote(memo.key)} ]; then printf '%s\\n' ${memo.lines.map(shellQuote).join(' ')}; else ${compute}; fi` : compute].join('\n'),
    parse: (output, code) => {
      if (code === -1) return null;
      const out: ComposeHashes = { key: null, lines: [], hashes: [], color: null };
      for (const row of output.split('\n')) {
        const eq = row.indexOf('=');
        const [k, v] = [row.slice(0, eq), row.slice(eq + 1)];
        const [svc, h] = v.split(' ');
        if (k === 'hashkey') out.key = v || null;
        else if ((k === 'hash' || k === 'colorhash') && svc && h) {
          out.lines.push(row);
          if (k === 'hash') out.hashes.push([svc, h]);
          else out.color = [svc, h];
        }
      }
      return out;
    },
  };
}
