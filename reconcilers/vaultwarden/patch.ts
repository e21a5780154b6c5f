/**
 * The customer's Vaultwarden compose file, read and patched in place (pure).
 * The `yaml` document API finds where each value sits (source ranges); the
 * patch splices text at those ranges only, so every other byte of the file the
 * customer keeps (comments, alignment, order, quoting) stays as it was.
 *
 * Rules:
 * - Missing keys go right after the anchor key (the runbook's
 *   `SSO_SIGNUPS_MATCH_EMAIL`), or after the last key, in the manifest's
 *   order, aligned like the anchor's line; wrong values are replaced in place.
 * - `environment` may be a map or a list of `KEY=value`; both are handled.
 * - With an SSO env file (`envFile`), the service names it under `env_file:`
 *   (added to what is there) and its keys leave `environment:`, which Compose
 *   would let win over `env_file:`; their lines are removed, nothing else.
 * - Every patch is verified by parsing the result: it must equal the original
 *   with exactly those env and env_file changes, or nothing is written.
 */
import { isDeepStrictEqual } from 'node:util';
import { isMap, isPair, isScalar, isSeq, type Node, parseDocument, type Scalar } from 'yaml';

export interface VaultPatchSpec {
  /** The compose service of the vault. */
  container: string;
  /** Keys that must carry these values. */
  required: Record<string, string>;
  anchor?: string;
  /** DOMAIN must end with this path. */
  domainPath: string;
  /** DOMAIN when the file has none: `https://{public_domain}{domainPath}`. */
  defaultDomain: string;
  /** The SSO env file beside the compose file (its name as `env_file:` gives it) and the keys it carries. */
  envFile?: { name: string; keys: string[] };
}

export interface VaultFile {
  /** The service's environment as strings (booleans and numbers as YAML wrote them), or null when the service is not in the file. */
  env: Map<string, string> | null;
  /** External networks the file declares (by their real name). */
  externalNetworks: string[];
  /** The service's `env_file:` entries (paths as written). */
  envFiles: string[];
}

function toStringValue(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

function serviceNode(doc: ReturnType<typeof parseDocument>, container: string): Node | null {
  const services = doc.get('services', true);
  if (!isMap(services)) return null;
  const service = services.get(container, true);
  return isMap(service) ? (service as Node) : null;
}

export function readVaultFile(text: string, container: string): VaultFile {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`the vault compose file does not parse: ${doc.errors[0]!.message.split('\n')[0]}`);
  const data = doc.toJS() as { services?: Record<string, { environment?: unknown; env_file?: unknown }>; networks?: Record<string, { name?: string; external?: unknown } | null> };
  const service = data?.services?.[container];
  let env: Map<string, string> | null = null;
  const envFile = service?.env_file;
  const envFiles = (Array.isArray(envFile) ? envFile : envFile === undefined || envFile === null ? [] : [envFile]).map((f) => (f && typeof f === 'object' && 'path' in f ? String((f as { path: unknown }).path) : String(f)));
  if (service) {
    env = new Map();
    const e = service.environment;
    if (Array.isArray(e)) {
      for (const item of e) {
        const s = String(item);
        const eq = s.indexOf('=');
        env.set(eq < 0 ? s : s.slice(0, eq), eq < 0 ? '' : s.slice(eq + 1));
      }
    } else if (e && typeof e === 'object') {
      for (const [k, v] of Object.entries(e)) env.set(k, toStringValue(v));
    }
  }
  const externalNetworks = Object.entries(data?.networks ?? {})
    .filter(([, n]) => n && n.external)
    .map(([key, n]) => n!.name ?? key);
  return { env, externalNetworks, envFiles };
}

/** What the SSO env file needs of the compose file: its keys to drop from `environment:`, and whether `env_file:` lacks it. */
export function envFileChanges(file: VaultFile, spec: VaultPatchSpec): { drop: string[]; addEnvFile: boolean } {
  if (!spec.envFile || !file.env) return { drop: [], addEnvFile: false };
  const name = spec.envFile.name;
  return { drop: spec.envFile.keys.filter((k) => file.env!.has(k)), addEnvFile: !file.envFiles.some((f) => f === name || f === `./${name}`) };
}

