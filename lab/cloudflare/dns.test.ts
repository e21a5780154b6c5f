import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { absoluteName, conflict, recordFilter, recordView, sortRecords, validateRecord } from './dns.js';
import type { DnsRecordState, ZoneState } from './state.js';

const zone: ZoneState = { id: 'z1', name: 'axelabs.ai', created_on: '2026-01-01T00:00:00Z', modified_on: '2026-01-01T00:00:00Z' };
let seq = 0;
function rec(over: Partial<DnsRecordState>): DnsRecordState {
  seq += 1;
  return {
    id: `r${seq}`,
    zone_id: 'z1',
    name: 'demo.axelabs.ai',
    type: 'CNAME',
    content: 't.cfargotunnel.com',
    proxied: true,
    ttl: 1,
    comment: null,
    tags: [],
    created_on: `2026-01-01T00:00:${String(seq).padStart(2, '0')}Z`,
    modified_on: '2026-01-01T00:00:00Z',
    ...over,
  };
}

describe('dns names and validation', () => {
  it('makes @, relative and absolute names absolute and lowercase', () => {
    assert.equal(absoluteName('@', zone), 'axelabs.ai');
    assert.equal(absoluteName('Demo', zone), 'demo.axelabs.ai');
    assert.equal(absoluteName('demo.axelabs.ai.', zone), 'demo.axelabs.ai');
  });

  it('accepts a proxied CNAME and forces the automatic TTL on it', () => {
    const result = validateRecord({ type: 'cname', name: 'demo', content: 'ABC.cfargotunnel.com.', proxied: true, ttl: 300 }, zone);
    assert.ok('record' in result);
    assert.deepEqual(result.record, { name: 'demo.axelabs.ai', type: 'CNAME', content: 'abc.cfargotunnel.com', proxied: true, ttl: 1, comment: null, tags: [] });
  });

  it('rejects a bad A address, a proxied TXT and an out-of-range TTL with v4 codes', () => {
    assert.deepEqual(validateRecord({ type: 'A', name: 'x', content: '10.0.0' }, zone), { error: { code: 9005, message: 'Content for A record must be a valid IPv4 address.' } });
    const txt = validateRecord({ type: 'TXT', name: 'x', content: 'v=1', proxied: true }, zone);
    assert.ok('error' in txt && txt.error.code === 9004);
    const ttl = validateRecord({ type: 'A', name: 'x', content: '10.0.0.1', ttl: 20 }, zone);
    assert.ok('error' in ttl && ttl.error.code === 9021);
  });
});

describe('dns same-name conflicts', () => {
  const a = rec({ type: 'A', content: '10.0.0.1', proxied: false });
  it('81053 for a CNAME where an A already is', () => {
    assert.equal(conflict({ name: 'demo.axelabs.ai', type: 'CNAME', content: 'x.cfargotunnel.com' }, [a])?.code, 81053);
  });
  it('81054 for an A (or TXT) where a CNAME already is', () => {
    const cname = rec({});
    assert.equal(conflict({ name: 'demo.axelabs.ai', type: 'A', content: '10.0.0.2' }, [cname])?.code, 81054);
    assert.equal(conflict({ name: 'demo.axelabs.ai', type: 'TXT', content: 'hello' }, [cname])?.code, 81054);
  });
  it('81057 for an identical record, case-insensitively for names', () => {
    assert.equal(conflict({ name: 'demo.axelabs.ai', type: 'A', content: '10.0.0.1' }, [a])?.code, 81057);
    assert.equal(conflict({ name: 'demo.axelabs.ai', type: 'CNAME', content: 't.cfargotunnel.com' }, [rec({ content: 'T.cfargotunnel.com' })])?.code, 81057);
  });
  it('allows several A records, and anything at another name', () => {
    assert.equal(conflict({ name: 'demo.axelabs.ai', type: 'A', content: '10.0.0.2' }, [a]), null);
    assert.equal(conflict({ name: 'other.axelabs.ai', type: 'CNAME', content: 'x.cfargotunnel.com' }, [a]), null);
  });
});

describe('dns list filters and order', () => {
  const records = [
    rec({ name: 'a.axelabs.ai', type: 'A', content: '10.0.0.1', comment: 'managed-by=axe customer=a' }),
    rec({ name: 'b.axelabs.ai', comment: 'hand made' }),
    rec({ name: 'b.axelabs.ai', type: 'TXT', content: 'v=spf1' }),
  ];
  function names(query: string): string[] {
    const filter = recordFilter(new URLSearchParams(query), zone);
    assert.equal(typeof filter, 'function');
    return records.filter(filter as (r: DnsRecordState) => boolean).map((r) => `${r.type} ${r.name}`);
  }
  it('filters by name (relative or absolute, plain or .exact), type, content and comment', () => {
    assert.deepEqual(names('name=b'), ['CNAME b.axelabs.ai', 'TXT b.axelabs.ai']);
    assert.deepEqual(names('name.exact=b.axelabs.ai&type=TXT'), ['TXT b.axelabs.ai']);
    assert.deepEqual(names('content=10.0.0.1'), ['A a.axelabs.ai']);
    assert.deepEqual(names('comment.contains=managed-by%3Daxe'), ['A a.axelabs.ai']);
    assert.deepEqual(names('comment=hand%20made'), ['CNAME b.axelabs.ai']);
    assert.deepEqual(names('type=A&name=b&match=any'), ['A a.axelabs.ai', 'CNAME b.axelabs.ai', 'TXT b.axelabs.ai']);
  });
  it('rejects an unknown type filter', () => {
    const filter = recordFilter(new URLSearchParams('type=BOGUS'), zone);
    assert.ok(typeof filter !== 'function' && filter.error.code === 9101);
  });
  it('orders by the asked field, then by creation', () => {
    assert.deepEqual(
      sortRecords(records, new URLSearchParams('order=type&direction=desc')).map((r) => r.type),
      ['TXT', 'CNAME', 'A'],
    );
    assert.deepEqual(
      sortRecords([...records].reverse(), new URLSearchParams('')).map((r) => r.id),
      records.map((r) => r.id),
    );
  });
});

describe('the record as the API returns it', () => {
  it('carries the fields of the spec\'s dns-records_dns-record-response, and not the retired zone_id/zone_name', () => {
    const view = recordView(rec({ comment: 'c', tags: ['owner:axe'] }));
    assert.deepEqual(Object.keys(view).sort(), ['comment', 'content', 'created_on', 'id', 'meta', 'modified_on', 'name', 'proxiable', 'proxied', 'settings', 'tags', 'ttl', 'type']);
  });
});
