import { createRedisDiscovery } from '@switchyard/discovery-redis';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DemoUpstream, startDemoUpstream } from '../src/demo-upstream.js';
import { createGateway, type Gateway } from '../src/gateway.js';
import { createMemoryRouteSource } from '../src/routes/route-source.js';

let redis: RedisServer;
let gw: Gateway;
const upstreams: DemoUpstream[] = [];
let registry: ReturnType<typeof createRedisDiscovery>;
let gatewaySide: ReturnType<typeof createRedisDiscovery>;

beforeAll(async () => {
  redis = await startRedis();
  registry = createRedisDiscovery({ url: redis.url, ttl: 1_000 });
  gatewaySide = createRedisDiscovery({ url: redis.url, ttl: 1_000 });
  for (const id of ['pay-1', 'pay-2'])
    upstreams.push(await startDemoUpstream({ id, service: 'payments', discovery: registry }));
  gw = await createGateway({
    routes: createMemoryRouteSource({ routes: [{ name: 'pay', pathPrefix: '/pay', service: 'payments' }] }),
    discovery: gatewaySide,
    port: 0,
    adminPort: 0,
  });
  await gw.ready();
});
afterAll(async () => {
  await gw?.close();
  await Promise.all(upstreams.map((u) => u.close()));
  await registry?.close();
  await gatewaySide?.close();
  await redis?.stop();
});

it('routes to instances registered in Redis and follows (de)registrations live', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const r = await request(`${gw.url}/pay/1`);
    expect(r.statusCode).toBe(200);
    seen.add((await r.body.text()).trim());
  }
  expect([...seen].sort()).toEqual(['pay-1', 'pay-2']);
  const extra = await startDemoUpstream({ id: 'pay-3', service: 'payments', discovery: registry });
  upstreams.push(extra);
  await expect
    .poll(async () => (await (await request(`${gw.url}/pay/1`)).body.text()).trim(), {
      timeout: 5_000,
      interval: 5,
    })
    .toBe('pay-3');
  await upstreams[0]!.close(); // deregisters pay-1
  await expect
    .poll(
      () =>
        gw
          .balancers()[0]!
          .instances()
          .map((i) => i.id)
          .sort(),
      { timeout: 5_000 },
    )
    .toEqual(['pay-2', 'pay-3']);
  for (let i = 0; i < 10; i++)
    expect((await (await request(`${gw.url}/pay/1`)).body.text()).trim()).not.toBe('pay-1');
});
