/**
 * DNS records of a zone: GET/POST /zones/:zone_id/dns_records and
 * GET/PUT/PATCH/DELETE /zones/:zone_id/dns_records/:id, with the checks and
 * conflict codes of dns.ts and real page-number pagination.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { conflict, type RecordInput, recordAsInput, recordFilter, recordView, sortRecords, validateRecord } from '../dns.js';
import { cfId, type DnsRecordState, type ZoneState } from '../state.js';
import { paginate, success, V4Failure } from '../v4.js';
import { type ApiContext, bodyObject, queryOf, requireZone } from './context.js';

/** The spec's dns-records_per_page: 1…5,000,000, default 100. */
export const RECORD_PAGES = { defaultPerPage: 100, minPerPage: 1, maxPerPage: 5_000_000 };

type RecordRequest = FastifyRequest<{ Params: { zone_id: string; id: string } }>;

function findRecord(ctx: ApiContext, zone: ZoneState, id: string): DnsRecordState {
  const record = ctx.store.state.records.find((r) => r.zone_id === zone.id && r.id === id);
  if (!record) throw new V4Failure(404, { code: 81044, message: 'Record does not exist.' });
  return record;
}

/** Validates `input` and checks it against the zone's other records; the fields to store. */
function checked(ctx: ApiContext, zone: ZoneState, input: RecordInput, selfId: string | null) {
  const valid = validateRecord(input, zone);
  if ('error' in valid) throw new V4Failure(400, valid.error);
  const others = ctx.store.state.records.filter((r) => r.zone_id === zone.id && r.id !== selfId);
  const clash = conflict(valid.record, others);
  if (clash) throw new V4Failure(400, clash);
  return valid.record;
}

export function dnsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { zone_id: string } }>('/zones/:zone_id/dns_records', async (request) => {
    const zone = requireZone(ctx, request.params.zone_id, request);
    const query = queryOf(request);
    const filter = recordFilter(query, zone);
    if (typeof filter !== 'function') throw new V4Failure(400, filter.error);
    const records = sortRecords(
      ctx.store.state.records.filter((r) => r.zone_id === zone.id && filter(r)),
      query,
    );
    const page = paginate(records, query, RECORD_PAGES);
    return success(
      page.result.map((r) => recordView(r)),
      page.result_info,
    );
  });

  app.post<{ Params: { zone_id: string } }>('/zones/:zone_id/dns_records', async (request) => {
    const zone = requireZone(ctx, request.params.zone_id, request);
    const fields = checked(ctx, zone, bodyObject(request), null);
    const now = new Date().toISOString();
    const record: DnsRecordState = { id: cfId(), zone_id: zone.id, ...fields, created_on: now, modified_on: now };
    ctx.store.state.records.push(record);
    await ctx.store.save();
    return success(recordView(record));
  });

  app.get('/zones/:zone_id/dns_records/:id', async (request: RecordRequest) => {
    const zone = requireZone(ctx, request.params.zone_id, request);
    return success(recordView(findRecord(ctx, zone, request.params.id)));
  });

  async function replace(request: RecordRequest, merge: boolean) {
    const zone = requireZone(ctx, request.params.zone_id, request);
    const record = findRecord(ctx, zone, request.params.id);
    const body = bodyObject(request);
    const fields = checked(ctx, zone, merge ? { ...recordAsInput(record), ...body } : body, record.id);
    const updated: DnsRecordState = { id: record.id, zone_id: zone.id, ...fields, created_on: record.created_on, modified_on: new Date().toISOString() };
    const records = ctx.store.state.records;
    records[records.indexOf(record)] = updated;
    await ctx.store.save();
    return success(recordView(updated));
  }

  app.put('/zones/:zone_id/dns_records/:id', (request: RecordRequest) => replace(request, false));
  app.patch('/zones/:zone_id/dns_records/:id', (request: RecordRequest) => replace(request, true));

  app.delete('/zones/:zone_id/dns_records/:id', async (request: RecordRequest) => {
    const zone = requireZone(ctx, request.params.zone_id, request);
    const record = findRecord(ctx, zone, request.params.id);
    ctx.store.state.records = ctx.store.state.records.filter((r) => r !== record);
    await ctx.store.save();
    return success({ id: record.id });
  });
}
