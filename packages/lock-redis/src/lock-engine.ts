import { randomBytes } from 'node:crypto';
import {
  type AcquireOptions,
  abortedError,
  assertDuration,
  assertKey,
  assertNonEmptyString,
  assertWait,
  backendUnavailable,
  type Clock,
  type DistributedLock,
  isSwitchyardError,
  jitter,
  type LockCapabilities,
  type LockInfo,
  type LockLease,
  type LockStats,
  LockStatsRecorder,
  ManagedLease,
  SwitchyardError,
} from '@switchyard/core';
import { callWithDeadline } from './call-deadline.js';
import { EventHub, type WaitEntry, type WakeMode } from './event-hub.js';
import type { KeyLayout } from './key-layout.js';
import type { Handle, LockStrategy, StrategyContext } from './lock-strategy.js';
import type { RedisClient } from './lua-script.js';
import { currentLockOwner } from './owner-scope.js';

export const PKG = 'lock-redis';
/** Fallback poll cap (ms) while the release subscription is not established. */
const UNSUBSCRIBED_POLL = 100;

export interface EngineOptions {
  name: string;
  client: RedisClient;
  ownsClient: boolean;
  layout: KeyLayout;
  strategy: LockStrategy;
  capabilities: LockCapabilities;
  wakeMode: WakeMode;
  clock: Clock;
  ttl: number;
  wait: number;
  operationTimeout: number;
  pollInterval: number;
  queueLease: number;
  drift: number | undefined;
  reentrant: boolean;
  /** Waiters queue in Redis and releases hand off to them (no local line-up needed). */
  redisQueue?: boolean;
}

/**
 * The acquire/wait/lease machinery shared by every Redis lock kind: one script round trip per
 * attempt, waiting on the shared pub/sub subscription with a bounded jittered fallback poll,
 * owner-checked cleanup after abandoned or ambiguous attempts, and leases built on core's ManagedLease.
 */
