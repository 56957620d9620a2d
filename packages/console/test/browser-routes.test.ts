// The Routes page in a real headless Chromium: pods listed live, a uid lookup, a drain through the
// confirmation dialog (the pod turns DRAINING in the store and on the page), drain progress.
import { createMemoryDiscovery } from '@switchyard/core';
import {
  createMemoryRouteStore,
  createRedisRouteStore,
  createRouteClient,
  createRouteServer,
  type RouteServer,
} from '@switchyard/stateful-route';
import { startRedis } from '@switchyard/testkit/servers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, createConsoleServer } from '../src/index.js';
import {
  type BrowserHarness,
  loginThroughForm,
  openBrowser,
  type Page,
  screenshot,
} from './browser-harness.js';

const TOKEN = 'a-browser-test-token-0123456789';
const PODS = ['chat-a', 'chat-b', 'chat-c'];

describe('console in Chromium: routes page', () => {
  const store = createMemoryRouteStore();
  const discovery = createMemoryDiscovery();
  const servers: RouteServer[] = [];
  const client = createRouteClient({ store, stateRefreshInterval: 50 });
  const owner = new Map<string, string>();
  let server: ConsoleServer;
  let browser: BrowserHarness;

  beforeAll(async () => {
    for (const [i, pod] of PODS.entries()) {
      await discovery.register({ id: pod, service: 'chat', address: '10.0.0.1', port: 7000 + i });
      const s = createRouteServer({ store, service: 'chat', pod, heartbeat: 300, load: 10 * i });
      await s.start();
      servers.push(s);
    }
    for (let n = 1; n <= 9; n++)
      owner.set(`u${n}`, await client.computeLinkedPod('tenant-1', `u${n}`, 'chat'));
    [server, browser] = await Promise.all([
      createConsoleServer({ token: TOKEN, readOnly: false, routes: { store, servers }, discovery }),
      openBrowser(),
    ]);
  });
  afterEach(() => browser.assertNoPageErrors());
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await client.close();
    for (const s of servers) await s.stop();
    await discovery.close();
    await store.close();
  });

  const open = async (options?: Parameters<BrowserHarness['newPage']>[1]): Promise<Page> => {
    const page = await browser.newPage(`${server.url}/#/routes/chat`, options);
    await loginThroughForm(page, TOKEN);
    await page.locator('#routes-pods tr[data-pod="chat-a"]').waitFor();
    return page;
  };
  const rowCells = (page: Page, pod: string) =>
    page
      .locator(`#routes-pods tr[data-pod="${pod}"] td`)
      .evaluateAll((tds) => tds.map((td) => (td.textContent ?? '').trim()));

  it('lists the pods of the service with state, epoch, links, load and address', async () => {
    const page = await open();
    expect(await page.locator('#routes-pods tbody tr').count()).toBe(3);
    const counts = new Map<string, number>();
    for (const pod of owner.values()) counts.set(pod, (counts.get(pod) ?? 0) + 1);
    for (const [i, pod] of PODS.entries()) {
      const cells = await rowCells(page, pod);
      expect(cells.slice(0, 4)).toEqual([pod, `10.0.0.1:${7000 + i}`, 'NORMAL', String(servers[i]!.epoch)]);
      expect(cells[5]).toBe(String(counts.get(pod) ?? 0));
      expect(cells[6]).toBe(String(10 * i));
      expect(cells[4]).toMatch(/^\d+ ms of 900 ms$/);
      expect(cells[9]).toBe('live');
    }
    expect(await page.locator('#routes-next-pick').textContent()).toContain('chat-a');
    await screenshot(page, 'routes');
  });

  it('looks up a uid: its owner pod and epoch; a bad uid is reported under the form', async () => {
    const page = await open({ expectErrors: [/status of 400/] });
    await page.locator('#routes-namespace').fill('tenant-1');
    await page.locator('#routes-uid').fill('u5');
    await page.locator('#routes-lookup-go').click();
    const row = page.locator('#routes-user tr[data-service="chat"]');
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    const pod = owner.get('u5')!;
    expect(cells.slice(0, 5)).toEqual([
      'chat',
      pod,
      String(servers.find((s) => s.pod === pod)!.epoch),
      'yes',
      'ok',
    ]);
    await screenshot(page, 'routes-lookup');
    await page.locator('#routes-uid').fill('x'.repeat(600));
    await page.locator('#routes-lookup-go').click();
    await expect
      .poll(() => page.locator('#routes-lookup-error').textContent())
      .toMatch(/uid must be at most 512 characters/);
    expect(await page.locator('#routes-user tr').count()).toBe(0);
  });

  it('drains a pod through the UI (button → confirmation → reason → Confirm): DRAINING on the page and in the store, then progress as users move', async () => {
    const page = await open();
    const drained = 'chat-a';
    await page.locator(`#routes-pods tr[data-pod="${drained}"] button[data-action="DRAINING"]`).click();
    const dialog = page.locator('#confirm');
    await dialog.waitFor();
    const summary = await page.locator('#confirm-summary').textContent();
    expect(summary).toContain(`Pod ${drained} of chat`);
    expect(summary).toContain('takes no new users');
    expect(summary).toContain('3 linked users');
    expect(await page.locator('#confirm-details').textContent()).toContain('"newUsersGoTo"');
    await page.locator('#confirm-reason').fill('browser test: drain');
    await page.locator('#confirm-ok').click();
    await page.locator(`#routes-pods tr[data-pod="${drained}"][data-state="DRAINING"]`).waitFor();
    expect((await store.listPods('chat')).pods.find((p) => p.pod === drained)).toMatchObject({
      state: 'DRAINING',
      move: false,
    });
    expect(server.audit.entries().at(-1)).toMatchObject({ outcome: 'ok', reason: 'browser test: drain' });
    expect(await page.locator(`#routes-pods tr[data-pod="${drained}"] .drain-left`).textContent()).toContain(
      '3 of 3 links left',
    );
    await screenshot(page, 'routes-draining');

    // Move its users: they leave at their next request; the row's progress reaches 0 of 3.
    await page.locator(`#routes-pods tr[data-pod="${drained}"] button[data-action="DRAINING-move"]`).click();
    await dialog.waitFor();
    expect(await page.locator('#confirm-summary').textContent()).toContain('move at their next request');
    await page.locator('#confirm-reason').fill('browser test: move users');
    await page.locator('#confirm-ok').click();
    await expect
      .poll(async () => (await store.listPods('chat')).pods.find((p) => p.pod === drained)?.move)
      .toBe(true);
    const users = [...owner].filter(([, p]) => p === drained).map(([u]) => u);
    await expect
      .poll(async () => {
        const now = await Promise.all(users.map((u) => client.computeLinkedPod('tenant-1', u, 'chat')));
        return now.filter((p) => p === drained).length;
      })
      .toBe(0);
    await expect
      .poll(() => page.locator(`#routes-pods tr[data-pod="${drained}"] .drain-left`).textContent())
      .toContain('0 of 3 links left');
    // The lookup shows the move the route client made.
    await page.locator('#routes-namespace').fill('tenant-1');
    await page.locator('#routes-uid').fill(users[0]!);
    await page.locator('#routes-lookup-go').click();
    await expect
      .poll(() => page.locator('#routes-user tr[data-service="chat"] .route-history').textContent())
      .toMatch(new RegExp(`moved ${drained} → chat-[bc] \\(drain\\)`));
    await screenshot(page, 'routes-drained');
  });
});

