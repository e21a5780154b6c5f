/**
 * Loads YAML (and JSON, a YAML subset) with source positions, and validates it
 * with a zod schema so that every error names `file:line:column`, the path in
 * the document, and what was expected:
 *
 *   customers.yaml:42:7 customers.newco.sso.apps.blueprint.client_id: required
 *
 * Rules: a file that is a directory, empty, larger than `maxBytes`, not UTF-8,
 * unparsable or an alias bomb yields one issue and no value; nothing throws for
 * bad input. All schema issues are returned, not just the first.
 */
import { readFile, stat } from 'node:fs/promises';
import { Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';

/** One problem in one file, at one place. */
export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  /** Dotted path in the document (`customers.newco.sso`), '' for the whole file. */
  path: string;
  message: string;
}

export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
/** Aliases expanded per document before it is treated as an alias bomb. */
export const MAX_ALIAS_COUNT = 100;

export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where} ${issue.message}`;
}

export interface ParsedYaml {
  file: string;
  text: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

export type ReadResult = { ok: true; text: string } | { ok: false; issue: ConfigIssue };

function fileIssue(file: string, message: string): ConfigIssue {
  return { file, line: 1, col: 1, path: '', message };
}

/** Reads a config file, refusing directories, empty, oversized and non-UTF-8 files with one line each. */
export async function readConfigFile(absPath: string, file: string, maxBytes = DEFAULT_MAX_BYTES): Promise<ReadResult> {
  let info;
  try {
    info = await stat(absPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, issue: fileIssue(file, 'file not found') };
    return { ok: false, issue: fileIssue(file, `cannot read (${code ?? 'error'})`) };
  }
  if (info.isDirectory()) {
    return {
      ok: false,
      issue: fileIssue(file, `is a directory, not a file (runbook trap: created by mkdir or a bind mount); remove the directory and restore the file: rm -r ${file} && git checkout -- ${file}`),
    };
  }
  if (!info.isFile()) return { ok: false, issue: fileIssue(file, 'is not a regular file') };
  if (info.size === 0) return { ok: false, issue: fileIssue(file, 'is empty') };
  if (info.size > maxBytes) {
    return { ok: false, issue: fileIssue(file, `is too large (${(info.size / 1048576).toFixed(1)} MiB; the limit is ${(maxBytes / 1048576).toFixed(1)} MiB)`) };
  }
  const bytes = await readFile(absPath);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (text.includes('\uFFFD') && !bytes.toString('latin1').includes('\uFFFD')) {
    return { ok: false, issue: fileIssue(file, 'is not valid UTF-8') };
  }
  if (text.trim() === '') return { ok: false, issue: fileIssue(file, 'is empty') };
  return { ok: true, text };
}

/** Parses YAML text keeping positions and comments. Syntax errors come back as issues. */
export function parseYaml(text: string, file: string): { parsed: ParsedYaml; issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, keepSourceTokens: false });
  const issues: ConfigIssue[] = [];
  for (const error of doc.errors) {
    const pos = lineCounter.linePos(error.pos[0]);
    const message = error.message.split('\n')[0] ?? 'YAML syntax error';
    issues.push({ file, line: pos.line, col: pos.col, path: '', message: message.replace(/ at line \d+, column \d+.*$/, '') });
  }
  return { parsed: { file, text, doc, lineCounter }, issues };
}

/** The document as plain data, or an issue for an alias bomb or an invalid document. */
export function toData(parsed: ParsedYaml): { ok: true; data: unknown } | { ok: false; issue: ConfigIssue } {
  try {
    return { ok: true, data: parsed.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (error) {
    if (error instanceof ReferenceError || /alias/i.test((error as Error).message)) {
      return { ok: false, issue: fileIssue(parsed.file, `too many alias expansions (more than ${MAX_ALIAS_COUNT}): refusing a possible YAML alias bomb`) };
    }
    return { ok: false, issue: fileIssue(parsed.file, `cannot be read as data: ${(error as Error).message.split('\n')[0]}`) };
  }
}

type PathKey = string | number;

/** Finds the deepest node on `path`; returns it and how many segments were found. */
function deepestNode(doc: Document, path: readonly PathKey[]): { node: Node | null; keyNode: Node | null; depth: number } {
  let node: unknown = doc.contents;
  let keyNode: Node | null = null;
  let depth = 0;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      keyNode = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (item === undefined) break;
      keyNode = null;
      node = item;
    } else {
      break;
    }
    depth += 1;
  }
  return { node: (node as Node | null) ?? null, keyNode, depth };
}

/** `file:line:col` of the value at `path`, or of the deepest existing parent. */
export function positionOf(parsed: ParsedYaml, path: readonly PathKey[], preferKey = false): { line: number; col: number } {
  const { node, keyNode, depth } = deepestNode(parsed.doc, path);
  const target = depth === path.length && preferKey && keyNode ? keyNode : depth === path.length ? (node ?? keyNode) : (keyNode ?? node);
  const offset = target?.range?.[0] ?? 0;
  return parsed.lineCounter.linePos(offset);
}

/** Position of the key `key` inside the map at `path` (for unknown-key errors). */
function positionOfKey(parsed: ParsedYaml, path: readonly PathKey[], key: string): { line: number; col: number } {
  return positionOf(parsed, [...path, key], true);
}

export function dotted(path: readonly PathKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** Keys a strict object schema accepts at `path` (for "did you mean"). */
function knownKeys(schema: z.ZodType, path: readonly PathKey[]): string[] {
  let current: any = schema;
  for (const key of path) {
    current = unwrap(current);
    if (!current) return [];
    const def = current._zod?.def;
    if (def?.type === 'object') current = def.shape[key as string];
    else if (def?.type === 'record') current = def.valueType;
    else if (def?.type === 'array') current = def.element;
    else return [];
  }
  current = unwrap(current);
  const def = current?._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape) : [];
}

function unwrap(schema: any): any {
  let current = schema;
  for (let i = 0; i < 10 && current; i += 1) {
    const def = current._zod?.def;
    if (!def) return current;
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default' || def.type === 'prefault') current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else return current;
  }
  return current;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

function valueAt(data: unknown, path: readonly PathKey[]): unknown {
  let current: any = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = current[key as any];
  }
  return current;
}

/** Turns one zod issue into one positioned, human message. Never includes the offending value. */
function toIssue(parsed: ParsedYaml, schema: z.ZodType, data: unknown, issue: z.core.$ZodIssue, pathPrefix: readonly PathKey[]): ConfigIssue[] {
  const path = [...pathPrefix, ...(issue.path as PathKey[])];
  const make = (p: readonly PathKey[], message: string, preferKey = false): ConfigIssue => {
    const pos = positionOf(parsed, p, preferKey);
    return { file: parsed.file, line: pos.line, col: pos.col, path: dotted(p), message };
  };
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schema, issue.path as PathKey[]);
      return issue.keys.map((key) => {
        const guess = closest(key, known);
        const hint = guess ? ` (did you mean "${guess}"?)` : known.length ? ` (expected one of: ${known.join(', ')})` : '';
        const pos = positionOfKey(parsed, path, key);
        return { file: parsed.file, line: pos.line, col: pos.col, path: dotted([...path, key]), message: `unknown key${hint}` };
      });
    }
    case 'invalid_type': {
      const actual = valueAt(data, issue.path as PathKey[]);
      if (actual === undefined) return [make(path, 'required')];
      const expected = issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : issue.expected;
      return [make(path, `expected ${expected}, got ${describe(actual)}`)];
    }
    case 'invalid_value': {
      // A schema's own message (what each value means) follows the expected values; zod's default ("Invalid option…") does not.
      const meaning = /^Invalid (option|input)/.test(issue.message) ? '' : `: ${issue.message}`;
      return [make(path, `expected ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}${meaning}`)];
    }
    case 'invalid_union': {
      const nested = issue.errors.flat();
      const direct = nested.filter((n) => n.code !== 'invalid_type' || valueAt(data, [...(issue.path as PathKey[]), ...(n.path as PathKey[])]) !== undefined);
      const first = (direct[0] ?? nested[0]) as z.core.$ZodIssue | undefined;
      if (first && 'discriminator' in issue) return toIssue(parsed, schema, data, { ...first, path: [...issue.path, ...first.path] }, pathPrefix);
      return [make(path, first && first.code !== 'invalid_type' ? first.message : 'does not match any allowed form')];
    }
    case 'invalid_key':
      return [make(path, issue.issues[0]?.message ?? 'invalid key', true)];
    case 'too_small':
      if (issue.origin === 'array') return [make(path, `must have at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}`)];
      if (issue.origin === 'string') return [make(path, issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`)];
      return [make(path, `must be at least ${issue.minimum}`)];
    case 'too_big':
      return [make(path, `must be at most ${issue.maximum}${issue.origin === 'string' ? ' characters' : ''}`)];
    default:
      return [make(path, issue.message)];
  }
}

