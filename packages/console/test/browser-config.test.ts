// The Config page in a real headless Chromium over a real Redis config store: the live release and
// history, a rollback through the confirmation dialog that a watcher in this process sees, the
// publish preview (diff against live, schema feedback) and a publish through the UI.
import {
  type ConfigAdmin,
  type ConfigCenter,
  createConfigAdmin,
  createConfigCenter,
  createRedisConfigStore,
  type LiveNamespace,
  type ReleaseView,
} from '@switchyard/config-center';
import type { ConfigStore } from '@switchyard/core';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ConsoleServer, createConsoleServer } from '../src/index.js';
import {
  type BrowserHarness,
  loginThroughForm,
  openBrowser,
  type Page,
  screenshot,
} from './browser-harness.js';

const TOKEN = 'a-browser-config-token-0123456789';
const schema = z.object({ timeout: z.number().int().positive(), mode: z.enum(['fast', 'safe']) });
type Http = z.infer<typeof schema>;

describe('console in Chromium: config page', () => {
  let redis: RedisServer;
  let store: ConfigStore;
  let admin: ConfigAdmin;
  let server: ConsoleServer;
  let browser: BrowserHarness;
  let center: ConfigCenter;
  let ns: LiveNamespace<Http>;
  let r1: ReleaseView;
  let r2: ReleaseView;
  const app = `shop${process.pid}`;
  const ref = { env: 'prod', namespace: 'http' };

  beforeAll(async () => {
    [redis, browser] = await Promise.all([startRedis(), openBrowser()]);
    store = createRedisConfigStore({ url: redis.url });
    admin = createConfigAdmin({ store, app, namespaces: { http: { schema } } });
    r1 = await admin.publish(ref, { timeout: 100, mode: 'fast' }, { author: 'alice', message: 'first' });
    r2 = await admin.publish(
      ref,
      { timeout: 700, mode: 'safe' },
      { author: 'bob', message: 'slower, safer' },
    );
    await admin.publish({ env: 'test', namespace: 'http' }, { timeout: 5, mode: 'fast' }, { author: 'a' });
    server = await createConsoleServer({ config: admin, readOnly: false, token: TOKEN });
    center = createConfigCenter({ store: createRedisConfigStore({ url: redis.url }), app, env: 'prod' });
    ns = await center.namespace('http', { schema });
  }, 60_000);
  afterEach(() => browser.assertNoPageErrors());
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await center?.close();
    await store?.close?.();
    await redis?.stop();
  });

  async function openNamespace(options?: Parameters<BrowserHarness['newPage']>[1]): Promise<Page> {
    const page = await browser.newPage(`${server.url}/#/config/prod/default/http`, options);
    await loginThroughForm(page, TOKEN);
    await page.locator('#config-live h3').waitFor();
    return page;
  }

  it('shows the namespaces, the live release apart from drafts, and history with diffs', async () => {
    const page = await openNamespace();
    const rows = await page
      .locator('#config-namespaces tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-ns')));
    expect(rows).toEqual(['prod/default/http', 'test/default/http']);
    const live = page.locator('#config-live');
    expect(await live.locator('h3').textContent()).toBe(`LIVE revision ${r2.revision}`);
    expect(await live.textContent()).toContain('by bob');
    expect(await page.locator('#config-live-notes').textContent()).toBe('slower, safer');
    expect(await live.locator('tr[data-item="timeout"] td').nth(1).textContent()).toBe('700');
    expect(await page.locator('#publish-editor .badge').textContent()).toBe('DRAFT');
    const history = page.locator('#config-history tbody tr');
    expect(await history.count()).toBe(2);
    expect(await history.first().getAttribute('data-revision')).toBe(String(r2.revision));
    expect(await history.first().locator('.badge.live').count()).toBe(1);
    await screenshot(page, 'config-live');

    // Search keys and values across namespaces.
    await page.locator('#config-search').fill('timeout');
    await page.locator('#config-search-button').click();
    const found = page.locator('#config-search-results tbody tr');
    await found.first().waitFor();
    expect(
      await found.evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
      ),
    ).toEqual([
      ['prod', 'default', 'http', 'timeout', '700'],
      ['test', 'default', 'http', 'timeout', '5'],
    ]);

    await page.locator(`button[data-diff="${r2.revision}"]`).click();
    const diff = page.locator('#config-history-diff tbody tr');
    await diff.first().waitFor();
    const cells = await diff.evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(cells).toEqual([
      ['timeout', '100', '700'],
      ['mode', '"fast"', '"safe"'],
    ]);
    // Between environments, side by side.
    await page.locator('#compare-env').fill('test');
    await page.locator('#compare-envs').click();
    await page.locator('#config-compare tbody tr').first().waitFor();
    expect(await page.locator('#config-compare thead').textContent()).toBe('ITEMprod (live)test (live)');
    await screenshot(page, 'config-history-diff');
  });

  it('a rollback through the UI (button → dialog with the diff → reason → Confirm) reaches a watcher', async () => {
    expect(ns.value.timeout).toBe(700);
    const page = await openNamespace();
    // An unpublished draft in the editor must not survive the rollback (Apollo #1407/#5611).
    await page.locator('#publish-items').fill(JSON.stringify({ timeout: 999, mode: 'safe' }));
    await page.locator(`button[data-rollback="${r1.revision}"]`).click();
    const dialog = page.locator('#confirm');
    await dialog.waitFor({ state: 'visible' });
    expect(await page.locator('#confirm-summary').textContent()).toContain(
      `roll prod/default/http back to revision ${r1.revision}`,
    );
    const details = JSON.parse((await page.locator('#confirm-details').textContent()) ?? '{}');
    expect(details.diff.changed).toEqual({
      timeout: { from: 700, to: 100 },
      mode: { from: 'safe', to: 'fast' },
    });
    await page.locator('#confirm-reason').fill('700 ms broke checkout');
    await screenshot(page, 'config-rollback-confirm');
    await page.locator('#confirm-ok').click();
    await expect.poll(() => ns.value, { timeout: 8000 }).toEqual({ timeout: 100, mode: 'fast' });
    // The page shows the effective config: a new live release equal to revision r1.
    await expect
      .poll(() => page.locator('#config-live h3').textContent())
      .toMatch(new RegExp(`^LIVE revision \\d+ \\(rollback to ${r1.revision}\\)$`));
    expect(await page.locator('#config-live tr[data-item="timeout"] td').nth(1).textContent()).toBe('100');
    expect(JSON.parse(await page.locator('#publish-items').inputValue())).toEqual({
      timeout: 100,
      mode: 'fast',
    });
    expect(await page.locator('#draft-discarded').textContent()).toContain(
      'Your unpublished draft was discarded',
    );
    expect(ns.provenance.revision).toBe((await admin.get(ref))!.revision);
    expect(server.audit.entries().at(-1)).toMatchObject({
      target: 'config prod/default/http',
      outcome: 'ok',
      reason: '700 ms broke checkout',
    });
  });

  it('publish: the preview is the diff against live; a schema error names the item; Confirm publishes', async () => {
    const page = await openNamespace({ expectErrors: [/status of 400/] });
    await page.locator('#publish-items').fill(JSON.stringify({ timeout: -1, mode: 'fast' }));
    await page.locator('#publish-notes').fill('try a bad one');
    await page.locator('#publish-preview-button').click();
    await expect.poll(() => page.locator('#publish-error').textContent()).toContain('items.timeout');

    await page.locator('#publish-items').fill(JSON.stringify({ timeout: 250, mode: 'fast' }, null, 2));
    await page.locator('#publish-notes').fill('250 ms is enough');
    await page.locator('#publish-preview-button').click();
    const rows = page.locator('#publish-diff tbody tr');
    await rows.first().waitFor();
    expect(
      await rows.evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
      ),
    ).toEqual([['timeout', '100', '250']]);
    expect(await page.locator('#publish-preview').textContent()).toContain('Schema: valid.');
    await screenshot(page, 'config-publish-preview');

    await page.locator('#publish-button').click();
    await page.locator('#confirm').waitFor({ state: 'visible' });
    expect(await page.locator('#confirm-summary').textContent()).toContain('0 added, 1 changed, 0 removed');
    await page.locator('#confirm-reason').fill('latency budget');
    await page.locator('#confirm-ok').click();
    await expect.poll(() => ns.value.timeout, { timeout: 8000 }).toBe(250);
    await expect.poll(() => page.locator('#config-live-notes').textContent()).toBe('250 ms is enough');
  });

  it('gray release through the UI: labels rule, the GRAY panel, a matching watcher, abort', async () => {
    const canaryCenter = createConfigCenter({
      store: createRedisConfigStore({ url: redis.url }),
      app,
      env: 'prod',
      instance: { id: 'pod-a1', labels: { zone: 'a' } },
    });
    try {
      const canary = await canaryCenter.namespace('http', { schema });
      const liveMode = (await admin.get(ref))!.items['mode'];
      const grayMode = liveMode === 'safe' ? 'fast' : 'safe';
      const page = await openNamespace();
      await page.locator('#gray-items').fill(JSON.stringify({ mode: grayMode }));
      await page.locator('#gray-labels').fill('zone=a');
      await page.locator('#gray-notes').fill('canary in zone a');
      await page.locator('#gray-start').click();
      await page.locator('#confirm').waitFor({ state: 'visible' });
      expect(await page.locator('#confirm-summary').textContent()).toContain('labels zone=a');
      await page.locator('#confirm-reason').fill('canary');
      await page.locator('#confirm-ok').click();
      await page.locator('#config-gray').waitFor();
      expect(await page.locator('#config-gray').textContent()).toContain('To labels zone=a');
      await expect.poll(() => canary.value.mode, { timeout: 8000 }).toBe(grayMode);
      expect(ns.value.mode).toBe(liveMode);
      await screenshot(page, 'config-gray');

      await page.locator('#gray-abort').click();
      await page.locator('#confirm').waitFor({ state: 'visible' });
      expect(await page.locator('#confirm-summary').textContent()).toContain('abort the gray release');
      await page.locator('#confirm-ok').click();
      await page.locator('#config-gray').waitFor({ state: 'detached' });
      await expect.poll(() => canary.value.mode, { timeout: 8000 }).toBe(liveMode);
      expect(await admin.gray(ref)).toBeUndefined();
    } finally {
      await canaryCenter.close();
    }
  });

  it('read-only console: the page shows the config but offers no publish or rollback', async () => {
    await using readOnly = await createConsoleServer({ config: admin, token: TOKEN });
    const page = await browser.newPage(`${readOnly.url}/#/config/prod/default/http`);
    await loginThroughForm(page, TOKEN);
    await page.locator('#config-live h3').waitFor();
    expect(await page.locator('#mode').textContent()).toBe('read-only');
    expect(await page.locator('#config-detail').textContent()).toContain(
      'Read-only console: publishing is off.',
    );
    expect(await page.locator('#publish-editor').count()).toBe(0);
    expect(await page.locator('button[data-rollback], #rollback-previous').count()).toBe(0);
    await screenshot(page, 'config-read-only');
  });
});
