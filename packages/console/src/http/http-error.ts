import { isSwitchyardError } from '@switchyard/core';

/** An error with the HTTP status and JSON body the API answers with. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.extra };
  }
}

/** 400 naming the field: what the page shows under the input that caused it. */
export function badRequest(field: string, message: string): HttpError {
  return new HttpError(400, 'INVALID_ARGUMENT', `${field} ${message}`, { field });
}

export function notFound(what: string): HttpError {
  return new HttpError(404, 'NOT_FOUND', `${what} not found`);
}

/** Maps a thrown error to the reply: Switchyard codes keep their name and field. */
export function errorReply(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (isSwitchyardError(error)) {
    const status =
      error.code === 'INVALID_ARGUMENT'
        ? 400
        : error.code === 'NOT_FOUND'
          ? 404
          : error.code === 'CONFLICT'
            ? 409
            : error.code === 'BACKEND_UNAVAILABLE' || error.code === 'TIMEOUT'
              ? 503
              : 500;
    return new HttpError(status, error.code, error.message, error.field ? { field: error.field } : {});
  }
  return new HttpError(500, 'INTERNAL', error instanceof Error ? error.message : String(error));
}
