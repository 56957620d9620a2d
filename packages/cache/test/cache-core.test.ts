import { createManualClock, createMemoryCacheStore } from '@switchyard/core';
import { expectSwitchyardError } from '@switchyard/testkit/conformance';
import { describe, expect, it } from 'vitest';
import { createBloomFilter, createCache, createL1Tier, MISSING } from '../src/index.js';
import { flakyStore } from './helpers/flaky-store.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('cache basics', () => {
  it('get/set/has/delete through L1 and a store, undefined is a value, null too', async () => {
    const store = createMemoryCacheStore();
    await using cache = createCache({ l2: store });
    expect(await cache.get('a')).toBeUndefined();
    await cache.set('a', { n: 1 });
    expect(await cache.get('a')).toEqual({ n: 1 });
    expect(await store.get('a')).toContain('"n":1');
    await cache.set('u', undefined);
    expect(await cache.has('u')).toBe(true);
    expect(await cache.get('u')).toBeUndefined();
    await cache.set('z', null);
    expect(await cache.get('z')).toBeNull();
    expect(await cache.delete('a')).toBe(true);
    expect(await cache.delete('a')).toBe(false);
    expect(await cache.has('a')).toBe(false);
    expect(await store.get('a')).toBeUndefined();
  });

  it('an L2 hit fills L1; batches keep order', async () => {
    const store = createMemoryCacheStore();
    const writer = createCache({ l1: false, l2: store });
    await writer.setMany([
      { key: 'x', value: 1 },
      { key: 'y', value: 2, ttl: 5000 },
    ]);
    const reader = createCache({ l2: store });
    expect(await reader.getMany(['y', 'nope', 'x'])).toEqual([2, undefined, 1]);
    expect(await reader.get('x')).toBe(1);
    const s = reader.stats().namespaces['']!;
    expect(s.hits).toEqual([1, 2]); // L1 once (the second get), L2 twice
    expect(await reader.deleteMany(['x', 'y', 'nope'])).toBe(2);
    await writer.close();
    await reader.close();
  });

  it('getOrSet: 1 000 concurrent calls on a cold key load once', async () => {
    await using cache = createCache({ l2: createMemoryCacheStore() });
    let calls = 0;
    const results = await Promise.all(
      Array.from({ length: 1000 }, () =>
        cache.getOrSet('cold', async () => {
          calls++;
          await new Promise((r) => setTimeout(r, 20));
          return 'v';
        }),
      ),
    );
    expect(calls).toBe(1);
    expect(new Set(results)).toEqual(new Set(['v']));
    expect(await cache.getOrSet('cold', () => 'other')).toBe('v');
  });

  it('negative caching: MISSING is cached with its own TTL, distinct from undefined', async () => {
    const clock = createManualClock();
    await using cache = createCache({ clock, negativeTtl: 1000, ttl: 60_000, ttlJitter: 0 });
    let calls = 0;
    const load = () => {
      calls++;
      return MISSING;
    };
    expect(await cache.getOrSet('ghost', load)).toBe(MISSING);
    expect(await cache.getOrSet('ghost', load)).toBe(MISSING);
    expect(calls).toBe(1);
    expect(await cache.has('ghost')).toBe(false);
    expect(await cache.get('ghost')).toBeUndefined();
    await clock.advance(1001);
    await cache.getOrSet('ghost', load);
    expect(calls).toBe(2);
    expect(cache.stats().namespaces['']!.negativeHits).toBe(1);
    expect(await cache.getOrSet('undef', () => undefined)).toBeUndefined();
    expect(await cache.has('undef')).toBe(true);
  });

  it('ttl expiry, jitter only shortens, adaptive ttl from the loader', async () => {
    const clock = createManualClock();
    await using cache = createCache({ clock, ttl: 1000, ttlJitter: 0.5 });
    await cache.set('k', 1);
    await clock.advance(1000);
    expect(await cache.get('k')).toBeUndefined();
    let n = 0;
    await cache.getOrSet(
      'adaptive',
      (ctx) => {
        n++;
        ctx.setTtl(10_000);
        return 'x';
      },
      { ttl: 10 },
    );
    await clock.advance(4000); // > 10 ms, < 10 000 × (1 - 0.5)
    await cache.getOrSet('adaptive', () => {
      n++;
      return 'y';
    });
    expect(n).toBe(1);
  });
});

