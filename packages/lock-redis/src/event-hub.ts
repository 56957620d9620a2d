import type { Clock, TimerHandle } from '@switchyard/core';
import { abortedError, isSwitchyardError } from '@switchyard/core';
import type { RedisClient } from './lua-script.js';

/** One waiting acquire call. */
export interface WaitEntry {
  readonly key: string;
  readonly hid: string;
  /** A notification arrived that this entry has not acted on yet. */
  notified: boolean;
  /** Set when a fair release handed the lock straight to this entry. */
  grant: { token: bigint; serverMs: number; pttl: number } | undefined;
  wake: (() => void) | undefined;
}

export type WakeMode = 'one' | 'all';

/**
 * The lock client's single pub/sub subscription (a `duplicate()` of the user's client) and the table
 * of local waiters. A release wakes one local waiter per process (`one`) or all of them (`all`: when
 * several may succeed at once, e.g. readers); a hand-off wakes exactly the granted waiter; a forced
 * release tells the local holder it lost the lock. Lost messages are covered by the waiters' fallback poll.
 */
export class EventHub {
  readonly #client: RedisClient;
  readonly #channel: string;
  readonly #mode: WakeMode;
  readonly #clock: Clock;
  readonly #waiters = new Map<string, WaitEntry[]>();
  readonly #lossListeners = new Set<(key: string, owner: string) => void>();
  #sub: RedisClient | undefined;
  #subscribed: Promise<void> | undefined;
  #ready = false;
  #waitedOnce = false;
  #closed = false;

  constructor(options: { client: RedisClient; channel: string; mode: WakeMode; clock: Clock }) {
    this.#client = options.client;
    this.#channel = options.channel;
    this.#mode = options.mode;
    this.#clock = options.clock;
  }

  get subscribed(): boolean {
    return this.#ready;
  }

  /** Subscribes (once); resolves `true` when subscribed within `timeout` ms, else `false` (polling still works). */
  async ensure(timeout: number): Promise<boolean> {
    if (this.#ready) return true;
    if (this.#closed) return false;
    if (!this.#subscribed) {
      const sub = this.#client.duplicate();
      this.#sub = sub;
      sub.on('error', () => {}); // reconnects on its own; waiters fall back to polling meanwhile
      sub.on('message', (channel: string, message: string) => {
        if (channel === this.#channel) this.#dispatch(message);
      });
      this.#subscribed = sub.subscribe(this.#channel).then(
        () => {
          this.#ready = true;
        },
        () => {
          this.#subscribed = undefined;
        },
      );
    }
    // Only the first caller waits for the subscription; later ones poll until it is back.
    if (this.#waitedOnce) return false;
    this.#waitedOnce = true;
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, timeout, { unref: true });
    });
    await Promise.race([this.#subscribed, timedOut]);
    this.#clock.clearTimeout(timer);
    return this.#ready;
  }

  onLoss(listener: (key: string, owner: string) => void): () => void {
    this.#lossListeners.add(listener);
    return () => this.#lossListeners.delete(listener);
  }

  add(entry: WaitEntry): void {
    const list = this.#waiters.get(entry.key);
    if (list) list.push(entry);
    else this.#waiters.set(entry.key, [entry]);
  }

  remove(entry: WaitEntry): void {
    const list = this.#waiters.get(entry.key);
    if (!list) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#waiters.delete(entry.key);
    // A wake-up this entry did not use goes to the next waiter.
    if (entry.notified && this.#mode === 'one' && list.length > 0) this.#wake(entry.key, 'one');
  }

  /** Waits for a notification, `ms`, or any of `signals`. Returns at once if a notification is already pending. */
  wait(
    entry: WaitEntry,
    ms: number,
    signals: readonly (AbortSignal | undefined)[],
    pkg: string,
  ): Promise<void> {
    if (entry.notified || entry.grant) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const listeners: [AbortSignal, () => void][] = [];
      const done = () => {
        this.#clock.clearTimeout(timer);
        for (const [s, l] of listeners) s.removeEventListener('abort', l);
        entry.wake = undefined;
      };
      const timer = this.#clock.setTimeout(
        () => {
          done();
          resolve();
        },
        ms,
        { unref: false },
      );
      entry.wake = () => {
        done();
        resolve();
      };
      for (const s of signals) {
        if (!s) continue;
        const onAbort = () => {
          done();
          reject(isSwitchyardError(s.reason) ? s.reason : abortedError(pkg, s, 'acquire'));
        };
        if (s.aborted) return onAbort();
        s.addEventListener('abort', onAbort, { once: true });
        listeners.push([s, onAbort]);
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#ready = false;
    const sub = this.#sub;
    this.#sub = undefined;
    sub?.disconnect();
  }

  #wake(key: string, mode: WakeMode): void {
    const list = this.#waiters.get(key);
    if (!list) return;
    if (mode === 'all') {
      for (const e of list) this.#notify(e);
      return;
    }
    // Prefer a sleeping waiter; otherwise leave the notice with the first busy one.
    const target = list.find((e) => e.wake !== undefined && !e.notified) ?? list.find((e) => !e.notified);
    if (target) this.#notify(target);
  }

  #notify(entry: WaitEntry): void {
    entry.notified = true;
    entry.wake?.();
  }

  #dispatch(message: string): void {
    const kind = message.slice(0, 2);
    if (kind === 'r|') {
      this.#wake(message.slice(2), this.#mode);
      return;
    }
    if (kind === 'g|') {
      const [, token, ms, pttl, len] = message.split('|', 5);
      const start = 2 + token!.length + 1 + ms!.length + 1 + pttl!.length + 1 + len!.length + 1;
      const hid = message.slice(start, start + Number(len));
      const key = message.slice(start + Number(len));
      const entry = this.#waiters.get(key)?.find((e) => e.hid === hid);
      if (!entry) return;
      entry.grant = { token: BigInt(token!), serverMs: Number(ms), pttl: Number(pttl) };
      this.#notify(entry);
      return;
    }
    if (kind === 'l|') {
      const [, len] = message.split('|', 2);
      const start = 2 + len!.length + 1;
      const owner = message.slice(start, start + Number(len));
      const key = message.slice(start + Number(len));
      for (const listener of this.#lossListeners) listener(key, owner);
      // The key is free again (or handed off); non-fair waiters may try.
      this.#wake(key, this.#mode);
    }
  }
}
