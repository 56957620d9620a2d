import {
  assertInteger,
  assertString,
  type ConfigEntry,
  type ConfigHistoryRecord,
  type ConfigStore,
  type ConfigWriteOptions,
  systemClock,
} from '@switchyard/core';
import {
  ConfigStoreGuards,
  callBackend,
  DEFAULT_REQUEST_TIMEOUT,
  exclusiveOptions,
  KEY_PREFIX,
  opt,
  parseOptions,
} from '@switchyard/core/driver';
import { Redis } from 'ioredis';
import { RedisChangeFeed } from './redis-change-feed.js';
import { LIST_SCRIPT, WRITE_SCRIPT } from './redis-scripts.js';

const PKG = 'config-center/redis';

export interface RedisConfigStoreOptions {
  /** Your ioredis client (never closed by us). Exclusive with `url`. */
  client?: Redis;
  /** `redis://…`: a connection we open and close. */
  url?: string;
  /** Key prefix (default `switchyard:cfg:`). */
  prefix?: string;
  /** Deadline of one Redis call, ms (default 5000). */
  requestTimeout?: number;
  /** History records kept per key (default 100). */
  historyLimit?: number;
  /** Changes kept in the change stream for watch replay (approximate, default 10 000). */
  streamLength?: number;
  /** Largest value in bytes (default 1 MiB). */
  maxValueBytes?: number;
  /** Delays between change-stream reconnects (default base 100 ms, max 5 s, full jitter). */
  backoff?: { base?: number; max?: number; factor?: number };
  clock?: import('@switchyard/core').Clock;
}

const SCHEMA = {
  client: opt.instance<Redis>((v) => v instanceof Redis, 'an ioredis client'),
  url: opt.url(['redis:', 'rediss:']),
  prefix: opt.string({ maxLength: 256 }).default(KEY_PREFIX.redis.config),
  requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
  historyLimit: opt.integer(1, 100_000).default(100),
  streamLength: opt.integer(100).default(10_000),
  maxValueBytes: opt.integer(1, 512 * 1024 * 1024).default(1024 * 1024),
  backoff: opt.backoff({ base: 100, max: 5_000 }),
  clock: opt.clock().default(systemClock),
};

interface RedisWithScripts extends Redis {
  switchyardCfgWrite(...args: (string | number)[]): Promise<string[]>;
  switchyardCfgList(...args: (string | Buffer)[]): Promise<string[]>;
}

/**
 * A `ConfigStore` on Redis: a counter, the value, its history and the change stream are written by
 * one Lua script; watches read the stream (`XREAD BLOCK` from the last id) on one connection per
 * store, so a reconnect loses nothing the stream still holds, and a trimmed gap relists.
 */
