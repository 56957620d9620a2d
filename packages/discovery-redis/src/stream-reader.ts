import { backendUnavailable, sleep, type TimerHandle } from '@switchyard/core';
import { type WatchBatch, type WatchPosition, watchResetError } from '@switchyard/core/driver';
import type { Cluster, Redis } from 'ioredis';
import { PKG } from './instance-record.js';
import type { RedisContext } from './redis-context.js';
import { CHECK, SWEEP } from './scripts.js';
import { ServiceStream, type StreamEntry } from './service-stream.js';

/** Server-side block of one XREAD, ms; new watches interrupt it with CLIENT UNBLOCK. */
const BLOCK_MS = 10_000;
/** Entries per XREAD and stream. */
const READ_COUNT = 1_000;

type XReadReply = [key: string, entries: StreamEntry[]][] | null;

/**
 * The change feed of one backend client. Single node (or Sentinel): one dedicated connection (a
 * `duplicate()` of the client) runs one `XREAD BLOCK` over the streams of every watched service.
 * Redis Cluster cannot read streams of several slots in one command, so there a pub/sub doorbell
 * (published by every write script) triggers a non-blocking XREAD of the service that changed.
 * In both modes a sweeper removes expired instances of the watched services every `sweepInterval`
 * (appending their removals to the streams), detects a changed epoch (data loss) and catches up a
 * reader that missed a wake-up.
 */
export class StreamReader {
  readonly #ctx: RedisContext;
  readonly #sweepInterval: number;
  readonly #streams = new Set<ServiceStream>();
  #connection: Redis | Cluster | undefined;
  #doorbell: Promise<void> | undefined;
  #readerId: number | undefined;
  #loop: Promise<void> | undefined;
  /** Bumped for every XREAD sent; `#reading` while one is outstanding. */
  #generation = 0;
  #reading = false;
  /** Fires when the reader connection closes: ioredis drops (never settles) the XREAD in flight. */
  #lost: AbortController | undefined;
  #unblocking = false;
  #sweepTimer: TimerHandle | undefined;
  #closed = false;

  constructor(ctx: RedisContext, sweepInterval: number) {
    this.#ctx = ctx;
    this.#sweepInterval = sweepInterval;
  }

