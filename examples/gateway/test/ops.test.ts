import { createMemoryDiscovery } from '@switchyard/core';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DemoUpstream, startDemoUpstream } from '../src/demo-upstream.js';
import { createGateway, type Gateway } from '../src/gateway.js';
import { createMemoryRouteSource } from '../src/routes/route-source.js';

const backend = createMemoryDiscovery();
let slow: DemoUpstream;
let gw: Gateway;

beforeAll(async () => {
  slow = await startDemoUpstream({ id: 'slow-1', service: 'slow', discovery: backend, delay: 400 });
});
afterAll(async () => {
  await gw?.close();
  await slow.close();
  await backend.close();
});

async function text(url: string) {
  const r = await request(url);
  return { status: r.statusCode, body: await r.body.text(), type: r.headers['content-type'] };
}

it('/healthz, /readyz follow routed services; /metrics is Prometheus text', async () => {
  const routes = createMemoryRouteSource({ routes: [{ name: 'slow', service: 'slow' }] });
  gw = await createGateway({ routes, discovery: backend, port: 0, adminPort: 0 });
  await gw.ready();
  expect((await text(`${gw.adminUrl}/healthz`)).status).toBe(200);
  const ready = await text(`${gw.adminUrl}/readyz`);
  expect(ready.status).toBe(200);
  expect(JSON.parse(ready.body)).toEqual({ ready: true, draining: false, services: { slow: 1 } });
  // A route to a service with no instance makes the gateway not ready.
  routes.set({
    routes: [
      { name: 'slow', service: 'slow' },
      { name: 'ghost', pathPrefix: '/g', service: 'ghost' },
    ],
  });
  await new Promise((r) => setTimeout(r, 20));
  expect((await text(`${gw.adminUrl}/readyz`)).status).toBe(503);
  routes.set({ routes: [{ name: 'slow', service: 'slow' }] });
  expect((await text(`${gw.url}/x`)).status).toBe(200);
  const m = await text(`${gw.adminUrl}/metrics`);
  expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(m.body).toContain('gateway_requests_total{route="slow",code="2xx"} 1');
  expect(m.body).toMatch(/gateway_request_duration_seconds_bucket\{route="slow",le="0\.5"\} 1/);
  expect(m.body).toContain('gateway_upstream_endpoints{service="slow",state="eligible"} 1');
  expect(m.body).toMatch(/process_resident_memory_bytes \d+/);
});

it('graceful shutdown: /readyz fails, in-flight requests finish, new connections are refused', async () => {
  const inflight = Array.from({ length: 5 }, () => text(`${gw.url}/drain`));
  await new Promise((r) => setTimeout(r, 100));
  const closing = gw.close();
  await new Promise((r) => setTimeout(r, 20));
  const ready = await text(`${gw.adminUrl}/readyz`);
  expect(ready.status).toBe(503);
  expect(JSON.parse(ready.body).draining).toBe(true);
  await expect(request(`${gw.url}/late`)).rejects.toThrow();
  const done = await Promise.all(inflight);
  expect(done.map((d) => d.status)).toEqual([200, 200, 200, 200, 200]);
  await closing;
});

it('drainTimeout bounds the wait for slow requests', async () => {
  const routes = createMemoryRouteSource({ routes: [{ name: 'slow', service: 'slow' }] });
  const g = await createGateway({ routes, discovery: backend, port: 0, adminPort: 0, drainTimeout: 50 });
  await g.ready();
  const pending = request(`${g.url}/x`).then(
    (r) => r.statusCode,
    () => 'cut',
  );
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  await g.close();
  expect(Date.now() - t0).toBeLessThan(350);
  expect(await pending).toBe('cut');
});

it('bad options fail with INVALID_ARGUMENT naming the field', async () => {
  const routes = createMemoryRouteSource();
  await expect(createGateway({ routes, port: 70_000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await expect(createGateway({ routes, port: 70_000 })).rejects.toThrow(/port/);
  // @ts-expect-error missing routes
  await expect(createGateway({})).rejects.toThrow(/routes/);
});
