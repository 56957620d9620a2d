import { randomUUID } from 'node:crypto';
import { type Cache, createCache } from '@switchyard/cache';
import { createRedisBus, createRedisCacheStore } from '@switchyard/cache/redis';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, createConsoleServer } from '../src/index.js';
import { consoleClient, readEvents } from './console-client.js';

const TOKEN = 'a-console-token-of-some-length';

async function eventually(probe: () => boolean | Promise<boolean>, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not true within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

type Ns = { path: string; [k: string]: unknown };
const nsOf = (body: { namespaces: Ns[] }, path: string) => body.namespaces.find((n) => n.path === path);

describe('cache page on the memory L1', () => {
  let cache: Cache;
  let server: ConsoleServer;
  let readOnly: ConsoleServer;
  beforeAll(async () => {
    cache = createCache({ name: 'app', ttl: 60_000 });
    server = await createConsoleServer({ cache, token: TOKEN, readOnly: false });
    readOnly = await createConsoleServer({ cache, token: TOKEN });
  });
  afterAll(async () => {
    await server.close();
    await readOnly.close();
    await cache.close();
  });

  it('per-namespace stats: hits per tier, ratios, loads and coalesced misses', async () => {
    const c = await consoleClient(server.url).login(TOKEN);
    const users = cache.namespace('users');
    let loads = 0;
    const slow = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 50));
      return { name: 'ada' };
    };
    // A cold key asked 10 times at once: one load, nine callers join it.
    await Promise.all(Array.from({ length: 10 }, () => users.getOrSet('u1', slow, { tags: ['team:1'] })));
    expect(loads).toBe(1);
    for (let i = 0; i < 30; i++) await users.get('u1');
    await users.get('nope');
    const body = await (await c.get('/api/cache')).json();
    expect(body).toMatchObject({ name: 'app', tierNames: ['L1'], bus: null });
    expect(body.l1.entries).toBeGreaterThanOrEqual(1);
    const u = nsOf(body, 'users')!;
    expect(u).toMatchObject({ hits: [30], misses: 11, loads: 1, missesWithoutLoad: 10, loadErrors: 0 });
    expect(u.hitRatio).toBeCloseTo(30 / 41, 3);
    expect(u.tierHitRatio).toEqual([expect.closeTo(30 / 41, 3)]);
    expect(u.meanLoadMs).toBeGreaterThanOrEqual(40);
  });

  it('delete by tag: 409 says what goes and that no bus tells other processes; confirm; audited', async () => {
    const c = await consoleClient(server.url).login(TOKEN);
    const users = cache.namespace('users');
    await users.set('u2', 'x', { tags: ['team:2'] });
    await users.set('u3', 'y', { tags: ['team:3'] });
    const body = { namespace: 'users', tags: ['team:2'] };
    const first = await c.post('/api/cache/invalidate-tags', body);
    expect(first.status).toBe(409);
    const { confirmation } = await first.json();
    expect(confirmation.summary).toBe(
      'delete (gone at once, no grace) every entry tagged team:2 in namespace users (and its sub-namespaces) of cache app, in L1; no bus is configured: other processes keep their L1 copies until they expire',
    );
    expect(await users.get('u2')).toBe('x');
    const done = await c.post('/api/cache/invalidate-tags', {
      ...body,
      confirm: confirmation.token,
      reason: 'bad data',
    });
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ namespace: 'users', tags: ['team:2'], mode: 'deleted' });
    expect(await users.get('u2')).toBeUndefined();
    expect(await users.get('u3')).toBe('y');
    expect(server.audit.entries().at(-1)).toMatchObject({
      action: 'POST /api/cache/invalidate-tags',
      target: 'cache app namespace users tags team:2',
      reason: 'bad data',
      outcome: 'ok',
    });
    for (const [bad, field] of [
      [{ tags: [] }, 'tags'],
      [{ tags: [''] }, 'tags'],
      [{ tags: 'a', namespace: 7 }, 'namespace'],
      [{ tags: 'a', namespace: 'a::b' }, 'namespace'],
      [{ tags: 'a', soft: 'yes' }, 'soft'],
    ] as const) {
      const res = await c.post('/api/cache/invalidate-tags', bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'INVALID_ARGUMENT', field });
    }
  });

  it('delete by key: the preview says whether it is cached; confirm deletes it', async () => {
    const c = await consoleClient(server.url).login(TOKEN);
    await cache.namespace('users').set('k1', 1);
    const res = await c.post('/api/cache/delete-key', { namespace: 'users', key: 'k1' });
    const { confirmation } = await res.json();
    expect(confirmation.summary).toMatch(
      /^delete key k1 in namespace users of cache app from L1 \(it is cached now\)/,
    );
    const done = await c.post('/api/cache/delete-key', {
      namespace: 'users',
      key: 'k1',
      confirm: confirmation.token,
    });
    expect(await done.json()).toEqual({ namespace: 'users', key: 'k1', deleted: true });
    expect(await cache.namespace('users').get('k1')).toBeUndefined();
    const again = await (await c.post('/api/cache/delete-key', { namespace: 'users', key: 'k1' })).json();
    expect(again.confirmation.summary).toContain('it is not cached here now');
    expect(await (await c.post('/api/cache/delete-key', { namespace: 'users' })).json()).toMatchObject({
      field: 'key',
    });
  });

  it('read-only refuses both mutations (403, audited); stats still stream', async () => {
    const c = await consoleClient(readOnly.url).login(TOKEN);
    const res = await c.post('/api/cache/invalidate-tags', { tags: ['team:3'] });
    expect(res.status).toBe(403);
    expect((await c.post('/api/cache/delete-key', { key: 'u3', namespace: 'users' })).status).toBe(403);
    expect(readOnly.audit.entries().map((e) => e.outcome)).toEqual(['refused', 'refused']);
    expect(await cache.namespace('users').get('u3')).toBe('y');
    const events = readEvents(await c.get('/api/cache/live'));
    const first = await events.next();
    expect(nsOf(first, 'users')).toBeDefined();
    await cache.namespace('users').get('u3');
    const next = await events.until(
      (e) => (nsOf(e, 'users')!.hits as number[])[0]! > (nsOf(first, 'users')!.hits as number[])[0]!,
      5000,
    );
    expect(next.name).toBe('app');
    await events.close();
  });

  it('the cache option must be a Cache', async () => {
    await expect(createConsoleServer({ cache: {} as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'cache',
    });
  });
});

