import { createConfigAdmin, createConfigCenter, createRedisConfigStore } from '@switchyard/config-center';
import { type ConfigStore, createMemoryConfigStore, createMemoryDiscovery } from '@switchyard/core';
import { startRedis } from '@switchyard/testkit/servers';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoUpstream, startDemoUpstream } from '../src/demo-upstream.js';
import { createGateway } from '../src/gateway.js';
import {
  createConfigCenterRouteSource,
  gatewayRoutesSchema,
} from '../src/routes/config-center-route-source.js';

const ref = { env: 'prod', namespace: 'gateway' };

async function until(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function body(url: string): Promise<{ status: number; text: string }> {
  const res = await request(url);
  return { status: res.statusCode, text: await res.body.text() };
}

async function scenario(store: ConfigStore, upstreams: DemoUpstream[]): Promise<void> {
  const discovery = createMemoryDiscovery();
  await discovery.register({
    id: 'orders-1',
    service: 'orders',
    address: '127.0.0.1',
    port: upstreams[0]!.port,
  });
  await discovery.register({
    id: 'users-1',
    service: 'users',
    address: '127.0.0.1',
    port: upstreams[1]!.port,
  });
  const admin = createConfigAdmin({
    store,
    app: 'edge',
    namespaces: { gateway: { schema: gatewayRoutesSchema } },
  });
  await admin.publish(
    ref,
    { routes: [{ name: 'orders', pathPrefix: '/orders', service: 'orders' }] },
    { author: 'ops' },
  );
  await using center = createConfigCenter({ store, app: 'edge', env: 'prod' });
  await using routes = await createConfigCenterRouteSource({ center });
  const rejected: unknown[] = [];
  center.on('config:rejected', (e) => rejected.push(e));
  await using gw = await createGateway({ routes, discovery, port: 0, adminPort: 0 });
  await gw.ready();
  expect((await body(`${gw.url}/orders/1`)).text).toContain('orders-1');
  expect((await body(`${gw.url}/users/1`)).status).toBe(404);

  // An operator publishes a route change: applied without a restart.
  await admin.publish(
    ref,
    {
      routes: [
        { name: 'orders', pathPrefix: '/orders', service: 'orders' },
        { name: 'users', pathPrefix: '/users', service: 'users' },
      ],
    },
    { author: 'ops' },
  );
  await until(async () => (await body(`${gw.url}/users/1`)).status === 200);
  expect((await body(`${gw.url}/users/1`)).text).toContain('users-1');

  // The admin refuses a bad release before writing it, naming the field.
  await expect(
    admin.publish(ref, { routes: [{ name: 'x', service: 'orders', picker: 'nope' }] }, { author: 'eve' }),
  ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  // A bad release that still reaches the store (an admin without the schema): the last good table stays.
  const blind = createConfigAdmin({ store, app: 'edge' });
  await blind.publish(ref, { routes: [{ name: 'x', service: 'orders', picker: 'nope' }] }, { author: 'eve' });
  await until(async () => rejected.length > 0);
  expect(routes.current().routes.map((r) => r.name)).toEqual(['orders', 'users']);
  expect((await body(`${gw.url}/users/1`)).text).toContain('users-1');
  await discovery.close();
}

describe('config-center route source', () => {
  const upstreams: DemoUpstream[] = [];
  let redis: Awaited<ReturnType<typeof startRedis>>;
  beforeAll(async () => {
    upstreams.push(
      await startDemoUpstream({ id: 'orders-1', service: 'orders' }),
      await startDemoUpstream({ id: 'users-1', service: 'users' }),
    );
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const u of upstreams) await u.close();
    await redis?.stop();
  });

  it('memory store: a published route change is routed live; a bad release keeps the last good table', async () => {
    await scenario(createMemoryConfigStore(), upstreams);
  });

  it('real redis-server: the same, through the Redis config store and its watch', async () => {
    const store = createRedisConfigStore({ url: redis.url });
    try {
      await scenario(store, upstreams);
    } finally {
      await store.close();
    }
  });
});
