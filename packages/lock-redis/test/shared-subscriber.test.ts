import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisLock,
  createRedisReadWriteLock,
  createRedisSemaphore,
  createRedlock,
  type RedisLock,
} from '../src/index.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await server.stop();
});

/** Client connections the server sees (the probe's own inline connection excluded). */
async function connections(): Promise<number> {
  const list = await server.command('CLIENT LIST');
  return list.split('\n').filter((l) => l.includes('id=') && !l.includes('cmd=client|list')).length;
}

async function until(probe: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await probe())) {
    if (performance.now() > end) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('one subscriber connection per Redis client (#9)', () => {
  it('five lock objects on one client, all holding and waiting, open one extra connection; the last close drops it', async () => {
    const client = new Redis(server.url);
    await client.ping();
    const before = await connections();
    const mutex = createRedisLock({ client, prefix: 'sh1:' });
    const fair = createRedisLock({ client, prefix: 'sh2:', fair: true });
    const sem = createRedisSemaphore({ client, prefix: 'sh3:', permits: 1 });
    const rw = createRedisReadWriteLock({ client, prefix: 'sh4:' });
    const redlock = createRedlock({ clients: [client], prefix: 'sh5:' });
    const objects: Pick<RedisLock, 'acquire' | 'stats'>[] = [mutex, fair, sem, rw.write, redlock];
    // Each holds a lease (forced-release channel) and has a waiter (release channel).
    const leases = await Promise.all(objects.map((o) => o.acquire('k')));
    const waiters = objects.map((o) => o.acquire('k', { wait: 10_000 }));
    await until(async () => objects.every((o) => o.stats().waiting === 1));
    await new Promise((r) => setTimeout(r, 200));
    expect(await connections()).toBe(before + 1);
    await Promise.all(leases.map((l) => l.release()));
    await Promise.all((await Promise.all(waiters)).map((l) => l.release()));
    await Promise.all([mutex.close(), fair.close(), sem.close(), rw.close()]);
    expect(await connections()).toBe(before + 1); // redlock still uses it
    await redlock.close();
    await until(async () => (await connections()) === before);
    expect(await connections()).toBe(before);
    client.disconnect();
  });
});
