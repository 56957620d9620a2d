/**
 * Outages and lifecycle on a real redis-server: a paused server makes store calls reject in
 * `requestTimeout` (no hang), cached links keep being served meanwhile, pods report failed
 * heartbeats as events; abort signals reject with ABORTED; close() leaves no timers or sockets.
 */
import { isSwitchyardError } from '@switchyard/core';
import { activeSockets, delay, expectSwitchyardError, trackTimers } from '@switchyard/testkit/conformance';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisRouteStore, createRouteClient, createRouteServer } from '../src/index.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

it('paused Redis: misses reject with BACKEND_UNAVAILABLE/TIMEOUT in requestTimeout, hits still served', async () => {
  await using podStore = createRedisRouteStore({ url: redis.url, prefix: 'out:', requestTimeout: 300 });
  await using store = createRedisRouteStore({ url: redis.url, prefix: 'out:', requestTimeout: 300 });
  await using pod = createRouteServer({
    store: podStore,
    service: 's',
    pod: 'p0',
    heartbeat: 100,
    ttl: 5_000,
  });
  await pod.start();
  const failures: unknown[] = [];
  pod.on('heartbeat:failed', (e) => failures.push(e.error));
  await using client = createRouteClient({ store });
  expect(await client.computeLinkedPod('ns', 'cached', 's')).toBe('p0');
  redis.process.pause();
  try {
    const t0 = Date.now();
    const error = await client.computeLinkedPod('ns', 'new-user', 's').catch((e: unknown) => e);
    expect(isSwitchyardError(error, 'BACKEND_UNAVAILABLE', 'TIMEOUT')).toBe(true);
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(await client.computeLinkedPod('ns', 'cached', 's')).toBe('p0');
    await delay(400);
    expect(failures.length).toBeGreaterThanOrEqual(1);
  } finally {
    redis.process.resume();
  }
  expect(await client.computeLinkedPod('ns', 'new-user', 's')).toBe('p0');
});

it('an aborted signal rejects with ABORTED', async () => {
  await using store = createRedisRouteStore({ url: redis.url, prefix: 'abort:' });
  await using client = createRouteClient({ store });
  await expectSwitchyardError(
    client.computeLinkedPod('ns', 'u', 's', { signal: AbortSignal.abort() }),
    'ABORTED',
  );
  await expectSwitchyardError(
    client.getLinkedPodNotCache('ns', 'u', 's', { signal: AbortSignal.abort() }),
    'ABORTED',
  );
});

it('close() leaves no timers and no sockets', async () => {
  await delay(200); // earlier tests' connections finish closing
  const sockets = activeSockets();
  const timers = trackTimers();
  try {
    const store = createRedisRouteStore({ url: redis.url, prefix: 'leak:' });
    const pod = createRouteServer({ store, service: 's', pod: 'p0', heartbeat: 50 });
    await pod.start();
    const client = createRouteClient({ store, stateRefreshInterval: 20 });
    await client.computeLinkedPod('ns', 'u', 's');
    await delay(120);
    await client.close();
    await pod.stop();
    await pod.close();
    await store.close();
    await delay(50);
    expect(timers.live(), timers.describeLive()).toBe(0);
    expect(activeSockets()).toBe(sockets);
  } finally {
    timers.restore();
  }
});
