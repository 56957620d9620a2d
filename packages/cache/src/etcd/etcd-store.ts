import type { CacheStore, Clock } from '@switchyard/core';
import { systemClock } from '@switchyard/core';
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
import { type Etcd3, EtcdLeaseInvalidError, type IOptions, type IRequestOp } from 'etcd3';
import { isEtcdClient, resolveEtcdClient } from './etcd-client.js';
import { LeasePool } from './lease-pool.js';

const PKG = 'cache';
/** etcd's default `--max-txn-ops`. */
const TXN_OPS = 128;

export interface EtcdCacheStoreOptions {
  /** Your `Etcd3` client; never closed by the store. */
  client?: Etcd3;
  /** Or endpoints: the store creates a client and closes it on `close()`. */
  hosts?: string | string[];
  /** Extra `Etcd3` options for a client made from `hosts`. */
  clientOptions?: IOptions;
  /** Key prefix (default `/switchyard/cache`); keys are `<prefix>/<key>`. */
  prefix?: string;
  /** Deadline of one etcd call, ms (default 5 000). */
  requestTimeout?: number;
  /**
   * Width of a shared-lease bucket as a fraction of the TTL (default 0.1, at least 1 s): keys
   * written with one TTL within a bucket share one lease, and expire up to one bucket late.
   */
  leaseBucket?: number;
  clock?: Clock;
}

export interface EtcdCacheStore extends CacheStore {
  /** Leases granted by this store so far. */
  readonly leasesGranted: number;
}

/**
 * A `CacheStore` on etcd v3: TTL by lease (one shared lease per expiry bucket, see `LeasePool`),
 * batches as transactions of at most 128 operations, `clear(prefix)` as one range delete.
 * Values are limited to 1 000 000 characters (etcd's request limit is 1.5 MiB).
 */
export function createEtcdCacheStore(options: EtcdCacheStoreOptions): EtcdCacheStore {
  const o = parseOptions(PKG, options, {
    client: opt.instance<Etcd3>(isEtcdClient, 'an etcd3 Etcd3 client'),
    hosts: opt.endpoints(),
    clientOptions: opt.bag<IOptions>(),
    prefix: opt.string({ maxLength: 256 }).default(KEY_PREFIX.etcd.cache),
    requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
    leaseBucket: opt.number(0, 1).default(0.1),
    clock: opt.clock().default(systemClock),
  });
  exclusiveOptions(PKG, o, ['client', 'hosts'], { required: true });
  const { client, owned } = resolveEtcdClient(PKG, o);
  const base = o.prefix.endsWith('/') ? o.prefix : `${o.prefix}/`;
  const full = (k: string) => Buffer.from(base + k);
  const leases = new LeasePool(client, o.clock, o.leaseBucket);

  async function leaseOf(ttl: number | undefined): Promise<string | undefined> {
    return ttl === undefined ? undefined : leases.leaseFor(ttl);
  }

  /** Runs `ops` in transactions of at most 128 operations, in order. */
  async function txn<T>(ops: IRequestOp[], read: (responses: unknown[]) => T[]): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < ops.length; i += TXN_OPS) {
      const r = await client.kv.txn({ success: ops.slice(i, i + TXN_OPS) });
      out.push(...read(r.responses as unknown[]));
    }
    return out;
  }

  /** A write on a lease etcd has forgotten is retried once on a fresh lease. */
  async function withLease<T>(
    ttls: (number | undefined)[],
    write: (ids: (string | undefined)[]) => Promise<T>,
  ) {
    const ids = await Promise.all(ttls.map(leaseOf));
    try {
      return await write(ids);
    } catch (error) {
      if (!(error instanceof EtcdLeaseInvalidError)) throw error;
      for (const id of ids) if (id !== undefined) leases.forget(id);
      return write(await Promise.all(ttls.map(leaseOf)));
    }
  }

  const raw: CacheStoreDriver = {
    name: 'etcd',
    capabilities: { ttlGranularity: 'seconds', shared: true },
    async get(key) {
      const r = await client.kv.range({ key: full(key) });
      return r.kvs[0]?.value.toString();
    },
    async has(key) {
      const r = await client.kv.range({ key: full(key), count_only: true });
      return Number(r.count) > 0;
    },
    async set(key, value, ttl) {
      await withLease([ttl], ([lease]) =>
        client.kv.put({ key: full(key), value: Buffer.from(value), ...(lease ? { lease } : {}) }),
      );
    },
    async delete(key) {
      const r = await client.kv.deleteRange({ key: full(key) });
      return Number(r.deleted) > 0;
    },
    async getMany(keys) {
      return txn(
        keys.map((k) => ({ request_range: { key: full(k) } })),
        (rs) =>
          rs.map((r) =>
            (r as { response_range: { kvs: { value: Buffer }[] } }).response_range.kvs[0]?.value.toString(),
          ),
      );
    },
    async setMany(entries: readonly CacheEntry[]) {
      // etcd refuses a key twice in one transaction: the last write of a key wins, as in a loop.
      const last = new Map<string, CacheEntry>();
      for (const e of entries) last.set(e.key, e);
      const list = [...last.values()];
      await withLease(
        list.map((e) => e.ttl),
        (ids) =>
          txn(
            list.map((e, i) => ({
              request_put: {
                key: full(e.key),
                value: Buffer.from(e.value),
                ...(ids[i] ? { lease: ids[i] } : {}),
              },
            })),
            () => [],
          ),
      );
    },
    async deleteMany(keys) {
      const unique = [...new Set(keys)];
      const counts = await txn(
        unique.map((k) => ({ request_delete_range: { key: full(k) } })),
        (rs) =>
          rs.map((r) =>
            Number((r as { response_delete_range: { deleted: string } }).response_delete_range.deleted),
          ),
      );
      return counts.reduce((a, b) => a + b, 0);
    },
    async clear(prefix) {
      await client
        .delete()
        .prefix(base + prefix)
        .exec();
    },
    async close() {
      if (owned) client.close();
    },
  };
  const store = defineCacheStore(raw, {
    pkg: PKG,
    clock: o.clock,
    requestTimeout: o.requestTimeout,
    maxValueLength: 1_000_000,
  });
  return Object.defineProperty(store, 'leasesGranted', {
    get: () => leases.granted,
    enumerable: true,
  }) as EtcdCacheStore;
}