  /** The driver's `watch`: changes of `service` after `from`. */
  watch(service: string, from: WatchPosition, signal: AbortSignal): AsyncIterable<WatchBatch> {
    const stream = new ServiceStream(service, this.#ctx.keys.service(service).log, (s) => this.#leave(s));
    const onAbort = () => stream.close();
    if (signal.aborted) stream.close();
    else signal.addEventListener('abort', onAbort, { once: true });
    void this.#open(stream, from, signal).finally(() => {
      if (stream.done) signal.removeEventListener('abort', onAbort);
    });
    return stream.channel;
  }

  /** Stops the feed: every stream ends, the reader connection is closed. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#ctx.clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    for (const s of [...this.#streams]) s.close();
    this.#lost?.abort(new Error('closed'));
    this.#connection?.disconnect();
    this.#connection = undefined;
    await this.#loop;
  }

  /** Checks that `from` can be resumed, then adds the stream to the reads. */
  async #open(stream: ServiceStream, from: WatchPosition, signal: AbortSignal): Promise<void> {
    const { service } = stream;
    try {
      const cursor = from.cursor;
      if (cursor === undefined) throw watchResetError(PKG, `no stream position for ${service}`);
      const reply = (await this.#ctx.call(`watch of ${service}`, signal, () =>
        this.#ctx.run(CHECK, service, [cursor, from.revision]),
      )) as [string, string, number, number];
      const [epoch, revText, at, next] = reply;
      const rev = Number(revText);
      if ((from.epoch !== undefined && epoch !== from.epoch) || rev < from.revision) {
        // Data loss (flush, restart without persistence, failover to a replica that lagged).
        stream.regress(epoch, rev);
        return;
      }
      const contiguous =
        (cursor === '0-0' || at === from.revision) &&
        (next === -1 ? rev === from.revision : next === from.revision + 1);
      if (!contiguous) {
        throw watchResetError(
          PKG,
          `the stream of ${service} no longer continues from revision ${from.revision}`,
        );
      }
      if (this.#ctx.cluster) await this.#ringing();
      if (stream.done || this.#closed) return;
      stream.start(cursor, from.revision, epoch);
      this.#streams.add(stream);
      this.#scheduleSweep();
      if (this.#ctx.cluster) this.#fetch(stream);
      else this.#read();
    } catch (error) {
      stream.fail(error);
    }
  }

  #leave(stream: ServiceStream): void {
    this.#streams.delete(stream);
    if (this.#streams.size === 0) {
      this.#ctx.clock.clearTimeout(this.#sweepTimer);
      this.#sweepTimer = undefined;
    }
  }

  // ---- single node: one blocking XREAD over every stream -------------------------------------

  /** Starts the read loop, or interrupts the XREAD in flight so that it includes new streams. */
  #read(): void {
    if (this.#loop) {
      void this.#unblock();
      return;
    }
    this.#loop = this.#readLoop().finally(() => {
      this.#loop = undefined;
      if (!this.#closed && [...this.#streams].some((s) => s.started)) this.#read();
    });
  }

  #blocking(): Redis {
    if (!this.#connection) {
      const conn = (this.#ctx.client as Redis).duplicate({
        // A failover must not silently replay the read on another server: the kit resumes it.
        autoResendUnfulfilledCommands: false,
        commandTimeout: undefined,
        enableOfflineQueue: true,
        lazyConnect: false,
      });
      conn.on('error', () => {}); // surfaced by the failing read
      conn.on('close', () => {
        if (this.#connection !== conn) return;
        this.#readerId = undefined;
        this.#lost?.abort(new Error('the stream reader connection closed'));
      });
      this.#connection = conn;
    }
    return this.#connection as Redis;
  }

  async #readLoop(): Promise<void> {
    while (!this.#closed) {
      const streams = [...this.#streams].filter((s) => s.started);
      if (streams.length === 0) return;
      const conn = this.#blocking();
      const lost = new AbortController();
      try {
        if (this.#readerId === undefined) {
          this.#readerId = await this.#ctx.call('stream reader id', undefined, () => conn.client('ID'));
        }
        const keys = streams.map((s) => s.log);
        const ids = streams.map((s) => s.lastId);
        this.#generation++;
        this.#reading = true;
        this.#lost = lost;
        const reply = (await this.#ctx.call(
          'stream read',
          lost.signal,
          () => conn.xread('COUNT', READ_COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', ...keys, ...ids),
          BLOCK_MS + this.#ctx.requestTimeout,
        )) as XReadReply;
        this.#reading = false;
        this.#lost = undefined;
        if (reply) this.#dispatch(reply, streams);
      } catch (error) {
        this.#reading = false;
        this.#lost = undefined;
        if (this.#closed) return;
        // The connection failed or hung (a paused server): drop it; every stream fails and is
        // resumed by the kit, which checks its position first (it may be on another server now).
        if (this.#connection === conn) {
          conn.disconnect();
          this.#connection = undefined;
          this.#readerId = undefined;
        }
        const cause = lost.signal.aborted ? lost.signal.reason : error;
        for (const s of streams) s.fail(backendUnavailable(PKG, `stream read of ${s.service}`, cause));
      }
    }
  }

  #dispatch(reply: NonNullable<XReadReply>, streams: readonly ServiceStream[]): void {
    for (const [key, entries] of reply) {
      for (const s of streams) if (s.log === key) s.accept(entries);
    }
  }

  /** CLIENT UNBLOCK the XREAD in flight; retried while it has not reached the server yet. */
  async #unblock(): Promise<void> {
    if (this.#unblocking || !this.#reading) return;
    this.#unblocking = true;
    const generation = this.#generation;
    try {
      for (let i = 0; i < 100 && this.#reading && generation === this.#generation; i++) {
        const id = this.#readerId;
        if (id === undefined) return;
        const n = await this.#ctx.call('unblock', undefined, () => this.#ctx.client.client('UNBLOCK', id));
        if (n === 1) return;
        await sleep(2, { clock: this.#ctx.clock, unref: true });
      }
    } catch {
      // The read returns by itself within BLOCK_MS; the sweeper nudges laggards too.
    } finally {
      this.#unblocking = false;
    }
  }

  // ---- Redis Cluster: pub/sub doorbell + XREAD of the stream that changed ----------------------

  /** Subscribes to the doorbell channel once (resolves when subscribed). */
  #ringing(): Promise<void> {
    this.#doorbell ??= (async () => {
      const sub = (this.#ctx.client as Cluster).duplicate();
      sub.on('error', () => {});
      sub.on('message', (_channel: string, service: string) => {
        for (const s of this.#streams) if (s.service === service && s.started) this.#fetch(s);
      });
      this.#connection = sub;
      await this.#ctx.call('doorbell subscribe', undefined, () => sub.subscribe(this.#ctx.keys.channel));
    })().catch((error: unknown) => {
      this.#doorbell = undefined;
      this.#connection?.disconnect();
      this.#connection = undefined;
      throw error;
    });
    return this.#doorbell;
  }

  /** Reads what `stream` has not delivered yet (one fetch at a time per stream). */
  #fetch(stream: ServiceStream): void {
    if (stream.fetching) {
      stream.refetch = true;
      return;
    }
    stream.fetching = true;
    void (async () => {
      try {
        do {
          stream.refetch = false;
          const reply = (await this.#ctx.call(`stream read of ${stream.service}`, undefined, () =>
            this.#ctx.client.xread('COUNT', READ_COUNT, 'STREAMS', stream.log, stream.lastId),
          )) as XReadReply;
          const entries = reply?.[0]?.[1] ?? [];
          stream.accept(entries);
          if (entries.length === READ_COUNT) stream.refetch = true;
        } while (stream.refetch && stream.started);
      } catch (error) {
        stream.fail(error);
      } finally {
        stream.fetching = false;
      }
    })();
  }

  // ---- sweeper -------------------------------------------------------------------------------

  #scheduleSweep(): void {
    if (this.#sweepTimer !== undefined || this.#closed || this.#streams.size === 0) return;
    const delay = this.#sweepInterval * (0.9 + Math.random() * 0.2);
    this.#sweepTimer = this.#ctx.clock.setTimeout(
      () => {
        void this.#sweep().finally(() => {
          this.#sweepTimer = undefined;
          this.#scheduleSweep();
        });
      },
      delay,
      { unref: true },
    );
  }

  /** Removes expired instances of every watched service; checks epochs and reader progress. */
  async #sweep(): Promise<void> {
    const byService = new Map<string, ServiceStream[]>();
    for (const s of this.#streams) {
      if (!s.started) continue;
      const list = byService.get(s.service);
      if (list) list.push(s);
      else byService.set(s.service, [s]);
    }
    await Promise.all(
      [...byService].map(async ([service, streams]) => {
        try {
          const [epoch, revText] = (await this.#ctx.call(`sweep of ${service}`, undefined, () =>
            this.#ctx.run(SWEEP, service, []),
          )) as [string, string, number];
          const rev = Number(revText);
          for (const s of streams) {
            if (epoch !== s.epoch) s.regress(epoch, rev);
            else if (rev > s.lastRev) {
              s.lagging++;
              if (this.#ctx.cluster) this.#fetch(s);
              else if (s.lagging >= 2) void this.#unblock();
            } else s.lagging = 0;
          }
        } catch (error) {
          // Unreachable: the watches go stale now rather than when the blocking read times out.
          for (const s of streams) s.fail(backendUnavailable(PKG, `sweep of ${service}`, error));
        }
      }),
    );
  }
}
