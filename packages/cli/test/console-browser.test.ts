// End to end, as an operator runs it: the built `switchyard console` over redis-server, opened in
// headless Chromium through the printed login link (the console package's browser harness).
import { createRedisDiscovery } from '@switchyard/discovery-redis';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHarness, openBrowser, screenshot } from '../../console/test/browser-harness.js';
import { runBinary } from './run-binary.js';

let redis: RedisServer;
let browser: BrowserHarness;
beforeAll(async () => {
  [redis, browser] = await Promise.all([startRedis(), openBrowser()]);
});
afterEach(() => browser.assertNoPageErrors());
afterAll(async () => {
  await browser?.close();
  await redis?.stop();
});

describe('switchyard console in Chromium (built binary, redis-server)', () => {
  it('the printed login link opens the Services page; a registration by the application appears live', async () => {
    await using app = createRedisDiscovery({ url: redis.url });
    await using _o1 = await app.register({ id: 'o1', service: 'orders', address: '10.3.0.1', port: 8080 });
    let failure: unknown;
    let begun = false;
    const result = await runBinary(['console', '--port', '0', '--json', '--redis', redis.url], {
      timeout: 30_000,
      onStdout: (text, kill) => {
        if (begun || !text.includes('\n')) return;
        begun = true;
        const { login } = (JSON.parse(text.split('\n')[0]!) as { console: { login: string } }).console;
        (async () => {
          const page = await browser.newPage(login);
          await page.locator('#service-list tr[data-service="orders"]').waitFor();
          expect(page.url()).not.toContain('token=');
          await page.locator('#service-list tr[data-service="orders"]').click();
          await page.locator('#service-detail tr[data-instance="o1"]').waitFor();
          await using _o2 = await app.register({
            id: 'o2',
            service: 'orders',
            address: '10.3.0.2',
            port: 8080,
          });
          await page.locator('#service-detail tr[data-instance="o2"]').waitFor();
          // Read-only by default: the actions are there, disabled.
          expect(await page.locator('#mode').textContent()).toBe('read-only');
          expect(await page.locator('#service-detail button:not([disabled])').count()).toBe(0);
          await screenshot(page, 'cli-console-redis');
          // Leave before the console stops (a page left open would see its live stream cut).
          await page.context().close();
        })()
          .catch((e) => {
            failure = e;
          })
          .finally(() => kill('SIGTERM'));
      },
    });
    if (failure) throw failure;
    expect(begun, result.stderr).toBe(true);
    expect(result.code, result.stderr).toBe(0);
  });
});
