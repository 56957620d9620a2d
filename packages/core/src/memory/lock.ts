import type { LockInfo } from '../contracts/lock.js';
import { defineLock, type KitLock, lockOptions } from '../driver/lock/define-lock.js';
import type { LockAttempt, LockDriver, LockWaiter } from '../driver/lock/lock-driver.js';
import { SwitchyardError } from '../errors.js';
import { opt, parseOptions } from '../options/option-schema.js';
import { type Clock, systemClock, type TimerHandle } from '../primitives/clock.js';

const PKG = 'core';

interface Holder {
  /** The acquire request holding it: release and extend go by this, never by owner alone. */
  id: string;
  owner: string;
  token: bigint;
  timer: TimerHandle | undefined;
  expiresAt: number;
  onLost: ((cause: unknown) => void) | undefined;
}

interface Queued {
  id: string;
  owner: string;
  ttl: number;
  /** Set when a release handed the lock to this request. */
  grant: { token: bigint; at: number } | undefined;
  wake: (() => void) | undefined;
}

interface KeyState {
  holder: Holder | undefined;
  counter: bigint;
  queue: Queued[];
  /** Requests of any client waiting for a notice on this key. */
  listeners: Set<() => void>;
}

/** Shared lock state: several `createMemoryLock` clients on one store behave like several processes. */
export class MemoryLockStore {
  readonly clock: Clock;
  readonly #keys = new Map<string, KeyState>();

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  // Key state is kept for the life of the store: the fencing counter of a key must never restart.
  #state(key: string): KeyState {
    let s = this.#keys.get(key);
    if (!s) {
      s = { holder: undefined, counter: 0n, queue: [], listeners: new Set() };
      this.#keys.set(key, s);
    }
    return s;
  }

  /**
   * One attempt of request `id`: a grant handed to it while queued, the lock if free and nobody
   * queues ahead (FIFO), else a queue place when `queue` (kept until granted or `dequeue`).
   */
  attempt(key: string, id: string, owner: string, ttl: number, queue: boolean): LockAttempt {
    const s = this.#state(key);
    const mine = s.queue.find((q) => q.id === id);
    if (mine?.grant) {
      s.queue.splice(s.queue.indexOf(mine), 1);
      return { acquired: true, token: mine.grant.token, grantedAt: mine.grant.at };
    }
    if (s.holder?.id === id) return { acquired: true, token: s.holder.token };
    if (!s.holder && s.queue.length === 0) {
      return { acquired: true, token: this.#grant(key, s, id, owner, ttl).token };
    }
    if (queue && !mine) s.queue.push({ id, owner, ttl, grant: undefined, wake: undefined });
    return {
      acquired: false,
      retryIn: s.holder ? Math.max(0, s.holder.expiresAt - this.clock.monotonic()) : -1,
    };
  }

  /** Resolves on a notice for `key` (a release, a grant to `id`) or after `ms`. */
  listen(key: string, id: string, ms: number, signal: AbortSignal): Promise<LockAttempt | undefined> {
    const s = this.#state(key);
    return new Promise((resolve) => {
      const mine = () => s.queue.find((q) => q.id === id);
      const finish = () => {
        this.clock.clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        s.listeners.delete(finish);
        const q = mine();
        if (q) q.wake = undefined;
        if (q?.grant) {
          s.queue.splice(s.queue.indexOf(q), 1);
          resolve({ acquired: true, token: q.grant.token, grantedAt: q.grant.at });
        } else resolve(undefined);
      };
      const timer = this.clock.setTimeout(finish, ms, { unref: true });
      signal.addEventListener('abort', finish, { once: true });
      const q = mine();
      if (q) q.wake = finish;
      else s.listeners.add(finish);
      if (q?.grant || signal.aborted) finish();
    });
  }

  /** Drops request `id`'s queue place; a grant it never picked up is released. */
  dequeue(key: string, id: string): void {
    const s = this.#keys.get(key);
    if (!s) return;
    const i = s.queue.findIndex((q) => q.id === id);
    if (i >= 0) s.queue.splice(i, 1);
    if (s.holder?.id === id) this.release(key, id);
  }

  extend(key: string, id: string, ttl: number): boolean {
    const h = this.#keys.get(key)?.holder;
    if (!h || h.id !== id) return false;
    this.clock.clearTimeout(h.timer);
    h.expiresAt = this.clock.monotonic() + ttl;
    h.timer = this.clock.setTimeout(() => this.#expire(key, h), ttl, { unref: true });
    return true;
  }

  release(key: string, id: string): boolean {
    const s = this.#keys.get(key);
    const h = s?.holder;
    if (!s || !h || h.id !== id) return false;
    this.clock.clearTimeout(h.timer);
    s.holder = undefined;
    this.#handOff(key, s);
    return true;
  }

  /** Sets what a holder is told when it loses the lock (expiry, forced release). */
  follow(key: string, id: string, onLost: ((cause: unknown) => void) | undefined): void {
    const h = this.#keys.get(key)?.holder;
    if (h?.id === id) h.onLost = onLost;
  }

  /** Operator release: frees the key, tells the holder it lost the lock; the fencing counter is untouched. */
  forceRelease(key: string): boolean {
    const s = this.#keys.get(key);
    const h = s?.holder;
    if (!s || !h) return false;
    this.clock.clearTimeout(h.timer);
    s.holder = undefined;
    h.onLost?.(new SwitchyardError('LOCK_LOST', `[${PKG}] lock "${key}" was force-released`));
    this.#handOff(key, s);
    return true;
  }

  info(key: string): LockInfo | undefined {
    const s = this.#keys.get(key);
    const h = s?.holder;
    if (!s || !h) return undefined;
    return {
      key,
      owner: h.owner,
      token: h.token,
      ttlLeft: Math.max(0, h.expiresAt - this.clock.monotonic()),
      waiters: s.queue.filter((q) => !q.grant).length,
    };
  }

  keys(): string[] {
    return [...this.#keys.entries()]
      .filter(([, s]) => s.holder)
      .map(([k]) => k)
      .sort();
  }

  #grant(key: string, s: KeyState, id: string, owner: string, ttl: number): Holder {
    s.counter += 1n;
    const h: Holder = {
      id,
      owner,
      token: s.counter,
      timer: undefined,
      expiresAt: this.clock.monotonic() + ttl,
      onLost: undefined,
    };
    h.timer = this.clock.setTimeout(() => this.#expire(key, h), ttl, { unref: true });
    s.holder = h;
    return h;
  }

  #expire(key: string, h: Holder): void {
    const s = this.#keys.get(key);
    if (!s || s.holder !== h) return;
    s.holder = undefined;
    h.onLost?.(new SwitchyardError('LOCK_LOST', `[${PKG}] lock "${key}" expired`));
    this.#handOff(key, s);
  }

  /** Hands the free lock to the oldest queued request (it holds from now), and wakes listeners. */
  #handOff(key: string, s: KeyState): void {
    const next = s.queue.find((q) => q.grant === undefined);
    if (next) {
      const h = this.#grant(key, s, next.id, next.owner, next.ttl);
      next.grant = { token: h.token, at: this.clock.monotonic() };
      next.wake?.();
    }
    for (const l of [...s.listeners]) l();
  }
}