describe('grace, timeouts, backoff, early refresh', () => {
  it('stale-while-revalidate: a stale value at once, refreshed in the background', async () => {
    const clock = createManualClock();
    await using cache = createCache({ clock, ttl: 1000, grace: 10_000, ttlJitter: 0 });
    await cache.getOrSet('k', () => 'v1');
    await clock.advance(1500);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const loader = async () => {
      await gate;
      return 'v2';
    };
    expect(await cache.getOrSet('k', loader)).toBe('v1');
    release();
    await tick();
    await tick();
    expect(await cache.getOrSet('k', loader)).toBe('v2');
    expect(cache.stats().namespaces['']!.staleServed).toBe(1);
  });

  it('stale-on-error with backoff: the failing loader is not retried until the backoff passes', async () => {
    const clock = createManualClock();
    await using cache = createCache({
      clock,
      ttl: 1000,
      grace: 60_000,
      ttlJitter: 0,
      softTimeout: 100,
      loaderBackoff: { base: 5000, max: 5000, random: () => 0.999 },
    });
    await cache.getOrSet('k', () => 'good');
    await clock.advance(2000);
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('db down');
    };
    expect(await cache.getOrSet('k', failing)).toBe('good');
    expect(await cache.getOrSet('k', failing)).toBe('good');
    expect(calls).toBe(1); // backing off
    await clock.advance(5000);
    expect(await cache.getOrSet('k', failing)).toBe('good');
    expect(calls).toBe(2);
    await clock.advance(5000);
    expect(await cache.getOrSet('k', () => 'recovered')).toBe('recovered');
  });

  it('without a stale value the loader error reaches the caller unchanged', async () => {
    await using cache = createCache();
    const boom = new Error('boom');
    await expect(cache.getOrSet('k', () => Promise.reject(boom))).rejects.toBe(boom);
  });

  it('soft timeout serves stale and keeps loading; hard timeout rejects with TIMEOUT and still fills', async () => {
    const clock = createManualClock();
    await using cache = createCache({ clock, ttl: 1000, grace: 60_000, ttlJitter: 0 });
    await cache.getOrSet('k', () => 'old');
    await clock.advance(1500);
    const slow = (v: string) => () => new Promise<string>((r) => clock.setTimeout(() => r(v), 500));
    const soft = cache.getOrSet('k', slow('new'), { softTimeout: 100 });
    await clock.advance(100);
    expect(await soft).toBe('old');
    await clock.advance(400);
    expect(await cache.getOrSet('k', slow('x'))).toBe('new');
    const hard = cache.getOrSet('cold', slow('late'), { hardTimeout: 200 });
    const check = expectSwitchyardError(hard, 'TIMEOUT');
    await clock.advance(200);
    await check;
    await clock.advance(300);
    expect(await cache.get('cold')).toBe('late');
  });

  it('XFetch refreshes a hot key shortly before it expires', async () => {
    const clock = createManualClock();
    await using cache = createCache({ clock, ttl: 10_000, ttlJitter: 0, earlyRefresh: 1 });
    let loads = 0;
    const loader = () =>
      new Promise<number>((r) =>
        clock.setTimeout(() => {
          loads++;
          r(loads);
        }, 1000),
      );
    const first = cache.getOrSet('hot', loader);
    await clock.advance(1000);
    expect(await first).toBe(1);
    // Far from expiry (9 s left, δ = 1 s): no refresh.
    for (let i = 0; i < 100; i++) await cache.getOrSet('hot', loader);
    expect(loads).toBe(1);
    await clock.advance(8_900); // 100 ms left: P(refresh) per hit = 1 - e^-10... ≈ 0.9
    for (let i = 0; i < 20; i++) await cache.getOrSet('hot', loader);
    await clock.advance(1000);
    expect(loads).toBe(2);
    expect(cache.stats().namespaces['']!.earlyRefreshes).toBe(1);
  });
});

