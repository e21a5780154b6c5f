/**
 * A compose stack on the host (its git checkout, env file, override and the
 * project's containers), read as facts. One stack is one FactGroup: its
 * prelude finds the checkout, reads HEAD and the dirty count (the hash memo's
 * key reads them too), lists the project's containers once (`$PSO`: what
 * `cid` answers from) and resolves a blue/green stack's active color (`$A`,
 * `$cs`); its facts read those. Needs the project helpers, "$D" and "$G"
 * (`stackSectionPrelude`). Values of the env file never leave the host: only
 * its sum, its key names and modes.
 */
import { activeColor, type BlueGreenTarget } from '../commands/blue-green.js';
import { git } from '../commands/git.js';
import { dockerPrelude, projectListing } from '../commands/project.js';
import { hostPath, line, shellQuote, variable } from '../commands/quote.js';
import { findTool } from '../commands/tools.js';
import { composeStampLookup } from '../probe.js';
import { healthOf, type Health } from './container.js';
import { jsonLines } from './docker.js';
import type { Fact } from './fact.js';

/** Files axe keeps in a checkout beside the env file (untracked). */
export const OVERRIDE_FILE = '.axe-compose.yml';
export const FAILURE_FILE = '.axe-failure';

/** Our labels on every container of a stack (those the observation reads). */
export const STACK_LABELS = { ref: 'ai.axelabs.axe.ref', envHash: 'ai.axelabs.axe.env-hash' } as const;

/** What the facts of one stack need to know of it. */
export interface StackOnHost {
  /** The checkout (`~/` is the home). */
  checkout: string;
  ref: string;
  /** The env file, relative to the checkout. */
  envFile: string;
  /** Each compose service's own env file (env.services), relative to the checkout. */
  ownEnvFiles: readonly string[];
  project: string;
  composeFiles: readonly string[];
  blueGreen: BlueGreenTarget | null;
}

/** The section's prelude: the project helpers, "$D", "$G" and the Compose plugin's stamp (`$CST`, for the hash memo's key). */
export function stackSectionPrelude(toolPaths: readonly string[]): string {
  return [dockerPrelude(toolPaths), findTool('G', 'git', toolPaths), composeStampLookup('CST')].join('\n');
}

const D = '[ -n "$D" ]';
/** The guard of the facts read in the checkout. */
export const IN_CHECKOUT = '[ -n "$G" ] && [ -d "$dir/.git" ]';
const g = git(variable('dir'));

const PS_FORMAT = ['{{.ID}}', '{{.Label "com.docker.compose.service"}}', '{{.State}}', '{{.Status}}', '{{.Label "com.docker.compose.config-hash"}}', `{{.Label "${STACK_LABELS.ref}"}}`, `{{.Label "${STACK_LABELS.envHash}"}}`].join('|');

/**
 * The stack's group prelude: `$dir`, `$f` (the env file), `$h` and `$dy`
 * (HEAD and the number of changed tracked files), `$O` (the override, when
 * present), `$PSO` (one listing of the project's containers) and, for a
 * blue/green stack, `$A` (its active color: `active` when an action just set
 * it) and `$cs` (that color's compose service).
 */
export function stackPrelude(t: StackOnHost, active?: 'blue' | 'green' | null): string {
  const bg = t.blueGreen;
  const color = bg
    ? [active ? `A=${active}` : activeColor('A', bg), `case "$A" in blue) cs=${shellQuote(bg.blue)};; green) cs=${shellQuote(bg.green)};; *) cs="";; esac`]
    : [];
  return [
    `dir=${hostPath(t.checkout)}`,
    `f="$dir"/${shellQuote(t.envFile)}`,
    'h=""; dy=0',
    `if ${IN_CHECKOUT}; then h=$(${line(g.verifyCommit('HEAD'))} 2>/dev/null); dy=$(${line(g.status())} 2>/dev/null | wc -l | tr -d ' '); fi`,
    `if [ -f "$dir"/${shellQuote(OVERRIDE_FILE)} ]; then O=${shellQuote(OVERRIDE_FILE)}; else O=""; fi`,
    'PSO=""; A=""; cs=""',
    `if ${D}; then`,
    projectListing(t.project, PS_FORMAT),
    ...color,
    'fi',
  ].join('\n');
}

export interface Checkout {
  head: string;
  /** The commit the ref names (a tag, a branch of origin, or a commit); null when it names none. */
  want: string | null;
  dirty: number;
  origin: string;
}

/** HEAD, the ref's commit, the dirty count and origin's URL; null when there is no checkout (or no git). */
export function checkoutFact(name: string, ref: string): Fact<Checkout | null> {
  const want = ['refs/tags/', 'refs/remotes/origin/', ''].map((p) => `${line(g.verifyCommit(`${p}${ref}`))} 2>/dev/null`).join(' || ');
  return {
    name,
    guard: IN_CHECKOUT,
    command: `printf '%s\\n%s\\n%s\\n' "$h" "$(${want})" "$dy"; ${line(g.originUrl())} 2>/dev/null`,
    parse: (output, code) => {
      if (code === -1) return null;
      const [head = '', wantCommit = '', dirty = '0', origin = ''] = output.split('\n');
      return { head, want: wantCommit || null, dirty: Number(dirty) || 0, origin };
    },
  };
}

