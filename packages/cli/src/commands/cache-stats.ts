import type { CacheTarget } from '../connect/cache-client.js';

export interface StoreStats {
  backend: 'redis' | 'etcd';
  prefix: string;
  /** Keys under the prefix (entries, tag records; the etcd bus' keys excluded). */
  keys: number;
  /** Bytes of those keys as the server reports them (Redis `MEMORY USAGE`; etcd: key + value sizes). */
  bytes: number;
  /** Keys with no expiry (Redis only; `null` on etcd, where leases carry the expiry). */
  persistent: number | null;
}

const SCAN_COUNT = 1000;

/** Store-level numbers of the shared tier, read from the server (a CLI process has no hit counters). */
export async function storeStats(target: CacheTarget, signal: AbortSignal): Promise<StoreStats> {
  if (target.backend === 'redis') {
    const { redis, prefix } = target;
    let cursor = '0';
    let keys = 0;
    let bytes = 0;
    let persistent = 0;
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    do {
      signal.throwIfAborted();
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      cursor = next;
      if (found.length === 0) continue;
      const p = redis.pipeline();
      for (const k of found) p.memory('USAGE', k).pttl(k);
      const replies = (await p.exec()) ?? [];
      for (let i = 0; i < found.length; i++) {
        const usage = replies[2 * i]?.[1];
        const ttl = replies[2 * i + 1]?.[1];
        if (typeof ttl === 'number' && ttl === -2) continue; // expired between SCAN and now
        keys++;
        if (typeof usage === 'number') bytes += usage;
        if (ttl === -1) persistent++;
      }
    } while (cursor !== '0');
    return { backend: 'redis', prefix, keys, bytes, persistent };
  }
  const { etcd, prefix } = target;
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const all = await etcd.getAll().prefix(base).exec();
  let keys = 0;
  let bytes = 0;
  for (const kv of all.kvs) {
    if (kv.key.toString().startsWith(`${base}bus/`)) continue;
    keys++;
    bytes += kv.key.length + kv.value.length;
  }
  return { backend: 'etcd', prefix, keys, bytes, persistent: null };
}
