import { isSwitchyardError } from '@switchyard/core';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisLock,
  createRedisReadWriteLock,
  createRedisSemaphore,
  createRedlock,
  fencedWrite,
  sqlFenceAssignment,
  sqlFenceCondition,
} from '../src/index.js';

// The bad-input suite (#19.7, #9): every factory and exported function parses its options
// strictly, at construction, before any server call.
let server: RedisServer;
let client: Redis;

beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.url);
});

afterAll(async () => {
  client.disconnect();
  await server.stop();
});

/** The `field` of the INVALID_ARGUMENT thrown (synchronously or not), with its message. */
async function rejected(fn: () => unknown): Promise<{ field: string | undefined; message: string }> {
  try {
    await fn();
  } catch (error) {
    if (isSwitchyardError(error, 'INVALID_ARGUMENT')) return { field: error.field, message: error.message };
    throw error;
  }
  throw new Error('accepted');
}
const field = async (fn: () => unknown) => (await rejected(fn)).field;
const never = <T>(v: unknown) => v as T;

describe('factories', () => {
  it('connections: client or url, exactly one, checked at construction', async () => {
    expect(await field(() => createRedisLock(never({})))).toBe('url');
    expect(await field(() => createRedisLock(never(undefined)))).toBe('url');
    expect(await field(() => createRedisLock({ client, url: server.url }))).toBe('url');
    expect(await field(() => createRedisLock({ url: 'not a url' }))).toBe('url');
    expect(await field(() => createRedisLock({ url: 'http://127.0.0.1:1' }))).toBe('url');
    expect(await field(() => createRedisLock({ client: never({}) }))).toBe('client');
    expect(await field(() => createRedisLock({ client, redisOptions: {} }))).toBe('redisOptions');
    expect(await field(() => createRedisLock({ client, prefix: 'a{' }))).toBe('prefix');
    expect(await field(() => createRedisLock({ client, prefix: '' }))).toBe('prefix');
  });

  it('unknown keys are rejected with the nearest name; old names point to the new ones', async () => {
    const m = await rejected(() => createRedisLock(never({ client, tll: 1000 })));
    expect(m.field).toBe('tll');
    expect(m.message).toMatch(/did you mean "ttl"/);
    expect((await rejected(() => createRedisLock(never({ client, operationTimeout: 1 })))).message).toMatch(
      /requestTimeout/,
    );
    expect(await field(() => createRedisReadWriteLock(never({ client, intentTtl: 1 })))).toBe('intentTtl');
    expect(await field(() => createRedlock(never({ clients: [client], nodeTimeout: 1 })))).toBe(
      'nodeTimeout',
    );
    expect(await field(() => createRedlock(never({ clients: [client], retryDelay: 1 })))).toBe('retryDelay');
  });

  it('types are checked: booleans, clock, durations, permits, Redlock clients', async () => {
    expect(await field(() => createRedisLock({ client, fair: never('yes') }))).toBe('fair');
    expect(await field(() => createRedisLock({ client, reentrant: never(1) }))).toBe('reentrant');
    expect(await field(() => createRedisLock({ client, clock: never({}) }))).toBe('clock');
    expect(await field(() => createRedisLock({ client, ttl: 0 }))).toBe('ttl');
    expect(await field(() => createRedisLock({ client, wait: -1 }))).toBe('wait');
    expect(await field(() => createRedisLock({ client, requestTimeout: Number.NaN }))).toBe('requestTimeout');
    expect(await field(() => createRedisLock({ client, pollInterval: 0 }))).toBe('pollInterval');
    expect(await field(() => createRedisLock({ client, queueLease: 10 }))).toBe('queueLease');
    expect(await field(() => createRedisLock({ client, unavailableAfter: -1 }))).toBe('unavailableAfter');
    for (const permits of [undefined, 0, -1, 1.5, '2', Number.NaN]) {
      expect(await field(() => createRedisSemaphore({ client, permits: never(permits) }))).toBe('permits');
    }
    expect(await field(() => createRedlock(never({})))).toBe('urls');
    expect(await field(() => createRedlock({ clients: [] }))).toBe('clients');
    expect(await field(() => createRedlock({ clients: never([1, 2]) }))).toBe('clients[0]');
    expect(await field(() => createRedlock({ clients: [client, client] }))).toBe('clients');
    expect(await field(() => createRedlock({ urls: ['x'] }))).toBe('urls[0]');
    expect(await field(() => createRedlock({ clients: [client], urls: [server.url] }))).toBe('urls');
    expect(await field(() => createRedlock({ clients: [client], redisOptions: {} }))).toBe('redisOptions');
  });

  it('defaults: ttl 30 s, prefix from KEY_PREFIX.redis.locks', async () => {
    const lock = createRedisLock({ client });
    const sem = createRedisSemaphore({ client, permits: 1 });
    try {
      expect(lock.prefix).toBe('switchyard:lock:');
      expect(sem.prefix).toBe('switchyard:lock:sem:');
      const lease = await lock.acquire('defaults');
      expect(await client.exists('switchyard:lock:{defaults}:lock')).toBe(1);
      expect((await lock.inspect('defaults'))?.ttlLeft).toBeGreaterThan(29_000);
      expect(lease.validUntil - performance.now()).toBeGreaterThan(29_000);
      await lease.release();
    } finally {
      await Promise.all([lock.close(), sem.close()]);
    }
  });

  it('onListenerError reaches every kind: a throwing lease:lost listener is redirected, no process warning', async () => {
    const seen: string[] = [];
    const warnings: unknown[] = [];
    const onWarning = (w: unknown) => warnings.push(w);
    process.on('warning', onWarning);
    const onListenerError = (_e: unknown, event: string) => seen.push(event);
    const rw = createRedisReadWriteLock({ client, prefix: 'ole-rw:', onListenerError });
    const kinds = [
      createRedisLock({ client, prefix: 'ole-m:', onListenerError }),
      createRedisSemaphore({ client, prefix: 'ole-s:', permits: 2, onListenerError }),
      rw.write,
      createRedlock({ clients: [client], prefix: 'ole-r:', onListenerError }),
    ];
    try {
      expect(await field(() => createRedisLock({ client, onListenerError: never('x') }))).toBe(
        'onListenerError',
      );
      const leases = await Promise.all(kinds.map((k) => k.acquire('k', { ttl: 100, autoRenew: false })));
      for (const lease of leases) {
        lease.on('lease:lost', () => {
          throw new Error('listener bug');
        });
      }
      await new Promise((r) => setTimeout(r, 250));
      expect(seen).toEqual(['lease:lost', 'lease:lost', 'lease:lost', 'lease:lost']);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await Promise.all([...kinds.map((k) => k.close()), rw.close()]);
    }
  });

  it('per-call options of the extra methods are strict too', async () => {
    const sem = createRedisSemaphore({ client, permits: 1 });
    try {
      expect(await field(() => sem.holders('k', { signal: never({}) }))).toBe('signal');
      expect(await field(() => sem.holders(''))).toBe('key');
      expect(await field(() => sem.list(never({ limt: 1 })))).toBe('limt');
    } finally {
      await sem.close();
    }
  });
});

