import { type ErrorCode, isSwitchyardError } from '@switchyard/core';

/**
 * What the `switchyard` process exit status means, so scripts can branch on it without parsing
 * output. Stable across releases.
 */
export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /** An unexpected failure (a bug, or an error with no better code). */
  failure: 1,
  /** Bad usage: unknown flag, missing argument, invalid value (`INVALID_ARGUMENT`). */
  usage: 2,
  /** The thing asked about does not exist: a free lock, an unknown service, a missing cache key. */
  notFound: 3,
  /** The backend could not be reached or did not answer in time (`BACKEND_UNAVAILABLE`, `TIMEOUT`). */
  unavailable: 4,
  /** A destructive command was not confirmed (no `--yes` and the answer was not "y"). */
  declined: 5,
  /** The command exists, but not on this backend (`UNSUPPORTED`). */
  unsupported: 6,
  /** Interrupted by SIGINT / SIGTERM before it finished. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BY_CODE: Partial<Record<ErrorCode, ExitCode>> = {
  INVALID_ARGUMENT: EXIT.usage,
  NOT_FOUND: EXIT.notFound,
  BACKEND_UNAVAILABLE: EXIT.unavailable,
  TIMEOUT: EXIT.unavailable,
  CIRCUIT_OPEN: EXIT.unavailable,
  UNSUPPORTED: EXIT.unsupported,
  ABORTED: EXIT.interrupted,
};

/** The exit status for an error thrown by a command. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (isSwitchyardError(error)) return BY_CODE[error.code] ?? EXIT.failure;
  return EXIT.failure;
}

/** A failure the CLI itself reports (usage, declined confirmation, not found), with its exit status. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: 'USAGE' | 'NOT_FOUND' | 'DECLINED' | 'UNSUPPORTED',
    message: string,
    readonly exitCode: ExitCode,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const usageError = (field: string, message: string): CliError =>
  new CliError('USAGE', `${field}: ${message}`, EXIT.usage, field);
export const notFoundError = (message: string): CliError => new CliError('NOT_FOUND', message, EXIT.notFound);
export const declinedError = (message: string): CliError => new CliError('DECLINED', message, EXIT.declined);
