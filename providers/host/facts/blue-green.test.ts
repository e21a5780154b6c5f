import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasTool } from '../commands/tools.js';
import { proxyAnswerFact } from './blue-green.js';

describe('blue/green facts (exact)', () => {
  it("the proxy's answer: its show command in its running container, the last line, trimmed", () => {
    const f = proxyAnswerFact('0.answer', "demo-frame'x", 'axe-frame-proxy', ['proxy', 'show']);
    assert.equal(f.command, `pc=$(cid 'demo-frame'\\''x' 'axe-frame-proxy'); if [ -n "$pc" ]; then "$D" 'exec' "$pc" 'proxy' 'show' 2>/dev/null | tail -n 1; fi`);
    assert.equal(f.parse(' green \n', 0, ''), 'green');
    assert.equal(f.parse('', -1, ''), '');
    assert.equal(hasTool('docker'), '[ -n "$D" ]');
    assert.equal(hasTool('git'), '[ -n "$G" ]');
  });
});
