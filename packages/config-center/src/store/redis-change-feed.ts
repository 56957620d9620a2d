import {
  AsyncChannel,
  type Backoff,
  type Clock,
  type ConfigChange,
  type ConfigEntry,
  sleep,
} from '@switchyard/core';
import type { Redis } from 'ioredis';

interface FeedWatcher {
  readonly prefix: string;
  readonly channel: AsyncChannel<ConfigChange>;
  /** Highest revision delivered (or covered by a listing). */
  delivered: number;
  /** Changes that arrived while a replay or relist was running. */
  buffer: ConfigChange[] | undefined;
}

export interface RedisChangeFeedOptions {
  pkg: string;
  client: Redis;
  stream: string;
  clock: Clock;
  backoff: Backoff;
  requestTimeout: number;
  list: (prefix: string, signal?: AbortSignal) => Promise<{ entries: ConfigEntry[]; revision: number }>;
}

const BLOCK_MS = 2_000;
const PAGE = 500;

type StreamEntry = [id: string, fields: string[]];

/**
 * The change stream of a Redis config store, read by one `XREAD BLOCK` loop on a connection of its
 * own and fanned out to every watcher by prefix. A watcher from a revision replays the stream with
 * `XRANGE`; when the stream was trimmed past it (or the reader fell behind the trim, or Redis lost
 * its data) the watcher relists instead: the current value of every key it has not seen.
 */
export class RedisChangeFeed {
  readonly #o: RedisChangeFeedOptions;
  readonly #watchers = new Set<FeedWatcher>();
  #reader: Redis | undefined;
  #loop: Promise<void> | undefined;
  #lastRev = 0;
  #stopped = false;
  readonly #stop = new AbortController();
  /** Resolves once the reader has its start position: a replay must begin after it. */
  readonly #ready: Promise<void>;
  #markReady: () => void = () => {};

