import { createMemoryDiscovery } from '@switchyard/core';
import {
  createMemoryRouteStore,
  createRouteClient,
  createRouteServer,
  type RouteServer,
} from '@switchyard/stateful-route';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoUpstream, startDemoUpstream } from '../src/demo-upstream.js';
import { createGateway, type Gateway } from '../src/gateway.js';
import { parseRoutes } from '../src/routes/route-config.js';
import { createMemoryRouteSource } from '../src/routes/route-source.js';

async function servedBy(gw: Gateway, path: string, user?: string): Promise<string> {
  const res = await request(`${gw.url}${path}`, { headers: user ? { 'x-user-id': user } : {} });
  expect(res.statusCode).toBe(200);
  return (await res.body.text()).trim();
}

async function until(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sticky by user through stateful-route (memory store)', () => {
  const discovery = createMemoryDiscovery();
  const store = createMemoryRouteStore();
  const client = createRouteClient({ store });
  const upstreams: DemoUpstream[] = [];
  const pods = new Map<string, RouteServer>();
  const routes = createMemoryRouteSource({
    routes: [
      { name: 'chat', pathPrefix: '/chat', service: 'chat', sticky: { by: 'user', header: 'x-user-id' } },
      { name: 'plain', pathPrefix: '/plain', service: 'chat' },
    ],
  });
  let gw: Gateway;

  beforeAll(async () => {
    for (const id of ['chat-a', 'chat-b', 'chat-c']) {
      upstreams.push(await startDemoUpstream({ id, service: 'chat', discovery }));
      const pod = createRouteServer({ store, service: 'chat', pod: id, heartbeat: 100 });
      await pod.start();
      pods.set(id, pod);
    }
    gw = await createGateway({ routes, discovery, statefulRoute: client, port: 0, adminPort: 0 });
    await gw.ready();
  });

  afterAll(async () => {
    await gw?.close();
    await client.close();
    for (const p of pods.values()) await p.stop().catch(() => {});
    for (const u of upstreams) await u.close();
    await store.close();
    await discovery.close();
  });

  it('keeps each user on its linked pod, the one stateful-route names', async () => {
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
    const first = new Map<string, string>();
    for (const u of users) first.set(u, await servedBy(gw, '/chat/x', u));
    for (let round = 0; round < 3; round++)
      for (const u of users) expect(await servedBy(gw, '/chat/x', u)).toBe(first.get(u));
    for (const u of users) expect(await client.getLinkedPod('default', u, 'chat')).toBe(first.get(u));
    // least-loaded placement spreads six new users over the three pods
    expect(new Set(first.values()).size).toBe(3);
    expect(gw.userPods.linked).toBe(users.length * 4);
  });

  it('a drained pod moves its users; a stopped (dead) pod moves its users', async () => {
    const before = await servedBy(gw, '/chat/x', 'alice');
    await pods.get(before)!.drain({ move: true });
    await until(async () => (await servedBy(gw, '/chat/x', 'alice')) !== before);
    const moved = await servedBy(gw, '/chat/x', 'alice');
    expect(moved).not.toBe(before);
    expect(await servedBy(gw, '/chat/x', 'alice')).toBe(moved); // sticks again on the new pod

    await pods.get(moved)!.stop(); // lease removed: the pod is gone for stateful-route
    await until(async () => (await servedBy(gw, '/chat/x', 'alice')) !== moved);
    const third = await servedBy(gw, '/chat/x', 'alice');
    expect([before, moved]).not.toContain(third);
  });

  it('falls back to the balancer without a user id, or when the linked pod is not routable', async () => {
    const fallback = gw.userPods.fallback;
    expect(await servedBy(gw, '/chat/x')).toMatch(/^chat-/); // no x-user-id
    expect(gw.userPods.fallback).toBe(fallback + 1);
    // A pod with a live lease but no discovery instance: the user is linked there, the gateway balances.
    const ghost = createRouteServer({ store, service: 'chat', pod: 'chat-ghost', heartbeat: 100 });
    await ghost.start();
    try {
      await ghost.setLinkedPod('default', 'ghost-user');
      expect(await client.computeLinkedPod('default', 'ghost-user', 'chat')).toBe('chat-ghost');
      expect(await servedBy(gw, '/chat/x', 'ghost-user')).toMatch(/^chat-[abc]$/);
      expect(gw.userPods.fallback).toBe(fallback + 2);
    } finally {
      await ghost.stop();
    }
    // A route without `sticky: { by: 'user' }` never asks stateful-route.
    const linked = gw.userPods.linked;
    await servedBy(gw, '/plain/x', 'bob');
    expect(gw.userPods.linked).toBe(linked);
    const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/gateway_user_pod_requests_total\{outcome="linked"\} \d+/);
  });

  it('validates the sticky-by-user options, naming the field', () => {
    expect(
      parseRoutes({ routes: [{ name: 'r', service: 's', sticky: { by: 'user' } }] }).routes[0]!.sticky,
    ).toEqual({ by: 'user', header: 'x-user-id', namespace: 'default' });
    expect(() =>
      parseRoutes({ routes: [{ name: 'r', service: 's', sticky: { by: 'user', header: 'bad header' } }] }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'routes[0].sticky.header' }));
    expect(() =>
      parseRoutes({ routes: [{ name: 'r', service: 's', sticky: { by: 'ip', header: 'x-user-id' } }] }),
    ).toThrow(expect.objectContaining({ field: 'routes[0].sticky.header' }));
  });
});
