/**
 * Counters of the API requests the emulator answered, for tests that assert
 * "a second apply performs 0 writes".
 *
 * Rules:
 * - Every /client/v4 request counts once, when answered, by method and route
 *   template (`GET /zones/:zone_id/dns_records`), by status, and in `total`.
 * - `writes` counts every POST, PUT, PATCH and DELETE received (answered with
 *   any status); `writesOk` only those answered 2xx.
 */
export interface StatsSnapshot {
  total: number;
  writes: number;
  writesOk: number;
  byRoute: Record<string, number>;
  byMethod: Record<string, number>;
  byStatus: Record<string, number>;
  since: string;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class ApiStats {
  #snapshot: StatsSnapshot = ApiStats.#empty();

  static #empty(): StatsSnapshot {
    return { total: 0, writes: 0, writesOk: 0, byRoute: {}, byMethod: {}, byStatus: {}, since: new Date().toISOString() };
  }

  record(method: string, route: string, status: number): void {
    const s = this.#snapshot;
    s.total += 1;
    if (WRITE_METHODS.has(method)) {
      s.writes += 1;
      if (status >= 200 && status < 300) s.writesOk += 1;
    }
    const key = `${method} ${route}`;
    s.byRoute[key] = (s.byRoute[key] ?? 0) + 1;
    s.byMethod[method] = (s.byMethod[method] ?? 0) + 1;
    s.byStatus[String(status)] = (s.byStatus[String(status)] ?? 0) + 1;
  }

  snapshot(): StatsSnapshot {
    return structuredClone(this.#snapshot);
  }

  reset(): void {
    this.#snapshot = ApiStats.#empty();
  }
}
