import { EventEmitter } from 'node:events';
import { abortedError, backendUnavailable, invalidArgument, SwitchyardError } from '@switchyard/core';
import type Consul from 'consul';
import { PKG } from './options.js';

export type ConsulClient = Consul;

/** papi's request context: `cancel` aborts the HTTP request; `includeResponse` returns `[res, body]`. */
export type CallContext = EventEmitter & { includeResponse?: boolean };

export interface HttpResponseLike {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
}

interface PapiError extends Error {
  isPapi?: boolean;
  isTimeout?: boolean;
  isAbort?: boolean;
  statusCode?: number;
  response?: { statusCode?: number; body?: unknown };
}

/**
 * Runs one `consul` client call with an AbortSignal and a timeout, mapping failures to Switchyard
 * errors: abort → ABORTED, 404 → NOT_FOUND, 400 → INVALID_ARGUMENT, anything else → BACKEND_UNAVAILABLE.
 */
export async function consulCall<T>(
  what: string,
  signal: AbortSignal | undefined,
  fn: (ctx: CallContext) => Promise<T>,
  options: { includeResponse?: boolean; retryStaleSocket?: boolean } = {},
): Promise<T> {
  if (signal?.aborted) throw abortedError(PKG, signal, what);
  const ctx: CallContext = new EventEmitter();
  if (options.includeResponse) ctx.includeResponse = true;
  const onAbort = () => ctx.emit('cancel');
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    try {
      return await fn(ctx);
    } catch (error) {
      // A keep-alive socket the agent closed (restart, idle timeout) fails the request that reuses it
      // before anything reached the agent. Every call we make is idempotent, so retry once on a new socket.
      if (signal?.aborted || options.retryStaleSocket === false || !isStaleSocket(error)) throw error;
      return await fn(ctx);
    }
  } catch (error) {
    if (signal?.aborted) throw abortedError(PKG, signal, what);
    throw mapConsulError(what, error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function isStaleSocket(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

export function statusOf(error: unknown): number | undefined {
  const e = error as PapiError | undefined;
  return e?.response?.statusCode ?? undefined;
}

export function mapConsulError(what: string, error: unknown): SwitchyardError {
  if (error instanceof SwitchyardError) return error;
  const status = statusOf(error);
  const body = (error as PapiError | undefined)?.response?.body;
  const detail =
    typeof body === 'string' && body ? `: ${body}` : error instanceof Error ? `: ${error.message}` : '';
  if (status === 404) {
    return new SwitchyardError('NOT_FOUND', `[${PKG}] ${what} failed${detail}`, {
      cause: error,
      details: { status },
    });
  }
  if (status === 400) return invalidArgument(PKG, what, `was rejected by Consul${detail}`, error);
  if (status === undefined) return backendUnavailable(PKG, what, error);
  return new SwitchyardError('BACKEND_UNAVAILABLE', `[${PKG}] ${what} failed (HTTP ${status})${detail}`, {
    cause: error,
    details: { status },
  });
}

/**
 * `PUT /v1/agent/service/register` through the client's own request pipeline. The `consul` 2.0.1
 * helper `agent.service.register` drops `Weights` (its body whitelist has no such field), so the
 * body is built here in Consul's API shape and sent with the same base URL, agent and defaults.
 */
export async function putServiceRegistration(
  client: ConsulClient,
  body: Record<string, unknown>,
  opts: { token: string | undefined; timeout: number; ctx: CallContext },
): Promise<void> {
  const papi = client as unknown as {
    _put(req: Record<string, unknown>): Promise<unknown>;
    _defaults?: { token?: string };
  };
  const token = opts.token ?? papi._defaults?.token;
  await papi._put({
    name: 'agent.service.register',
    path: '/agent/service/register',
    type: 'json',
    body,
    headers: token ? { 'x-consul-token': token } : {},
    query: {},
    ctx: opts.ctx,
    timeout: opts.timeout,
  });
}
