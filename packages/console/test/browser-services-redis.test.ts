// The Services page in headless Chromium over a REAL backend: redis-server (testkit) and
// discovery-redis. The application registers with its own client; the console watches with another.
import { createMemoryRulesSource } from '@switchyard/core';
import { createRedisDiscovery } from '@switchyard/discovery-redis';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, createConsoleServer } from '../src/index.js';
import { type BrowserHarness, loginThroughForm, openBrowser, screenshot } from './browser-harness.js';

const TOKEN = 'a-browser-test-token-redis-0123';

describe('console in Chromium: services page over Redis discovery', () => {
  let redis: RedisServer;
  let app: ReturnType<typeof createRedisDiscovery>;
  let watched: ReturnType<typeof createRedisDiscovery>;
  const rules = createMemoryRulesSource();
  let server: ConsoleServer;
  let browser: BrowserHarness;

  beforeAll(async () => {
    [redis, browser] = await Promise.all([startRedis(), openBrowser()]);
    app = createRedisDiscovery({ url: redis.url, ttl: 30_000 });
    watched = createRedisDiscovery({ url: redis.url });
    server = await createConsoleServer({ discovery: watched, rules, readOnly: false, token: TOKEN });
    await app.register({ service: 'orders', id: 'o1', address: '10.2.0.1', port: 8080, zone: 'eu-1a' });
  });
  afterEach(() => browser.assertNoPageErrors());
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await app?.close();
    await watched?.close();
    await redis?.stop();
  });

  it('a registration and a deregistration by another client appear live; a pull-out lands in the rules', async () => {
    const page = await browser.newPage(`${server.url}/#/services/orders`);
    await loginThroughForm(page, TOKEN);
    await page.locator('#service-detail tr[data-instance="o1"]').waitFor();
    expect(await page.locator('#service-list tr[data-service="orders"] td').allTextContents()).toEqual([
      'orders',
      '1',
      '1',
      '0',
      'eu-1a',
    ]);

    const o2 = await app.register({ service: 'orders', id: 'o2', address: '10.2.0.2', port: 8080 });
    await page.locator('#service-detail tr[data-instance="o2"]').waitFor();
    await screenshot(page, 'redis-service-live');
    await o2.close();
    await page.locator('#service-detail tr[data-instance="o2"]').waitFor({ state: 'detached' });

    const row = page.locator('#service-detail tr[data-instance="o1"]');
    await row.getByRole('button', { name: 'Pull out' }).click();
    // The only instance: the dialog warns that the service is left with none in rotation.
    await expect
      .poll(() => page.locator('#confirm-summary').textContent())
      .toBe('pull out instance o1 of orders WARNING: leaves no instance in rotation for orders');
    await screenshot(page, 'redis-confirm-last-instance');
    await page.locator('#confirm-reason').fill('redis test');
    await page.locator('#confirm-ok').click();
    await expect.poll(() => rules.current().pulledInstances).toEqual([{ service: 'orders', id: 'o1' }]);
    await expect.poll(() => row.locator('.pulled').textContent()).toBe('pulled out (instance)');
    await screenshot(page, 'redis-service-pulled-out');
  });
});
