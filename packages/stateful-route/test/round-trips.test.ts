/**
 * G1/G2 on a real redis-server, counted by the server (INFO commandstats): one command per
 * cache miss (the claim script, liveness check included), none per hit, one per batch.
 */
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisRouteStore, createRouteClient, createRouteServer } from '../src/index.js';

let redis: RedisServer;
let admin: Redis;
beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

async function commandCounts(): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}
/**
 * Top-level commands since the last reset. Commands run inside a script are counted by Redis too,
 * so: every script calls TIME exactly once (scripts run = TIME calls), and any command outside
 * the scripts' set (and the admin's INFO/CONFIG) is a client round trip of its own.
 */
const IN_SCRIPTS = /^(time|hget|hset|hgetall|hmget|hincrby|hdel|incr|pexpire|publish|get|set)$/;
async function commandsSinceReset(): Promise<number> {
  let n = 0;
  for (const [cmd, calls] of await commandCounts()) {
    if (cmd === 'time') n += calls;
    else if (!IN_SCRIPTS.test(cmd) && !/^(info|config|evalsha|eval)/.test(cmd)) n += calls;
  }
  return n;
}
const reset = () => admin.config('RESETSTAT');

it('one round trip per miss, none per hit, one per batch of 1 000', async () => {
  await using podStore = createRedisRouteStore({ url: redis.url });
  await using store = createRedisRouteStore({ url: redis.url });
  const servers = await Promise.all(
    [0, 1, 2].map(async (i) => {
      const s = createRouteServer({ store: podStore, service: 'rt', pod: `p${i}`, heartbeat: 60_000 });
      await s.start();
      return s;
    }),
  );
  await using client = createRouteClient({ store, stateRefreshInterval: 60_000 });
  await client.pods('rt'); // the pod view is listed once, before counting
  await new Promise((r) => setTimeout(r, 50)); // the subscriber's SUBSCRIBE
  await reset();
  for (let i = 0; i < 100; i++) await client.computeLinkedPod('ns', `m${i}`, 'rt');
  expect((await commandCounts()).get('evalsha')).toBe(100);
  expect(await commandsSinceReset()).toBe(100);
  await reset();
  for (let i = 0; i < 100; i++) await client.computeLinkedPod('ns', `m${i}`, 'rt');
  expect(await commandsSinceReset()).toBe(0);
  expect(client.stats().hits).toBe(100);
  await reset();
  const uids = Array.from({ length: 1_000 }, (_, i) => `m${i}`);
  const { byPod, unlinked } = await client.batchGetLinkedPod('ns', uids, 'rt');
  expect(await commandsSinceReset()).toBe(1);
  expect(unlinked).toHaveLength(900);
  expect([...byPod.values()].flat()).toHaveLength(100);
  for (const s of servers) await s.close();
});

it('optional WAIT on link writes reports writes no replica acknowledged', async () => {
  const unsynced: number[] = [];
  await using podStore = createRedisRouteStore({ url: redis.url });
  await using store = createRedisRouteStore({
    url: redis.url,
    wait: { replicas: 1, timeout: 20 },
    onUnsynced: (acked) => unsynced.push(acked),
  });
  await using server = createRouteServer({ store: podStore, service: 'w', pod: 'p0', heartbeat: 60_000 });
  await server.start();
  await using client = createRouteClient({ store });
  expect(await client.computeLinkedPod('ns', 'u', 'w')).toBe('p0');
  expect(unsynced).toEqual([0]);
});
