import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { paginate } from '../v4.js';
import { RECORD_PAGES } from './dns.js';

describe('DNS record pages', () => {
  it('honours per_page down to 1 and up to 5,000,000, default 100, as the spec\'s dns-records_per_page says', () => {
    const items = Array.from({ length: 3 }, (_, i) => i);
    const one = paginate(items, new URLSearchParams('per_page=1&page=2'), RECORD_PAGES);
    assert.deepEqual(one, { result: [1], result_info: { page: 2, per_page: 1, count: 1, total_count: 3, total_pages: 3 } });
    assert.equal(paginate(items, new URLSearchParams(''), RECORD_PAGES).result_info.per_page, 100);
    assert.equal(paginate(items, new URLSearchParams('per_page=9000000'), RECORD_PAGES).result_info.per_page, 5_000_000);
  });
});
