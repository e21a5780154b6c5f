import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { setIn } from './yaml-edit.js';

const FILE = `# top comment
customers:
  # first
  a:
    name: 'single'   # trailing
    list: ["x", "y"]

  b:
    name: plain
    seq:
      - one
      - two
services:
  frame: {}
`;

describe('setIn (comment-keeping edit)', () => {
  it('returns the text unchanged when the value is equal', () => {
    assert.equal(setIn(FILE, ['customers', 'a', 'name'], 'single'), FILE);
  });

  it('replaces a scalar in place, keeping its quoting and comment', () => {
    const out = setIn(FILE, ['customers', 'a', 'name'], 'changed');
    assert.equal(out, FILE.replace("'single'", "'changed'"));
  });

  it('replaces a flow list in place', () => {
    assert.equal(setIn(FILE, ['customers', 'a', 'list'], ['z']), FILE.replace('["x", "y"]', '["z"]'));
  });

  it('replaces a block list keeping everything around it', () => {
    const out = setIn(FILE, ['customers', 'b', 'seq'], ['three']);
    assert.equal(out, FILE.replace('      - one\n      - two\n', '      - "three"\n'));
  });

  it('inserts a new key at the end of its map, keeping the blank-line rhythm', () => {
    const out = setIn(FILE, ['customers', 'c'], { name: 'new' });
    assert.equal(out, FILE.replace('      - two\n', '      - two\n\n  c:\n    name: "new"\n'));
    assert.deepEqual(parse(out).customers.c, { name: 'new' });
  });

  it('inserts into a flow map and creates missing parents', () => {
    const out = setIn(FILE, ['services', 'frame', 'a'], { secrets: ['S'] }, { strings: 'PLAIN' });
    assert.deepEqual(parse(out).services.frame, { a: { secrets: ['S'] } });
    assert.ok(out.startsWith(FILE.slice(0, FILE.indexOf('  frame:'))));
    const top = setIn(FILE, ['policy', 'mode'], 'observe');
    assert.equal(top, `${FILE}policy:\n  mode: "observe"\n`);
  });

  it('replaces null with a block mapping', () => {
    const text = 'x:\n  sso: null\n  after: 1\n';
    const out = setIn(text, ['x', 'sso'], { provider: 'p' });
    assert.equal(out, 'x:\n  sso:\n    provider: "p"\n  after: 1\n');
  });
});
