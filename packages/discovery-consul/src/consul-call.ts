import { EventEmitter } from 'node:events';
import { backendUnavailable, invalidArgument, isSwitchyardError, SwitchyardError } from '@switchyard/core';
import type Consul from 'consul';
import { PKG } from './options.js';

export type ConsulClient = Consul;

/** papi's request context: `cancel` aborts the HTTP request; `includeResponse` returns `[res, body]`. */
type CallContext = EventEmitter & { includeResponse?: boolean };

export interface HttpResponseLike {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
}

interface PapiError extends Error {
  code?: string;
  response?: { statusCode?: number; body?: unknown };
}

/**
 * Runs one `consul` client call on `signal` (the kit's deadline and the caller's abort): the
 * request is cancelled when it fires. Failures are mapped to Switchyard errors: 404 → NOT_FOUND,
 * 400 → INVALID_ARGUMENT, anything else → BACKEND_UNAVAILABLE with `details.status`.
 */
export async function consulCall<T>(
  what: string,
  signal: AbortSignal,
  fn: (ctx: CallContext) => Promise<T>,
  options: { includeResponse?: boolean; retryStaleSocket?: boolean } = {},
): Promise<T> {
  const attempt = async () => {
    const ctx: CallContext = new EventEmitter();
    if (options.includeResponse) ctx.includeResponse = true;
    const onAbort = () => ctx.emit('cancel');
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await fn(ctx);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };
  try {
    try {
      return await attempt();
    } catch (error) {
      // A keep-alive socket the agent closed (restart, idle timeout) fails the request that reuses it
      // before anything reached the agent. Our calls are idempotent: retry once on a new socket.
      if (signal.aborted || options.retryStaleSocket === false || !isStaleSocket(error)) throw error;
      return await attempt();
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw mapConsulError(what, error);
  }
}

function isStaleSocket(error: unknown): boolean {
  const code = (error as PapiError | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

export function statusOf(error: unknown): number | undefined {
  if (isSwitchyardError(error)) return error.details?.status as number | undefined;
  return (error as PapiError | undefined)?.response?.statusCode ?? undefined;
}

function mapConsulError(what: string, error: unknown): SwitchyardError {
  if (isSwitchyardError(error)) return error;
  const status = statusOf(error);
  const body = (error as PapiError | undefined)?.response?.body;
  const detail =
    typeof body === 'string' && body ? `: ${body}` : error instanceof Error ? `: ${error.message}` : '';
  const details = { status, body: typeof body === 'string' ? body : undefined };
  if (status === 404) {
    return new SwitchyardError('NOT_FOUND', `[${PKG}] ${what} failed${detail}`, { cause: error, details });
  }
  if (status === 400) return invalidArgument(PKG, what, `was rejected by Consul${detail}`, error);
  if (status === undefined) return backendUnavailable(PKG, what, error);
  return new SwitchyardError('BACKEND_UNAVAILABLE', `[${PKG}] ${what} failed (HTTP ${status})${detail}`, {
    cause: error,
    details,
  });
}

/**
 * Whether a TTL update or maintenance call failed because the agent does not know the check or
 * service: `404 Unknown check ID` on Consul ≥ 1.11; on older agents a 500 `Unknown check "…"` (ACLs
 * on) or `CheckID "…" does not have associated TTL` (ACLs off); `404 Unknown service ID` for
 * maintenance. All mean the registration is gone.
 */
export function isUnknownToAgent(error: unknown): boolean {
  if (!isSwitchyardError(error)) return false;
  const status = error.details?.status;
  if (status === 404) return true;
  const body = String(error.details?.body ?? '');
  return status === 500 && /Unknown check|does not have associated TTL|Unknown service/.test(body);
}

/**
 * `PUT /v1/agent/service/register` through the client's own request pipeline. The `consul` 2.0.1
 * helper `agent.service.register` drops `Weights` (its body whitelist has no such field), so the
 * body is built here in Consul's API shape and sent with the same base URL, agent and defaults.
 */
export async function putServiceRegistration(
  client: ConsulClient,
  body: Record<string, unknown>,
  token: string | undefined,
  ctx: CallContext,
): Promise<void> {
  const papi = client as unknown as {
    _put(req: Record<string, unknown>): Promise<unknown>;
    _defaults?: { token?: string };
  };
  const t = token ?? papi._defaults?.token;
  await papi._put({
    name: 'agent.service.register',
    path: '/agent/service/register',
    type: 'json',
    body,
    headers: t ? { 'x-consul-token': t } : {},
    // Checks of an earlier incarnation that the new definition lacks go (a stale maintenance mode too).
    query: { 'replace-existing-checks': 'true' },
    ctx,
  });
}
