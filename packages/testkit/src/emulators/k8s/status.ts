/**
 * `metav1.Status` objects and the errors that carry them, shaped like kube-apiserver's
 * (`k8s.io/apimachinery/pkg/api/errors`): every failure is a JSON `Status` with `reason` and `code`.
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { continue?: string };
  status: 'Failure';
  message: string;
  reason: string;
  code: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
}

/** A failure the router answers with a `Status` body and the status code (plus `Retry-After` when set). */
export class StatusError extends Error {
  readonly status: Status;
  constructor(
    status: Omit<Status, 'kind' | 'apiVersion' | 'status' | 'metadata'> & { metadata?: Status['metadata'] },
  ) {
    super(status.message);
    this.status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', ...status };
  }
  get code(): number {
    return this.status.code;
  }
  get retryAfterSeconds(): number | undefined {
    return this.status.details?.retryAfterSeconds;
  }
}

export const badRequest = (message: string) => new StatusError({ message, reason: 'BadRequest', code: 400 });

export const unauthorized = () =>
  new StatusError({ message: 'Unauthorized', reason: 'Unauthorized', code: 401 });

export const notFound = (group: string, resource: string, name: string) =>
  new StatusError({
    message: `${resource}${group ? `.${group}` : ''} "${name}" not found`,
    reason: 'NotFound',
    code: 404,
    details: { name, group, kind: resource },
  });

export const alreadyExists = (group: string, resource: string, name: string) =>
  new StatusError({
    message: `${resource}${group ? `.${group}` : ''} "${name}" already exists`,
    reason: 'AlreadyExists',
    code: 409,
    details: { name, group, kind: resource },
  });

export const conflict = (group: string, resource: string, name: string, why: string) =>
  new StatusError({
    message: `Operation cannot be fulfilled on ${resource}${group ? `.${group}` : ''} "${name}": ${why}`,
    reason: 'Conflict',
    code: 409,
    details: { name, group, kind: resource },
  });

export const methodNotAllowed = (method: string) =>
  new StatusError({
    message: `the server does not allow this method (${method}) on the requested resource`,
    reason: 'MethodNotAllowed',
    code: 405,
  });

/** `errors.NewInvalid`: 422 with one cause per field error. */
export const invalid = (kind: string, group: string, name: string, causes: StatusCause[]) =>
  new StatusError({
    message: `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
    reason: 'Invalid',
    code: 422,
    details: { name, group, kind, causes },
  });

/** `errors.NewResourceExpired` (410 Gone, reason `Expired`): what a too-old resourceVersion gets. */
export const expired = (message: string, continueToken?: string) =>
  new StatusError({
    message,
    reason: 'Expired',
    code: 410,
    ...(continueToken === undefined ? {} : { metadata: { continue: continueToken } }),
  });

/** `storage.NewTooLargeResourceVersionError`: 504, reason `Timeout`, cause `ResourceVersionTooLarge`. */
export const tooLargeResourceVersion = (requested: number, current: number) =>
  new StatusError({
    message: `Too large resource version: ${requested}, current: ${current}`,
    reason: 'Timeout',
    code: 504,
    details: {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    },
  });

export const internalError = (
  message = 'an error on the server ("emulated failure") has prevented the request from succeeding',
) =>
  new StatusError({
    message,
    reason: 'InternalError',
    code: 500,
    details: { causes: [{ message: 'emulated failure' }], retryAfterSeconds: 1 },
  });

export const tooManyRequests = (retryAfterSeconds: number) =>
  new StatusError({
    message: 'Too many requests, please try again later.',
    reason: 'TooManyRequests',
    code: 429,
    details: { retryAfterSeconds },
  });

export const serviceUnavailable = () =>
  new StatusError({
    message: 'the server is currently unable to handle the request',
    reason: 'ServiceUnavailable',
    code: 503,
  });

export function statusFor(status: number, retryAfterSeconds?: number): StatusError {
  if (status === 429) return tooManyRequests(retryAfterSeconds ?? 1);
  if (status === 503) return serviceUnavailable();
  if (status === 410) return expired('emulated: the requested resource version is too old');
  if (status === 500) return internalError();
  return new StatusError({ message: `emulated failure (${status})`, reason: 'Unknown', code: status });
}
