/**
 * What a failed Kubernetes API call said, whatever carried it: client-node's `ApiException`
 * (lists), our watch request's `K8sHttpError`, an `ERROR` watch event's `Status`, or a socket error.
 */
export interface ApiFailure {
  /** HTTP code or `Status.code` (undefined for network errors). */
  readonly code: number | undefined;
  /** `Status.reason` (`Expired`, `Gone`, `TooManyRequests`…). */
  readonly reason: string | undefined;
  readonly message: string;
  /** `Retry-After` (or `details.retryAfterSeconds`), ms. */
  readonly retryAfter: number | undefined;
  /** The request never got an HTTP answer (refused, reset, timed out). */
  readonly network: boolean;
  /** `details.causes[].reason` values. */
  readonly causes: readonly string[];
}

/** An HTTP failure of a request we made ourselves (the watch), with the `Status` body it carried. */
export class K8sHttpError extends Error {
  readonly code: number;
  readonly body: unknown;
  readonly retryAfter: string | undefined;
  constructor(code: number, body: unknown, retryAfter: string | undefined) {
    const status = body as { message?: string } | undefined;
    super(`HTTP ${code}${status?.message ? `: ${status.message}` : ''}`);
    this.name = 'K8sHttpError';
    this.code = code;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

function parseBody(body: unknown): Record<string, unknown> | undefined {
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? String(v[0]) : String(v);
  }
  return undefined;
}

/** Reads a `Status` object (from a body or an ERROR event). */
export function fromStatus(status: unknown, code?: number, retryAfterHeader?: string): ApiFailure {
  const s = parseBody(status) ?? {};
  const details = (s.details ?? {}) as { causes?: { reason?: string }[]; retryAfterSeconds?: number };
  const retrySeconds = retryAfterHeader !== undefined ? Number(retryAfterHeader) : details.retryAfterSeconds;
  return {
    code: typeof s.code === 'number' ? s.code : code,
    reason: typeof s.reason === 'string' ? s.reason : undefined,
    message: typeof s.message === 'string' ? s.message : `HTTP ${code ?? '?'}`,
    retryAfter: retrySeconds !== undefined && Number.isFinite(retrySeconds) ? retrySeconds * 1000 : undefined,
    network: false,
    causes: (details.causes ?? []).map((c) => c.reason ?? '').filter(Boolean),
  };
}

/** Classifies any error a list or watch call can throw. */
export function apiFailure(error: unknown): ApiFailure {
  if (error instanceof K8sHttpError) return fromStatus(error.body, error.code, error.retryAfter);
  const e = error as {
    code?: unknown;
    body?: unknown;
    headers?: unknown;
    errno?: unknown;
    type?: string;
    cause?: unknown;
    message?: string;
  };
  if (typeof e?.code === 'number') return fromStatus(e.body, e.code, header(e.headers, 'retry-after'));
  const sysCode = typeof e?.code === 'string' ? e.code : (e?.cause as { code?: string } | undefined)?.code;
  const network =
    (sysCode !== undefined && NETWORK_CODES.has(sysCode)) ||
    e?.type === 'system' ||
    e?.type === 'request-timeout';
  return {
    code: undefined,
    reason: undefined,
    message: e?.message ?? String(error),
    retryAfter: undefined,
    network,
    causes: [],
  };
}

/** A 410 Gone / `Expired`: the version is compacted, relist. */
export const isExpired = (f: ApiFailure) => f.code === 410 || f.reason === 'Expired' || f.reason === 'Gone';

/** The server has not reached the version (apiserver restarted on a new history, or a lagging member). */
export const isTooLarge = (f: ApiFailure) =>
  f.causes.includes('ResourceVersionTooLarge') || /too large resource version/i.test(f.message);

/** Worth retrying the watch without a relist (client-go: connection refused, 429; here also 5xx and resets). */
export const isRetriable = (f: ApiFailure) =>
  f.network || f.code === 429 || (f.code !== undefined && f.code >= 500);