/** The DOMAIN the vault should have, given the one it has. */
export function wantedDomain(current: string | undefined, spec: VaultPatchSpec): string {
  if (!current) return spec.defaultDomain;
  const trimmed = current.replace(/\/+$/, '');
  return trimmed.endsWith(spec.domainPath) ? current : `${trimmed}${spec.domainPath}`;
}

/** Every key the vault's env must have, with its value (DOMAIN included). */
export function wantedEnv(env: Map<string, string>, spec: VaultPatchSpec): Map<string, string> {
  return new Map([...Object.entries(spec.required), ['DOMAIN', wantedDomain(env.get('DOMAIN'), spec)]]);
}

export interface EnvChange {
  key: string;
  from: string | null;
  to: string;
}

export function envChanges(env: Map<string, string>, spec: VaultPatchSpec): EnvChange[] {
  return [...wantedEnv(env, spec)].filter(([k, v]) => env.get(k) !== v).map(([key, to]) => ({ key, from: env.has(key) ? env.get(key)! : null, to }));
}

interface Splice {
  at: number;
  end: number;
  text: string;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl === -1 ? text.length : nl + 1;
}

/**
 * Names the env file under the service's `env_file:`: a new key (before
 * `environment:`, else before the service's first key, at its indent), an item
 * appended to a block list, or a one-line list in place of a single path or a
 * flow list of paths.
 */
function envFileSplice(text: string, service: { get(k: string, keep: true): unknown; items: unknown[] }, name: string): Splice {
  const q = JSON.stringify;
  const node = service.get('env_file', true) as Node | undefined;
  if (node === undefined) {
    const pairs = service.items.filter(isPair);
    const before = pairs.find((p) => isScalar(p.key) && p.key.value === 'environment') ?? pairs[0];
    const keyStart = (before!.key as Scalar).range![0];
    const at = lineStart(text, keyStart);
    return { at, end: at, text: `${' '.repeat(keyStart - at)}env_file: [${q(name)}]\n` };
  }
  if (isScalar(node) && node.range) return { at: node.range[0], end: node.range[1], text: `[${q(String(node.value))}, ${q(name)}]` };
  if (isSeq(node) && !node.flow && node.items.length > 0) {
    const last = node.items[node.items.length - 1] as Node;
    const first = (node.items[0] as Node).range![0];
    const dash = text.lastIndexOf('-', first);
    const at = lineEnd(text, last.range![1]);
    return { at, end: at, text: `${' '.repeat(dash - lineStart(text, dash))}- ${q(name)}\n` };
  }
  if (isSeq(node) && node.range && node.items.every(isScalar)) {
    return { at: node.range[0], end: node.range[1], text: `[${[...node.items.map((i) => q(String((i as Scalar).value))), q(name)].join(', ')}]` };
  }
  throw new Error(`the env_file of the vault service is not a path or a list of paths: add ${name} to it by hand`);
}

/**
 * Patches the file so the vault's env has every wanted key. Returns the new
 * text and the changes made (empty and the same text when nothing is needed).
 */
