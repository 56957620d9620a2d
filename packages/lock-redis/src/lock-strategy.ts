import type { LockInfo } from '@switchyard/core';
import type { KeyLayout } from './key-layout.js';
import type { RedisClient } from './lua-script.js';

/** One acquire call: the owner it acts for and its handle id (also the request id of every attempt). */
export interface Handle {
  readonly key: string;
  readonly owner: string;
  readonly hid: string;
  readonly ttl: number;
  readonly reentrant: boolean;
}

export interface AttemptResult {
  acquired: boolean;
  /** The fencing token when acquired. */
  token: bigint;
  /** ms left on whatever blocks us (-1 unknown), when not acquired. */
  pttl: number;
  /** Server time (ms) when the script ran (0 if not read). */
  serverMs: number;
  /** When acquired by picking up an earlier grant of this handle: the ms left on it (else -1). */
  grantPttl: number;
}

export interface StrategyContext {
  readonly client: RedisClient;
  readonly layout: KeyLayout;
}

/** The Redis half of one kind of lock (mutex, fair, semaphore, reader, writer). */
export interface LockStrategy {
  /** A waiting attempt leaves state behind (queue place, write intent) that a give-up must clean up. */
  readonly waitLeavesState?: boolean;
  /**
   * `queueLease` > 0: the caller will wait, so queue (or announce intent) for that long.
   * `queued`: an earlier attempt of this handle may have queued it.
   */
  attempt(ctx: StrategyContext, h: Handle, queueLease: number, queued: boolean): Promise<AttemptResult>;
  extend(ctx: StrategyContext, h: Handle, ttl: number): Promise<boolean>;
  /** `retry`: a second attempt after an ambiguous failure (must answer like the first). */
  release(ctx: StrategyContext, h: Handle, latchTtl: number, retry: boolean): Promise<boolean>;
  /** Undo whatever an abandoned or ambiguous acquire of `h` may have left (queue entry, grant). */
  cleanup(ctx: StrategyContext, h: Handle): Promise<void>;
  inspect(ctx: StrategyContext, key: string): Promise<LockInfo | undefined>;
}

/** Parses the `{acquired, token|pttl, serverMs}` reply of an acquire script. */
export function parseAttempt(reply: unknown): AttemptResult {
  const [ok, value, ms, grantPttl] = reply as [string, string, string, string | undefined];
  const acquired = ok === '1';
  return {
    acquired,
    token: acquired ? BigInt(value) : 0n,
    pttl: acquired ? -1 : Number(value),
    serverMs: Number(ms),
    grantPttl: grantPttl === undefined ? -1 : Number(grantPttl),
  };
}
