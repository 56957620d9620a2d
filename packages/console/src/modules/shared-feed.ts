import { type EventFrame, encodeEvent } from '../http/replies.js';

type Listener = (frame: EventFrame) => void;

interface Feed {
  readonly listeners: Set<Listener>;
  readonly failures: Set<(error: unknown) => void>;
  readonly stop: AbortController;
  last: EventFrame | undefined;
}

/**
 * One upstream loop per key (a service's discovery watch) shared by every page that streams it: the
 * loop runs while at least one subscriber is open, each update is encoded once and written to all of
 * them, and a late subscriber gets the latest frame at once. The Consul UI's complaint was one
 * blocking query per widget; here it is one watch per service, whatever the number of pages open.
 */
export class SharedFeeds<K> {
  readonly #feeds = new Map<K, Feed>();

  constructor(
    /** Runs the upstream loop for `key`, calling `publish` with each new payload, until `signal` fires. */
    readonly run: (key: K, publish: (payload: unknown) => void, signal: AbortSignal) => Promise<void>,
  ) {}

  /** Number of upstream loops running (one per key with subscribers). */
  get size(): number {
    return this.#feeds.size;
  }

  /**
   * Streams `key` to `send` until `signal` fires (resolves) or the upstream loop fails (rejects with
   * its error; the next subscriber starts a fresh loop).
   */
  subscribe(key: K, send: (frame: EventFrame) => void, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    const feed = this.#feeds.get(key) ?? this.#start(key);
    return new Promise<void>((resolve, reject) => {
      const leave = () => {
        feed.listeners.delete(send);
        feed.failures.delete(fail);
        signal.removeEventListener('abort', onAbort);
        if (feed.listeners.size === 0 && this.#feeds.get(key) === feed) {
          this.#feeds.delete(key);
          feed.stop.abort();
        }
      };
      const onAbort = () => {
        leave();
        resolve();
      };
      const fail = (error: unknown) => {
        leave();
        reject(error);
      };
      feed.listeners.add(send);
      feed.failures.add(fail);
      signal.addEventListener('abort', onAbort, { once: true });
      if (feed.last) send(feed.last);
    });
  }

  #start(key: K): Feed {
    const feed: Feed = {
      listeners: new Set(),
      failures: new Set(),
      stop: new AbortController(),
      last: undefined,
    };
    this.#feeds.set(key, feed);
    const publish = (payload: unknown) => {
      const frame = encodeEvent(payload);
      feed.last = frame;
      for (const l of feed.listeners) l(frame);
    };
    this.run(key, publish, feed.stop.signal).then(
      () => {
        if (!feed.stop.signal.aborted) this.#fail(key, feed, new Error('the upstream feed ended'));
      },
      (error: unknown) => {
        if (!feed.stop.signal.aborted) this.#fail(key, feed, error);
      },
    );
    return feed;
  }

  #fail(key: K, feed: Feed, error: unknown): void {
    if (this.#feeds.get(key) === feed) this.#feeds.delete(key);
    for (const f of [...feed.failures]) f(error);
  }

  /** Stops every loop (server close): subscribers' own signals end their streams. */
  close(): void {
    for (const feed of this.#feeds.values()) feed.stop.abort();
    this.#feeds.clear();
  }
}
