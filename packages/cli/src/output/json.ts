/**
 * JSON for scripts: bigints (fencing tokens) become decimal strings, `Infinity` becomes `null`,
 * errors become `{ code, message, field? }`. One document per line (NDJSON for live commands).
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'number' && !Number.isFinite(v)) return null;
    if (v instanceof Error) return errorJson(v);
    return v;
  });
}

export interface ErrorJson {
  code: string;
  message: string;
  field?: string;
}

export function errorJson(error: unknown): ErrorJson {
  if (typeof error === 'object' && error !== null) {
    const e = error as { code?: unknown; message?: unknown; field?: unknown };
    const code = typeof e.code === 'string' ? e.code : 'INTERNAL';
    const message = typeof e.message === 'string' ? e.message : String(error);
    return typeof e.field === 'string' ? { code, message, field: e.field } : { code, message };
  }
  return { code: 'INTERNAL', message: String(error) };
}
