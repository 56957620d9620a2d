import { type Clock, SwitchyardError, type TimerHandle } from '@switchyard/core';
import type { RedisClient } from './lua-script.js';

/** One node's answer: `undefined` while pending. */
export type NodeResult<T> = { ok: true; value: T } | { ok: false; error: unknown } | undefined;

export interface QuorumCallOptions {
  /** Deadline of every node's call, ms: a node without reply by then counts as failed. */
  timeout: number;
  clock: Clock;
  /**
   * Once a quorum of nodes answered without a decision (a split vote), give the stragglers only
   * a short grace (3 × the time taken so far, at least 5 ms) instead of the whole deadline.
   */
  grace: boolean;
  quorum: number;
}

/**
 * Runs `call` on every node in parallel and settles as soon as `decide` can tell from the answers
 * so far (a quorum, or a quorum no longer possible), not when the slowest node answers: a dead or
 * paused node costs nothing while a quorum is healthy. `decide(results, final)` must return a value
 * when `final` (every node answered or timed out, or the grace ran out). Calls still in flight are
 * left to finish (their outcome ignored, their errors caught).
 */
export function quorumCall<T, R>(
  clients: readonly RedisClient[],
  o: QuorumCallOptions,
  call: (c: RedisClient, i: number) => Promise<T>,
  decide: (results: readonly NodeResult<T>[], final: boolean) => R | undefined,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const results: NodeResult<T>[] = clients.map(() => undefined);
    const start = o.clock.monotonic();
    let pending = clients.length;
    let done = false;
    let graceTimer: TimerHandle | undefined;
    const finish = (final: boolean) => {
      if (done) return;
      let r: R | undefined;
      try {
        r = decide(results, final);
      } catch (error) {
        r = undefined;
        done = true;
        cleanup();
        reject(error);
        return;
      }
      if (r === undefined) {
        if (final) return; // decide must answer on final; nothing else will call it
        if (o.grace && graceTimer === undefined && clients.length - pending >= o.quorum) {
          const wait = Math.max(5, 3 * (o.clock.monotonic() - start));
          graceTimer = o.clock.setTimeout(() => finish(true), wait, { unref: true });
        }
        return;
      }
      done = true;
      cleanup();
      resolve(r);
    };
    const deadline = o.clock.setTimeout(
      () => {
        for (let i = 0; i < results.length; i++) {
          results[i] ??= {
            ok: false,
            error: new SwitchyardError(
              'BACKEND_UNAVAILABLE',
              `node ${i} gave no reply within ${o.timeout} ms`,
            ),
          };
        }
        finish(true);
      },
      o.timeout,
      { unref: true },
    );
    const cleanup = () => {
      o.clock.clearTimeout(deadline);
      o.clock.clearTimeout(graceTimer);
    };
    clients.forEach((c, i) => {
      Promise.resolve()
        .then(() => call(c, i))
        .then(
          (value) => {
            results[i] ??= { ok: true, value };
          },
          (error: unknown) => {
            results[i] ??= { ok: false, error };
          },
        )
        .then(() => {
          pending--;
          finish(pending === 0);
        });
    });
  });
}

/** Counts of a tally: answers equal to `value`, other answers, failures, still pending. */
export function tally<T>(results: readonly NodeResult<T>[], match: (v: T) => boolean) {
  let yes = 0;
  let no = 0;
  let failed = 0;
  let pending = 0;
  let firstError: unknown;
  for (const r of results) {
    if (r === undefined) pending++;
    else if (!r.ok) {
      failed++;
      firstError ??= r.error;
    } else if (match(r.value)) yes++;
    else no++;
  }
  return { yes, no, failed, pending, firstError };
}
