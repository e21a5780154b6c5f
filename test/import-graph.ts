/**
 * The project's own import graph, read with the TypeScript compiler API (the
 * files tsconfig.json includes), and the cycles in it. An import counts
 * whatever its form: `import`, `import type`, `export … from` and a literal
 * `import('…')`, so a cycle hidden behind a type import is still one.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** File (relative to the root) → the project files it imports. */
export type ImportGraph = Map<string, string[]>;

function specifiers(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) out.push(node.moduleSpecifier.text);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) out.push(node.arguments[0].text);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) out.push(node.argument.literal.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Resolves a relative specifier (`./x.js` → `./x.ts`, or `./x/index.ts`); null for a package or a file outside the project. */
function resolveLocal(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts'), base]) if (candidate.endsWith('.ts') && existsSync(candidate)) return candidate;
  return null;
}

/** The import graph of every .ts file `tsconfig.json` under `root` includes. */
export function projectImportGraph(root: string): ImportGraph {
  const configPath = join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root);
  const graph: ImportGraph = new Map();
  for (const file of parsed.fileNames) {
    const deps = new Set<string>();
    for (const spec of specifiers(file, ts.sys.readFile(file) ?? '')) {
      const target = resolveLocal(file, spec);
      if (target) deps.add(relative(root, target));
    }
    graph.set(relative(root, file), [...deps].sort());
  }
  return graph;
}

/**
 * The imports that cross from one folder directly under `parent` into another
 * (`reconcilers/a/x.ts` → `reconcilers/b/y.ts`), as `from → to` lines, sorted;
 * test files (`*.test.ts`) are left out as importers. Files directly in
 * `parent` (shared modules) are neither side of such an edge.
 */
export function crossFolderImports(graph: ImportGraph, parent: string): string[] {
  const folderOf = (file: string): string | null => {
    const parts = file.split('/');
    return parts.length > 2 && parts[0] === parent ? parts[1]! : null;
  };
  const out: string[] = [];
  for (const [from, deps] of graph) {
    const own = folderOf(from);
    if (own === null || from.endsWith('.test.ts')) continue;
    for (const to of deps) {
      const other = folderOf(to);
      if (other !== null && other !== own) out.push(`${from} → ${to}`);
    }
  }
  return out.sort();
}

/**
 * Every cycle as its strongly connected component (Tarjan), each listed from
 * its smallest file name, in a stable order; a file importing itself is one.
 */
export function findCycles(graph: ImportGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** One readable line per cycle: `a.ts → b.ts → a.ts` along real edges. */
export function describeCycle(graph: ImportGraph, component: string[]): string {
  const members = new Set(component);
  const path = [component[0]!];
  const seen = new Set(path);
  for (;;) {
    const from = path[path.length - 1]!;
    const to = (graph.get(from) ?? []).find((d) => members.has(d) && (!seen.has(d) || d === component[0]));
    if (!to) break;
    path.push(to);
    if (to === component[0]) break;
    seen.add(to);
  }
  return path.join(' → ');
}
