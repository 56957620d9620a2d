import type { Cache, CacheNamespace } from '@switchyard/cache';
import { KEY_PREFIX } from '@switchyard/core/driver';
import type { Etcd3 } from 'etcd3';
import type { Redis } from 'ioredis';
import type { Resources } from '../command-runner.js';
import { type BackendName, chooseBackend } from './backend-choice.js';
import {
  etcdClientOptions,
  etcdHosts,
  redisOptions,
  redisUrl,
  requestTimeout,
} from './connection-settings.js';
import type { GlobalOptions } from './global-options.js';

export const CACHE_BACKENDS = ['redis', 'etcd'] as const satisfies readonly BackendName[];

/** What the cache commands work on: the cache (no L1), and the raw client for store-level stats. */
export type CacheTarget =
  | { backend: 'redis'; cache: Cache; prefix: string; redis: Redis }
  | { backend: 'etcd'; cache: Cache; prefix: string; etcd: Etcd3 };

/**
 * A cache over the shared store the application uses, with no L1 and, unless `bus` is false, the
 * application's invalidation bus: a delete or tag invalidation from the CLI also drops the copies
 * in every running process' L1 (the same name, `--cache`, as the application's cache).
 */
export async function openCache(
  o: GlobalOptions,
  options: { name: string; bus: boolean },
  res: Resources,
): Promise<CacheTarget> {
  const backend = chooseBackend(o, CACHE_BACKENDS, 'cache');
  const timeout = requestTimeout(o);
  // Backends load on first use: a command pays only for the client it talks to.
  const { createCache } = await import('@switchyard/cache');
  if (backend === 'redis') {
    const [{ Redis }, { createRedisBus, createRedisCacheStore }] = await Promise.all([
      import('ioredis'),
      import('@switchyard/cache/redis'),
    ]);
    const prefix = o.prefix ?? KEY_PREFIX.redis.cache;
    const redis = new Redis(redisUrl(o), redisOptions(o));
    redis.on('error', () => {}); // surfaced by the failing command
    res.add({ close: () => redis.quit().catch(() => redis.disconnect()) });
    const cache = createCache({
      name: options.name,
      l1: false,
      l2: createRedisCacheStore({ client: redis, prefix, requestTimeout: timeout }),
      ...(options.bus ? { bus: createRedisBus({ client: redis }) } : {}),
    });
    res.add(cache);
    return { backend, cache, prefix, redis };
  }
  const [{ Etcd3 }, { createEtcdBus, createEtcdCacheStore }] = await Promise.all([
    import('etcd3'),
    import('@switchyard/cache/etcd'),
  ]);
  const prefix = o.prefix ?? KEY_PREFIX.etcd.cache;
  const etcd = new Etcd3({ hosts: etcdHosts(o), ...etcdClientOptions(o) });
  res.add(etcd);
  const cache = createCache({
    name: options.name,
    l1: false,
    l2: createEtcdCacheStore({ client: etcd, prefix, requestTimeout: timeout }),
    ...(options.bus ? { bus: createEtcdBus({ client: etcd }) } : {}),
  });
  res.add(cache);
  return { backend, cache, prefix, etcd };
}

/** `users:admins` → `cache.namespace('users').namespace('admins')`; `undefined` → the root. */
export function namespaceOf(cache: Cache, path: string | undefined): CacheNamespace {
  let ns: CacheNamespace = cache;
  for (const part of path?.split(':').filter(Boolean) ?? []) ns = ns.namespace(part);
  return ns;
}