/**
 * Validates data parsed from `parsed` against `schema`. Issues point into the
 * source; `pathPrefix` is prepended when the schema covers a sub-tree.
 */
export function validate<S extends z.ZodType>(
  parsed: ParsedYaml,
  schema: S,
  data: unknown,
  pathPrefix: readonly PathKey[] = [],
): { ok: true; value: z.infer<S> } | { ok: false; issues: ConfigIssue[] } {
  const result = schema.safeParse(data);
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues.flatMap((issue) => toIssue(parsed, schema, data, issue, pathPrefix));
  return { ok: false, issues: sortIssues(issues) };
}

export function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.path.localeCompare(b.path));
}

/** Read + parse + validate in one step. */
export async function loadFile<S extends z.ZodType>(
  absPath: string,
  file: string,
  schema: S,
  options: { maxBytes?: number; prepare?: (data: unknown) => unknown } = {},
): Promise<{ ok: true; value: z.infer<S>; parsed: ParsedYaml } | { ok: false; issues: ConfigIssue[]; parsed?: ParsedYaml }> {
  const read = await readConfigFile(absPath, file, options.maxBytes);
  if (!read.ok) return { ok: false, issues: [read.issue] };
  return loadText(read.text, file, schema, options);
}

export function loadText<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  options: { prepare?: (data: unknown) => unknown } = {},
): { ok: true; value: z.infer<S>; parsed: ParsedYaml } | { ok: false; issues: ConfigIssue[]; parsed?: ParsedYaml } {
  const { parsed, issues } = parseYaml(text, file);
  if (issues.length > 0) return { ok: false, issues, parsed };
  const data = toData(parsed);
  if (!data.ok) return { ok: false, issues: [data.issue], parsed };
  const prepared = options.prepare ? options.prepare(data.data) : data.data;
  const result = validate(parsed, schema, prepared);
  if (!result.ok) return { ok: false, issues: result.issues, parsed };
  return { ok: true, value: result.value, parsed };
}