export function patchVaultCompose(text: string, spec: VaultPatchSpec): { text: string; changes: EnvChange[] } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`the vault compose file does not parse: ${doc.errors[0]!.message.split('\n')[0]}`);
  const before = readVaultFile(text, spec.container);
  if (!before.env) throw new Error(`service ${spec.container} is not in the vault compose file`);
  const changes = envChanges(before.env, spec);
  const { drop, addEnvFile } = envFileChanges(before, spec);
  if (changes.length === 0 && drop.length === 0 && !addEnvFile) return { text, changes };
  const service = serviceNode(doc, spec.container) as unknown as { get(k: string, keep: true): unknown; items: unknown[]; range?: [number, number, number] };
  const envNode = service.get('environment', true) as Node | undefined;
  const splices: Splice[] = [];
  const dropLine = (start: number, end: number): void => void splices.push({ at: lineStart(text, start), end: lineEnd(text, end), text: '' });

  if (changes.length === 0 && drop.length === 0) {
    // Only env_file: the environment block is left as it is.
  } else if (envNode && isMap(envNode) && !envNode.flow && envNode.items.length > 0) {
    const pairs = envNode.items.filter(isPair);
    const find = (key: string) => pairs.find((p) => isScalar(p.key) && String(p.key.value) === key);
    const anchor = (spec.anchor && find(spec.anchor)) || pairs[pairs.length - 1]!;
    const anchorKey = anchor.key as Scalar;
    const anchorValue = anchor.value as Scalar | null;
    const keyStart = anchorKey.range![0];
    const indent = keyStart - lineStart(text, keyStart);
    const valueCol = anchorValue?.range ? anchorValue.range[0] - lineStart(text, anchorValue.range[0]) : indent + String(anchorKey.value).length + 2;
    const insertAt = lineEnd(text, (anchorValue?.range ?? anchorKey.range!)[1]);
    const inserted: string[] = [];
    for (const change of changes) {
      const pair = find(change.key);
      const quoted = JSON.stringify(change.to);
      if (pair && isScalar(pair.value) && pair.value.range) {
        splices.push({ at: pair.value.range[0], end: pair.value.range[1], text: quoted });
      } else if (!pair) {
        const head = `${' '.repeat(indent)}${change.key}:`;
        inserted.push(`${head.padEnd(Math.max(valueCol - 1, head.length))} ${quoted}\n`);
      } else {
        throw new Error(`${change.key} in the vault compose file is not a plain value; set it to ${quoted} by hand`);
      }
    }
    if (inserted.length) splices.push({ at: insertAt, end: insertAt, text: inserted.join('') });
    for (const key of drop) {
      const pair = find(key)!;
      dropLine((pair.key as Scalar).range![0], ((pair.value as Scalar | null)?.range ?? (pair.key as Scalar).range!)[1]);
    }
  } else if (envNode && isSeq(envNode) && !envNode.flow && envNode.items.length > 0) {
    const items = envNode.items.filter(isScalar);
    const find = (key: string) => items.find((i) => String(i.value).split('=')[0] === key);
    const anchor = (spec.anchor && find(spec.anchor)) || items[items.length - 1]!;
    const start = anchor.range![0];
    const dash = text.lastIndexOf('-', start);
    const indent = dash - lineStart(text, dash);
    const insertAt = lineEnd(text, anchor.range![1]);
    const inserted: string[] = [];
    for (const change of changes) {
      const item = find(change.key);
      const entry = `${change.key}=${change.to}`;
      if (item?.range) splices.push({ at: item.range[0], end: item.range[1], text: JSON.stringify(entry) });
      else inserted.push(`${' '.repeat(indent)}- ${JSON.stringify(entry)}\n`);
    }
    if (inserted.length) splices.push({ at: insertAt, end: insertAt, text: inserted.join('') });
    for (const key of drop) dropLine(find(key)!.range![0], find(key)!.range![1]);
  } else {
    const what = [...changes.map((c) => `set ${c.key}`), ...drop.map((k) => `remove ${k}`)].join(', ');
    throw new Error(`the environment of ${spec.container} is empty or in flow style: ${what} by hand`);
  }
  if (addEnvFile) splices.push(envFileSplice(text, service, spec.envFile!.name));

  let out = text;
  // From the end; at one offset a removed line goes before the text inserted there.
  for (const s of splices.sort((a, b) => b.at - a.at || b.end - a.end)) out = out.slice(0, s.at) + s.text + out.slice(s.end);
  // Verify: the same document with exactly these env values changed, these keys removed and the env file named.
  const check = readVaultFile(out, spec.container);
  const expected = new Map(before.env);
  for (const c of changes) expected.set(c.key, c.to);
  for (const key of drop) expected.delete(key);
  const expectedFiles = addEnvFile ? [...before.envFiles, spec.envFile!.name] : before.envFiles;
  const strip = (t: string) => {
    const data = parseDocument(t).toJS() as { services: Record<string, Record<string, unknown>> };
    delete data.services[spec.container]!.environment;
    delete data.services[spec.container]!.env_file;
    return data;
  };
  if (!isDeepStrictEqual(check.env, expected) || !isDeepStrictEqual(check.envFiles, expectedFiles) || !isDeepStrictEqual(strip(out), strip(text))) {
    throw new Error('internal error: the patched vault compose file is not the original with the env changes; nothing was written');
  }
  return { text: out, changes };
}
