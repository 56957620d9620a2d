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
 * The lock client's single pub/sub connection (a `duplicate()` of the user's client) and the table
 * of local waiters. Two channels per prefix: releases and hand-offs (`<prefix>events`, subscribed
 * only while this client has waiters, so idle clients receive no traffic) and forced-release notices
 * (`<prefix>lost`, subscribed while leases exist). A release wakes one local waiter per process
 * (`one`) or all of them (`all`: when several may succeed at once, e.g. readers); a hand-off wakes
 * exactly the granted waiter. Lost messages are covered by the waiters' fallback poll.
 */
export class EventHub {
  readonly #client: RedisClient;
  readonly #events: string;
  readonly #lost: string;
  readonly #mode: WakeMode;
  readonly #clock: Clock;
  readonly #linger: number;
  readonly #waiters = new Map<string, WaitEntry[]>();
  readonly #lossListeners = new Set<(key: string, owner: string) => void>();
  #sub: RedisClient | undefined;
  #subReady: Promise<RedisClient> | undefined;
  #eventsPending: Promise<void> | undefined;
  #eventsReady = false;
  #lostRequested = false;
  #degraded = false;
  #lingerTimer: TimerHandle | undefined;
  #closed = false;

  constructor(options: {
    client: RedisClient;
    channel: string;
    lostChannel: string;
    mode: WakeMode;
    clock: Clock;
    linger?: number;
  }) {
    this.#client = options.client;
    this.#events = options.channel;
    this.#lost = options.lostChannel;
    this.#mode = options.mode;
    this.#clock = options.clock;
    this.#linger = options.linger ?? 2000;
  }

  get subscribed(): boolean {
    return this.#eventsReady;
  }

  /**
   * The pub/sub connection, once ready. Subscribing before ioredis finished its ready check makes the
   * check fail ("Connection in subscriber mode") and can leave the subscription dead, so wait for it.
   */
  #connection(): Promise<RedisClient> {
    if (this.#subReady) return this.#subReady;
    const sub = this.#client.duplicate();
    this.#sub = sub;
    sub.on('error', () => {}); // reconnects on its own (and resubscribes); waiters poll meanwhile
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.#events || channel === this.#lost) this.#dispatch(message);
    });
    this.#subReady =
      sub.status === 'ready'
        ? Promise.resolve(sub)
        : new Promise<RedisClient>((resolve) => sub.once('ready', () => resolve(sub)));
    return this.#subReady;
  }

  /** Subscribes to forced-release notices (once, in the background). */
  watchLosses(): void {
    if (this.#lostRequested || this.#closed) return;
    this.#lostRequested = true;
    this.#connection()
      .then((sub) => sub.subscribe(this.#lost))
      .catch(() => {
        this.#lostRequested = false;
      });
  }

  /**
   * Subscribes to release notices; resolves `true` once subscribed (waiting at most `timeout` ms),
   * `false` if not (waiters then poll). After one timeout it stops waiting until the subscription is back.
   */
  async ensure(timeout: number): Promise<boolean> {
    this.#clock.clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    if (this.#eventsReady) return true;
    if (this.#closed) return false;
    if (!this.#eventsPending) {
      const pending = this.#connection()
        .then((sub) => sub.subscribe(this.#events))
        .then(
          () => {
            if (this.#eventsPending !== pending) return;
            this.#eventsReady = true;
            this.#degraded = false;
            // Notices sent before the subscription was in place are lost: every waiter re-checks once.
            for (const key of this.#waiters.keys()) this.#wake(key, 'all');
          },
          () => {},
        )
        .finally(() => {
          if (this.#eventsPending === pending && !this.#eventsReady) this.#eventsPending = undefined;
        });
      this.#eventsPending = pending;
    }
    if (this.#degraded) return false;
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, timeout, { unref: true });
    });
    await Promise.race([this.#eventsPending, timedOut]);
    this.#clock.clearTimeout(timer);
    if (!this.#eventsReady) this.#degraded = true;
    return this.#eventsReady;
  }

  /** No waiters for a while: stop receiving release traffic. */
  #scheduleUnsubscribe(): void {
    if (this.#waiters.size > 0 || this.#lingerTimer || !this.#eventsPending) return;
    this.#lingerTimer = this.#clock.setTimeout(
      () => {
        this.#lingerTimer = undefined;
        if (this.#waiters.size > 0 || this.#closed) return;
        this.#eventsReady = false;
        this.#eventsPending = undefined;
        this.#sub?.unsubscribe(this.#events).catch(() => {});
      },
      this.#linger,
      { unref: true },
    );
  }

  onLoss(listener: (key: string, owner: string) => void): () => void {
    this.#lossListeners.add(listener);
    return () => this.#lossListeners.delete(listener);
  }

  /** Someone in this process already waits for `key` (and notices are flowing). */
  queuedLocally(key: string): boolean {
    return this.#eventsReady && this.#mode === 'one' && this.#waiters.has(key);
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
    if (entry.notified && !entry.grant && this.#mode === 'one' && list.length > 0)
      this.#wake(entry.key, 'one');
    if (this.#waiters.size === 0) this.#scheduleUnsubscribe();
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
    this.#eventsReady = false;
    this.#clock.clearTimeout(this.#lingerTimer);
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
