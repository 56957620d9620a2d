import type { BackoffOptions, Clock, PickContext } from '@switchyard/core';
import {
  abortedError,
  backendUnavailable,
  deadlineSignal,
  fullJitterBackoff,
  invalidArgument,
  isSwitchyardError,
  raceSignal,
  SwitchyardError,
  sleep,
  systemClock,
} from '@switchyard/core';
import { fetch as undiciFetch } from 'undici';
import type { Balancer } from '../balancer/balancer.js';
import { keyString } from '../hashing/key-hash.js';
import { PKG } from '../weights/prepared-set.js';
import { type AttemptResult, runAttempt } from './attempt.js';

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

export interface HedgeOptions {
  /** Send a second request when the first has not answered after this percentile of recent latency. Default 95. */
  percentile?: number;
  /** Fixed hedge delay in ms (overrides the percentile). */
  delay?: number;
}

export interface BalancedFetchOptions {
  /** One balancer, several, or a map; requests to `http://<service>/…` go to the balancer of that service. */
  balancers: Balancer | readonly Balancer[] | Readonly<Record<string, Balancer>>;
  /** The fetch used for each try (default: undici's `fetch`). */
  fetch?: FetchFunction;
  /** Retries after the first try (default 2), within the balancer's retry budget. */
  retries?: number;
  /** Statuses that count as failures and are retried (default 502, 503, 504). */
  retryStatuses?: readonly number[];
  /** Retry POST/PATCH too (default false: only idempotent methods are retried or hedged). */
  retryNonIdempotent?: boolean;
  /** Timeout of one try, ms (default 10 000). */
  perTryTimeout?: number;
  /** Timeout of the whole call including retries, ms (default 30 000). */
  timeout?: number;
  /** How long to wait for a balancer's first discovery snapshot, ms (default 5 000). */
  readyTimeout?: number;
  /** Backoff between retries (default base 25 ms, max 250 ms, full jitter). */
  backoff?: BackoffOptions;
  /** Hedged requests (default off). */
  hedge?: HedgeOptions | false;
  /** Request header whose value is the affinity key for hash/sticky pickers. */
  keyHeader?: string;
  clock?: Clock;
}

export interface BalancedRequestInit extends RequestInit {
  /** Affinity key for hash-based and sticky pickers. */
  key?: string;
  /** Caller IP for canary allow-lists. */
  callerIp?: string;
}

export type BalancedFetch = (input: string | URL, init?: BalancedRequestInit) => Promise<Response>;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

function positive(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 30 * 24 * 3600e3)
    throw invalidArgument(PKG, field, `must be a duration in ms > 0, got ${String(v)}`);
  return v;
}

function replayable(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof URLSearchParams ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob ||
    body instanceof FormData
  );
}

/**
 * A `fetch` that load-balances `http://<service>/…` over discovered instances: per-try timeout,
 * retries on connection errors and 502/503/504 within the service's retry budget, breakers and
 * ejection fed with every outcome, optional hedging. Other URLs pass straight through.
 */
