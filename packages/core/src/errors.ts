/**
 * The error taxonomy shared by every Switchyard package: one class, a closed union of stable codes,
 * and a normalised `cause`. `isSwitchyardError` works across two installed copies of core.
 */

export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'ABORTED',
  'TIMEOUT',
  'BACKEND_UNAVAILABLE',
  'CONFLICT',
  'NOT_FOUND',
  'CLOSED',
  'LOCK_TIMEOUT',
  'LOCK_LOST',
  'NO_AVAILABLE_INSTANCE',
  'CIRCUIT_OPEN',
  'RETRY_BUDGET_EXHAUSTED',
  'UNSUPPORTED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const BRAND: unique symbol = Symbol.for('@switchyard/core/SwitchyardError') as never;

export interface SwitchyardErrorOptions {
  cause?: unknown;
  /** The offending field for `INVALID_ARGUMENT`, e.g. `"ttl"` or `"instance.port"`. */
  field?: string;
  /** Extra machine-readable detail (key, service, revision…). */
  details?: Record<string, unknown>;
}

export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: SwitchyardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: normaliseCause(options.cause) });
    this.name = 'SwitchyardError';
    this.code = code;
    this.field = options.field;
    this.details = options.details;
  }

  /** True when `value` is a Switchyard error (from any copy of core), optionally with one of `codes`. */
  static is(value: unknown, ...codes: ErrorCode[]): value is SwitchyardError {
    return isSwitchyardError(value, ...codes);
  }
}

export function isSwitchyardError(value: unknown, ...codes: ErrorCode[]): value is SwitchyardError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as { [BRAND]?: unknown })[BRAND] !== true) return false;
  return codes.length === 0 || codes.includes((value as SwitchyardError).code);
}

function normaliseCause(cause: unknown): unknown {
  if (cause instanceof Error || cause === undefined) return cause;
  return new Error(typeof cause === 'string' ? cause : safeString(cause));
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** `INVALID_ARGUMENT` naming the field: `[pkg] <field> <problem>`. */
export function invalidArgument(
  pkg: string,
  field: string,
  problem: string,
  cause?: unknown,
): SwitchyardError {
  return new SwitchyardError('INVALID_ARGUMENT', `[${pkg}] ${field} ${problem}`, { field, cause });
}

/** `ABORTED`, carrying the signal's reason as cause. A timeout signal becomes `TIMEOUT`. */
export function abortedError(pkg: string, signal?: AbortSignal, what = 'operation'): SwitchyardError {
  const reason: unknown = signal?.reason;
  if (isSwitchyardError(reason)) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new SwitchyardError('TIMEOUT', `[${pkg}] ${what} timed out`, { cause: reason });
  }
  return new SwitchyardError('ABORTED', `[${pkg}] ${what} was aborted`, { cause: reason });
}

/** Wraps a backend client failure as `BACKEND_UNAVAILABLE` unless it already is a Switchyard error. */
export function backendUnavailable(pkg: string, what: string, cause: unknown): SwitchyardError {
  if (isSwitchyardError(cause)) return cause;
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new SwitchyardError('BACKEND_UNAVAILABLE', `[${pkg}] ${what} failed${detail}`, { cause });
}

/** `CLOSED`: the object was closed before or during the call. */
export function closedError(pkg: string, what = 'client'): SwitchyardError {
  return new SwitchyardError('CLOSED', `[${pkg}] ${what} is closed`);
}

/**
 * `LOCK_TIMEOUT`: the wait bound passed without the lock. When the backend was failing meanwhile,
 * the last failure is the `cause` (same rule on every lock backend).
 */
export function lockTimeoutError(pkg: string, key: string, wait: number, cause?: unknown): SwitchyardError {
  const during = cause === undefined ? '' : ' (the backend was failing meanwhile; see cause)';
  return new SwitchyardError(
    'LOCK_TIMEOUT',
    `[${pkg}] could not acquire "${key}" within ${wait} ms${during}`,
    {
      details: { key, wait },
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/** `UNSUPPORTED`: the backend cannot do this (registration on DNS or Kubernetes, for example). */
export function unsupportedError(pkg: string, what: string, why: string): SwitchyardError {
  return new SwitchyardError('UNSUPPORTED', `[${pkg}] ${what} is not supported: ${why}`);
}
