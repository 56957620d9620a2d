import type { ServerResponse } from 'node:http';
import { parseDuration } from './duration.js';
import { HttpError } from './http-error.js';
import type { ConsulState } from './state.js';

/** Consul's limits: `wait` defaults to 5 minutes and is capped at 10; up to wait/16 jitter is added. */
export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

export interface Computed {
  index: number;
}

/**
 * Runs a query the way Consul's blocking queries do: without `index` (or with `index=0`) it answers
 * at once; otherwise it re-evaluates on every state change and answers when the result's index is
 * greater than `index`, or when `wait` (+ up to wait/16 jitter) runs out — with the unchanged result.
 */
export function blockingQuery<T extends Computed>(
  state: ConsulState,
  q: URLSearchParams,
  res: ServerResponse,
  compute: () => T,
): Promise<T | undefined> {
  const rawIndex = q.get('index');
  const minIndex = rawIndex === null || rawIndex === '' ? 0 : Number(rawIndex);
  if (!Number.isFinite(minIndex) || minIndex < 0) throw new HttpError(400, `Invalid index: ${rawIndex}`);
  const waitText = q.get('wait');
  let wait = waitText ? parseDuration(waitText) : DEFAULT_WAIT_MS;
  if (wait === undefined) throw new HttpError(400, `Invalid wait time: ${waitText}`);
  if (wait > MAX_WAIT_MS) wait = MAX_WAIT_MS;
  const first = compute();
  if (minIndex === 0 || first.index > minIndex) return Promise.resolve(first);
  const total = wait + Math.random() * (wait / 16);
  return new Promise((resolve) => {
    let done = false;
    const finish = (value: T | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      off();
      res.off('close', onClose);
      resolve(value);
    };
    const onClose = () => finish(undefined);
    const timer = setTimeout(() => finish(compute()), total);
    const off = state.onChange(() => {
      const next = compute();
      // Like Consul: a lower index (restored snapshot, restart) keeps waiting until `wait` runs out,
      // which is why clients must reset their index when it goes backwards.
      if (next.index > minIndex) finish(next);
    });
    res.on('close', onClose);
  });
}
