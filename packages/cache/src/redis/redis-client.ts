import { invalidArgument } from '@switchyard/core';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';

/** An ioredis client: a single node (`Redis`) or a `Cluster`. */
export type RedisClient = Redis | Cluster;

export function isRedisClient(value: unknown): boolean {
  const c = value as Partial<Redis> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.duplicate === 'function' &&
    typeof c.pipeline === 'function' &&
    typeof c.isCluster === 'boolean'
  );
}

/** The user's client (never closed by us), or one we connect from `url` (closed by `close()`). */
export function resolveRedisClient(
  pkg: string,
  o: { client?: RedisClient | undefined; url?: string | undefined; redisOptions?: RedisOptions | undefined },
): { client: RedisClient; owned: boolean } {
  if (o.client) return { client: o.client, owned: false };
  if (!o.url) throw invalidArgument(pkg, 'client', 'is required (or url)');
  // One retry per command: an outage surfaces as BACKEND_UNAVAILABLE quickly instead of queueing.
  const client = new Redis(o.url, { maxRetriesPerRequest: 1, ...o.redisOptions });
  client.on('error', () => {}); // every call reports its own typed error
  return { client, owned: true };
}

/** Closes a client we own; leaves the user's alone. */
export async function releaseRedisClient(client: RedisClient, owned: boolean): Promise<void> {
  if (!owned) return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
