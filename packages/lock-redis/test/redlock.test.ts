import { isSwitchyardError } from '@switchyard/core';
import { type RedisServer, startRedisServers } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedlock, type Redlock } from '../src/index.js';

let servers: RedisServer[];
let clients: Redis[];
let redlock: Redlock;

beforeAll(async () => {
  servers = await startRedisServers(3);
  clients = servers.map((s) => new Redis(s.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false }));
  for (const c of clients) c.on('error', () => {});
  redlock = createRedlock({ clients, requestTimeout: 300, pollInterval: 50 });
});

afterAll(async () => {
  await redlock.close();
  for (const c of clients) c.disconnect();
  await Promise.all(servers.map((s) => s.stop()));
});

describe('redlock', () => {
  it('acquires on a majority with increasing tokens and releases everywhere', async () => {
    expect(redlock.quorum).toBe(2);
    const a = await redlock.acquire('r', { ttl: 2000 });
    for (const c of clients) {
      // Holder value `w|token|hid|owner`.
      const parts = (await c.get('switchyard:lock:redlock:{r}:lock'))?.split('|');
      expect(parts?.slice(3).join('|')).toBe(a.owner);
    }
    expect(a.validUntil - performance.now()).toBeGreaterThan(1500);
    expect(await redlock.tryAcquire('r')).toBeUndefined();
    expect((await redlock.inspect('r'))?.owner).toBe(a.owner);
    await a.release();
    for (const c of clients) expect(await c.exists('switchyard:lock:redlock:{r}:lock')).toBe(0);
    const b = await redlock.acquire('r');
    expect(b.token).toBeGreaterThan(a.token);
    await b.release();
  });

  it('a token stays ahead even when node counters diverge', async () => {
    const a = await redlock.acquire('div');
    await a.release();
    // One node's counter runs far ahead (e.g. it served a quorum the others missed).
    const far = a.token + 1_000_000n;
    await clients[0]!.set('switchyard:lock:redlock:{div}:fence', far.toString());
    const b = await redlock.acquire('div');
    expect(b.token).toBeGreaterThan(far);
    await b.release();
    // The lagging nodes were raised: a quorum without node 0 still issues a larger token.
    servers[0]!.process.pause();
    try {
      const c = await redlock.acquire('div', { wait: 3000 });
      expect(c.token).toBeGreaterThan(b.token);
      await c.release();
    } finally {
      servers[0]!.process.resume();
    }
  });

  it('a held lock on another owner keeps the quorum from forming; wait times out', async () => {
    // Minority holder on two nodes would block; simulate a holder on node 1 and 2.
    for (const c of clients.slice(1)) {
      await c.set('switchyard:lock:redlock:{split}:lock', '0|1|x|other', 'PX', 5000);
    }
    const err = await redlock.acquire('split', { wait: 200 }).catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'LOCK_TIMEOUT')).toBe(true);
    // The failed attempt released what it had taken on node 0.
    expect(await clients[0]!.exists('switchyard:lock:redlock:{split}:lock')).toBe(0);
  });

  it('survives one node down; fails typed (no hang) with a majority down', async () => {
    await servers[2]!.process.kill();
    try {
      const a = await redlock.acquire('down', { wait: 2000 });
      await a.release();
      await servers[1]!.process.kill();
      const t0 = performance.now();
      const err = await redlock.acquire('down', { wait: 500 }).catch((e: unknown) => e);
      expect(isSwitchyardError(err, 'BACKEND_UNAVAILABLE', 'LOCK_TIMEOUT')).toBe(true);
      expect(performance.now() - t0).toBeLessThan(3000);
      const err0 = await redlock.acquire('down', { wait: 0 }).catch((e: unknown) => e);
      expect(isSwitchyardError(err0, 'BACKEND_UNAVAILABLE')).toBe(true);
    } finally {
      await servers[1]!.process.start();
      await servers[2]!.process.start();
    }
  });

  it('bad input names the field', () => {
    expect(() => createRedlock({ clients: [] })).toThrow(/clients/);
    expect(() => createRedlock({ clients, requestTimeout: 0 })).toThrow(/requestTimeout/);
  });
});
