import { createRedisRouteStore } from '@switchyard/stateful-route';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBinary } from './run-binary.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const CLAIM = {
  strategy: 'least-loaded',
  r1: 0.5,
  r2: 0.5,
  moveBudget: 0,
  moveInterval: 0,
  rebalance: 0,
} as const;

describe('switchyard routes on Redis (built binary)', () => {
  it('services, pods and the link of a user, as the route store holds them', async () => {
    await using store = createRedisRouteStore({ url: redis.url });
    const publication = { state: 'NORMAL', load: 10, capacity: 1, ttl: 30_000, move: false } as const;
    const epoch = await store.registerPod('chat', 'pod-a', publication);
    const claimed = await store.claim('default', 'chat', 'user-1', CLAIM);
    expect(claimed?.pod).toBe('pod-a');

    const services = await runBinary(['routes', 'services', '--redis', redis.url, '--json']);
    expect(services.json()).toEqual(['chat']);

    const pods = await runBinary(['routes', 'pods', 'chat', '--redis', redis.url, '--json']);
    expect(pods.code).toBe(0);
    const [pod] = pods.json<{ pod: string; epoch: number; state: string; leaseLeft: number }[]>();
    expect(pod).toMatchObject({ pod: 'pod-a', epoch, state: 'NORMAL' });
    expect(pod?.leaseLeft).toBeGreaterThan(20_000);

    const get = await runBinary([
      'routes',
      'get',
      'user-1',
      '--service',
      'chat',
      '--redis',
      redis.url,
      '--json',
    ]);
    expect(get.code).toBe(0);
    expect(get.json()).toEqual([{ uid: 'user-1', pod: 'pod-a', epoch, valid: true, released: false }]);

    const missing = await runBinary([
      'routes',
      'get',
      'user-1',
      'user-2',
      '--service',
      'chat',
      '--redis',
      redis.url,
      '--json',
    ]);
    expect(missing.code).toBe(3);
    expect(missing.json<{ uid: string; pod: string | null }[]>()[1]).toEqual({ uid: 'user-2', pod: null });

    expect((await runBinary(['routes', 'pods', 'chat', '--etcd', '127.0.0.1:1'])).code).toBe(2);
  });
});
