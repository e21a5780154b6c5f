/**
 * No import cycle among the project's own .ts files (the equivalent of
 * `madge --circular`, on the TypeScript compiler API), and the cycle finder
 * itself checked on small graphs with and without cycles; and no kind
 * (a folder under reconcilers/) importing another kind's files: what kinds
 * share lives in reconcilers/*.ts or providers/.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crossFolderImports, describeCycle, findCycles, type ImportGraph, projectImportGraph } from './import-graph.js';
import { ROOT } from './helpers.js';

const graph = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

describe('import cycles', () => {
  it('the finder reports a cycle through a chain, and only its members', () => {
    const g = graph({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts', 'd.ts'], 'd.ts': [] });
    const cycles = findCycles(g);
    assert.deepEqual(cycles, [['a.ts', 'b.ts', 'c.ts']]);
    assert.equal(describeCycle(g, cycles[0]!), 'a.ts → b.ts → c.ts → a.ts');
  });

  it('the finder reports a file importing itself and two separate cycles', () => {
    const g = graph({ 'x.ts': ['x.ts'], 'p.ts': ['q.ts'], 'q.ts': ['p.ts'], 'r.ts': ['p.ts'] });
    assert.deepEqual(findCycles(g), [['p.ts', 'q.ts'], ['x.ts']]);
  });

  it('the finder finds nothing in a graph without a cycle (a diamond)', () => {
    assert.deepEqual(findCycles(graph({ 'a.ts': ['b.ts', 'c.ts'], 'b.ts': ['d.ts'], 'c.ts': ['d.ts'], 'd.ts': [] })), []);
  });

  it('the project has no import cycle (type imports and import() included)', () => {
    const g = projectImportGraph(ROOT);
    assert.ok(g.size > 100, `the graph holds the project's files (${g.size})`);
    assert.ok(g.get('controller/run.ts')?.includes('controller/server.ts'), 'edges are read');
    const cycles = findCycles(g).map((c) => describeCycle(g, c));
    assert.deepEqual(cycles, [], `import cycles:\n${cycles.join('\n')}`);
  });

  it('the cross-folder finder reports an import from one kind folder into another, not shared files or tests', () => {
    const g = graph({
      'reconcilers/a/index.ts': ['reconcilers/a/diff.ts', 'reconcilers/b/diff.ts', 'reconcilers/shared.ts', 'providers/x.ts'],
      'reconcilers/a/diff.test.ts': ['reconcilers/b/diff.ts'],
      'reconcilers/shared.ts': ['reconcilers/b/diff.ts'],
      'reconcilers/b/diff.ts': [],
    });
    assert.deepEqual(crossFolderImports(g, 'reconcilers'), ['reconcilers/a/index.ts → reconcilers/b/diff.ts']);
  });

  it('no kind imports another kind\'s files (what kinds share lives at reconcilers/ level or in providers/)', () => {
    const edges = crossFolderImports(projectImportGraph(ROOT), 'reconcilers');
    assert.deepEqual(edges, [], `imports across kinds:\n${edges.join('\n')}`);
  });
});
