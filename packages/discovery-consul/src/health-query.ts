import type { ServiceInstance } from '@switchyard/core';
import {
  callBackend,
  type ServiceListing,
  type WatchBatch,
  type WatchPosition,
} from '@switchyard/core/driver';
import { type ConsulClient, consulCall, type HttpResponseLike } from './consul-call.js';
import { decodeEntries, type HealthEntry } from './instance-codec.js';
import { PKG, type ResolvedOptions } from './options.js';
import { QuerySlots } from './query-slots.js';
import { TokenBucket } from './token-bucket.js';

/** With more watches than query slots, blocking queries wait at most this long (ms) so watches take turns. */
const CONTENDED_WAIT = 5_000;
/** Non-blocking reads (lists, resolves) in flight at once (at most maxBlockingQueries): quick, this bounds a burst. */
const MAX_LISTS = 16;

/**
 * The read side: `list` is one `/v1/health/service/:name` query (every instance, whatever its
 * health; filters are applied by the kit), `watch` the blocking-query loop over the same endpoint.
 */
export class HealthQuery {
  readonly #client: ConsulClient;
  readonly #o: ResolvedOptions;
  /** Blocking queries in flight (each holds a connection for up to a `wait`). */
  readonly #slots: QuerySlots;
  readonly #lists: QuerySlots;

  constructor(client: ConsulClient, o: ResolvedOptions) {
    this.#client = client;
    this.#o = o;
    this.#slots = new QuerySlots(o.maxBlockingQueries);
    this.#lists = new QuerySlots(Math.min(MAX_LISTS, o.maxBlockingQueries));
  }

  async list(service: string, signal: AbortSignal): Promise<ServiceListing> {
    const slot = await this.#lists.acquire(signal, false);
    try {
      const { index, instances } = await this.#query(service, undefined, slot.signal);
      return { instances, revision: Math.max(1, index) };
    } finally {
      slot.release();
    }
  }

  /**
   * Consul's client duties for blocking queries: block on the last `X-Consul-Index`, never on an
   * index below 1, yield every answer whose index moved (one that went backwards makes the kit
   * relist and replace its view), and rate-limit the loop with a token bucket.
   */
  async *watch(service: string, from: WatchPosition, signal: AbortSignal): AsyncGenerator<WatchBatch> {
    const { clock, rateLimit, requestTimeout } = this.#o;
    const bucket = new TokenBucket(rateLimit.burst, rateLimit.interval, clock);
    let index = Math.max(1, from.revision);
    const leave = this.#slots.join();
    try {
      for (;;) {
        await bucket.take(signal);
        const wait = this.#slots.contended ? Math.min(this.#o.wait, CONTENDED_WAIT) : this.#o.wait;
        const slot = await this.#slots.acquire(signal, wait > CONTENDED_WAIT);
        let answer: { index: number; instances: ServiceInstance[] };
        try {
          answer = await callBackend(
            `watch of ${service}`,
            { pkg: PKG, clock, timeout: wait + wait / 16 + requestTimeout, signal: slot.signal },
            (s) => this.#query(service, { index, wait }, s),
          );
        } catch (error) {
          // Our slot was taken back for other watches: queue again with a short wait; nothing was lost.
          if (slot.preempted) continue;
          throw error;
        } finally {
          slot.release();
        }
        const next = Math.max(1, answer.index);
        if (next === index) continue; // the wait ran out with nothing new
        index = next;
        yield { instances: answer.instances, revision: next };
      }
    } finally {
      leave();
    }
  }

  async #query(
    service: string,
    block: { index: number; wait: number } | undefined,
    signal: AbortSignal,
  ): Promise<{ index: number; instances: ServiceInstance[] }> {
    const o = this.#o;
    const [res, body] = await consulCall(
      block ? 'watch' : 'list',
      signal,
      (ctx) =>
        this.#client.health.service({
          service,
          ...(block ? { index: String(block.index), wait: `${block.wait}ms` } : {}),
          ...(o.stale ? { stale: true } : {}),
          ...(o.datacenter ? { dc: o.datacenter } : {}),
          token: o.token,
          ctx,
        } as never) as unknown as Promise<[HttpResponseLike, HealthEntry[]]>,
      // A reset connection during a long poll usually means the agent restarted: let the kit relist.
      { includeResponse: true, retryStaleSocket: block === undefined },
    );
    const raw = Number(res.headers['x-consul-index']);
    return {
      index: Number.isFinite(raw) ? raw : 0,
      instances: decodeEntries(body ?? [], o.metaKeys, o.prefixServiceId),
    };
  }
}