export interface EnvFileFacts {
  /** The env file's mode, or the first of its compose services' own files' that is not 600. */
  mode: string;
  /** sha256 of the env file and the services' own files, the lines of `leftOut` vars dropped. */
  sha256: string;
  /** Its keys; false for a key whose value is empty. */
  keys: Map<string, boolean>;
}

const KEYS_AWK = '/^[A-Za-z_][A-Za-z0-9_]*=/ { printf "%s%s ", $1, (length($0) > length($1) + 1 ? "" : "!") }';

/** The env file's sum (without the `leftOut` vars' lines), its keys and modes; null when it is absent. */
export function envFileFact(name: string, ownFiles: readonly string[], leftOut: readonly string[]): Fact<EnvFileFacts | null> {
  const own = ownFiles.map((e) => `"$dir"/${shellQuote(e)}`);
  const cat = `cat "$f"${own.map((o) => ` ${o}`).join('')} 2>/dev/null`;
  const kept = leftOut.length ? `${cat} | grep -v -E ${shellQuote(`^(${leftOut.join('|')})=`)}` : cat;
  return {
    name,
    guard: '[ -f "$f" ]',
    command: [`${kept} | axe_sum`, `awk -F= ${shellQuote(KEYS_AWK)} "$f"; echo`, 'echo "$(axe_mode "$f")"', ...own.map((o) => `if [ -f ${o} ]; then echo "$(axe_mode ${o})"; else echo -; fi`)].join('\n'),
    parse: (output, code) => {
      if (code === -1) return null;
      const [sha256 = '', keyLine = '', first = '', ...others] = output.split('\n');
      let mode = first.trim();
      for (const m of others) if (mode === '600' && m !== '-') mode = m.trim();
      const keys = new Map<string, boolean>();
      for (const k of keyLine.split(' ').filter(Boolean)) keys.set(k.replace(/!$/, ''), !k.endsWith('!'));
      return { mode, sha256: sha256.trim(), keys };
    },
  };
}

/** Whether the override file is in the checkout (the prelude looked: no process). */
export function overrideFact(name: string): Fact<boolean> {
  return { name, command: '[ -n "$O" ]', parse: (_output, code) => code === 0 };
}

export interface StackContainer {
  id: string;
  service: string;
  state: string;
  health: Health;
  configHash: string;
  ref: string;
  envHash: string;
}

/** The project's containers, all states (the prelude's one listing); [] without docker. */
export function stackContainersFact(name: string): Fact<StackContainer[]> {
  return {
    name,
    guard: D,
    command: `printf '%s\\n' "$PSO"`,
    parse: (output) =>
      output.split('\n').flatMap((row) => {
        if (!row.trim()) return [];
        const [id = '', service = '', state = '', status = '', configHash = '', ref = '', envHash = ''] = row.split('|');
        return [{ id, service, state, health: healthOf(status), configHash, ref, envHash }];
      }),
  };
}

const NETWORKS = '{"id":{{json .Id}},"networks":{{json .NetworkSettings.Networks}}}';

/** The ids of the networks each of the project's containers is attached to, by container id (one inspect, JSON). */
export function stackContainerNetworksFact(name: string): Fact<Map<string, string[]>> {
  return {
    name,
    guard: `${D} && [ -n "$PSO" ]`,
    command: `"$D" inspect --format ${shellQuote(NETWORKS)} $(printf '%s\\n' "$PSO" | cut -d'|' -f1) 2>/dev/null`,
    parse: (output) =>
      new Map(
        jsonLines<{ id?: string; networks?: Record<string, { NetworkID?: string }> | null }>(output).flatMap((c) =>
          c.id ? [[c.id, Object.values(c.networks ?? {}).flatMap((n) => (n.NetworkID ? [n.NetworkID] : []))] as [string, string[]]] : [],
        ),
      ),
  };
}

/** A blue/green stack's active color as the prelude resolved it. */
export function activeColorFact(name: string): Fact<'blue' | 'green' | null> {
  return { name, guard: D, command: 'printf \'%s\' "$A"', parse: (output) => (output === 'blue' || output === 'green' ? output : null) };
}

/** The failure record's first line as JSON (an object), or null when absent or not JSON. */
export function failureRecordFact(name: string): Fact<Record<string, unknown> | null> {
  const file = `"$dir"/${shellQuote(FAILURE_FILE)}`;
  return {
    name,
    guard: `${D} && [ -f ${file} ]`,
    command: `head -n 1 ${file}`,
    parse: (output, code) => {
      if (code === -1 || !output.trim()) return null;
      try {
        const value = JSON.parse(output) as unknown;
        return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
      } catch {
        return null;
      }
    },
  };
}
