/**
 * Where the uncontended acquire+release time goes: interleaved blocks of two PINGs, trivial scripts
 * (the cost of EVALSHA itself and of one redis.call), the two raw scripts (no lease), the scripts with
 * the per-call deadline or the lease, and the full acquire+release. `tsx --conditions=switchyard-source bench/profile-uncontended.ts`
 */

import { ManagedLease, systemClock } from '@switchyard/core';
import { startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { callWithDeadline } from '../src/call-deadline.js';
import { createRedisLock } from '../src/index.js';
import { LuaScript } from '../src/lua-script.js';
import { ACQUIRE_MUTEX, RELEASE_SIMPLE } from '../src/mutex-scripts.js';

const server = await startRedis();
const c = new Redis(server.url);
const lock = createRedisLock({ client: c, prefix: 'p:' });
const keys = ['p:{r}:lock', 'p:{r}:fence', 'p:{r}:queue', 'p:{r}:qdl', 'p:{r}:qmeta'];
const TRIVIAL = new LuaScript('return 1', 0);
const ONE_CALL = new LuaScript("return redis.call('HMGET', KEYS[1], 'owner', 'count')", 1);
let n = 0;
const cases: Record<string, () => Promise<unknown>> = {
  '2×PING': async () => {
    await c.ping();
    await c.ping();
  },
  '2×EVALSHA return 1': async () => {
    await TRIVIAL.run(c, [], []);
    await TRIVIAL.run(c, [], []);
  },
  '2×EVALSHA, 1 call': async () => {
    await ONE_CALL.run(c, ['p:a'], []);
    await ONE_CALL.run(c, ['p:a'], []);
  },
  'SET NX + DEL': async () => {
    await c.set('p:x', '1', 'PX', 10000, 'NX');
    await c.del('p:x');
  },
  'raw scripts': async () => {
    const hid = `h${++n}`;
    await ACQUIRE_MUTEX.run(c, keys, ['o', hid, 10000, '0', 0, '0']);
    await RELEASE_SIMPLE.run(
      c,
      [keys[0]!, `p:{r}:latch:${hid}`, ...keys.slice(1)],
      ['o', 'p:events', 'r', 12000, '0'],
    );
  },
  'scripts + deadline': async () => {
    const hid = `h${++n}`;
    await callWithDeadline(ACQUIRE_MUTEX.run(c, keys, ['o', hid, 10000, '0', 0, '0']), 2000, systemClock, [
      undefined,
    ]);
    await callWithDeadline(
      RELEASE_SIMPLE.run(
        c,
        [keys[0]!, `p:{r}:latch:${hid}`, ...keys.slice(1)],
        ['o', 'p:events', 'r', 12000, '0'],
      ),
      2000,
      systemClock,
      [undefined],
    );
  },
  'scripts + lease': async () => {
    const hid = `h${++n}`;
    await ACQUIRE_MUTEX.run(c, keys, ['o', hid, 10000, '0', 0, '0']);
    const lease = new ManagedLease({
      pkg: 'x',
      key: 'r',
      owner: 'o',
      token: 1n,
      ttl: 10000,
      acquiredAt: performance.now(),
      autoRenew: true,
      driver: {
        extend: async () => true,
        release: async () =>
          (await RELEASE_SIMPLE.run(
            c,
            [keys[0]!, `p:{r}:latch:${hid}`, ...keys.slice(1)],
            ['o', 'p:events', 'r', 12000, '0'],
          )) === 1,
      },
    });
    await lease.release();
  },
  'acquire+release': async () => {
    const l = await lock.acquire('u', { ttl: 10_000 });
    await l.release();
  },
};
const lat = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]));
for (let round = 0; round < 60; round++) {
  for (const [name, fn] of Object.entries(cases)) {
    for (let i = 0; i < 50; i++) {
      const s = performance.now();
      await fn();
      if (round > 2) lat.get(name)!.push(performance.now() - s);
    }
  }
}
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const floor = p50(lat.get('2×PING')!);
for (const [name, xs] of lat)
  console.log(`${name.padEnd(20)} p50 ${(p50(xs) * 1000).toFixed(1)} µs  ×${(p50(xs) / floor).toFixed(2)}`);
await lock.close();
c.disconnect();
await server.stop();