describe('fencing guards', () => {
  const ok = { fenceKey: '{f}:fence', token: 5n, command: ['SET', '{f}:v', 'x'] as [string, string, string] };

  it('fencedWrite: options and command checked before the call; a command Redis refuses is INVALID_ARGUMENT', async () => {
    expect(await field(() => fencedWrite(client, never(undefined)))).toBe('options');
    expect(await field(() => fencedWrite(never({}), ok))).toBe('client');
    expect(await field(() => fencedWrite(client, { ...ok, command: never('SET') }))).toBe('command');
    expect(await field(() => fencedWrite(client, { ...ok, command: never([]) }))).toBe('command');
    expect(await field(() => fencedWrite(client, { ...ok, command: never([1]) }))).toBe('command[0]');
    expect(await field(() => fencedWrite(client, { ...ok, command: never(['SET', {}]) }))).toBe('command[1]');
    expect(await field(() => fencedWrite(client, { ...ok, token: never(1) }))).toBe('token');
    expect(await field(() => fencedWrite(client, { ...ok, keys: never(['']) }))).toBe('keys[0]');
    expect(await field(() => fencedWrite(client, never({ ...ok, stict: true })))).toBe('stict');
    expect(await field(() => fencedWrite(client, { ...ok, signal: never('x') }))).toBe('signal');
    // Redis refuses these: reported as bad input, and the fence does not move.
    const bad = await rejected(() => fencedWrite(client, { ...ok, command: ['NOSUCHCOMMAND', 'a'] }));
    expect(bad.field).toBe('command');
    expect(await field(() => fencedWrite(client, { ...ok, command: ['SET', '{f}:v'] }))).toBe('command');
    expect(await client.exists('{f}:fence')).toBe(0);
    expect(await fencedWrite(client, ok)).toEqual({ applied: true, fence: 5n, reply: 'OK' });
  });

  it('SQL fences validate the placeholder against $1, ?, :name, @name (no injection)', async () => {
    for (const placeholder of ['$1', '$12', '?', ':fence', '@fence_token']) {
      expect(sqlFenceCondition({ token: 1n, placeholder }).sql).toContain(placeholder);
      expect(sqlFenceAssignment({ token: 1n, placeholder }).sql).toBe(`fence_token = ${placeholder}`);
    }
    for (const placeholder of ['$1; DROP TABLE t', '$0', '??', ':', '@1x', 'fence', '$1 OR 1=1', '']) {
      expect(await field(() => sqlFenceCondition({ token: 1n, placeholder }))).toBe('placeholder');
      expect(await field(() => sqlFenceAssignment({ token: 1n, placeholder }))).toBe('placeholder');
    }
    expect(await field(() => sqlFenceCondition(never(undefined)))).toBe('options');
    expect(await field(() => sqlFenceCondition(never({ token: 1n, colum: 'x' })))).toBe('colum');
    expect(await field(() => sqlFenceCondition({ token: 1n, strict: never('yes') }))).toBe('strict');
  });
});
