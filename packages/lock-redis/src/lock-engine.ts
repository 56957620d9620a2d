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
  deadlineSignal,
  isSwitchyardError,
  jitter,
  type LockCapabilities,
  type LockInfo,
  type LockLease,
  ManagedLease,
  raceSignal,
  SwitchyardError,
  sleep,
} from '@switchyard/core';
import { EventHub, type WaitEntry, type WakeMode } from './event-hub.js';
import type { KeyLayout } from './key-layout.js';
import { LockStats, type LockStatsSnapshot } from './lock-stats.js';
import type { Handle, LockStrategy, StrategyContext } from './lock-strategy.js';
import type { RedisClient } from './lua-script.js';
import { currentLockOwner } from './owner-scope.js';

export const PKG = 'lock-redis';

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
  readonly stats = new LockStats();
  readonly #o: EngineOptions;
  readonly #ctx: StrategyContext;
  readonly #hub: EventHub;
  readonly #leases = new Set<ManagedLease>();
  readonly #waiting = new Set<() => void>();
  readonly #background = new Set<Promise<unknown>>();
  #closed = false;

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
  async op<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw abortedError(PKG, signal, what);
    const deadline = deadlineSignal(this.#o.operationTimeout, { parent: signal, clock: this.#o.clock, what });
    try {
      return await raceSignal(fn(), deadline.signal, PKG, what);
    } catch (error) {
      if (signal?.aborted) throw abortedError(PKG, signal, what);
      if (isSwitchyardError(error, 'TIMEOUT')) {
        throw new SwitchyardError(
          'BACKEND_UNAVAILABLE',
          `[${PKG}] ${what} got no reply within ${this.#o.operationTimeout} ms`,
          { cause: error },
        );
      }
      throw backendUnavailable(PKG, what, error);
    } finally {
      deadline.dispose();
    }
  }

  #handle(key: string, opts: AcquireOptions): { h: Handle; wait: number; autoRenew: boolean } {
    if (this.#closed) throw new SwitchyardError('CLOSED', `[${PKG}] lock client is closed`);
    assertKey(PKG, 'key', key);
    const ttl = assertDuration(PKG, 'ttl', opts.ttl ?? this.#o.ttl);
    const wait = assertWait(PKG, 'wait', opts.wait ?? this.#o.wait);
    const hid = randomBytes(12).toString('base64url');
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
    let closeWait: (() => void) | undefined;
    const closedSignal = new AbortController();
    if (wait > 0) {
      closeWait = () =>
        closedSignal.abort(
          new SwitchyardError('CLOSED', `[${PKG}] lock client closed while waiting for "${key}"`),
        );
      this.#waiting.add(closeWait);
      this.#hub.add(entry);
    }
    const waitSignal = signal ? AbortSignal.any([signal, closedSignal.signal]) : closedSignal.signal;
    let attempts = 0;
    let offset = 0; // server ms - local wall ms, from the last reply
    let rtt = 0;
    let lastError: unknown;
    let dirty = false; // an attempt may have left state behind (queue entry, unknown outcome)
    try {
      if (wait > 0) await this.#hub.ensure(Math.min(this.#o.operationTimeout, 1000));
      for (;;) {
        if (entry.grant) {
          // Handed off by a release: the grant is valid for `pttl` from `serverMs` (server time). Count
          // validity from our estimate of that moment, then extend to the full ttl in the background.
          const { token, serverMs, pttl } = entry.grant;
          const elapsed = Math.max(0, clock.now() + offset - serverMs) + rtt;
          const grantedAt = clock.monotonic() - elapsed;
          const lease = this.#lease(h, token, autoRenew, grantedAt + Math.min(pttl, h.ttl) - h.ttl, start);
          lease.extend().catch(() => {}); // failure marks the lease lost
          return lease;
        }
        entry.notified = false;
        const sentAt = clock.monotonic();
        const queueLease = wait > 0 ? Math.min(this.#o.queueLease, Math.max(1, deadline - sentAt)) : 0;
        try {
          dirty = true;
          const r = await this.op(
            'acquire',
            () => this.#o.strategy.attempt(this.#ctx, h, queueLease),
            waitSignal,
          );
          rtt = clock.monotonic() - sentAt;
          offset = r.serverMs - clock.now();
          lastError = undefined;
          if (r.acquired) {
            dirty = false;
            return this.#lease(h, r.token, autoRenew, sentAt, start);
          }
          dirty = this.#o.strategy.waitLeavesState === true && queueLease > 0;
          if (attempts++ === 0) this.stats.contended++;
          if (wait === 0) break;
          const left = deadline - clock.monotonic();
          if (left <= 0) break;
          const poll = r.pttl >= 0 ? Math.min(r.pttl + 1, this.#o.pollInterval) : this.#o.pollInterval;
          await this.#hub.wait(entry, Math.min(left, Math.max(1, jitter(poll, 0.25))), waitSignal, PKG);
        } catch (error) {
          if (waitSignal.aborted) throw this.#abortError(signal, closedSignal.signal);
          if (!isSwitchyardError(error, 'BACKEND_UNAVAILABLE')) throw error;
          lastError = error;
          const left = deadline - clock.monotonic();
          if (wait === 0 || left <= 0) throw error;
          await sleep(Math.min(left, Math.max(10, jitter(this.#o.pollInterval, 0.5))), {
            signal: waitSignal,
            clock,
            pkg: PKG,
          }).catch(() => {
            throw this.#abortError(signal, closedSignal.signal);
          });
        }
      }
      if (lastError) throw lastError;
      this.stats.timedOut++;
      throw new SwitchyardError('LOCK_TIMEOUT', `[${PKG}] could not acquire "${key}" within ${wait} ms`, {
        details: { key, wait },
      });
    } catch (error) {
      if (dirty) this.#cleanup(h);
      throw error;
    } finally {
      if (closeWait) this.#waiting.delete(closeWait);
      if (wait > 0) this.#hub.remove(entry);
    }
  }

  #abortError(signal: AbortSignal | undefined, closed: AbortSignal): SwitchyardError {
    if (closed.aborted) return closed.reason as SwitchyardError;
    return abortedError(PKG, signal, 'acquire');
  }

  /** Owner-checked cleanup in the background (after abandoned or ambiguous attempts). */
  #cleanup(h: Handle): void {
    const p = this.op('cleanup', () => this.#o.strategy.cleanup(this.#ctx, h)).catch(() => {});
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
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
      },
    });
    this.#leases.add(lease);
    // Holders hear about forced releases over the shared subscription.
    if (!this.#hub.subscribed) void this.#hub.ensure(this.#o.operationTimeout);
    return lease;
  }

  async #release(h: Handle, signal: AbortSignal | undefined): Promise<boolean> {
    const latchTtl = this.#o.operationTimeout * 4 + 1000;
    const run = () => this.op('release', () => this.#o.strategy.release(this.#ctx, h, latchTtl), signal);
    try {
      return await run();
    } catch (error) {
      if (signal?.aborted || !isSwitchyardError(error, 'BACKEND_UNAVAILABLE')) throw error;
      return run(); // the latch makes a retried release answer like the first one
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

  statsSnapshot(): LockStatsSnapshot {
    return this.stats.snapshot();
  }

  /** Makes sure the pub/sub subscription exists (forced-release notices reach holders). */
  subscribe(): Promise<boolean> {
    return this.#hub.ensure(this.#o.operationTimeout);
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
