import { type Clock, invalidArgument } from '@switchyard/core';
import { exclusiveOptions, opt, raceDeadline } from '@switchyard/core/driver';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisClient } from './lua-script.js';

export const PKG = 'lock-redis';

/** An ioredis `Redis` or `Cluster` (or a client with the same methods). */
export function isRedisClient(value: unknown): value is RedisClient {
  const c = value as Partial<Record<'evalsha' | 'duplicate' | 'subscribe', unknown>> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.evalsha === 'function' &&
    typeof c.duplicate === 'function' &&
    typeof c.subscribe === 'function'
  );
}

/** The connection options of every single-Redis lock kind. */
export const connectionSchema = {
  /** An existing ioredis client (single node or Cluster); never closed by `close()`. */
  client: opt.instance<RedisClient>(isRedisClient, 'an ioredis Redis or Cluster client'),
  /** Or a `redis://` / `rediss://` URL: the connection is ours and closed by `close()`. */
  url: opt.url(['redis:', 'rediss:']),
  /** ioredis options for the connection made from `url`. */
  redisOptions: opt.bag<RedisOptions>(),
};

/** Key prefix option (`{` and `}` are refused by the key layout). */
export function prefixOption(defaultPrefix: string) {
  return opt.string({ maxLength: 256 }).default(defaultPrefix);
}

export interface Connection {
  client: RedisClient;
  /** Set when the connection is ours (made from `url`). */
  close: (() => Promise<void>) | undefined;
}

/** The user's client, or a connection made from `url` (exactly one of them; checked). */
export function connect(o: {
  clock: Clock;
  client?: RedisClient | undefined;
  url?: string | undefined;
  redisOptions?: RedisOptions | undefined;
}): Connection {
  exclusiveOptions(PKG, o, ['client', 'url'], { required: true });
  if (o.client) {
    if (o.redisOptions !== undefined) {
      throw invalidArgument(PKG, 'redisOptions', 'only applies with url (configure your own client instead)');
    }
    return { client: o.client, close: undefined };
  }
  return ownConnection(o.url as string, o.redisOptions, o.clock);
}

export function ownConnection(url: string, redisOptions: RedisOptions | undefined, clock: Clock): Connection {
  const client = new Redis(url, { maxRetriesPerRequest: 1, ...redisOptions });
  client.on('error', () => {}); // surfaced as typed errors on each call
  return {
    client,
    close: async () => {
      // A polite QUIT when connected (bounded: a paused server must not hold close() up), then drop.
      if (client.status === 'ready') await raceDeadline(client.quit(), 1000, clock, []);
      client.disconnect();
    },
  };
}
