// The Locks and Cache pages in a real headless Chromium: a held lock (real Redis) is listed; a
// force-release through the UI (button → confirmation dialog with the summary → reason → Confirm)
// fires the holder's lost signal in this process and a waiter acquires; a tag invalidation through
// the UI drops the entry; screenshots of both pages.
import { randomUUID } from 'node:crypto';
import { type Cache, createCache } from '@switchyard/cache';
import { isSwitchyardError, type LockLease } from '@switchyard/core';
import { createRedisLock, type RedisLock } from '@switchyard/lock-redis';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, createConsoleServer } from '../src/index.js';
import { type BrowserHarness, loginThroughForm, openBrowser, screenshot } from './browser-harness.js';

const TOKEN = 'a-browser-test-token-0123456789';

describe('console in Chromium: locks and cache pages', () => {
  let redis: RedisServer;
  let holder: RedisLock;
  let waiter: RedisLock;
  let admin: RedisLock;
  let cache: Cache;
  let server: ConsoleServer;
  let readOnly: ConsoleServer;
  let browser: BrowserHarness;

  beforeAll(async () => {
    [redis, browser] = await Promise.all([startRedis(), openBrowser()]);
    const prefix = `bl-${randomUUID().slice(0, 6)}:`;
    [holder, waiter, admin] = [0, 1, 2].map(() =>
      createRedisLock({ url: redis.url, prefix, ttl: 5000, pollInterval: 100 }),
    ) as [RedisLock, RedisLock, RedisLock];
    cache = createCache({ name: 'app', ttl: 60_000 });
    [server, readOnly] = await Promise.all([
      createConsoleServer({ locks: { orders: admin, jobs: holder }, cache, readOnly: false, token: TOKEN }),
      createConsoleServer({ locks: admin, cache, token: TOKEN }),
    ]);
  });
  afterEach(() => browser.assertNoPageErrors());
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await readOnly?.close();
    await cache?.close();
    for (const l of [holder, waiter, admin]) await l?.close();
    await redis?.stop();
  });

  async function open(hash: string, url = server.url) {
    const page = await browser.newPage(url);
    await loginThroughForm(page, TOKEN);
    await page.evaluate((h) => {
      (globalThis as unknown as { location: { hash: string } }).location.hash = h;
    }, hash);
    return page;
  }

  it('lists a held lock; force-release through the dialog fires the holder’s lost signal; a waiter acquires', async () => {
    const lease: LockLease = await holder.acquire('orders:42', { ttl: 5000 });
    const other = await holder.acquire('orders:7', { ttl: 5000 });
    const lost: unknown[] = [];
    lease.on('lease:lost', (e) => lost.push(e.cause));
    const waiting = waiter.acquire('orders:42', { ttl: 5000, wait: 30_000 });
    try {
      const page = await open('#/locks/orders');
      const row = page.locator('#lock-held tr[data-key="orders:42"]');
      await row.waitFor();
      const cells = await row.locator('td').allTextContents();
      expect(cells.slice(0, 3)).toEqual(['orders:42', lease.owner, lease.token.toString()]);
      expect(cells[4]).toMatch(/^\d+\.\d s$/);
      expect(await page.locator('#lock-held tbody tr').count()).toBe(2);
      expect(await page.locator('#lock-space').inputValue()).toBe('orders');
      await page.locator('#lock-stats dd[data-stat="wait p50"]').waitFor();
      await screenshot(page, 'locks');

      // The prefix filter narrows the table (server-side).
      await page.locator('#lock-prefix').fill('orders:4');
      await expect.poll(() => page.locator('#lock-held tbody tr').count()).toBe(1);

      await row.locator('button.force-release').click();
      const dialog = page.locator('#confirm');
      await dialog.waitFor({ state: 'visible' });
      expect(await page.locator('#confirm-summary').textContent()).toMatch(
        new RegExp(
          `^force-release orders:42 held by ${lease.owner} \\(token ${lease.token}, \\d+\\.\\d s left\\); its holder's lease is told it was lost$`,
        ),
      );
      await screenshot(page, 'locks-force-release-confirm');
      expect(lease.signal.aborted).toBe(false);
      await page.locator('#confirm-reason').fill('stuck worker');
      await page.locator('#confirm-ok').click();

      // In this process: the holder's lease is told, and the waiter gets the lock.
      await expect.poll(() => lease.signal.aborted, { timeout: 10_000 }).toBe(true);
      expect(isSwitchyardError(lease.signal.reason) && lease.signal.reason.code).toBe('LOCK_LOST');
      await expect.poll(() => lost.length).toBe(1);
      const next = await waiting;
      expect(next.token > lease.token).toBe(true);
      await expect
        .poll(() => page.locator('#toast').textContent())
        .toContain(`released orders:42 (was ${lease.owner})`);
      // The live table shows the new holder within a refresh.
      await expect.poll(() => row.locator('td').nth(1).textContent(), { timeout: 6000 }).toBe(next.owner);
      expect(server.audit.entries().at(-1)).toMatchObject({
        target: 'lock orders:42 in orders',
        reason: 'stuck worker',
        outcome: 'ok',
      });
      await next.release();
    } finally {
      await lease.release().catch(() => {});
      await other.release();
      await (await waiting.catch(() => undefined))?.release().catch(() => {});
    }
  });

  it('confirming without a reason is refused with the error shown; the lock stays held', async () => {
    const lease = await holder.acquire('orders:why', { ttl: 5000 });
    try {
      const page = await browser.newPage(server.url, {
        expectErrors: [/reason is required/, /status of 400 .*force-release/],
      });
      await loginThroughForm(page, TOKEN);
      await page.evaluate(() => {
        (globalThis as unknown as { location: { hash: string } }).location.hash = '#/locks/orders';
      });
      await page.locator('#lock-held tr[data-key="orders:why"] button.force-release').click();
      await page.locator('#confirm').waitFor({ state: 'visible' });
      await page.locator('#confirm-ok').click();
      await page.locator('#toast .error', { hasText: 'reason is required' }).waitFor();
      expect(lease.held).toBe(true);
      expect(lease.signal.aborted).toBe(false);
      expect((await admin.inspect('orders:why'))?.token).toBe(lease.token);
    } finally {
      await lease.release();
    }
  });

  it('the lock space selector switches spaces; read-only disables force-release', async () => {
    const lease = await holder.acquire('jobs:1', { ttl: 5000 });
    try {
      const page = await open('#/locks/orders');
      await page.locator('#lock-status', { hasText: 'live' }).waitFor();
      await page.locator('#lock-space').selectOption('jobs');
      await page.locator('#lock-held tr[data-key="jobs:1"]').waitFor();
      // `jobs` is the holder's own client: its stats count its acquisitions.
      await expect
        .poll(() => page.locator('#lock-stats dd[data-stat="acquired"]').textContent())
        .not.toBe('0');

      const ro = await open('#/locks', readOnly.url);
      const button = ro.locator('#lock-held tr[data-key="jobs:1"] button.force-release');
      await button.waitFor();
      expect(await button.isDisabled()).toBe(true);
      expect(lease.held).toBe(true);
    } finally {
      await lease.release();
    }
  });

  it('a lock backend that is down: the page says so instead of hanging', async () => {
    const { freePort } = await import('@switchyard/testkit/servers');
    const down = createRedisLock({
      url: `redis://127.0.0.1:${await freePort()}`,
      requestTimeout: 300,
      redisOptions: { maxRetriesPerRequest: 0, retryStrategy: () => null },
    });
    await using own = await createConsoleServer({ locks: down, token: TOKEN });
    const page = await open('#/locks', own.url);
    await page.locator('#lock-status.error', { hasText: 'error:' }).waitFor();
    expect(await page.locator('#lock-status').textContent()).toMatch(/^error: /);
    await down.close();
  });

  it('cache page: per-namespace stats; invalidate a tag through the dialog', async () => {
    const users = cache.namespace('users');
    await users.getOrSet('u1', () => ({ name: 'ada' }), { tags: ['team:1'] });
    await users.getOrSet('u2', () => ({ name: 'bob' }), { tags: ['team:2'] });
    for (let i = 0; i < 5; i++) await users.get('u1');
    const page = await open('#/cache');
    const row = page.locator('#cache-namespaces tr[data-namespace="users"]');
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 3)).toEqual(['users', '5 (71.4%)', '2']);
    expect(await page.locator('#cache-bus').textContent()).toContain('none');
    await screenshot(page, 'cache');

    await page.locator('#tag-namespace').fill('users');
    await page.locator('#tag-tags').fill('team:1');
    await page.locator('#tag-invalidate').click();
    await page.locator('#confirm').waitFor({ state: 'visible' });
    expect(await page.locator('#confirm-summary').textContent()).toContain(
      'every entry tagged team:1 in namespace users (and its sub-namespaces) of cache app, in L1; no bus is configured',
    );
    await page.locator('#confirm-reason').fill('stale profile');
    await page.locator('#confirm-ok').click();
    await expect.poll(() => page.locator('#toast').textContent()).toContain('deleted entries tagged team:1');
    expect(await users.get('u1')).toBeUndefined();
    expect(await users.get('u2')).toEqual({ name: 'bob' });
  });
});
