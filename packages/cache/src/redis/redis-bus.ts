import { unsupportedError } from '@switchyard/core';
import { exclusiveOptions, KEY_PREFIX, opt, parseOptions } from '@switchyard/core/driver';
import type { Redis, RedisOptions } from 'ioredis';
import type { BusListener, BusTransport } from '../bus/bus-transport.js';
import { isRedisClient, type RedisClient, releaseRedisClient, resolveRedisClient } from './redis-client.js';

const PKG = 'cache';

export interface RedisBusOptions {
  /** Your ioredis client: it publishes; a `duplicate()` subscribes (closed by the bus). */
  client?: RedisClient;
  /** Or a URL: the bus opens (and closes) its own connections. */
  url?: string;
  redisOptions?: RedisOptions;
}

const CONNECTION_SCHEMA = {
  client: opt.instance<RedisClient>(isRedisClient, 'an ioredis Redis or Cluster client'),
  url: opt.url(['redis:', 'rediss:']),
  redisOptions: opt.bag<RedisOptions>(),
};

/**
 * The subscriber connection: a duplicate without ioredis' automatic resubscription, so every
 * (re)connection subscribes explicitly and only then reports `connected()` (the cache flushes then).
 */
function subscriber(client: RedisClient): RedisClient {
  const sub = (client as Redis).duplicate({
    autoResubscribe: false,
    maxRetriesPerRequest: null,
  } as RedisOptions);
  sub.on('error', () => {}); // reconnects on its own; the cache hears it as disconnected/connected
  return sub;
}

/**
 * An invalidation bus on Redis pub/sub (works on a Cluster too: messages cross the cluster bus).
 * Pub/sub keeps nothing for a disconnected subscriber, which is why the cache's sequence numbers
 * and reconnect flush exist.
 */
export function createRedisBus(options: RedisBusOptions): BusTransport {
  const o = parseOptions(PKG, options, CONNECTION_SCHEMA);
  exclusiveOptions(PKG, o, ['client', 'url'], { required: true });
  const { client, owned } = resolveRedisClient(PKG, o);
  let sub: RedisClient | undefined;
  let closed = false;
  return {
    name: 'redis-pubsub',
    kind: 'messages',
    async start(channel: string, listener: BusListener) {
      const s = subscriber(client);
      sub = s;
      let up = false;
      s.on('message', (ch: string, message: string) => {
        if (ch === channel) listener.message(message);
      });
      s.on('ready', () => {
        s.subscribe(channel).then(
          () => {
            if (closed) return;
            up = true;
            listener.connected();
          },
          () => {}, // the connection dropped again: the next 'ready' retries
        );
      });
      s.on('close', () => {
        if (!up) return;
        up = false;
        listener.disconnected();
      });
    },
    async publish(channel: string, message: string) {
      await client.publish(channel, message);
    },
    async close() {
      closed = true;
      sub?.disconnect();
      await releaseRedisClient(client, owned);
    },
  };
}

export interface RedisTrackingBusOptions extends RedisBusOptions {
  /** The Redis store's key prefix (default `switchyard:cache:`): tracked, and stripped from keys. */
  prefix?: string;
}

/**
 * Server-assisted invalidation with Redis `CLIENT TRACKING … REDIRECT <id> BCAST PREFIX <prefix>`
 * (RESP2): Redis itself reports every key written under the prefix, by anyone (a non-Node writer, a
 * `redis-cli`), on `__redis__:invalidate` of the redirect connection. ioredis 5 parses RESP2 only
 * (its parser rejects RESP3 push frames), so the RESP2 redirect form is the one that works. Tracking
 * state lives on the connections: after either reconnects, tracking is enabled again and the cache
 * flushes (writes in between were not reported). Single node only (tracking is per node).
 * Our own writes are reported too, so a write also drops this process' L1 copy (one extra L2 read).
 */
export function createRedisTrackingBus(options: RedisTrackingBusOptions): BusTransport {
  const o = parseOptions(PKG, options, {
    ...CONNECTION_SCHEMA,
    prefix: opt.string({ maxLength: 256 }).default(KEY_PREFIX.redis.cache),
  });
  exclusiveOptions(PKG, o, ['client', 'url'], { required: true });
  const { client, owned } = resolveRedisClient(PKG, o);
  if (client.isCluster) {
    throw unsupportedError(
      PKG,
      'CLIENT TRACKING on a Redis Cluster',
      'tracking is per node; use createRedisBus',
    );
  }
  const prefix = o.prefix;
  const conns: RedisClient[] = [];
  let closed = false;
  return {
    name: 'redis-tracking',
    kind: 'keys',
    async start(_channel: string, listener: BusListener) {
      const sub = subscriber(client) as Redis;
      const tracker = subscriber(client) as Redis;
      conns.push(sub, tracker);
      let up = false;
      let subId: string | undefined;
      const down = () => {
        if (!up) return;
        up = false;
        listener.disconnected();
      };
      const enable = async () => {
        if (subId === undefined || tracker.status !== 'ready') return;
        await tracker.call('CLIENT', 'TRACKING', 'OFF').catch(() => {});
        await tracker.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', subId, 'BCAST', 'PREFIX', prefix);
        if (closed) return;
        up = true;
        listener.connected();
      };
      sub.on('messageBuffer', (ch: Buffer, message: Buffer | Buffer[] | null) => {
        if (ch.toString() !== '__redis__:invalidate') return;
        if (message === null) return listener.keys(null);
        const list = Array.isArray(message) ? message : [message];
        const keys: string[] = [];
        for (const b of list) {
          const k = b.toString();
          if (k.startsWith(prefix)) keys.push(k.slice(prefix.length));
        }
        if (keys.length > 0) listener.keys(keys);
      });
      sub.on('ready', () => {
        (async () => {
          subId = String(await sub.client('ID'));
          await sub.subscribe('__redis__:invalidate');
          await enable();
        })().catch(() => {});
      });
      tracker.on('ready', () => {
        enable().catch(() => {});
      });
      sub.on('close', () => {
        subId = undefined;
        down();
      });
      tracker.on('close', down);
    },
    async publish() {
      // Redis reports the writes itself.
    },
    async close() {
      closed = true;
      for (const c of conns) c.disconnect();
      await releaseRedisClient(client, owned);
    },
  };
}
