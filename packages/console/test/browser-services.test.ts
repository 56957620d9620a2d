// The Services page in a real headless Chromium: login, the list, a service's live instances,
// a pull-out through the confirmation dialog, the audit tab, read-only mode, the login link.
import { createMemoryDiscovery, createMemoryRulesSource, MemoryDiscoveryStore } from '@switchyard/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, createConsoleServer } from '../src/index.js';
import { type BrowserHarness, loginThroughForm, openBrowser, screenshot } from './browser-harness.js';

const TOKEN = 'a-browser-test-token-0123456789';

describe('console in Chromium: services page', () => {
  const store = new MemoryDiscoveryStore();
  const discovery = createMemoryDiscovery({ store });
  const rules = createMemoryRulesSource();
  let server: ConsoleServer;
  let readOnly: ConsoleServer;
  let browser: BrowserHarness;

  beforeAll(async () => {
    [server, readOnly, browser] = await Promise.all([
      createConsoleServer({ discovery, rules, readOnly: false, token: TOKEN }),
      createConsoleServer({ discovery, rules, token: TOKEN }),
      openBrowser(),
    ]);
    await discovery.register({ service: 'api', id: 'a1', address: '10.0.0.1', port: 80, zone: 'z1' });
    await discovery.register({
      service: 'api',
      id: 'a2',
      address: '10.0.0.2',
      port: 80,
      zone: 'z2',
      tags: ['v2'],
      metadata: { build: '42' },
    });
    await discovery.register({ service: 'web', id: 'w1', address: '10.0.0.3', port: 80, health: 'critical' });
  });
  afterEach(() => browser.assertNoPageErrors());
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await readOnly?.close();
    await discovery.close();
  });

  it('the login form blocks until the token is typed; anonymous API calls are 401; a wrong token says so', async () => {
    const page = await browser.newPage(server.url);
    await page.locator('#login-token').waitFor();
    expect(await page.locator('#tabs a').count()).toBe(0);
    expect(await page.locator('#page-services').count()).toBe(0);
    // The page's own origin, no session cookie: the API refuses.
    const status = await page.evaluate(async () => (await fetch('/api/services')).status);
    expect(status).toBe(401);
    await screenshot(page, 'login');

    await page.locator('#login-token').fill('not-the-token-not-the-token');
    await page.locator('#login button[type=submit]').click();
    await expect.poll(() => page.locator('#login .error').textContent()).toBe('That token is wrong.');
    expect(await page.locator('#tabs a').count()).toBe(0);
    await screenshot(page, 'login-wrong-token');

    await loginThroughForm(page, TOKEN);
    await page.locator('#service-list tr[data-service="api"]').waitFor();
    expect(await page.evaluate(async () => (await fetch('/api/services')).status)).toBe(200);
    expect(await page.locator('#mode').textContent()).toBe('read-write');
  });

  it('lists services with instance counts and health', async () => {
    const page = await browser.newPage(server.url);
    await loginThroughForm(page, TOKEN);
    const rows = page.locator('#service-list tbody tr');
    await rows.first().waitFor();
    const cells = await rows.evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(cells).toEqual([
      ['api', '2', '2', '0', 'z1, z2'],
      ['web', '1', '0', '0', ''],
    ]);
    await screenshot(page, 'services');
  });

  it('opening a service shows its instances; a new registration appears live, without a reload', async () => {
    const page = await browser.newPage(server.url);
    await loginThroughForm(page, TOKEN);
    await page.locator('#service-list tr[data-service="api"]').click();
    await page.locator('#service-detail tr[data-instance="a2"]').waitFor();
    expect(page.url()).toMatch(/#\/services\/api$/);
    const a2 = await page.locator('#service-detail tr[data-instance="a2"] td').allTextContents();
    expect(a2.slice(0, 8)).toEqual([
      'a2',
      '10.0.0.2:80',
      'z2',
      '1',
      'passing',
      'in rotation',
      'v2',
      'build=42',
    ]);
    await screenshot(page, 'service-instances');

    // Marks this document: a reload would lose the mark.
    await page.evaluate(() => {
      (globalThis as unknown as { mark: number }).mark = 7;
    });
    await discovery.register({ service: 'api', id: 'a3', address: '10.0.0.9', port: 8080, zone: 'z1' });
    await page.locator('#service-detail tr[data-instance="a3"]').waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { mark?: number }).mark)).toBe(7);
    // The list above follows too.
    await expect
      .poll(() => page.locator('#service-list tr[data-service="api"] td').nth(1).textContent())
      .toBe('3');
    await screenshot(page, 'service-live');
  });

  it('a pull-out through the dialog (summary, reason, confirm) changes the rules; the audit tab shows it', async () => {
    const page = await browser.newPage(`${server.url}/#/services/api`);
    await loginThroughForm(page, TOKEN);
    const row = page.locator('#service-detail tr[data-instance="a1"]');
    await row.waitFor();

    // Cancel first: nothing changes.
    await row.getByRole('button', { name: 'Pull out' }).click();
    await page.locator('#confirm').waitFor({ state: 'visible' });
    await page.locator('#confirm').getByRole('button', { name: 'Cancel' }).click();
    await page.locator('#confirm').waitFor({ state: 'hidden' });
    expect(rules.current().pulledInstances ?? []).toEqual([]);

    await row.getByRole('button', { name: 'Pull out' }).click();
    await page.locator('#confirm').waitFor({ state: 'visible' });
    expect(await page.locator('#confirm-summary').textContent()).toBe('pull out instance a1 of api');
    const details = JSON.parse((await page.locator('#confirm-details').textContent()) ?? '{}');
    expect(details.impact).toEqual([{ service: 'api', inRotationBefore: 3, inRotationAfter: 2 }]);
    await page.locator('#confirm-reason').fill('disk errors on host 1');
    await screenshot(page, 'confirm-pull-out');
    await page.locator('#confirm-ok').click();

    await expect.poll(() => rules.current().pulledInstances).toEqual([{ service: 'api', id: 'a1' }]);
    await expect.poll(() => row.locator('.pulled').textContent()).toBe('pulled out (instance)');
    await row.getByRole('button', { name: 'Pull in' }).waitFor();
    await screenshot(page, 'service-pulled-out');

    await page.locator('#tabs a[href="#/audit"]').click();
    const entry = page.locator('#page-audit tbody tr', { hasText: 'disk errors on host 1' });
    await entry.waitFor();
    const cells = await entry.locator('td').allTextContents();
    expect(cells.slice(1)).toEqual([
      'session',
      'POST /api/services/:service/instances/:id/pull-out',
      'pull out instance a1 of api',
      'ok',
      'disk errors on host 1',
      '',
    ]);
    await screenshot(page, 'audit');
  });

  it('a read-only console shows the instances with every action button disabled', async () => {
    const page = await browser.newPage(`${readOnly.url}/#/services/api`);
    await loginThroughForm(page, TOKEN);
    await page.locator('#service-detail tr[data-instance="a1"]').waitFor();
    expect(await page.locator('#mode').textContent()).toBe('read-only');
    const buttons = page.locator('#service-detail button');
    expect(await buttons.count()).toBeGreaterThanOrEqual(5); // 3 instances + 2 zones × 2
    expect(
      await buttons.evaluateAll(
        (bs) => bs.filter((b) => !(b as unknown as { disabled: boolean }).disabled).length,
      ),
    ).toBe(0);
    await screenshot(page, 'read-only');
  });

  it('the /#token=… login link logs in once and drops the token from the address; a wrong one says so', async () => {
    const page = await browser.newPage(`${server.url}/#token=${encodeURIComponent(TOKEN)}`);
    await page.locator('#service-list tr[data-service="api"]').waitFor();
    expect(page.url()).not.toContain(TOKEN);
    expect(await page.locator('#login').count()).toBe(0);

    const wrong = await browser.newPage(`${server.url}/#token=not-the-token-not-the-token`, {
      expectErrors: [/\[toast\] The token in the link is wrong\./],
    });
    await wrong.locator('#login-token').waitFor();
    await expect
      .poll(() => wrong.locator('#toast .error').textContent())
      .toBe('The token in the link is wrong.');
    expect(wrong.url()).not.toContain('not-the-token');
    await screenshot(wrong, 'login-link-wrong');
  });
});
