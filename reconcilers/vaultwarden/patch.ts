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
 * - Every patch is verified by parsing the result: it must equal the original
 *   with exactly those env changes, or nothing is written.
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
}

export interface VaultFile {
  /** The service's environment as strings (booleans and numbers as YAML wrote them), or null when the service is not in the file. */
  env: Map<string, string> | null;
  /** External networks the file declares (by their real name). */
  externalNetworks: string[];
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
  const data = doc.toJS() as { services?: Record<string, { environment?: unknown }>; networks?: Record<string, { name?: string; external?: unknown } | null> };
  const service = data?.services?.[container];
  let env: Map<string, string> | null = null;
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
  return { env, externalNetworks };
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
 * Patches the file so the vault's env has every wanted key. Returns the new
 * text and the changes made (empty and the same text when nothing is needed).
 */
export function patchVaultCompose(text: string, spec: VaultPatchSpec): { text: string; changes: EnvChange[] } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`the vault compose file does not parse: ${doc.errors[0]!.message.split('\n')[0]}`);
  const before = readVaultFile(text, spec.container);
  if (!before.env) throw new Error(`service ${spec.container} is not in the vault compose file`);
  const changes = envChanges(before.env, spec);
  if (changes.length === 0) return { text, changes };
  const service = serviceNode(doc, spec.container) as unknown as { get(k: string, keep: true): unknown; range?: [number, number, number] };
  const envNode = service.get('environment', true) as Node | undefined;
  const splices: Splice[] = [];

  if (envNode && isMap(envNode) && !envNode.flow && envNode.items.length > 0) {
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
  } else {
    throw new Error(`the environment of ${spec.container} is empty or in flow style: add ${changes.map((c) => c.key).join(', ')} by hand`);
  }

  let out = text;
  for (const s of splices.sort((a, b) => b.at - a.at)) out = out.slice(0, s.at) + s.text + out.slice(s.end);
  // Verify: the same document with exactly these env values changed.
  const check = readVaultFile(out, spec.container);
  const expected = new Map(before.env);
  for (const c of changes) expected.set(c.key, c.to);
  const strip = (t: string) => {
    const data = parseDocument(t).toJS() as { services: Record<string, Record<string, unknown>> };
    delete data.services[spec.container]!.environment;
    return data;
  };
  if (!isDeepStrictEqual(check.env, expected) || !isDeepStrictEqual(strip(out), strip(text))) {
    throw new Error('internal error: the patched vault compose file is not the original with the env changes; nothing was written');
  }
  return { text: out, changes };
}
