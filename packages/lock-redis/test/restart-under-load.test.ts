import { isSwitchyardError } from '@switchyard/core';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisLock, fencedWrite, type RedisLock } from '../src/index.js';

// The lock server is killed and restarted empty while 4 clients contend; the protected resource
// lives on another server, guarded by the fencing tokens.
let lockServer: RedisServer;
let resourceServer: RedisServer;

beforeAll(async () => {
  [lockServer, resourceServer] = await Promise.all([startRedis(), startRedis()]);
});

afterAll(async () => {
  await Promise.all([lockServer?.stop(), resourceServer?.stop()]);
});

const ALLOWED = ['BACKEND_UNAVAILABLE', 'LOCK_TIMEOUT', 'LOCK_LOST', 'CLOSED'] as const;

describe('redis restart under contention', () => {
  it('typed errors only, no hang, and the fenced resource never accepts an older token', async () => {
    const resource = new Redis(resourceServer.url);
    const clients: Redis[] = [];
    const locks: RedisLock[] = [];
    for (let i = 0; i < 4; i++) {
      const c = new Redis(lockServer.url, { maxRetriesPerRequest: 1 });
      c.on('error', () => {});
      clients.push(c);
      locks.push(createRedisLock({ client: c, requestTimeout: 300, pollInterval: 50, prefix: 'rr:' }));
    }
    const unexpected: unknown[] = [];
    let restartedAt = Number.POSITIVE_INFINITY;
    const appliedAfterRestart: bigint[] = [];
    let stop = false;
    const worker = async (lock: RedisLock) => {
      while (!stop) {
        try {
          const lease = await lock.acquire('job', { ttl: 600, wait: 400 });
          try {
            await new Promise((r) => setTimeout(r, Math.random() * 10));
            const r = await fencedWrite(resource, {
              fenceKey: 'job:fence',
              token: lease.token,
              command: ['RPUSH', 'job:log', lease.token.toString()],
              keys: ['job:log'],
            });
            if (r.applied && performance.now() > restartedAt) appliedAfterRestart.push(lease.token);
          } finally {
            await lease.release().catch((e: unknown) => {
              if (!isSwitchyardError(e, ...ALLOWED)) unexpected.push(e);
            });
          }
        } catch (error) {
          if (!isSwitchyardError(error, ...ALLOWED)) unexpected.push(error);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const running = locks.map((l) => worker(l));
    await new Promise((r) => setTimeout(r, 400));
    await lockServer.process.kill();
    await new Promise((r) => setTimeout(r, 400));
    await lockServer.process.start(); // empty: no persistence
    restartedAt = performance.now();
    await new Promise((r) => setTimeout(r, 1200));
    stop = true;
    const t0 = performance.now();
    await Promise.all(running);
    expect(performance.now() - t0).toBeLessThan(3000); // nobody hangs
    await Promise.all(locks.map((l) => l.close()));
    for (const c of clients) c.disconnect();

    expect(unexpected).toEqual([]);
    const log = (await resource.lrange('job:log', 0, -1)).map(BigInt);
    expect(log.length).toBeGreaterThan(5);
    for (let i = 1; i < log.length; i++) expect(log[i]!).toBeGreaterThan(log[i - 1]!);
    // Tokens issued after the empty restart are larger than every earlier one: work continues.
    expect(appliedAfterRestart.length).toBeGreaterThan(0);
    resource.disconnect();
  }, 30_000);
});
