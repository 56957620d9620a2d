import { type ConfigStore, createMemoryConfigStore } from '@switchyard/core';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createConfigAdmin,
  createConfigCenter,
  createEtcdConfigStore,
  createRedisConfigStore,
  SecretBox,
} from '../src/index.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

it('store options are strict: unknown, missing and conflicting options name the field', () => {
  expect(() => createRedisConfigStore({ url: redis.url, historyLimt: 5 } as never)).toThrow(
    expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'historyLimt' }),
  );
  expect(() => createRedisConfigStore({} as never)).toThrow(
    expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
  );
  expect(() => createRedisConfigStore({ url: 'http://x' })).toThrow(
    expect.objectContaining({ field: 'url' }),
  );
  expect(() => createEtcdConfigStore({ hosts: [] })).toThrow(expect.objectContaining({ field: 'hosts' }));
  expect(() => createRedisConfigStore({ url: redis.url, requestTimeout: -1 })).toThrow(
    expect.objectContaining({ field: 'requestTimeout' }),
  );
});

it("a store on the user's own ioredis client leaves the client open on close", async () => {
  const client = new Redis(redis.url);
  const store = createRedisConfigStore({ client, prefix: 'own:' });
  await store.put('k', 'v');
  await store.close();
  expect(await client.get('own:v:k')).toContain('"value":"v"');
  client.disconnect();
});

it('values over maxValueBytes are refused naming the field', async () => {
  await using store = createRedisConfigStore({ url: redis.url, maxValueBytes: 10 });
  await expect(store.put('big', 'x'.repeat(11))).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
    field: 'value',
  });
});

it('a keyring with a short key or an unknown primary is refused', () => {
  expect(() => new SecretBox({ keys: { k1: Buffer.alloc(16) }, primary: 'k1' })).toThrow(
    expect.objectContaining({ field: 'keyring.keys.k1' }),
  );
  expect(() => new SecretBox({ keys: { k1: Buffer.alloc(32) }, primary: 'k2' })).toThrow(
    expect.objectContaining({ field: 'keyring.primary' }),
  );
});

it('a store without push watch is polled', async () => {
  const inner = createMemoryConfigStore();
  const polled: ConfigStore = { ...inner, capabilities: { watch: false, historyLimit: 100 } };
  const admin = createConfigAdmin({ store: inner, app: 'poll' });
  await admin.publish({ env: 'prod', namespace: 'n' }, { a: 1 }, { author: 'a' });
  await using center = createConfigCenter({ store: polled, app: 'poll', env: 'prod', pollInterval: 50 });
  const ns = await center.namespace('n');
  await admin.publish({ env: 'prod', namespace: 'n' }, { a: 2 }, { author: 'a' });
  const end = Date.now() + 3000;
  while (ns.get('a') !== 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(ns.get('a')).toBe(2);
});
