import { randomUUID } from 'node:crypto';
import type {
  AcquireOptions,
  DistributedLock,
  LockCapabilities,
  LockInfo,
  LockLease,
} from '../contracts/lock.js';
import { abortedError, SwitchyardError } from '../errors.js';
import { ManagedLease } from '../lock/managed-lease.js';
import { type Clock, systemClock, type TimerHandle } from '../primitives/clock.js';
import { assertDuration, assertKey, assertNonEmptyString, assertWait } from '../validation.js';

const PKG = 'core/memory-lock';

interface Holder {
  owner: string;
  token: bigint;
  timer: TimerHandle | undefined;
  expiresAt: number;
  onLost: ((cause: unknown) => void) | undefined;
}

interface Waiter {
  owner: string;
  ttl: number;
  grant: (holder: Holder) => void;
}

interface KeyState {
  holder: Holder | undefined;
  counter: bigint;
  waiters: Waiter[];
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
      s = { holder: undefined, counter: 0n, waiters: [] };
      this.#keys.set(key, s);
    }
    return s;
  }

  /** Grants immediately if free and nobody queues ahead (fairness), else undefined. */
  tryAcquire(key: string, owner: string, ttl: number): Holder | undefined {
    const s = this.#state(key);
    if (s.holder || s.waiters.length > 0) return undefined;
    return this.#grant(key, s, owner, ttl);
  }

  enqueue(key: string, waiter: Waiter): () => void {
    const s = this.#state(key);
    s.waiters.push(waiter);
    if (!s.holder) this.#handOff(key, s);
    return () => {
      const i = s.waiters.indexOf(waiter);
      if (i >= 0) s.waiters.splice(i, 1);
    };
  }

  extend(key: string, owner: string, ttl: number): boolean {
    const s = this.#keys.get(key);
    const h = s?.holder;
    if (!s || !h || h.owner !== owner) return false;
    this.clock.clearTimeout(h.timer);
    h.expiresAt = this.clock.monotonic() + ttl;
    h.timer = this.clock.setTimeout(() => this.#expire(key, h), ttl, { unref: true });
    return true;
  }

  release(key: string, owner: string): boolean {
    const s = this.#keys.get(key);
    const h = s?.holder;
    if (!s || !h || h.owner !== owner) return false;
    this.clock.clearTimeout(h.timer);
    s.holder = undefined;
    this.#handOff(key, s);
    return true;
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
      waiters: s.waiters.length,
    };
  }

  keys(): string[] {
    return [...this.#keys.entries()]
      .filter(([, s]) => s.holder)
      .map(([k]) => k)
      .sort();
  }

  #grant(key: string, s: KeyState, owner: string, ttl: number): Holder {
    s.counter += 1n;
    const h: Holder = {
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

  #handOff(key: string, s: KeyState): void {
    const next = s.waiters.shift();
    if (!next) return;
    next.grant(this.#grant(key, s, next.owner, next.ttl));
  }
}

export interface MemoryLockOptions {
  store?: MemoryLockStore;
  clock?: Clock;
  /** Default TTL in ms (default 30 000). */
  ttl?: number;
}

/** The embedded default lock: FIFO-fair, fencing tokens, TTL expiry, watchdog renewal. */
export function createMemoryLock(options: MemoryLockOptions = {}): DistributedLock & {
  forceRelease(key: string): Promise<boolean>;
  list(): Promise<LockInfo[]>;
} {
  const store = options.store ?? new MemoryLockStore({ clock: options.clock ?? systemClock });
  const clock = options.clock ?? store.clock;
  const defaultTtl = assertDuration(PKG, 'ttl', options.ttl ?? 30_000);
  const leases = new Set<ManagedLease>();
  const pending = new Set<() => void>();
  let closed = false;

  const capabilities: LockCapabilities = Object.freeze({
    fair: true,
    reentrant: false,
    ttlGranularity: 'milliseconds',
    notifications: true,
  });

  function parse(key: string, opts: AcquireOptions) {
    if (closed) throw new SwitchyardError('CLOSED', `[${PKG}] lock client is closed`);
    assertKey(PKG, 'key', key);
    const ttl = assertDuration(PKG, 'ttl', opts.ttl ?? defaultTtl);
    const wait = assertWait(PKG, 'wait', opts.wait ?? Number.POSITIVE_INFINITY);
    const owner =
      opts.owner === undefined ? randomUUID() : assertNonEmptyString(PKG, 'owner', opts.owner, 256);
    return { ttl, wait, owner, autoRenew: opts.autoRenew ?? true };
  }

  function lease(
    key: string,
    h: Holder,
    ttl: number,
    owner: string,
    autoRenew: boolean,
    acquiredAt: number,
  ): LockLease {
    const l = new ManagedLease({
      pkg: PKG,
      key,
      owner,
      token: h.token,
      ttl,
      acquiredAt,
      autoRenew,
      clock,
      drift: 0,
      driver: {
        extend: async (t) => store.extend(key, owner, t),
        release: async () => store.release(key, owner),
      },
      onEnd: (x) => leases.delete(x),
    });
    h.onLost = (cause) => l.markLost(cause);
    leases.add(l);
    return l;
  }

  const lock = {
    name: 'memory',
    capabilities,
    async acquire(key: string, opts: AcquireOptions = {}): Promise<LockLease> {
      const { ttl, wait, owner, autoRenew } = parse(key, opts);
      const signal = opts.signal;
      if (signal?.aborted) throw abortedError(PKG, signal, 'acquire');
      const start = clock.monotonic();
      const h = store.tryAcquire(key, owner, ttl);
      if (h) return lease(key, h, ttl, owner, autoRenew, start);
      if (wait === 0) throw timeout(key, wait);
      return new Promise<LockLease>((resolve, reject) => {
        let timer: TimerHandle | undefined;
        let dequeue: () => void = () => {};
        const cleanup = () => {
          clock.clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          pending.delete(onClose);
          dequeue();
        };
        const onAbort = () => {
          cleanup();
          reject(abortedError(PKG, signal, 'acquire'));
        };
        const onClose = () => {
          cleanup();
          reject(new SwitchyardError('CLOSED', `[${PKG}] lock client closed while waiting for "${key}"`));
        };
        dequeue = store.enqueue(key, {
          owner,
          ttl,
          grant: (holder) => {
            cleanup();
            resolve(lease(key, holder, ttl, owner, autoRenew, clock.monotonic()));
          },
        });
        if (Number.isFinite(wait)) {
          timer = clock.setTimeout(() => {
            cleanup();
            reject(timeout(key, wait));
          }, wait);
        }
        signal?.addEventListener('abort', onAbort, { once: true });
        pending.add(onClose);
      });
    },
    async tryAcquire(key: string, opts: Omit<AcquireOptions, 'wait'> = {}): Promise<LockLease | undefined> {
      try {
        return await lock.acquire(key, { ...opts, wait: 0 });
      } catch (error) {
        if (SwitchyardError.is(error, 'LOCK_TIMEOUT')) return undefined;
        throw error;
      }
    },
    async inspect(key: string): Promise<LockInfo | undefined> {
      assertKey(PKG, 'key', key);
      return store.info(key);
    },
    async forceRelease(key: string): Promise<boolean> {
      assertKey(PKG, 'key', key);
      return store.forceRelease(key);
    },
    async list(): Promise<LockInfo[]> {
      return store.keys().flatMap((k) => store.info(k) ?? []);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const p of [...pending]) p();
      await Promise.all([...leases].map((l) => l.release().catch(() => false)));
    },
    async [Symbol.asyncDispose](): Promise<void> {
      await lock.close();
    },
  };
  return lock;
}

function timeout(key: string, wait: number): SwitchyardError {
  return new SwitchyardError('LOCK_TIMEOUT', `[${PKG}] could not acquire "${key}" within ${wait} ms`, {
    details: { key, wait },
  });
}