export function createRedisConfigStore(options: RedisConfigStoreOptions): ConfigStore {
  const o = parseOptions(PKG, options, SCHEMA);
  exclusiveOptions(PKG, o, ['client', 'url'], { required: true });
  const owned = o.client === undefined;
  const client = (o.client ??
    new Redis(o.url as string, { lazyConnect: false, maxRetriesPerRequest: 1 })) as RedisWithScripts;
  if (!owned) client.on('error', () => {});
  if (typeof client.switchyardCfgWrite !== 'function') {
    client.defineCommand('switchyardCfgWrite', { numberOfKeys: 5, lua: WRITE_SCRIPT });
    client.defineCommand('switchyardCfgList', { numberOfKeys: 2, lua: LIST_SCRIPT });
  }
  if (owned) client.on('error', () => {});
  const { prefix, clock, requestTimeout, historyLimit } = o;
  const keys = {
    rev: `${prefix}rev`,
    value: (k: string) => `${prefix}v:${k}`,
    history: (k: string) => `${prefix}h:${k}`,
    stream: `${prefix}log`,
    index: `${prefix}keys`,
  };
  const guards = new ConfigStoreGuards(PKG);
  const call = <T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>) =>
    callBackend(what, { pkg: PKG, clock, timeout: requestTimeout, signal }, fn);

  const feed = new RedisChangeFeed({
    pkg: PKG,
    client,
    stream: keys.stream,
    clock,
    backoff: o.backoff,
    requestTimeout,
    list: (p, signal) => store.list(p, { signal }),
  });

  async function write(
    kind: 'put' | 'delete' | 'rollback',
    key: string,
    value: string,
    opts: ConfigWriteOptions,
    rollbackRevision = '',
  ): Promise<ConfigEntry | undefined> {
    const reply = await call(`${kind} ${key}`, opts.signal, () =>
      client.switchyardCfgWrite(
        keys.rev,
        keys.value(key),
        keys.history(key),
        keys.stream,
        keys.index,
        kind,
        key,
        value,
        opts.expectedRevision === undefined ? '' : String(opts.expectedRevision),
        opts.author ?? '',
        opts.message ?? '',
        clock.now(),
        historyLimit,
        o.streamLength,
        rollbackRevision,
      ),
    );
    switch (reply[0]) {
      case 'ok':
        return decodeEntry(reply[1]!);
      case 'conflict':
        throw guards.conflict(key, opts.expectedRevision ?? 0, Number(reply[1]));
      case 'notfound':
        throw guards.notFound(key, Number(rollbackRevision));
      default:
        return undefined;
    }
  }

  const store: ConfigStore = {
    name: 'redis',
    capabilities: Object.freeze({ watch: true, historyLimit }),
    async get(key, opts = {}) {
      guards.key(key);
      const raw = await call(`get ${key}`, opts.signal, () => client.get(keys.value(key)));
      return raw === null ? undefined : decodeEntry(raw);
    },
    async list(p, opts = {}) {
      guards.open();
      assertString(PKG, 'prefix', p);
      const min = p === '' ? '-' : `[${p}`;
      // 0xFF never occurs in UTF-8: `[<prefix>0xFF` is above every key that starts with the prefix.
      const max = p === '' ? '+' : Buffer.concat([Buffer.from(`[${p}`), Buffer.from([0xff])]);
      const reply = await call(`list ${p}`, opts.signal, () =>
        client.switchyardCfgList(keys.rev, keys.index, keys.value(''), min, max),
      );
      const entries = reply
        .slice(1)
        .map(decodeEntry)
        .filter((e) => e.key.startsWith(p));
      entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      return { entries, revision: Number(reply[0]) };
    },
    async put(key, value, opts = {}) {
      guards.key(key);
      guards.value(value, o.maxValueBytes);
      guards.write(opts);
      return (await write('put', key, value, opts))!;
    },
    async delete(key, opts = {}) {
      guards.key(key);
      guards.write(opts);
      return (await write('delete', key, '', opts)) !== undefined;
    },
    async history(key, opts = {}) {
      guards.key(key);
      const limit = guards.limit(opts.limit, historyLimit);
      const raw = await call(`history ${key}`, opts.signal, () =>
        client.lrange(keys.history(key), 0, limit - 1),
      );
      return raw.map((r) => decodeEntry(r) as ConfigHistoryRecord);
    },
    async rollback(key, revision, opts = {}) {
      guards.key(key);
      guards.revision(revision);
      guards.write(opts);
      return (await write('rollback', key, '', { ...opts, expectedRevision: undefined }, String(revision)))!;
    },
    watch(p, opts = {}) {
      guards.open();
      assertString(PKG, 'prefix', p);
      if (opts.fromRevision !== undefined) assertInteger(PKG, 'fromRevision', opts.fromRevision, 0);
      return feed.watch(p, opts.fromRevision, opts.signal);
    },
    async close() {
      if (guards.closed) return;
      guards.closed = true;
      await feed.close();
      if (owned) client.disconnect();
    },
    async [Symbol.asyncDispose]() {
      await store.close();
    },
  };
  return store;
}

function decodeEntry(raw: string): ConfigEntry {
  const e = JSON.parse(raw) as ConfigEntry & { type?: string };
  return Object.freeze(e);
}
