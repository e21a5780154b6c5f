/**
 * The Cloudflare v4 API's wire shapes: the response envelope, its errors and
 * its page-number pagination.
 *
 * Rules:
 * - Every answer under /client/v4 is an envelope
 *   `{ success, errors: [{code, message}], messages: [], result, result_info? }`.
 * - A failed call throws `V4Failure` (HTTP status + v4 errors); the server turns
 *   it into the envelope, so handlers never build error bodies themselves.
 * - Pagination is by `page` and `per_page`: a page past the last one answers an
 *   empty `result` (never page 1 again), so the SDK's auto-pagination ends.
 */

export interface V4Error {
  code: number;
  message: string;
  error_chain?: V4Error[];
}

/** `total_pages` is in some endpoints' result_info only (DNS, zones); cfd_tunnel's spec has the other four. */
export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
  total_pages?: number;
}

export interface Envelope {
  success: boolean;
  errors: V4Error[];
  messages: Array<{ code: number; message: string; type?: string | null }>;
  result: unknown;
  result_info?: ResultInfo;
}

export class V4Failure extends Error {
  readonly status: number;
  readonly errors: V4Error[];
  readonly headers: Record<string, string>;

  constructor(status: number, errors: V4Error | V4Error[], headers: Record<string, string> = {}) {
    const list = Array.isArray(errors) ? errors : [errors];
    super(list.map((e) => `${e.code} ${e.message}`).join('; '));
    this.name = 'V4Failure';
    this.status = status;
    this.errors = list;
    this.headers = headers;
  }
}

export function success(result: unknown, resultInfo?: ResultInfo, messages: Envelope['messages'] = []): Envelope {
  return { success: true, errors: [], messages, result, ...(resultInfo ? { result_info: resultInfo } : {}) };
}

export function failure(errors: V4Error[]): Envelope {
  return { success: false, errors, messages: [], result: null };
}

export interface PageLimits {
  defaultPerPage: number;
  minPerPage: number;
  maxPerPage: number;
}

function positiveInt(value: string | null): number | null {
  if (value === null || value === '') return null;
  const n = Number(value);
  return Number.isInteger(n) ? n : NaN;
}

/**
 * One page of `items` as `page`/`per_page` in the query ask for. `per_page` is
 * clamped into the endpoint's limits, as the real API does; a malformed number
 * is a 400 (code 1001, like the API's own parameter validation).
 */
export function paginate<T>(items: T[], query: URLSearchParams, limits: PageLimits): { result: T[]; result_info: ResultInfo } {
  const page = positiveInt(query.get('page')) ?? 1;
  const perPageAsked = positiveInt(query.get('per_page')) ?? limits.defaultPerPage;
  if (Number.isNaN(page) || page < 1) throw new V4Failure(400, { code: 1001, message: 'page must be an integer of at least 1' });
  if (Number.isNaN(perPageAsked)) throw new V4Failure(400, { code: 1001, message: 'per_page must be an integer' });
  const perPage = Math.min(limits.maxPerPage, Math.max(limits.minPerPage, perPageAsked));
  const start = (page - 1) * perPage;
  const result = items.slice(start, start + perPage);
  return {
    result,
    result_info: { page, per_page: perPage, count: result.length, total_count: items.length, total_pages: Math.ceil(items.length / perPage) },
  };
}

/** A `CF-RAY`-like id: 16 hex characters and the colo. */
export function rayId(colo = 'LAB'): string {
  const hex = Array.from({ length: 16 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
  return `${hex}-${colo}`;
}
