import { type CacheStore, type Clock, systemClock } from '@switchyard/core';
import {
  type CacheEntry,
  type CacheStoreDriver,
  DEFAULT_REQUEST_TIMEOUT,
  defineCacheStore,
  exclusiveOptions,
  KEY_PREFIX,
  opt,
  parseOptions,
} from '@switchyard/core/driver';
import type { ChainableCommander, Redis, RedisOptions } from 'ioredis';
import { groupBySlot } from './key-slot.js';
import { isRedisClient, type RedisClient, releaseRedisClient, resolveRedisClient } from './redis-client.js';

const PKG = 'cache';

export interface RedisCacheStoreOptions {
  /** Your ioredis client (single node or `Cluster`); never closed by the store. */
  client?: RedisClient;
  /** Or a `redis://` / `rediss://` URL: the store connects and closes the connection on `close()`. */
  url?: string;
  /** Extra ioredis options for a connection made from `url`. */
  redisOptions?: RedisOptions;
  /** Prefix of every key (default `switchyard:cache:`). */
  prefix?: string;
  /** Deadline of one Redis call, ms (default 5 000). */
  requestTimeout?: number;
  /** `COUNT` hint of each `SCAN` step of `clear` (default 1 000). */
  scanCount?: number;
  clock?: Clock;
}

/** Keys per `MGET` / `MSET` / `UNLINK` (keeps one command from blocking Redis on huge batches). */
const CHUNK = 500;

/**
 * A `CacheStore` on Redis: `GET`/`SET PX`/`UNLINK`, `MGET` and pipelined `MSET` + `SET PX` for
 * batches (split per hash slot on a Cluster), `clear(prefix)` by `SCAN` + `UNLINK` on every
 * master (never `KEYS`, never `FLUSHDB`).
 */
export function createRedisCacheStore(options: RedisCacheStoreOptions): CacheStore {
  const o = parseOptions(PKG, options, {
    client: opt.instance<RedisClient>(isRedisClient, 'an ioredis Redis or Cluster client'),
    url: opt.url(['redis:', 'rediss:']),
    redisOptions: opt.bag<RedisOptions>(),
    prefix: opt.string({ maxLength: 256 }).default(KEY_PREFIX.redis.cache),
    requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
    scanCount: opt.integer(10, 100_000).default(1000),
    clock: opt.clock(),
  });
  exclusiveOptions(PKG, o, ['client', 'url'], { required: true });
  const { client, owned } = resolveRedisClient(PKG, o);
  const { prefix } = o;
  const cluster = client.isCluster;
  const full = (k: string) => prefix + k;

  /** Runs `fn` once per hash-slot group on a Cluster, once for everything on a single node. */
  async function perSlot(keys: readonly string[], fn: (idx: number[]) => Promise<void>): Promise<void> {
    if (!cluster) {
      const all = keys.map((_, i) => i);
      for (let i = 0; i < all.length; i += CHUNK) await fn(all.slice(i, i + CHUNK));
      return;
    }
    await Promise.all(
      groupBySlot(keys.map(full)).map(async (g) => {
        for (let i = 0; i < g.length; i += CHUNK) await fn(g.slice(i, i + CHUNK));
      }),
    );
  }

  async function execPipeline(p: ChainableCommander): Promise<void> {
    const results = (await p.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
  }

  async function scanAndUnlink(node: Redis, pattern: string): Promise<void> {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', o.scanCount);
      cursor = next;
      if (found.length === 0) continue;
      // Keys of one SCAN page can sit in different slots of this master: UNLINK per slot.
      const groups = cluster ? groupBySlot(found) : [found.map((_, i) => i)];
      await Promise.all(groups.map((g) => node.unlink(...g.map((i) => found[i]!))));
    } while (cursor !== '0');
  }

  const raw: CacheStoreDriver = {
    name: cluster ? 'redis-cluster' : 'redis',
    capabilities: { ttlGranularity: 'milliseconds', shared: true },
    async get(key) {
      return (await client.get(full(key))) ?? undefined;
    },
    async has(key) {
      return (await client.exists(full(key))) === 1;
    },
    async set(key, value, ttl) {
      if (ttl === undefined) await client.set(full(key), value);
      else await client.set(full(key), value, 'PX', Math.max(1, Math.ceil(ttl)));
    },
    async delete(key) {
      return (await client.unlink(full(key))) > 0;
    },
    async getMany(keys) {
      const out = new Array<string | undefined>(keys.length);
      await perSlot(keys, async (idx) => {
        const values = await client.mget(...idx.map((i) => full(keys[i]!)));
        idx.forEach((i, j) => {
          out[i] = values[j] ?? undefined;
        });
      });
      return out;
    },
    async setMany(all: readonly CacheEntry[]) {
      // A key given twice keeps its last value, as a loop of set() would.
      const last = new Map<string, CacheEntry>();
      for (const e of all) last.set(e.key, e);
      const entries = last.size === all.length ? all : [...last.values()];
      await perSlot(
        entries.map((e) => e.key),
        async (idx) => {
          const p = client.pipeline();
          const plain: string[] = [];
          for (const i of idx) {
            const e = entries[i]!;
            if (e.ttl === undefined) plain.push(full(e.key), e.value);
            else p.set(full(e.key), e.value, 'PX', Math.max(1, Math.ceil(e.ttl)));
          }
          if (plain.length > 0) p.mset(...plain);
          await execPipeline(p);
        },
      );
    },
    async deleteMany(keys) {
      let removed = 0;
      await perSlot(keys, async (idx) => {
        const n = await client.unlink(...idx.map((i) => full(keys[i]!)));
        removed += n; // after the await: groups run in parallel
      });
      return removed;
    },
    async clear(p) {
      const pattern = escapeGlob(prefix + p) + '*';
      const nodes = cluster ? (client as import('ioredis').Cluster).nodes('master') : [client as Redis];
      await Promise.all(nodes.map((n) => scanAndUnlink(n, pattern)));
    },
    async close() {
      await releaseRedisClient(client, owned);
    },
  };
  const clock = o.clock ?? systemClock;
  return defineCacheStore(raw, { pkg: PKG, clock, requestTimeout: o.requestTimeout });
}

/** Escapes the glob characters of a `SCAN MATCH` pattern. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
