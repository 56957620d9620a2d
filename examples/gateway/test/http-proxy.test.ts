import { createMemoryDiscovery } from '@switchyard/core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoUpstream, startDemoUpstream } from '../src/demo-upstream.js';
import { createGateway, type Gateway } from '../src/gateway.js';
import { createMemoryRouteSource } from '../src/routes/route-source.js';

const backend = createMemoryDiscovery();
const routes = createMemoryRouteSource({
  routes: [
    { name: 'orders', pathPrefix: '/orders', service: 'orders' },
    {
      name: 'users-api',
      host: 'api.example.test',
      pathPrefix: '/users',
      stripPrefix: true,
      service: 'users',
    },
    { name: 'fallback', service: 'users' },
  ],
});
let gw: Gateway;
const upstreams: DemoUpstream[] = [];

async function get(path: string, headers: Record<string, string> = {}) {
  const r = await request(`${gw.url}${path}`, { headers });
  return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
}

beforeAll(async () => {
  for (const id of ['orders-1', 'orders-2', 'orders-3'])
    upstreams.push(await startDemoUpstream({ id, service: 'orders', discovery: backend }));
  upstreams.push(await startDemoUpstream({ id: 'users-1', service: 'users', discovery: backend }));
  gw = await createGateway({
    routes,
    discovery: backend,
    port: 0,
    adminPort: 0,
    // Fast recovery knobs so a dead upstream is ejected within the test.
    balancer: { outlierDetection: { consecutiveFailures: 3, maxEjectionPercent: 50 } },
  });
  await gw.ready();
});

afterAll(async () => {
  await gw.close();
  await Promise.all(upstreams.map((u) => u.close()));
  await backend.close();
});

describe('HTTP/1.1 proxy', () => {
  it('routes by path prefix on segment boundaries and spreads over instances', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await get('/orders/42?x=1');
      expect(r.status).toBe(200);
      expect(r.headers['x-seen-path']).toBe('/orders/42?x=1');
      seen.add(r.text.trim());
    }
    expect([...seen].sort()).toEqual(['orders-1', 'orders-2', 'orders-3']);
    // "/ordersX" is not under "/orders": it falls through to the catch-all route.
    expect((await get('/ordersX')).text).toBe('users-1\n');
  });

  it('routes by host, strips the prefix and sets X-Forwarded-For', async () => {
    const r = await get('/users/7', { host: 'api.example.test:8080', 'x-forwarded-for': '10.0.0.9' });
    expect(r.status).toBe(200);
    expect(r.headers['x-seen-path']).toBe('/7');
    expect(r.headers['x-seen-forwarded-for']).toBe('10.0.0.9, 127.0.0.1');
  });

  it('forwards request bodies', async () => {
    const r = await request(`${gw.url}/orders/new`, { method: 'POST', body: 'hello' });
    expect(r.statusCode).toBe(200);
    expect(await r.body.text()).toMatch(/^orders-\d\nhello$/);
  });

  it('applies a route change live and answers 404 with no route', async () => {
    routes.set({
      routes: [{ name: 'orders', pathPrefix: '/v2/orders', stripPrefix: true, service: 'orders' }],
    });
    expect((await get('/orders/1')).status).toBe(404);
    const r = await get('/v2/orders/1');
    expect(r.status).toBe(200);
    expect(r.headers['x-seen-path']).toBe('/1');
    routes.set({
      routes: [
        { name: 'orders', pathPrefix: '/orders', service: 'orders' },
        { name: 'fallback', service: 'users' },
      ],
    });
    expect((await get('/orders/1')).status).toBe(200);
  });

  it('an upstream dies under load: no failed request beyond the retry budget, the dead one is ejected', async () => {
    const victim = upstreams[1]!;
    let ok = 0;
    let failed = 0;
    const stopAt = Date.now() + 1_500;
    let killed = false;
    const worker = async () => {
      while (Date.now() < stopAt) {
        if (!killed && Date.now() > stopAt - 1_000) {
          killed = true;
          await victim.kill();
        }
        const r = await get('/orders/load');
        if (r.status === 200) ok++;
        else failed++;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const m = gw.metrics.service('orders');
    expect(killed).toBe(true);
    expect(ok).toBeGreaterThan(50);
    expect(m.retries).toBeGreaterThan(0);
    expect(m.connectErrors).toBeGreaterThan(0);
    // Every failure is one the budget refused a retry for; with the default budget there are none.
    expect(failed).toBeLessThanOrEqual(m.retryBudgetExhausted);
    expect(failed).toBe(0);
    const dead = gw
      .balancers()
      .flatMap((b) => b.stats())
      .find((s) => s.id === victim.id);
    expect(dead?.eligible).toBe(false);
  });

  it('a 503 from one instance is retried on another and reported to its breaker', async () => {
    const bad = await startDemoUpstream({ id: 'flaky-1', service: 'flaky', discovery: backend, status: 503 });
    const good = await startDemoUpstream({ id: 'flaky-2', service: 'flaky', discovery: backend });
    upstreams.push(bad, good);
    routes.set({
      routes: [
        { name: 'flaky', pathPrefix: '/flaky', service: 'flaky' },
        { name: 'fallback', service: 'users' },
      ],
    });
    await gw.ready();
    const before = gw.metrics.service('flaky').retries;
    for (let i = 0; i < 20; i++) {
      const r = await get('/flaky/x');
      expect(r.status).toBe(200);
      expect(r.text).toBe('flaky-2\n');
    }
    expect(bad.served()).toBeGreaterThan(0);
    expect(gw.metrics.service('flaky').retries - before).toBe(bad.served());
  });

  it('503 when a service has no instance', async () => {
    routes.set({
      routes: [
        { name: 'ghost', pathPrefix: '/ghost', service: 'ghost' },
        { name: 'fallback', service: 'users' },
      ],
    });
    const r = await get('/ghost/1');
    expect(r.status).toBe(503);
    expect(gw.metrics.service('ghost').noInstance).toBe(1);
  });
});