describe('console in Chromium: routes page with the store down', () => {
  it('shows the store error (BACKEND_UNAVAILABLE) on the page when Redis goes away', async () => {
    const redis = await startRedis();
    const store = createRedisRouteStore({ url: redis.url, prefix: 'browser:', requestTimeout: 300 });
    const pod = createRouteServer({ store, service: 'chat', pod: 'p1', heartbeat: 100 });
    await pod.start();
    const server = await createConsoleServer({ token: TOKEN, routes: store });
    const browser = await openBrowser();
    try {
      const page = await browser.newPage(`${server.url}/#/routes/chat`);
      await loginThroughForm(page, TOKEN);
      await page.locator('#routes-pods tr[data-pod="p1"]').waitFor();
      expect(await page.locator('#routes-status').textContent()).toContain('redis store');
      await redis.stop();
      await expect
        .poll(() => page.locator('#routes-status').textContent(), { timeout: 5_000 })
        .toContain('BACKEND_UNAVAILABLE');
      expect(await page.locator('#routes-status').getAttribute('class')).toBe('error');
      expect(await page.locator('#routes-status').textContent()).toContain('not live');
      expect(await page.locator('#routes-pods').getAttribute('class')).toBe('stale');
      await screenshot(page, 'routes-backend-down');
      browser.assertNoPageErrors();
    } finally {
      await browser.close();
      await server.close();
      await pod.close();
      await store.close();
      await redis.stop();
    }
  });
});