describe('tiers, outages, namespaces, tags, prefilter, warm-up', () => {
  it('three tiers: write-through, backfill of the upper tiers on a lower hit', async () => {
    const a = createMemoryCacheStore();
    const b = createMemoryCacheStore();
    await using cache = createCache({ tiers: [createL1Tier({ maxEntries: 100 }), a, b] });
    await cache.set('k', 'v');
    expect(await a.get('k')).toBeDefined();
    expect(await b.get('k')).toBeDefined();
    await a.delete('k');
    const other = createCache({ tiers: [a, b] });
    expect(await other.get('k')).toBe('v');
    expect(await a.get('k')).toBeDefined(); // backfilled
    await other.close();
  });

  it('a store outage: L1 keeps serving, getOrSet falls back to the loader, set rejects typed, the breaker skips the store', async () => {
    const store = flakyStore();
    const errors: string[] = [];
    await using cache = createCache({ l2: store, breakerDuration: 60_000 });
    cache.on('cache:error', (e) => errors.push(e.operation));
    await cache.set('warm', 'w');
    store.down = true;
    expect(await cache.get('warm')).toBe('w');
    expect(await cache.getOrSet('cold', () => 'loaded')).toBe('loaded');
    expect(errors).toContain('write');
    const calls = store.calls;
    await expectSwitchyardError(cache.set('x', 1), 'BACKEND_UNAVAILABLE');
    await expectSwitchyardError(cache.get('never'), 'BACKEND_UNAVAILABLE');
    expect(store.calls).toBe(calls); // skipped by the breaker
    expect(cache.stats().tiers[0]!.open).toBe(true);
    const strict = createCache({ l2: store, fallbackToLoader: false, breakerDuration: 0 });
    await expectSwitchyardError(
      strict.getOrSet('y', () => 1),
      'BACKEND_UNAVAILABLE',
    );
    await strict.close();
  });

  it('namespaces are scoped; clear removes a namespace from every tier', async () => {
    const store = createMemoryCacheStore();
    await using cache = createCache({ l2: store });
    const users = cache.namespace('users');
    const admins = users.namespace('admins');
    await cache.set('1', 'root');
    await users.set('1', 'user');
    await admins.set('1', 'admin');
    expect([await cache.get('1'), await users.get('1'), await admins.get('1')]).toEqual([
      'root',
      'user',
      'admin',
    ]);
    expect(await store.get('users:admins:1')).toBeDefined();
    await users.clear();
    expect([await cache.get('1'), await users.get('1'), await admins.get('1')]).toEqual([
      'root',
      undefined,
      undefined,
    ]);
    expect(cache.stats().namespaces.users).toBeDefined();
  });

  it('tags: deleteByTag is hard, expireByTag is grace-aware, has() is tag-aware, a changed tag set reloads', async () => {
    const clock = createManualClock();
    const store = createMemoryCacheStore({ clock });
    await using cache = createCache({ clock, l2: store, grace: 60_000, ttlJitter: 0 });
    await cache.set('p1', 'a', { tags: ['product'] });
    await cache.set('p2', 'b', { tags: ['product', 'sale'] });
    await cache.set('other', 'c');
    await clock.advance(1);
    await cache.deleteByTag('sale');
    expect(await cache.has('p2')).toBe(false);
    expect(await cache.get('p2', { allowStale: true })).toBeUndefined();
    expect(await cache.get('p1')).toBe('a');
    // Another process sharing the store sees the tag record too.
    const peer = createCache({ clock, l2: store });
    expect(await peer.get('p2')).toBeUndefined();
    expect(await peer.get('p1')).toBe('a');
    await peer.close();
    await cache.expireByTag(['product']);
    expect(await cache.get('p1')).toBeUndefined();
    expect(await cache.get('p1', { allowStale: true })).toBe('a');
    await clock.advance(1); // a load in the very millisecond of the invalidation counts as before it
    expect(await cache.getOrSet('p1', () => 'fresh', { tags: ['product'] })).toBe('a'); // SWR
    await tick();
    expect(await cache.get('p1')).toBe('fresh');
    // Same key, new tag set: the stored entry does not match, the loader runs.
    expect(await cache.getOrSet('p1', () => 'retagged', { tags: ['product', 'new'] })).toBe('retagged');
  });

  it('a Bloom prefilter answers MISSING for keys it never saw, without a load', async () => {
    const bloom = createBloomFilter({ expectedItems: 1000 });
    for (let i = 0; i < 1000; i++) bloom.add(`id:${i}`);
    await using cache = createCache({ prefilter: bloom });
    let loads = 0;
    const load = () => ++loads;
    expect(await cache.getOrSet('id:5', load)).toBe(1);
    let missing = 0;
    for (let i = 0; i < 1000; i++)
      if ((await cache.getOrSet<unknown>(`nope:${i}`, load)) === MISSING) missing++;
    expect(missing).toBeGreaterThan(970); // ≤ 1 % false positives, some margin
    expect(cache.stats().namespaces['']!.rejected).toBe(missing);
  });

  it('warm-up: bounded concurrency, progress events, skips fresh keys', async () => {
    await using cache = createCache();
    await cache.set('k0', 'already');
    let running = 0;
    let peak = 0;
    const progress: number[] = [];
    cache.on('cache:warm', (e) => progress.push(e.done));
    const r = await cache.warm(
      Array.from({ length: 20 }, (_, i) => `k${i}`),
      async (key) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((res) => setTimeout(res, 5));
        running--;
        if (key === 'k7') throw new Error('bad row');
        return key;
      },
      { concurrency: 3 },
    );
    expect(peak).toBeLessThanOrEqual(3);
    expect(r).toMatchObject({ loaded: 18, skipped: 1, failed: 1 });
    expect(progress.at(-1)).toBe(20);
    expect(await cache.get('k3')).toBe('k3');
  });

  it('rejects bad input with INVALID_ARGUMENT naming the field, unknown options with a suggestion', async () => {
    await using cache = createCache();
    await expectSwitchyardError(() => cache.get(''), 'INVALID_ARGUMENT', 'key');
    await expectSwitchyardError(() => cache.get(42 as unknown as string), 'INVALID_ARGUMENT', 'key');
    await expectSwitchyardError(() => cache.get('x'.repeat(2000)), 'INVALID_ARGUMENT', 'key');
    await expectSwitchyardError(() => cache.set('k', 1, { ttl: -1 }), 'INVALID_ARGUMENT', 'ttl');
    await expectSwitchyardError(() => cache.set('k', 1, { ttl: Number.NaN }), 'INVALID_ARGUMENT', 'ttl');
    await expectSwitchyardError(() => cache.getOrSet('k', 'nope' as never), 'INVALID_ARGUMENT', 'loader');
    await expectSwitchyardError(
      () => cache.getOrSet('k', () => 1, { tll: 5 } as never),
      'INVALID_ARGUMENT',
      'tll',
    );
    await expectSwitchyardError(() => cache.getMany(['a', '']), 'INVALID_ARGUMENT', 'keys[1]');
    await expectSwitchyardError(
      () => cache.setMany([{ key: 'a', value: 1, ttl: -3 }]),
      'INVALID_ARGUMENT',
      'entries[0].ttl',
    );
    await expectSwitchyardError(() => cache.set('k', 1, { tags: ['a,b'] }), 'INVALID_ARGUMENT', 'tags[0]');
    await expectSwitchyardError(() => cache.get('k', { signal: 'x' as never }), 'INVALID_ARGUMENT', 'signal');
    expect(() => createCache({ l1: { maxEntrys: 5 } as never })).toThrow(/maxEntries/);
    expect(() => createCache({ l1: false })).toThrow(/l1/);
    const ac = new AbortController();
    ac.abort();
    await expectSwitchyardError(cache.get('k', { signal: ac.signal }), 'ABORTED');
    await cache.close();
    await expectSwitchyardError(cache.get('k'), 'CLOSED');
  });

  it('compression above the threshold round-trips through the store', async () => {
    const store = createMemoryCacheStore();
    await using cache = createCache({
      l1: false,
      l2: store,
      compression: { algorithm: 'brotli', threshold: 100 },
    });
    const big = { text: 'abc'.repeat(2000) };
    await cache.set('big', big);
    expect((await store.get('big'))!.length).toBeLessThan(1000);
    expect(await cache.get('big')).toEqual(big);
    const reader = createCache({ l1: false, l2: store, compression: { algorithm: 'gzip' } });
    expect(await reader.get('big')).toEqual(big); // any algorithm is read
    await reader.close();
  });
});
