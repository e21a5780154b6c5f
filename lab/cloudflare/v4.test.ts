import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { paginate, V4Failure } from './v4.js';

const limits = { defaultPerPage: 100, minPerPage: 5, maxPerPage: 1000 };
const items = Array.from({ length: 12 }, (_, i) => i);

describe('v4 pagination', () => {
  it('pages with result_info like the API', () => {
    const page = paginate(items, new URLSearchParams('page=2&per_page=5'), limits);
    assert.deepEqual(page.result, [5, 6, 7, 8, 9]);
    assert.deepEqual(page.result_info, { page: 2, per_page: 5, count: 5, total_count: 12, total_pages: 3 });
  });

  it('answers an empty page past the last one (never page 1 again)', () => {
    const page = paginate(items, new URLSearchParams('page=4&per_page=5'), limits);
    assert.deepEqual(page.result, []);
    assert.deepEqual(page.result_info, { page: 4, per_page: 5, count: 0, total_count: 12, total_pages: 3 });
  });

  it('uses the default per_page and clamps it into the limits', () => {
    assert.equal(paginate(items, new URLSearchParams(''), limits).result_info.per_page, 100);
    assert.equal(paginate(items, new URLSearchParams('per_page=1'), limits).result_info.per_page, 5);
    assert.equal(paginate(items, new URLSearchParams('per_page=5000'), limits).result_info.per_page, 1000);
    assert.equal(paginate([], new URLSearchParams(''), limits).result_info.total_pages, 0);
  });

  it('refuses a page that is not a positive integer', () => {
    assert.throws(() => paginate(items, new URLSearchParams('page=0'), limits), (e: unknown) => e instanceof V4Failure && e.status === 400);
    assert.throws(() => paginate(items, new URLSearchParams('page=x'), limits), V4Failure);
  });
});