  constructor(options: RedisChangeFeedOptions) {
    this.#o = options;
    this.#ready = new Promise<void>((resolve) => {
      this.#markReady = resolve;
    });
  }

  watch(
    prefix: string,
    fromRevision: number | undefined,
    signal: AbortSignal | undefined,
  ): AsyncIterable<ConfigChange> {
    const w: FeedWatcher = {
      prefix,
      channel: new AsyncChannel<ConfigChange>({
        onReturn: () => {
          this.#watchers.delete(w);
          signal?.removeEventListener('abort', stop);
        },
      }),
      delivered: 0,
      buffer: [],
    };
    const stop = () => {
      this.#watchers.delete(w);
      w.channel.close();
    };
    if (signal?.aborted) {
      stop();
      return w.channel;
    }
    signal?.addEventListener('abort', stop, { once: true });
    this.#watchers.add(w);
    this.#start();
    void this.#begin(w, fromRevision).catch(() => {});
    return w.channel;
  }

  async close(): Promise<void> {
    this.#stopped = true;
    this.#stop.abort();
    this.#markReady();
    for (const w of this.#watchers) w.channel.close();
    this.#watchers.clear();
    this.#reader?.disconnect();
    await this.#loop;
  }

  /** First position of a new watcher: now, a replay of the stream, or a relist. */
  async #begin(w: FeedWatcher, from: number | undefined): Promise<void> {
    await this.#ready;
    for (let attempt = 0; !this.#stopped && this.#watchers.has(w); attempt++) {
      try {
        if (from === undefined) {
          w.delivered = Number((await this.#o.client.get(this.#revKey())) ?? 0);
        } else {
          w.delivered = from;
          const first = await this.#o.client.xrange(this.#o.stream, '-', '+', 'COUNT', 1);
          const firstRev = first[0] ? revOf(first[0][0]) : Number.POSITIVE_INFINITY;
          const current = Number((await this.#o.client.get(this.#revKey())) ?? 0);
          if (current > from && firstRev > from + 1) await this.#relist(w);
          else await this.#replay(w, from);
        }
        this.#flush(w);
        return;
      } catch {
        await sleep(this.#o.backoff(attempt), { clock: this.#o.clock, signal: this.#stop.signal }).catch(
          () => {},
        );
      }
    }
  }

  #revKey(): string {
    return this.#o.stream.replace(/log$/, 'rev');
  }

  async #replay(w: FeedWatcher, from: number): Promise<void> {
    let start = `${from}-2`;
    for (;;) {
      const page = (await this.#o.client.xrange(this.#o.stream, start, '+', 'COUNT', PAGE)) as StreamEntry[];
      for (const entry of page) {
        const c = decode(entry);
        if (c.revision > w.delivered && c.key.startsWith(w.prefix)) {
          w.channel.push(c);
        }
        w.delivered = Math.max(w.delivered, c.revision);
      }
      if (page.length < PAGE) return;
      start = `${revOf(page.at(-1)![0])}-2`;
    }
  }

  async #relist(w: FeedWatcher, reset = false): Promise<void> {
    w.buffer ??= [];
    const { entries, revision } = await this.#o.list(w.prefix);
    if (reset) w.delivered = 0;
    for (const e of entries) {
      if (e.revision > w.delivered)
        w.channel.push({ type: 'put', key: e.key, entry: e, revision: e.revision });
    }
    w.delivered = revision;
  }

  #flush(w: FeedWatcher): void {
    const buffered = w.buffer ?? [];
    w.buffer = undefined;
    for (const c of buffered) this.#deliver(w, c);
  }

  #deliver(w: FeedWatcher, c: ConfigChange): void {
    if (w.buffer) {
      w.buffer.push(c);
      return;
    }
    if (c.revision <= w.delivered) return;
    w.delivered = c.revision;
    if (c.key.startsWith(w.prefix)) w.channel.push(c);
  }

  #start(): void {
    if (this.#loop || this.#stopped) return;
    this.#reader = this.#o.client.duplicate({ maxRetriesPerRequest: null, lazyConnect: false });
    this.#reader.on('error', () => {});
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const reader = this.#reader!;
    let attempt = 0;
    let initialised = false;
    while (!this.#stopped) {
      try {
        const current = Number((await reader.get(this.#revKey())) ?? 0);
        if (!initialised) {
          this.#lastRev = current;
          initialised = true;
          this.#markReady();
        } else if (current < this.#lastRev) {
          // Redis lost its data (restart without persistence, FLUSHALL): start over from a relist.
          this.#lastRev = current;
          await this.#resyncAll(true);
        }
        const reply = (await reader.xread(
          'COUNT',
          PAGE,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          this.#o.stream,
          `${this.#lastRev}-1`,
        )) as [string, StreamEntry[]][] | null;
        attempt = 0;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length > 0 && revOf(entries[0]![0]) > this.#lastRev + 1) {
          // The stream was trimmed past our position: what fell out is recovered by a relist.
          await this.#resyncAll(false);
        }
        for (const entry of entries) {
          const c = decode(entry);
          this.#lastRev = c.revision;
          for (const w of this.#watchers) this.#deliver(w, c);
        }
      } catch {
        if (this.#stopped) return;
        await sleep(this.#o.backoff(attempt++), { clock: this.#o.clock, signal: this.#stop.signal }).catch(
          () => {},
        );
      }
    }
  }

  async #resyncAll(reset: boolean): Promise<void> {
    const all = [...this.#watchers];
    for (const w of all) w.buffer ??= [];
    for (const w of all) {
      await this.#relist(w, reset);
      this.#flush(w);
    }
  }
}

function revOf(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

function decode([, fields]: StreamEntry): ConfigChange {
  let type = 'put';
  let key = '';
  let raw = '{}';
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === 't') type = fields[i + 1]!;
    else if (fields[i] === 'k') key = fields[i + 1]!;
    else if (fields[i] === 'e') raw = fields[i + 1]!;
  }
  const entry = Object.freeze(JSON.parse(raw) as ConfigEntry);
  return Object.freeze({ type: type as 'put' | 'delete', key, entry, revision: entry.revision });
}
