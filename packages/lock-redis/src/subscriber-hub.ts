import type { Clock, TimerHandle } from '@switchyard/core';
import type { Redis } from 'ioredis';
import type { RedisClient } from './lua-script.js';

/** What a lock object hears on one channel. */
export interface ChannelListener {
  message(message: string): void;
  /** The channel is (again) subscribed: notices sent while it was not may have been missed. */
  ready?(): void;
  /** The subscription connection dropped: notices are missed until `ready`. */
  down?(): void;
}

interface Channel {
  readonly listeners: Set<ChannelListener>;
  ready: boolean;
  pending: Promise<void> | undefined;
}

const hubs = new WeakMap<RedisClient, SubscriberHub>();

/**
 * One pub/sub connection per Redis client (a `duplicate()` of it), shared by every lock object
 * created on that client: each joins the channels it needs (refcounted; SUBSCRIBE on the first
 * join, UNSUBSCRIBE on the last leave) and the connection closes when the last lock object detaches.
 * Reconnects are ioredis's; after one, every channel is subscribed again and its listeners told
 * (`ready`), so waiters re-check the notices they may have missed.
 */
export class SubscriberHub {
  readonly #client: RedisClient;
  readonly #channels = new Map<string, Channel>();
  #sub: RedisClient | undefined;
  #connected: Promise<RedisClient> | undefined;
  #users = 0;
  #degraded = false;

  private constructor(client: RedisClient) {
    this.#client = client;
  }

  /** The hub of `client`, shared by every lock object on it. */
  static of(client: RedisClient): SubscriberHub {
    let hub = hubs.get(client);
    if (!hub) {
      hub = new SubscriberHub(client);
      hubs.set(client, hub);
    }
    return hub;
  }

  /** A lock object starts using the hub; the returned function ends that (the last one closes the connection). */
  attach(): () => void {
    this.#users++;
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      if (--this.#users > 0) return;
      hubs.delete(this.#client);
      const sub = this.#sub;
      this.#sub = undefined;
      this.#connected = undefined;
      this.#channels.clear();
      sub?.disconnect();
    };
  }

  isReady(channel: string): boolean {
    return this.#channels.get(channel)?.ready === true;
  }

  /** Starts hearing `channel`; returns the function that stops it. */
  join(channel: string, listener: ChannelListener): () => void {
    let ch = this.#channels.get(channel);
    if (!ch) {
      ch = { listeners: new Set(), ready: false, pending: undefined };
      this.#channels.set(channel, ch);
    }
    ch.listeners.add(listener);
    if (ch.listeners.size === 1) this.#subscribe(channel, ch);
    const joined = ch;
    return () => {
      if (!joined.listeners.delete(listener) || joined.listeners.size > 0) return;
      if (this.#channels.get(channel) === joined) this.#channels.delete(channel);
      joined.ready = false;
      this.#sub?.unsubscribe(channel).catch(() => {});
    };
  }

  /**
   * Resolves `true` once `channel` is subscribed (waiting at most `timeout` ms), `false` if not
   * (waiters then poll faster). After one timeout it answers at once until a channel comes back.
   */
  async whenReady(channel: string, timeout: number, clock: Clock): Promise<boolean> {
    const ch = this.#channels.get(channel);
    if (!ch) return false;
    if (ch.ready) return true;
    if (this.#degraded || !ch.pending) return false;
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, timeout, { unref: true });
    });
    await Promise.race([ch.pending, timedOut]);
    clock.clearTimeout(timer);
    if (!ch.ready) this.#degraded = true;
    return ch.ready;
  }

  #subscribe(name: string, ch: Channel): void {
    const pending: Promise<void> = this.#connection()
      .then((sub) => sub.subscribe(name))
      .then(
        () => {
          if (ch.pending !== pending || this.#channels.get(name) !== ch || this.#sub === undefined) return;
          if (this.#sub.status !== 'ready') return; // dropped meanwhile: the reconnect subscribes again
          ch.ready = true;
          this.#degraded = false;
          for (const l of [...ch.listeners]) l.ready?.();
        },
        () => {},
      );
    ch.pending = pending;
  }

  /**
   * The pub/sub connection, once ready. Subscribing before ioredis finished its ready check makes
   * the check fail ("Connection in subscriber mode") and can leave the subscription dead, so wait.
   */
  #connection(): Promise<RedisClient> {
    if (this.#connected) return this.#connected;
    // The hub subscribes again itself on every reconnect ('ready' below). ioredis' own
    // autoResubscribe sends a SUBSCRIBE whose promise nobody handles: a close() while it is in flight
    // (a Redis restart, then the lock closed) surfaced as an unhandled "Connection is closed." rejection.
    const sub = (this.#client as { isCluster?: boolean }).isCluster
      ? this.#client.duplicate()
      : (this.#client as Redis).duplicate({ autoResubscribe: false });
    this.#sub = sub;
    let first = true;
    sub.on('error', () => {}); // reconnects on its own; waiters poll meanwhile
    sub.on('message', (channel: string, message: string) => {
      const ch = this.#channels.get(channel);
      if (ch) for (const l of ch.listeners) l.message(message);
    });
    sub.on('close', () => {
      if (this.#sub !== sub) return;
      for (const ch of this.#channels.values()) {
        if (!ch.ready) continue;
        ch.ready = false;
        for (const l of [...ch.listeners]) l.down?.();
      }
    });
    this.#connected = new Promise<RedisClient>((resolve) => {
      const onReady = () => {
        if (this.#sub !== sub) return;
        if (first) {
          first = false;
          resolve(sub);
          return;
        }
        for (const [name, ch] of this.#channels) this.#subscribe(name, ch);
      };
      sub.on('ready', onReady);
      if (sub.status === 'ready') onReady();
    });
    return this.#connected;
  }
}
