import { isSwitchyardError } from '@switchyard/core';
import { type RedisServer, startRedisServers } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedlock, type Redlock } from '../src/index.js';

async function until(probe: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await probe())) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

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
    // Returned on a quorum; the third node gets it a moment later.
    const holderOn = async () =>
      (await Promise.all(clients.map((c) => c.get(`${redlock.prefix}{r}:lock`)))).filter(
        // Holder value `w|token|hid|owner`.
        (v) => v?.split('|').slice(3).join('|') === a.owner,
      ).length;
    expect(await holderOn()).toBeGreaterThanOrEqual(2);
    await until(async () => (await holderOn()) === 3);
    expect(a.validUntil - performance.now()).toBeGreaterThan(1500);
    expect(await redlock.tryAcquire('r')).toBeUndefined();
    expect((await redlock.inspect('r'))?.owner).toBe(a.owner);
    expect((await redlock.inspect('r'))?.token).toBe(a.token);
    await a.release();
    await until(async () =>
      (await Promise.all(clients.map((c) => c.exists(`${redlock.prefix}{r}:lock`)))).every((e) => e === 0),
    );
    const b = await redlock.acquire('r');
    expect(b.token).toBeGreaterThan(a.token);
    await b.release();
  });

  it('a token stays ahead even when node counters diverge', async () => {
    const a = await redlock.acquire('div');
    await a.release();
    // Two nodes' counters run far ahead of the third (they served a quorum the third missed):
    // every later quorum includes one of them.
    const far = a.token + 1_000_000n;
    await clients[0]!.set('switchyard:lock:redlock:{div}:fence', far.toString());
    await clients[1]!.set('switchyard:lock:redlock:{div}:fence', (far - 7n).toString());
    const b = await redlock.acquire('div');
    // The quorum that issued the largest possible earlier token ({0, 1}) issued far - 7; node 0's own
    // `far` alone never made a quorum. A quorum that happens to include node 0 gives more than far,
    // one of nodes 1 and 2 (node 0 answering late on a loaded box) gives far - 6: both are ahead.
    expect(b.token).toBeGreaterThan(far - 7n);
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
    // The failed attempt released what it had taken on node 0 (in the background).
    await until(async () => (await clients[0]!.exists('switchyard:lock:redlock:{split}:lock')) === 0);
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

  it('returns on quorum: a SIGSTOPped node does not slow acquire and release down (#19.4)', async () => {
    // Two Redlock clients (two "processes"), two workers each, racing for one key for `ms`.
    const others = servers.map(
      (srv) => new Redis(srv.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false }),
    );
    for (const c of others) c.on('error', () => {});
    const second = createRedlock({ clients: others, requestTimeout: 300, pollInterval: 50 });
    const throughput = async (key: string, ms: number) => {
      let count = 0;
      const end = performance.now() + ms;
      const worker = async (lock: Redlock) => {
        while (performance.now() < end) {
          const lease = await lock.acquire(key, { ttl: 5000 }); // not fair: a worker may wait long
          count++;
          await lease.release();
        }
      };
      await Promise.all([worker(redlock), worker(redlock), worker(second), worker(second)]);
      return (count * 1000) / ms;
    };
    try {
      const normal = await throughput('tp-normal', 1000);
      servers[1]!.process.pause();
      let paused: number;
      const t0 = performance.now();
      let single: number;
      try {
        paused = await throughput('tp-paused', 1000);
        const s0 = performance.now();
        const lease = await redlock.acquire('tp-single', { wait: 0 });
        await lease.release();
        single = performance.now() - s0;
      } finally {
        servers[1]!.process.resume();
      }
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(normal).toBeGreaterThan(20);
      // Before: every call waited the full node timeout (300 ms here) for the paused node.
      expect(paused, `normal ${normal.toFixed(0)}/s, one node paused ${paused.toFixed(0)}/s`).toBeGreaterThan(
        normal * 0.4,
      );
      expect(single).toBeLessThan(150);
    } finally {
      await second.close();
      for (const c of others) c.disconnect();
    }
  });

  it('bad input names the field', () => {
    expect(() => createRedlock({ clients: [] })).toThrow(/clients/);
    expect(() => createRedlock({ clients, requestTimeout: 0 })).toThrow(/requestTimeout/);
  });
});
