import type { Clock, PickContext } from '@switchyard/core';
import {
  abortedError,
  backendUnavailable,
  deadlineSignal,
  isSwitchyardError,
  SwitchyardError,
} from '@switchyard/core';
import type { Balancer } from '../balancer/balancer.js';
import { PKG } from '../weights/prepared-set.js';

export type AttemptResult =
  | { kind: 'response'; response: Response; retryable: boolean }
  | { kind: 'error'; error: unknown; retryable: boolean };

export interface AttemptInput {
  balancer: Balancer;
  url: URL;
  init: RequestInit;
  context: PickContext;
  signal: AbortSignal;
  perTryTimeout: number;
  clock: Clock;
  doFetch: (input: string, init: RequestInit) => Promise<Response>;
  retryStatuses: ReadonlySet<number>;
  /** Instance ids this request already tried; the chosen one is added. */
  tried: Set<string>;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * One try: pick an instance, send with a per-try deadline, report the outcome to the balancer.
 * Never throws: failures come back as `{ kind: 'error' }` with whether a retry makes sense.
 */
export async function runAttempt(input: AttemptInput): Promise<AttemptResult> {
  const { balancer, url, clock } = input;
  let handle: ReturnType<Balancer['pick']>;
  try {
    handle = input.balancer.pick(input.context, input.tried);
    input.tried.add(handle.instance.id);
  } catch (error) {
    return { kind: 'error', error, retryable: false };
  }
  const target = new URL(url.toString());
  target.host = hostPort(handle.instance.address, handle.instance.port);
  const deadline = deadlineSignal(input.perTryTimeout, {
    parent: input.signal,
    clock,
    what: `try against ${handle.instance.id}`,
  });
  const started = clock.monotonic();
  try {
    const response = await input.doFetch(target.toString(), { ...input.init, signal: deadline.signal });
    const failed = input.retryStatuses.has(response.status) || response.status >= 500;
    handle.report({
      ok: !failed,
      latency: clock.monotonic() - started,
      ...(failed ? { error: 'status' } : {}),
    });
    return { kind: 'response', response, retryable: input.retryStatuses.has(response.status) };
  } catch (cause) {
    if (input.signal.aborted) {
      handle.cancel();
      return {
        kind: 'error',
        error: abortedError(PKG, input.signal, `request to ${url.host}`),
        retryable: false,
      };
    }
    const timedOut = deadline.signal.aborted;
    handle.report({
      ok: false,
      latency: clock.monotonic() - started,
      error: timedOut ? 'timeout' : 'connect',
    });
    const error = timedOut
      ? new SwitchyardError(
          'TIMEOUT',
          `[${PKG}] try against ${handle.instance.id} timed out after ${input.perTryTimeout} ms`,
          {
            cause,
            details: { instance: handle.instance.id },
          },
        )
      : isSwitchyardError(cause)
        ? cause
        : backendUnavailable(PKG, `request to ${balancer.service} (${handle.instance.id})`, cause);
    return { kind: 'error', error, retryable: true };
  } finally {
    deadline.dispose();
  }
}