export interface MemoryLockOptions {
  store?: MemoryLockStore;
  clock?: Clock;
  /** Default TTL in ms (default 30 000). */
  ttl?: number;
  /** Default wait in ms (default Infinity). */
  wait?: number;
  reentrant?: boolean;
  drift?: number;
  /** Where a throwing `lease:lost` listener's error goes (default: a process warning). */
  onListenerError?: (error: unknown, event: string) => void;
}

/** The embedded default lock: FIFO-fair with hand-off, fencing tokens, TTL expiry, watchdog renewal. */
export function createMemoryLock(options: MemoryLockOptions = {}): KitLock {
  const { ttl, wait, drift, reentrant, onListenerError } = lockOptions();
  const o = parseOptions(PKG, options, {
    ttl,
    wait,
    drift,
    reentrant,
    onListenerError,
    clock: opt.clock(),
    store: opt.instance<MemoryLockStore>((v) => v instanceof MemoryLockStore, 'a MemoryLockStore'),
  });
  const store = o.store ?? new MemoryLockStore({ clock: o.clock ?? systemClock });
  const clock = o.clock ?? store.clock;

  const driver: LockDriver = {
    name: 'memory',
    capabilities: Object.freeze({
      fair: true,
      reentrant: o.reentrant,
      ttlGranularity: 'milliseconds',
      notifications: true,
    }),
    async attempt(req, { queueFor }) {
      return store.attempt(req.key, req.id, req.owner, req.ttl, queueFor > 0);
    },
    async waiter(req): Promise<LockWaiter> {
      return {
        listening: true,
        wait: (ms, signal) => store.listen(req.key, req.id, ms, signal),
        close() {},
      };
    },
    async extend(req, _token, ttl) {
      return store.extend(req.key, req.id, ttl);
    },
    async release(req) {
      return store.release(req.key, req.id);
    },
    async abandon(req) {
      store.dequeue(req.key, req.id);
    },
    async inspect(key) {
      return store.info(key);
    },
    async list(limit) {
      return store
        .keys()
        .slice(0, limit)
        .flatMap((k) => store.info(k) ?? []);
    },
    async forceRelease(key) {
      return store.forceRelease(key);
    },
    track(req, lease) {
      store.follow(req.key, req.id, (cause) => lease.markLost(cause));
      return () => store.follow(req.key, req.id, undefined);
    },
  };
  return defineLock(driver, {
    pkg: PKG,
    clock,
    ttl: o.ttl,
    wait: o.wait,
    requestTimeout: 10_000,
    pollInterval: 10_000,
    unavailableAfter: 10_000,
    drift: o.drift ?? 0,
    reentrant: o.reentrant,
    onListenerError: o.onListenerError,
  });
}
