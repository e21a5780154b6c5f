/**
 * Comment-keeping edits of a YAML file. The `yaml` document API finds where a
 * value lives (source ranges); the edit splices new text in at that range only,
 * so everything outside the edited value stays byte-identical: comments, blank
 * lines, key order, quoting. Every edit is verified by re-parsing: the result
 * must equal the original data with exactly that change, or the edit throws
 * and nothing is written.
 */
import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isPair, isScalar, isSeq, parseDocument, Scalar, type Node, type YAMLMap } from 'yaml';

export interface EditStyle {
  /** How new string scalars are quoted: as the runbook's block ("QUOTE_DOUBLE") or plain. */
  strings: 'QUOTE_DOUBLE' | 'PLAIN';
}

const DEFAULT_STYLE: EditStyle = { strings: 'QUOTE_DOUBLE' };

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function columnOf(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}

/** Renders a value as block YAML, every line indented by `indent` spaces. */
function renderBlock(value: unknown, indent: number, style: EditStyle): string {
  const doc = new Document(value);
  const text = doc.toString({
    indent: 2,
    indentSeq: true,
    defaultStringType: style.strings,
    defaultKeyType: 'PLAIN',
    lineWidth: 0,
    minContentWidth: 0,
  });
  const pad = ' '.repeat(indent);
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => (line ? pad + line : line))
    .join('\n');
}

function renderFlow(value: unknown, style: EditStyle): string {
  const doc = new Document(value, { flow: true } as never);
  const node = doc.contents as Node | null;
  if (node && (isMap(node) || isSeq(node))) node.flow = true;
  return doc.toString({ defaultStringType: style.strings, defaultKeyType: 'PLAIN', lineWidth: 0, flowCollectionPadding: false }).replace(/\n$/, '');
}

function renderScalar(value: unknown, like: Scalar | null, style: EditStyle): string {
  const scalar = new Scalar(value);
  if (like && typeof like.value === 'string' && typeof value === 'string' && (like.type === 'QUOTE_DOUBLE' || like.type === 'QUOTE_SINGLE' || like.type === 'PLAIN')) scalar.type = like.type;
  else if (typeof value === 'string') scalar.type = style.strings;
  const doc = new Document(scalar);
  return doc.toString({ lineWidth: 0 }).replace(/\n$/, '');
}

function isPlainScalarValue(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function setData(data: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string, ...string[]];
  const base = data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  return { ...base, [head]: setData(base[head], rest, value) };
}

function nest(path: readonly string[], value: unknown): unknown {
  return path.reduceRight<unknown>((acc, key) => ({ [key]: acc }), value);
}

/** Offset just after the end of the line on which `offset - 1` sits. */
function endOfLine(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === '\n') return offset;
  const nl = text.indexOf('\n', offset);
  return nl === -1 ? text.length : nl + 1;
}

/** The end of a map's content: after its last pair's value line. */
function mapContentEnd(text: string, map: YAMLMap): number {
  const last = map.items[map.items.length - 1];
  const end = (last?.value as Node | null)?.range?.[1] ?? (last?.key as Node | null)?.range?.[1] ?? map.range?.[1] ?? text.length;
  return endOfLine(text, end);
}

/** True when the map's last two entries are separated by a blank line (keep that rhythm). */
function blankLineSeparated(text: string, map: YAMLMap): boolean {
  const items = map.items;
  if (items.length < 2) return false;
  const prevEnd = (items[items.length - 2]!.value as Node | null)?.range?.[1];
  const lastStart = (items[items.length - 1]!.key as Node | null)?.range?.[0];
  if (prevEnd === undefined || lastStart === undefined) return false;
  return /\n[ \t]*\n/.test(text.slice(prevEnd - 1, lastStart));
}

/**
 * Sets the value at `path` (map keys only) to `value`, keeping all other text.
 * Returns the text unchanged when the value is already equal.
 */