export function createBalancedFetch(options: BalancedFetchOptions): BalancedFetch {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument(PKG, 'options', 'must be an object');
  const byService = new Map<string, Balancer>();
  const list: readonly Balancer[] =
    options.balancers && typeof (options.balancers as Balancer).pick === 'function'
      ? [options.balancers as Balancer]
      : Array.isArray(options.balancers)
        ? options.balancers
        : Object.values((options.balancers ?? {}) as Record<string, Balancer>);
  for (const [i, b] of list.entries()) {
    if (typeof b?.pick !== 'function') throw invalidArgument(PKG, `balancers[${i}]`, 'must be a balancer');
    byService.set(b.service.toLowerCase(), b);
  }
  if (byService.size === 0) throw invalidArgument(PKG, 'balancers', 'must hold at least one balancer');
  const doFetch: FetchFunction = options.fetch ?? (undiciFetch as unknown as FetchFunction);
  const retries = options.retries ?? 2;
  if (!Number.isInteger(retries) || retries < 0 || retries > 100)
    throw invalidArgument(PKG, 'retries', `must be an integer in 0..100, got ${String(retries)}`);
  const retryStatuses = new Set(options.retryStatuses ?? [502, 503, 504]);
  const perTryTimeout = positive('perTryTimeout', options.perTryTimeout ?? 10_000);
  const timeout = positive('timeout', options.timeout ?? 30_000);
  const readyTimeout = positive('readyTimeout', options.readyTimeout ?? 5_000);
  const clock = options.clock ?? systemClock;
  const backoff = fullJitterBackoff({ base: 25, max: 250, ...options.backoff });
  const hedge = options.hedge === false || options.hedge === undefined ? undefined : options.hedge;
  if (hedge?.delay !== undefined) positive('hedge.delay', hedge.delay);
  if (hedge?.percentile !== undefined && !(hedge.percentile > 0 && hedge.percentile <= 100))
    throw invalidArgument(PKG, 'hedge.percentile', `must be in (0, 100], got ${String(hedge.percentile)}`);

  const readyBalancers = new WeakSet<Balancer>();

  return async function balancedFetch(input, init = {}) {
    const url = new URL(String(input));
    const balancer = byService.get(url.hostname.toLowerCase());
    const { key: initKey, callerIp, signal: userSignal, ...requestInit } = init;
    if (userSignal !== undefined && userSignal !== null && !(userSignal instanceof AbortSignal))
      throw invalidArgument(PKG, 'signal', 'must be an AbortSignal');
    if (initKey !== undefined) keyString(initKey);
    if (!balancer)
      return doFetch(url.toString(), { ...requestInit, ...(userSignal ? { signal: userSignal } : {}) });
    const overall = deadlineSignal(timeout, {
      parent: userSignal ?? undefined,
      clock,
      what: `request to ${url.host}`,
    });
    const signal = overall.signal;
    try {
      if (!readyBalancers.has(balancer)) {
        const wait = deadlineSignal(readyTimeout, {
          parent: signal,
          clock,
          what: `waiting for "${balancer.service}"`,
        });
        try {
          await raceSignal(
            balancer.ready(),
            wait.signal,
            PKG,
            `waiting for instances of "${balancer.service}"`,
          );
        } finally {
          wait.dispose();
        }
        readyBalancers.add(balancer);
      }
      const method = (requestInit.method ?? 'GET').toUpperCase();
      const canRetry = (options.retryNonIdempotent || IDEMPOTENT.has(method)) && replayable(requestInit.body);
      const headerKey = options.keyHeader ? new Headers(requestInit.headers).get(options.keyHeader) : null;
      const key = initKey ?? headerKey ?? undefined;
      const context: PickContext = {
        ...(key !== undefined ? { key } : {}),
        ...(callerIp ? { callerIp } : {}),
      };
      const done = balancer.retryBudget?.onRequest();
      try {
        const tried = new Set<string>();
        const tryOnce = (trySignal: AbortSignal) =>
          runAttempt({
            balancer,
            url,
            init: requestInit,
            context,
            signal: trySignal,
            perTryTimeout,
            clock,
            doFetch,
            retryStatuses,
            tried,
          });
        let last: AttemptResult | undefined;
        for (let attempt = 0; ; attempt++) {
          let release: (() => void) | undefined;
          if (attempt > 0) {
            release = balancer.retryBudget ? balancer.retryBudget.tryRetry('retry') : () => {};
            // Refused: the last answer is returned as it is, its body unread.
            if (!release) break;
            // Granted: the previous answer is dropped only now (its body cancelled, freeing the socket).
            if (last?.kind === 'response') await last.response.body?.cancel().catch(() => {});
          }
          try {
            if (attempt > 0) await sleep(backoff(attempt - 1), { signal, clock, pkg: PKG });
            last =
              canRetry && hedge
                ? await hedged(balancer, hedge, tryOnce, signal, clock)
                : await tryOnce(signal);
          } finally {
            release?.();
          }
          if (!last.retryable || !canRetry || attempt >= retries || signal.aborted) break;
        }
        if (last?.kind === 'response') return last.response;
        throw last?.error ?? new SwitchyardError('INTERNAL', `[${PKG}] no attempt was made`);
      } finally {
        done?.();
      }
    } catch (error) {
      if (signal.aborted && !isSwitchyardError(error, 'NO_AVAILABLE_INSTANCE', 'CIRCUIT_OPEN'))
        throw abortedError(PKG, signal, `request to ${url.host}`);
      if (isSwitchyardError(error)) throw error;
      throw backendUnavailable(PKG, `request to ${url.host}`, error);
    } finally {
      overall.dispose();
    }
  };
}

/** Runs one try and, if it has not answered after the hedge delay, a second one; the first good answer wins. */
function hedged(
  balancer: Balancer,
  hedge: HedgeOptions,
  tryOnce: (signal: AbortSignal) => Promise<AttemptResult>,
  signal: AbortSignal,
  clock: Clock,
): Promise<AttemptResult> {
  const delay = hedge.delay ?? balancer.latency.percentile(hedge.percentile ?? 95);
  if (delay === undefined) return tryOnce(signal);
  return new Promise<AttemptResult>((resolve) => {
    const controllers = [new AbortController()];
    let pending = 1;
    let settled = false;
    let lastFailure: AttemptResult | undefined;
    const finish = (result: AttemptResult, winner: AbortController) => {
      settled = true;
      clock.clearTimeout(timer);
      for (const c of controllers) if (c !== winner) c.abort(new Error('hedge lost'));
      resolve(result);
    };
    const start = (controller: AbortController, release?: () => void) => {
      tryOnce(AbortSignal.any([signal, controller.signal])).then((result) => {
        release?.();
        pending--;
        if (settled) {
          if (result.kind === 'response') void result.response.body?.cancel().catch(() => {});
          return;
        }
        if (!result.retryable || pending === 0)
          finish(result.retryable ? (lastFailure ?? result) : result, controller);
        else lastFailure = result;
      });
    };
    start(controllers[0] as AbortController);
    const timer = clock.setTimeout(
      () => {
        if (settled || signal.aborted) return;
        const release = balancer.retryBudget ? balancer.retryBudget.tryRetry('hedge') : () => {};
        if (!release) return;
        const c = new AbortController();
        controllers.push(c);
        pending++;
        start(c, release);
      },
      delay,
      { unref: true },
    );
  });
}
