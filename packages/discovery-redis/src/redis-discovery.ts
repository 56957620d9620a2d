import { type Clock, type DiscoveryCapabilities, invalidArgument, systemClock } from '@switchyard/core';
import {
  DEFAULT_REQUEST_TIMEOUT,
  DEFAULT_TTL,
  defineDiscoveryBackend,
  exclusiveOptions,
  KEY_PREFIX,
  type KitDiscoveryBackend,
  opt,
  parseOptions,
  type ServiceListing,
} from '@switchyard/core/driver';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { decodeRecord, PKG } from './instance-record.js';
import { KeyLayout } from './key-layout.js';
import { RedisContext } from './redis-context.js';
import { type RedisRecord, redisRegistration } from './redis-registration.js';
import { LIST, type RedisClient, SWEEP } from './scripts.js';
import { StreamReader } from './stream-reader.js';

export interface RedisDiscoveryOptions {
  /**
   * Your ioredis client: a `Redis` (standalone or Sentinel-managed) or a `Cluster`. It is not
   * closed by `close()`; the watch reader is a `duplicate()` of it, closed by `close()`.
   */
  client?: RedisClient;
  /** Or a `redis://` / `rediss://` URL: the connection is ours and closed by `close()`. */
  url?: string;
  /** Extra ioredis options for the connection made from `url`. */
  redisOptions?: RedisOptions;
  /** Key prefix; a service's keys are `<prefix>{<service>}:inst|exp|log|meta` (default `switchyard:svc:`). */
  prefix?: string;
  /** Default registration TTL, ms (default 10 000); heartbeats run every ttl / 3. */
  ttl?: number;
  /** Deadline of one Redis call, ms (default 5 000). */
  requestTimeout?: number;
  /** How often a watching client removes expired instances of the services it watches, ms (default 1 000). */
  sweepInterval?: number;
  /** Approximate length each service's change stream is trimmed to (default 1 000); a reader further behind relists. */
  streamMaxLen?: number;
  /** Delays between watch reconnects and heartbeat retries (default base 100 ms, max 5 s). */
  backoff?: { base?: number; max?: number; factor?: number };
  clock?: Clock;
}

export interface RedisDiscovery extends KitDiscoveryBackend<RedisRecord> {
  /** The ioredis client in use (never hidden). */
  readonly client: RedisClient;
  readonly prefix: string;
}

const CAPABILITIES: DiscoveryCapabilities = Object.freeze({
  watch: true,
  ttlGranularity: 'milliseconds',
  healthUpdates: true,
  register: true,
});

const isClient = (v: unknown): boolean =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Redis).evalsha === 'function' &&
  typeof (v as Redis).duplicate === 'function';

/**
 * Service discovery on Redis. A registration is a record in the service's hash plus its heartbeat
 * deadline in a sorted set, written by one Lua call that also appends the change to the service's
 * Stream; watchers follow the streams (one blocking XREAD per client) and relist on a gap or a
 * changed epoch (data loss). Expired instances are removed on read and by a periodic sweeper.
 */
export function createRedisDiscovery(options: RedisDiscoveryOptions): RedisDiscovery {
  const o = parseOptions(PKG, options, {
    client: opt.instance<RedisClient>(isClient, 'an ioredis Redis or Cluster client'),
    url: opt.url(['redis:', 'rediss:']),
    redisOptions: opt.bag<RedisOptions>(),
    prefix: opt
      .string({ maxLength: 256, pattern: /^[^{}]*$/, hint: 'a string without "{" or "}"' })
      .default(KEY_PREFIX.redis.services),
    ttl: opt.duration({ min: 50 }).default(DEFAULT_TTL.registration),
    requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
    sweepInterval: opt.duration({ min: 10 }).default(1_000),
    streamMaxLen: opt.integer(10, 100_000_000).default(1_000),
    backoff: opt.backoff({ base: 100, max: 5_000 }),
    clock: opt.clock().default(systemClock),
  });
  exclusiveOptions(PKG, o, ['client', 'url'], { required: true });
  if (o.redisOptions !== undefined && o.url === undefined) {
    throw invalidArgument(PKG, 'redisOptions', 'applies only to the connection made from url');
  }
  let client: RedisClient;
  if (o.client) client = o.client;
  else {
    const own = new Redis(o.url!, { maxRetriesPerRequest: 1, ...o.redisOptions });
    own.on('error', () => {}); // surfaced as BACKEND_UNAVAILABLE on each call
    client = own;
  }
  const ctx = new RedisContext({
    client,
    keys: new KeyLayout(o.prefix),
    clock: o.clock,
    requestTimeout: o.requestTimeout,
    streamMaxLen: o.streamMaxLen,
  });
  const reader = new StreamReader(ctx, o.sweepInterval);

  const backend = defineDiscoveryBackend(
    {
      name: 'redis',
      capabilities: CAPABILITIES,
      registration: redisRegistration(ctx),
      async list(service): Promise<ServiceListing> {
        const [epoch, rev, cursor, flat] = (await ctx.run(LIST, service, [])) as [
          string,
          string,
          string,
          string[],
        ];
        const instances = [];
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const inst = decodeRecord(service, flat[i]!, flat[i + 1]!);
          if (inst) instances.push(inst);
        }
        return { instances, revision: Number(rev), epoch, cursor };
      },
      watch: (service, from, signal) => reader.watch(service, from, signal),
      async services() {
        const nodes = ctx.cluster ? (client as Cluster).nodes('master') : [client as Redis];
        const names = new Set<string>();
        const pattern = ctx.keys.deadlinesPattern();
        for (const node of nodes) {
          let cursor = '0';
          do {
            const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
            cursor = next;
            for (const key of keys) {
              const service = ctx.keys.serviceOfDeadlines(key);
              if (service !== undefined) names.add(service);
            }
          } while (cursor !== '0');
        }
        // Only services with a live instance (expired ones are swept on the way).
        const live = await Promise.all(
          [...names].map(async (s) => ((await ctx.run(SWEEP, s, [])) as [string, string, number])[2] > 0),
        );
        return [...names].filter((_, i) => live[i]);
      },
      async close() {
        await reader.close();
        if (o.client) return;
        // A graceful QUIT, but never longer than one request: an unresponsive server must not hang close().
        await ctx.call('quit', undefined, () => (client as Redis).quit()).catch(() => {});
        client.disconnect();
      },
    },
    {
      pkg: PKG,
      clock: o.clock,
      backoff: o.backoff,
      requestTimeout: o.requestTimeout,
      ttl: o.ttl,
      minTtl: 50,
    },
  );
  return Object.assign(backend, { client, prefix: o.prefix });
}