describe('cache page with Redis as L2 and the Redis bus', () => {
  let redis: RedisServer;
  let clients: Redis[] = [];
  let consoleCache: Cache;
  let appCache: Cache;
  let server: ConsoleServer;
  beforeAll(async () => {
    redis = await startRedis();
    const name = `c-${randomUUID().slice(0, 6)}`;
    const make = () => {
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      clients.push(client);
      return createCache({
        name,
        ttl: 60_000,
        l2: createRedisCacheStore({ client }),
        bus: createRedisBus({ client }),
        heartbeatInterval: 200,
      });
    };
    consoleCache = make();
    appCache = make();
    server = await createConsoleServer({ cache: consoleCache, token: TOKEN, readOnly: false });
    await eventually(
      () => consoleCache.stats().bus?.connected === true && appCache.stats().bus?.connected === true,
      5000,
      'both buses connect',
    );
  });
  afterAll(async () => {
    await server?.close();
    await consoleCache?.close();
    await appCache?.close();
    for (const c of clients) c.disconnect();
    clients = [];
    await redis?.stop();
  });

  it('shows L1 and Redis hits per tier; a tag deletion drops the other instance’s L1 copy over the bus', async () => {
    const c = await consoleClient(server.url).login(TOKEN);
    await appCache.namespace('orders').set('o1', { total: 5 }, { tags: ['customer:7'] });
    await appCache.namespace('orders').get('o1'); // in the app's L1 now
    expect(await consoleCache.namespace('orders').get('o1')).toEqual({ total: 5 }); // from Redis
    await consoleCache.namespace('orders').get('o1'); // from its own L1 now
    const body = await (await c.get('/api/cache')).json();
    expect(body.tierNames).toHaveLength(2);
    expect(body.tierNames[0]).toBe('L1');
    expect(body.tiers[0]).toMatchObject({ open: false });
    expect(body.bus).toMatchObject({ connected: true });
    const o = nsOf(body, 'orders')!;
    expect(o.hits).toEqual([1, 1]);
    expect(o.tierHitRatio).toEqual([0.5, 1]);
    const first = await c.post('/api/cache/invalidate-tags', { namespace: 'orders', tags: ['customer:7'] });
    const { confirmation } = await first.json();
    expect(confirmation.summary).toContain(
      `in L1 + ${body.tierNames[1]}; other instances are told over the bus`,
    );
    const done = await c.post('/api/cache/invalidate-tags', {
      namespace: 'orders',
      tags: ['customer:7'],
      confirm: confirmation.token,
    });
    expect(done.status).toBe(200);
    await eventually(
      async () => (await appCache.namespace('orders').get('o1')) === undefined,
      3000,
      "the app's L1 copy is dropped",
    );
    expect(await consoleCache.namespace('orders').get('o1')).toBeUndefined();
    // A key deleted from the console is gone from Redis and from the app's L1.
    await appCache.namespace('orders').set('o2', 2);
    await appCache.namespace('orders').get('o2');
    const k = await (await c.post('/api/cache/delete-key', { namespace: 'orders', key: 'o2' })).json();
    expect(k.confirmation.summary).toContain('it is cached now');
    await c.post('/api/cache/delete-key', { namespace: 'orders', key: 'o2', confirm: k.confirmation.token });
    await eventually(
      async () => (await appCache.namespace('orders').get('o2')) === undefined,
      3000,
      'o2 dropped',
    );
  });
});