export class LockEngine implements DistributedLock {
  readonly name: string;
  readonly capabilities: LockCapabilities;
  readonly client: RedisClient;
  readonly layout: KeyLayout;
  readonly stats = new LockStatsRecorder();
  readonly #o: EngineOptions;
  readonly #ctx: StrategyContext;
  readonly #hub: EventHub;
  readonly #leases = new Set<ManagedLease>();
  readonly #waiting = new Set<() => void>();
  readonly #background = new Set<Promise<unknown>>();
  #closed = false;
  // Handle ids: a random per-client prefix plus a counter (unique; cheaper than random bytes per call).
  readonly #idPrefix = randomBytes(9).toString('base64url');
  #idSeq = 0;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.name = options.name;
    this.capabilities = options.capabilities;
    this.client = options.client;
    this.layout = options.layout;
    this.#ctx = { client: options.client, layout: options.layout };
    this.#hub = new EventHub({
      client: options.client,
      channel: options.layout.channel,
      lostChannel: options.layout.lostChannel,
      mode: options.wakeMode,
      clock: options.clock,
    });
    this.#hub.onLoss((key, owner) => {
      for (const lease of this.#leases) {
        if (lease.key === key && lease.owner === owner) {
          lease.markLost(
            new SwitchyardError('LOCK_LOST', `[${PKG}] lock "${key}" was force-released by an operator`),
          );
        }
      }
    });
  }

  /** Runs one backend call with the operation timeout; failures become typed errors. */
  async op<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal, closed?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw abortedError(PKG, signal, what);
    if (closed?.aborted) throw closed.reason;
    const outcome = await callWithDeadline(fn(), this.#o.operationTimeout, this.#o.clock, [signal, closed]);
    if (outcome.ok) return outcome.value;
    if (outcome.reason === 'aborted') {
      if (outcome.signal === closed) throw closed?.reason;
      throw abortedError(PKG, signal, what);
    }
    if (outcome.reason === 'timeout') {
      throw new SwitchyardError(
        'BACKEND_UNAVAILABLE',
        `[${PKG}] ${what} got no reply within ${this.#o.operationTimeout} ms`,
      );
    }
    throw backendUnavailable(PKG, what, outcome.error);
  }

  #handle(key: string, opts: AcquireOptions): { h: Handle; wait: number; autoRenew: boolean } {
    if (this.#closed) throw new SwitchyardError('CLOSED', `[${PKG}] lock client is closed`);
    assertKey(PKG, 'key', key);
    const ttl = assertDuration(PKG, 'ttl', opts.ttl ?? this.#o.ttl);
    const wait = assertWait(PKG, 'wait', opts.wait ?? this.#o.wait);
    const hid = `${this.#idPrefix}${(++this.#idSeq).toString(36)}`;
    const explicit =
      opts.owner === undefined ? undefined : assertNonEmptyString(PKG, 'owner', opts.owner, 256);
    const owner = explicit ?? (this.#o.reentrant ? currentLockOwner() : undefined) ?? hid;
    return {
      h: { key, owner, hid, ttl, reentrant: this.#o.reentrant },
      wait,
      autoRenew: opts.autoRenew ?? true,
    };
  }

  async acquire(key: string, options: AcquireOptions = {}): Promise<LockLease> {
    const { h, wait, autoRenew } = this.#handle(key, options);
    const signal = options.signal;
    const clock = this.#o.clock;
    if (signal?.aborted) throw abortedError(PKG, signal, 'acquire');
    const start = clock.monotonic();
    const deadline = start + wait;
    const entry: WaitEntry = { key, hid: h.hid, notified: false, grant: undefined, wake: undefined };
    // The waiting machinery (close hook, waiter entry, subscription) is set up only once an attempt
    // failed, so an uncontended acquire costs one script call and nothing else.
    let closeWait: (() => void) | undefined;
    let closed: AbortSignal | undefined;
    const prepare = async (): Promise<void> => {
      const controller = new AbortController();
      closed = controller.signal;
      closeWait = () =>
        controller.abort(
          new SwitchyardError('CLOSED', `[${PKG}] lock client closed while waiting for "${key}"`),
        );
      this.#waiting.add(closeWait);
      this.#hub.add(entry);
      // Bounded by the wait left (the fallback poll covers a subscription that is not there yet).
      const left = Math.max(0, deadline - clock.monotonic());
      if (!signal?.aborted) await this.#hub.ensure(Math.min(this.#o.operationTimeout, left, 1000));
    };
    let attempts = 0;
    let offset = 0; // server ms - local wall ms, from the last reply
    let rtt = 0;
    let lastError: unknown;
    let dirty = false; // an attempt may have left state behind (queue entry, unknown outcome)
    let queued = false; // an attempt may have queued this handle
    try {
      // No barging inside one process: when local waiters already queue for this key, line up
      // behind them (each release wakes the first) instead of racing them for the lock.
      if (wait > 0 && this.#o.redisQueue !== true && this.#hub.queuedLocally(key)) {
        await prepare();
        const left = Math.max(0, deadline - clock.monotonic());
        const poll = Math.max(1, jitter(this.#o.pollInterval, 0.25));
        await this.#hub.wait(entry, Math.min(left, poll), [signal, closed], PKG);
      }
      for (;;) {
        if (entry.grant) {
          // Handed off by a release: the grant is valid for `pttl` (at most this waiter's queue
          // deadline) from `serverMs` (server time). Count validity from our estimate of that moment;
          // the watchdog renews to the full ttl before half of it is gone.
          const { token, serverMs, pttl } = entry.grant;
          const elapsed = Math.max(0, clock.now() + offset - serverMs) + rtt;
          const grantedAt = clock.monotonic() - elapsed;
          return this.#grantLease(h, token, pttl, grantedAt, autoRenew, start);
        }
        // Notices are already flowing (other waiters here): listen before the first attempt, so a
        // failed one can go straight to waiting instead of re-checking once more.
        if (!closed && wait > 0 && this.#hub.subscribed) await prepare();
        const listening = closed !== undefined && this.#hub.subscribed;
        entry.notified = false;
        const sentAt = clock.monotonic();
        const queueLease = wait > 0 ? Math.min(this.#o.queueLease, Math.max(1, deadline - sentAt)) : 0;
        try {
          dirty = true;
          const wasQueued = queued;
          if (queueLease > 0) queued = true;
          const r = await this.op(
            'acquire',
            () => this.#o.strategy.attempt(this.#ctx, h, queueLease, wasQueued),
            signal,
            closed,
          );
          rtt = clock.monotonic() - sentAt;
          if (r.serverMs > 0) offset = r.serverMs - clock.now();
          lastError = undefined;
          if (r.acquired) {
            dirty = false;
            // Picked up a hand-off grant (notice missed): it may be shorter than the ttl.
            if (r.grantPttl >= 0 && r.grantPttl < h.ttl) {
              return this.#grantLease(h, r.token, r.grantPttl, sentAt, autoRenew, start);
            }
            return this.#lease(h, r.token, autoRenew, sentAt, start);
          }
          dirty = this.#o.strategy.waitLeavesState === true && queueLease > 0;
          if (attempts++ === 0) this.stats.contended++;
          if (wait === 0) break;
          const left = deadline - clock.monotonic();
          if (left <= 0) break;
          if (!listening) {
            // Now listening: try again at once (a release may have happened before we listened).
            if (!closed) await prepare();
            continue;
          }
          let poll = r.pttl >= 0 ? Math.min(r.pttl + 1, this.#o.pollInterval) : this.#o.pollInterval;
          // Not (yet) subscribed: notices can be missed, so poll faster (still bounded and jittered).
          if (!this.#hub.subscribed) poll = Math.min(poll, UNSUBSCRIBED_POLL);
          await this.#hub.wait(entry, Math.min(left, Math.max(1, jitter(poll, 0.25))), [signal, closed], PKG);
        } catch (error) {
          if (signal?.aborted || closed?.aborted) throw this.#abortError(signal, closed);
          if (!isSwitchyardError(error, 'BACKEND_UNAVAILABLE')) throw error;
          lastError = error;
          const left = deadline - clock.monotonic();
          if (wait === 0 || left <= 0) throw error;
          if (!closed) await prepare();
          await this.#hub.wait(
            { ...entry, notified: false, grant: undefined },
            Math.min(left, Math.max(10, jitter(this.#o.pollInterval, 0.5))),
            [signal, closed],
            PKG,
          );
        }
      }
      if (lastError) throw lastError;
      this.stats.timedOut++;
      throw new SwitchyardError('LOCK_TIMEOUT', `[${PKG}] could not acquire "${key}" within ${wait} ms`, {
        details: { key, wait },
      });
    } catch (error) {
      if (dirty) this.#cleanup(h);
      if (isSwitchyardError(error, 'ABORTED')) this.stats.aborted++;
      throw error;
    } finally {
      if (closeWait) {
        this.#waiting.delete(closeWait);
        this.#hub.remove(entry);
      }
    }
  }

  #abortError(signal: AbortSignal | undefined, closed: AbortSignal | undefined): SwitchyardError {
    if (closed?.aborted) return closed.reason as SwitchyardError;
    return abortedError(PKG, signal, 'acquire');
  }

  /** Owner-checked cleanup in the background (after abandoned or ambiguous attempts). */
  #cleanup(h: Handle): void {
    const p = this.op('cleanup', () => this.#o.strategy.cleanup(this.#ctx, h)).catch(() => {});
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  /** A lease on a grant valid for `pttl` ms from `grantedAt`; renewed to the full ttl at once. */
  #grantLease(
    h: Handle,
    token: bigint,
    pttl: number,
    grantedAt: number,
    autoRenew: boolean,
    start: number,
  ): ManagedLease {
    const lease = this.#lease(h, token, autoRenew, grantedAt + Math.min(pttl, h.ttl) - h.ttl, start);
    if (!autoRenew && pttl < h.ttl) lease.extend().catch(() => {}); // failure marks the lease lost
    return lease;
  }

  #lease(h: Handle, token: bigint, autoRenew: boolean, acquiredAt: number, start: number): ManagedLease {
    this.stats.acquired++;
    this.stats.recordWait(this.#o.clock.monotonic() - start);
    const lease = new ManagedLease({
      pkg: PKG,
      key: h.key,
      owner: h.owner,
      token,
      ttl: h.ttl,
      acquiredAt,
      autoRenew,
      clock: this.#o.clock,
      ...(this.#o.drift === undefined ? {} : { drift: this.#o.drift }),
      driver: {
        extend: (ttl, signal) => this.op('extend', () => this.#o.strategy.extend(this.#ctx, h, ttl), signal),
        release: (signal) => this.#release(h, signal),
      },
      onEnd: (l, how) => {
        this.#leases.delete(l);
        if (how === 'lost') this.stats.lost++;
        else this.stats.released++;
      },
    });
    this.#leases.add(lease);
    // Holders hear about forced releases over the shared subscription.
    this.#hub.watchLosses();
    return lease;
  }

  async #release(h: Handle, signal: AbortSignal | undefined): Promise<boolean> {
    const latchTtl = this.#o.operationTimeout * 4 + 1000;
    const run = (retry: boolean) =>
      this.op('release', () => this.#o.strategy.release(this.#ctx, h, latchTtl, retry), signal);
    try {
      return await run(false);
    } catch (error) {
      if (signal?.aborted || !isSwitchyardError(error, 'BACKEND_UNAVAILABLE')) throw error;
      return run(true); // the latch makes a retried release answer like the first one
    }
  }

  async tryAcquire(key: string, options: Omit<AcquireOptions, 'wait'> = {}): Promise<LockLease | undefined> {
    try {
      return await this.acquire(key, { ...options, wait: 0 });
    } catch (error) {
      if (isSwitchyardError(error, 'LOCK_TIMEOUT')) return undefined;
      throw error;
    }
  }

  async inspect(key: string, options: { signal?: AbortSignal } = {}): Promise<LockInfo | undefined> {
    assertKey(PKG, 'key', key);
    return this.op('inspect', () => this.#o.strategy.inspect(this.#ctx, key), options.signal);
  }

  statsSnapshot(): LockStats {
    this.stats.held = this.#leases.size;
    this.stats.waiting = this.#waiting.size;
    return this.stats.snapshot();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const stop of [...this.#waiting]) stop();
    await Promise.all([...this.#leases].map((l) => l.release().catch(() => false)));
    await Promise.all([...this.#background]);
    await this.#hub.close();
    if (this.#o.ownsClient) {
      await this.op('quit', () => this.client.quit()).catch(() => this.client.disconnect());
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
