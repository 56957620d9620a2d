import { randomUUID } from 'node:crypto';
import { createMemoryLock, isSwitchyardError, type LockLease, MemoryLockStore } from '@switchyard/core';
import { createEtcdLock } from '@switchyard/lock-etcd';
import { createRedisLock, createRedisSemaphore } from '@switchyard/lock-redis';
import { type EtcdCluster, type RedisServer, startEtcd, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, createConsoleServer } from '../src/index.js';
import { AcquireRate, percentile } from '../src/modules/locks/lock-stats-view.js';
import { type AdminLock, locksModule } from '../src/modules/locks-module.js';
import { consoleClient, readEvents } from './console-client.js';

const TOKEN = 'a-console-token-of-some-length';
const TTL = 3000;

async function eventually(probe: () => boolean | Promise<boolean>, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`not true within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let redis: RedisServer;
let etcd: EtcdCluster;
const toClose: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  [redis, etcd] = await Promise.all([startRedis(), startEtcd({ members: 1 })]);
});
afterAll(async () => {
  for (const c of toClose.splice(0)) await c.close().catch(() => {});
  await redis?.stop();
  await etcd?.stop();
});

/**
 * Each backend gives the holder's client, a waiter's client and the console's (admin) client: on
 * Redis and etcd three separate connections over one key space, as in production.
 */
const backends: [string, () => { holder: AdminLock; waiter: AdminLock; admin: AdminLock }][] = [
  [
    'memory',
    () => {
      const store = new MemoryLockStore();
      const [holder, waiter, admin] = [0, 1, 2].map(() => createMemoryLock({ store, ttl: TTL }));
      return { holder: holder!, waiter: waiter!, admin: admin! };
    },
  ],
  [
    'redis mutex',
    () => {
      const prefix = `cl-${randomUUID().slice(0, 6)}:`;
      const [holder, waiter, admin] = [0, 1, 2].map(() =>
        createRedisLock({ url: redis.url, prefix, ttl: TTL, pollInterval: 100 }),
      );
      return { holder: holder!, waiter: waiter!, admin: admin! };
    },
  ],
  [
    'redis semaphore',
    () => {
      const prefix = `cs-${randomUUID().slice(0, 6)}:`;
      const [holder, waiter, admin] = [0, 1, 2].map(() =>
        createRedisSemaphore({ url: redis.url, prefix, permits: 1, ttl: TTL, pollInterval: 100 }),
      );
      return { holder: holder!, waiter: waiter!, admin: admin! };
    },
  ],
  [
    'etcd mutex',
    () => {
      const prefix = `ce-${randomUUID().slice(0, 6)}`;
      const [holder, waiter, admin] = [0, 1, 2].map(() =>
        createEtcdLock({ hosts: etcd.endpoints, prefix, ttl: TTL }),
      );
      return { holder: holder!, waiter: waiter!, admin: admin! };
    },
  ],
];

describe.each(backends)('locks page on %s', (_label, make) => {
  let locks: ReturnType<typeof make>;
  let server: ConsoleServer;
  let readOnly: ConsoleServer;
  beforeAll(async () => {
    locks = make();
    toClose.push(locks.holder, locks.waiter, locks.admin);
    server = await createConsoleServer({ locks: { orders: locks.admin }, token: TOKEN, readOnly: false });
    readOnly = await createConsoleServer({ locks: locks.admin, token: TOKEN });
    toClose.push(server, readOnly);
  });

  it('lists the held lock with its holder, token and TTL; filters by prefix; pages', async () => {
    const c = await consoleClient(server.url).login(TOKEN);
    const a = await locks.holder.acquire('orders:1', { ttl: TTL });
    const b = await locks.holder.acquire('orders:2', { ttl: TTL });
    const other = await locks.holder.acquire('jobs:9', { ttl: TTL });
    try {
      const spaces = await (await c.get('/api/locks')).json();
      expect(spaces.spaces).toEqual([expect.objectContaining({ name: 'orders', backend: locks.admin.name })]);
      const body = await (await c.get('/api/locks/orders/held?prefix=orders:')).json();
      expect(body).toMatchObject({ space: 'orders', total: 2, offset: 0, limit: 100 });
      expect(body.locks.map((l: { key: string }) => l.key)).toEqual(['orders:1', 'orders:2']);
      expect(body.locks[0]).toMatchObject({ key: 'orders:1', owner: a.owner, token: a.token.toString() });
      expect(body.locks[0].ttlLeft).toBeGreaterThan(0);
      expect(body.locks[0].ttlLeft).toBeLessThanOrEqual(TTL);
      expect(Date.parse(body.locks[0].firstSeen)).toBeLessThanOrEqual(Date.now());
      const paged = await (await c.get('/api/locks/orders/held?offset=1&limit=1')).json();
      expect(paged).toMatchObject({ total: 3, offset: 1, limit: 1 });
      expect(paged.locks.map((l: { key: string }) => l.key)).toEqual(['orders:1']);
      const one = await (await c.get(`/api/locks/orders/held/${encodeURIComponent('orders:2')}`)).json();
      expect(one).toMatchObject({ owner: b.owner, token: b.token.toString() });
      // "Seen for" is stable across refreshes and single-key reads.
      await new Promise((r) => setTimeout(r, 20));
      const later = await (await c.get('/api/locks/orders/held?prefix=orders:')).json();
      expect(later.locks[0].firstSeen).toBe(body.locks[0].firstSeen);
      expect(one.firstSeen).toBe(body.locks[1].firstSeen);
      expect((await c.get('/api/locks/orders/held/free-key')).status).toBe(404);
      expect((await c.get('/api/locks/nope/held')).status).toBe(404);
      for (const [q, field] of [
        ['limit=0', 'limit'],
        ['limit=abc', 'limit'],
        ['offset=-1', 'offset'],
        [`prefix=${encodeURIComponent('a\u0001')}`, 'prefix'],
      ] as const) {
        const bad = await c.get(`/api/locks/orders/held?${q}`);
        expect(bad.status, q).toBe(400);
        expect(await bad.json(), q).toMatchObject({ error: 'INVALID_ARGUMENT', field });
      }
      const badKey = await c.post(`/api/locks/orders/held/${'k'.repeat(600)}/force-release`, {});
      expect(await badKey.json()).toMatchObject({ error: 'INVALID_ARGUMENT', field: 'key' });
    } finally {
      await Promise.all([a.release(), b.release(), other.release()]);
    }
    expect((await (await c.get('/api/locks/orders/held')).json()).total).toBe(0);
  });

  it('force-release: 409 names holder, token and TTL; reason required; the holder is told; a waiter acquires', async () => {
    const c = await consoleClient(server.url).login(TOKEN);
    const key = 'orders:42';
    const lease: LockLease = await locks.holder.acquire(key, { ttl: TTL });
    const lost: unknown[] = [];
    lease.on('lease:lost', (e) => lost.push(e.cause));
    const waiting = locks.waiter.acquire(key, { ttl: TTL, wait: 20_000 });
    let next: LockLease | undefined;
    waiting.then((l) => {
      next = l;
    });
    try {
      const path = `/api/locks/orders/held/${encodeURIComponent(key)}/force-release`;
      const body = { token: lease.token.toString() };
      const first = await c.post(path, body);
      expect(first.status).toBe(409);
      const { confirmation } = await first.json();
      expect(confirmation.summary).toMatch(
        new RegExp(
          `^force-release orders:42 held by ${lease.owner} \\(token ${lease.token}, \\d+\\.\\d s left\\); its holder's lease is told it was lost$`,
        ),
      );
      expect(confirmation.details).toMatchObject({ key, owner: lease.owner, token: lease.token.toString() });
      expect(lease.signal.aborted).toBe(false);
      // A stale token (the holder moved on since the page looked) is refused before anything happens.
      const stale = await c.post(path, { token: (lease.token + 100n).toString() });
      expect(stale.status).toBe(409);
      expect(await stale.json()).toMatchObject({ error: 'CONFLICT', owner: lease.owner });
      const badToken = await c.post(path, { token: 'seventeen' });
      expect(await badToken.json()).toMatchObject({ error: 'INVALID_ARGUMENT', field: 'token' });
      // No reason: 400 naming it, and the token stays usable.
      const noReason = await c.post(path, { ...body, confirm: confirmation.token });
      expect(noReason.status).toBe(400);
      expect(await noReason.json()).toMatchObject({ field: 'reason' });
      expect(lease.signal.aborted).toBe(false);
      const done = await c.post(path, { ...body, confirm: confirmation.token, reason: 'stuck worker' });
      expect(done.status).toBe(200);
      expect(await done.json()).toEqual({
        key,
        owner: lease.owner,
        token: lease.token.toString(),
        released: true,
      });
      await eventually(() => lease.signal.aborted, 2 * TTL, "the holder's lease.signal aborts");
      expect(isSwitchyardError(lease.signal.reason) && lease.signal.reason.code).toBe('LOCK_LOST');
      await eventually(() => lost.length > 0, 2000, 'lease:lost fires');
      await eventually(() => next !== undefined, 2 * TTL, 'the waiter acquires');
      expect(next!.token > lease.token).toBe(true);
      const now = await (await c.get('/api/locks/orders/held')).json();
      expect(now.locks).toEqual([
        expect.objectContaining({ key, owner: next!.owner, token: next!.token.toString() }),
      ]);
      expect(server.audit.entries().at(-1)).toMatchObject({
        actor: 'session',
        action: 'POST /api/locks/:space/held/:key/force-release',
        target: 'lock orders:42 in orders',
        reason: 'stuck worker',
        outcome: 'ok',
      });
      expect(locks.admin.stats().forceReleased).toBeGreaterThanOrEqual(1);
      // Free now? A preview of a free lock is 404, not a confirmation.
      await next!.release();
      expect((await c.post(path, {})).status).toBe(404);
    } finally {
      await lease.release().catch(() => {});
      await (await waiting.catch(() => undefined))?.release().catch(() => {});
    }
  });

  it('read-only refuses force-release (403, audited) but reads', async () => {
    const c = await consoleClient(readOnly.url).login(TOKEN);
    const lease = await locks.holder.acquire('orders:ro', { ttl: TTL });
    try {
      const res = await c.post('/api/locks/default/held/orders:ro/force-release', {});
      expect(res.status).toBe(403);
      expect((await res.json()).error).toBe('READ_ONLY');
      expect(readOnly.audit.entries().at(-1)).toMatchObject({
        outcome: 'refused',
        target: 'lock orders:ro in default',
      });
      expect(lease.held).toBe(true);
      const listed = await (await c.get('/api/locks/default/held')).json();
      expect(listed.locks.map((l: { key: string }) => l.key)).toContain('orders:ro');
    } finally {
      await lease.release();
    }
  });

  it('streams held locks and stats together (one stream per page)', async () => {
    const c = await consoleClient(server.url).login(TOKEN);
    const lease = await locks.holder.acquire('orders:live', { ttl: TTL });
    try {
      const events = readEvents(await c.get('/api/locks/orders/live?prefix=orders:'));
      const first = await events.next();
      expect(first.held.locks).toEqual([
        expect.objectContaining({ key: 'orders:live', owner: lease.owner, token: lease.token.toString() }),
      ]);
      expect(first.stats).toMatchObject({ acquired: expect.any(Number), lost: expect.any(Number) });
      expect(first.stats.waitHistogram.at(-1).le).toBeNull();
      await lease.release();
      const empty = await events.until((e) => e.held.total === 0, 6000);
      expect(empty.held.locks).toEqual([]);
      await events.close();
      // A stream's status is sent before the route runs: bad input is an error event naming the field.
      const bad = readEvents(await c.get('/api/locks/orders/live?limit=0'));
      expect(await bad.next()).toMatchObject({ error: { error: 'INVALID_ARGUMENT', field: 'limit' } });
      await bad.done;
    } finally {
      await lease.release().catch(() => {});
    }
  });
});

