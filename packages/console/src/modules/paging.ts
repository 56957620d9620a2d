import { badRequest } from '../http/http-error.js';

export interface Page<T> {
  readonly items: readonly T[];
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
}

/** Server-side paging from `?offset=&limit=` (default 0 and 100, at most 1000). */
export function pageOf<T>(all: readonly T[], query: URLSearchParams, defaultLimit = 100): Page<T> {
  const offset = intParam(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = intParam(query, 'limit', defaultLimit, 1, 1000);
  return { items: all.slice(offset, offset + limit), total: all.length, offset, limit };
}

function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw badRequest(name, `must be an integer ${min}..${max}`);
  return n;
}