export function setIn(text: string, path: readonly string[], value: unknown, style: EditStyle = DEFAULT_STYLE): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`cannot edit: the file does not parse (${doc.errors[0]?.message.split('\n')[0]})`);
  const before = doc.toJS();
  const expected = setData(before, path, value);
  if (isDeepStrictEqual(before, expected)) return text;
  const result = splice(text, doc, path, value, style);
  const check = parseDocument(result);
  if (check.errors.length > 0 || !isDeepStrictEqual(check.toJS(), expected)) {
    throw new Error(`internal error: the edit of ${path.join('.')} did not produce the expected document; nothing was written`);
  }
  return result;
}

function splice(text: string, doc: Document.Parsed, path: readonly string[], value: unknown, style: EditStyle): string {
  let parent: unknown = doc.contents;
  let depth = 0;
  let pair: { key: Node; value: Node | null } | null = null;
  for (const key of path) {
    if (!isMap(parent)) break;
    const found = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
    if (!found) break;
    pair = { key: found.key as Node, value: (found.value as Node | null) ?? null };
    depth += 1;
    if (depth < path.length) parent = found.value;
  }

  if (depth === path.length && pair) {
    const target = pair.value;
    const keyEnd = pair.key.range![1];
    const keyCol = columnOf(text, pair.key.range![0]);
    if (target && isScalar(target) && isPlainScalarValue(value)) {
      return text.slice(0, target.range![0]) + renderScalar(value, target, style) + text.slice(target.range![1]);
    }
    if (target && (isMap(target) || isSeq(target)) && target.flow && value !== null && typeof value === 'object') {
      return text.slice(0, target.range![0]) + renderFlow(value, style) + text.slice(target.range![1]);
    }
    if (target && (isMap(target) || isSeq(target)) && !target.flow && value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
      const col = columnOf(text, target.range![0]);
      const block = renderBlock(value, col, style).slice(col);
      const end = target.range![1];
      return text.slice(0, target.range![0]) + block + (text[end - 1] === '\n' ? '\n' : '') + text.slice(end);
    }
    // Change of shape (scalar <-> collection, or an empty collection): rewrite from the key's colon.
    const valueEnd = target?.range?.[1] ?? keyEnd;
    const colon = text.indexOf(':', keyEnd);
    const inline = isPlainScalarValue(value) || (typeof value === 'object' && value !== null && Object.keys(value).length === 0);
    if (inline) {
      const rendered = isPlainScalarValue(value) ? renderScalar(value, null, style) : renderFlow(value, style);
      return text.slice(0, colon) + `: ${rendered}` + (text[valueEnd - 1] === '\n' ? '\n' : '') + text.slice(valueEnd);
    }
    const block = renderBlock(value, keyCol + 2, style);
    const lineEnd = endOfLine(text, valueEnd);
    const tail = text[lineEnd - 1] === '\n' ? text.slice(lineEnd - 1) : '\n';
    return text.slice(0, colon) + ':\n' + block + tail;
  }

  // Missing from `path[depth]` on: insert the rest under the deepest existing map.
  const rest = nest(path.slice(depth + 1), value);
  const key = path[depth]!;
  if (depth === 0 && !isMap(doc.contents)) throw new Error('cannot edit: the document is not a mapping');
  const map = (depth === 0 ? doc.contents : pair?.value) as unknown;
  if (!isMap(map)) {
    // The parent exists but is a scalar/null/sequence: replace it as a whole.
    return splice(text, doc, path.slice(0, depth), nest(path.slice(depth), value), style);
  }
  if (map.flow) {
    const data = { ...(map.toJSON() as Record<string, unknown>), [key]: rest };
    return text.slice(0, map.range![0]) + renderFlow(data, style) + text.slice(map.range![1]);
  }
  const firstKey = map.items[0]?.key as Node | undefined;
  const indent = firstKey?.range ? columnOf(text, firstKey.range[0]) : depth === 0 ? 0 : columnOf(text, pair!.key.range![0]) + 2;
  const insertAt = map.items.length === 0 ? text.length : mapContentEnd(text, map);
  const block = renderBlock({ [key]: rest }, indent, style);
  const needsNewline = insertAt > 0 && text[insertAt - 1] !== '\n';
  return text.slice(0, insertAt) + (needsNewline ? '\n' : '') + (blankLineSeparated(text, map) ? '\n' : '') + block + '\n' + text.slice(insertAt);
}