describe('lock stats: counters and wait percentiles', () => {
  it('percentiles interpolate inside the histogram buckets; the open bucket reports its lower bound', () => {
    const h = [
      { le: 1, count: 0 },
      { le: 10, count: 50 },
      { le: 100, count: 40 },
      { le: 1000, count: 9 },
      { le: Number.POSITIVE_INFINITY, count: 1 },
    ];
    expect(percentile(h, 0.5)).toEqual({ ms: 10, overflow: false });
    expect(percentile(h, 0.25)).toEqual({ ms: 5.5, overflow: false });
    expect(percentile(h, 0.9)).toEqual({ ms: 100, overflow: false });
    expect(percentile(h, 0.95)).toEqual({ ms: 600, overflow: false });
    expect(percentile(h, 1)).toEqual({ ms: 1000, overflow: true });
    expect(percentile([{ le: 1, count: 0 }], 0.5)).toBeNull();
  });

  it('acquire rate: from the acquired counter over the last minute of reads', () => {
    const r = new AcquireRate();
    expect(r.sample(0, 0)).toBeNull();
    expect(r.sample(10, 2000)).toBe(5);
    expect(r.sample(30, 4000)).toBe(7.5);
    expect(r.sample(30, 70_000)).toBeCloseTo(0, 1);
  });

  it("a memory lock's own stats: acquired, contended, lost, wait histogram and p50/p90/p99", async () => {
    const lock = createMemoryLock({ ttl: 5000 });
    await using server = await createConsoleServer({ locks: { jobs: lock }, token: TOKEN });
    const c = await consoleClient(server.url).login(TOKEN);
    const first = await lock.acquire('jobs:a');
    const waiter = lock.acquire('jobs:a', { wait: 5000 });
    await new Promise((r) => setTimeout(r, 60));
    await first.release();
    const second = await waiter;
    await lock.forceRelease('jobs:a');
    await eventually(() => second.signal.aborted, 2000, 'lost');
    await expect(
      lock.acquire('jobs:a').then(() => lock.acquire('jobs:a', { wait: 20 })),
    ).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
    });
    const { stats } = await (await c.get('/api/locks/jobs/stats')).json();
    expect(stats).toMatchObject({
      acquired: 3,
      contended: 2,
      timedOut: 1,
      lost: 1,
      forceReleased: 1,
      released: 1,
    });
    expect(stats.waitHistogram.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(3);
    // The waiter waited ~60 ms: the p90 and p99 are in the 50–100 ms bucket, the p50 (an instant acquire) below 1 ms.
    expect(stats.wait.p50.ms).toBeLessThanOrEqual(1);
    expect(stats.wait.p99.ms).toBeGreaterThan(50);
    expect(stats.wait.p99.ms).toBeLessThanOrEqual(100);
    expect(stats.acquireRate).toBeNull();
    await new Promise((r) => setTimeout(r, 600));
    const again = await (await c.get('/api/locks/jobs/stats')).json();
    expect(again.stats.acquireRate).toBe(0);
    await lock.close();
  });

  it('a lock backend that is down answers 503 BACKEND_UNAVAILABLE (reads, the stream and the preview)', async () => {
    const { freePort } = await import('@switchyard/testkit/servers');
    const down = createRedisLock({
      url: `redis://127.0.0.1:${await freePort()}`,
      requestTimeout: 300,
      redisOptions: { maxRetriesPerRequest: 0, retryStrategy: () => null },
    });
    await using server = await createConsoleServer({ locks: down, token: TOKEN, readOnly: false });
    const c = await consoleClient(server.url).login(TOKEN);
    const res = await c.get('/api/locks/default/held');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'BACKEND_UNAVAILABLE' });
    const events = readEvents(await c.get('/api/locks/default/live'));
    expect(await events.next()).toMatchObject({ error: { error: 'BACKEND_UNAVAILABLE' } });
    await events.done;
    expect((await c.post('/api/locks/default/held/k/force-release', {})).status).toBe(503);
    await down.close();
  });

  it('the locks option: a lock, or a record of named ones; anything else names the field', async () => {
    await expect(createConsoleServer({ locks: {} as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'locks',
    });
    await expect(createConsoleServer({ locks: { a: {} } as never })).rejects.toMatchObject({
      field: 'locks',
    });
    const lock = createMemoryLock();
    await expect(createConsoleServer({ locks: { 'bad name': lock } })).rejects.toMatchObject({
      field: 'locks',
    });
    await using server = await createConsoleServer({ locks: { b: lock, a: lock }, token: false });
    expect(server.pages).toContain('locks');
    const spaces = (await (await fetch(`${server.url}/api/locks`)).json()) as { spaces: { name: string }[] };
    expect(spaces.spaces.map((s: { name: string }) => s.name)).toEqual(['a', 'b']);
    expect(locksModule({ x: lock }).name).toBe('locks');
    await lock.close();
  });
});
