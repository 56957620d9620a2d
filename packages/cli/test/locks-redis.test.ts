import { createRedisLock, createRedisSemaphore } from '@switchyard/lock-redis';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBinary } from './run-binary.js';

let redis: RedisServer;
let lock: ReturnType<typeof createRedisLock>;

beforeAll(async () => {
  redis = await startRedis();
  lock = createRedisLock({ url: redis.url, ttl: 30_000 });
});
afterAll(async () => {
  await lock?.close();
  await redis?.stop();
});

interface LockJson {
  key: string;
  owner: string;
  token: string;
  ttlLeft: number;
  waiters: number;
}

describe('switchyard locks on Redis (built binary)', () => {
  it('ls, prefix filter, inspect of a held and a free lock', async () => {
    const a = await lock.acquire('orders:1', { owner: 'worker-a' });
    const b = await lock.acquire('orders:2', { owner: 'worker-b' });
    const c = await lock.acquire('billing:run', { owner: 'cron' });
    try {
      const all = await runBinary(['locks', 'ls', '--redis', redis.url, '--json']);
      expect(all.code).toBe(0);
      const listed = all.json<LockJson[]>();
      expect(listed.map((l) => l.key)).toEqual(['billing:run', 'orders:1', 'orders:2']);
      expect(listed.find((l) => l.key === 'orders:1')).toMatchObject({
        owner: 'worker-a',
        token: String(a.token),
      });
      expect(listed[0]?.ttlLeft).toBeGreaterThan(20_000);

      const some = await runBinary(['locks', 'ls', 'orders:', '--json'], {
        env: { SWITCHYARD_REDIS: redis.url },
      });
      expect(some.json<LockJson[]>().map((l) => l.key)).toEqual(['orders:1', 'orders:2']);

      const human = await runBinary(['locks', 'ls', '--redis', redis.url]);
      expect(human.stdout).toMatch(/KEY\s+│?\s*OWNER/);
      expect(human.stdout).toContain('worker-b');

      const held = await runBinary(['locks', 'inspect', 'orders:2', '--redis', redis.url, '--json']);
      expect(held.code).toBe(0);
      expect(held.json<LockJson>()).toMatchObject({
        key: 'orders:2',
        owner: 'worker-b',
        token: String(b.token),
      });

      const free = await runBinary(['locks', 'inspect', 'nobody', '--redis', redis.url, '--json']);
      expect(free.code).toBe(3);
      expect(JSON.parse(free.stderr)).toEqual({ error: expect.objectContaining({ code: 'NOT_FOUND' }) });
    } finally {
      await Promise.all([a.release(), b.release(), c.release()]);
    }
  });

  it('release needs --force, then --yes without a terminal; the holder learns it lost the lock', async () => {
    const lease = await lock.acquire('job:7', { owner: 'holder', autoRenew: false });
    const noForce = await runBinary(['locks', 'release', 'job:7', '--redis', redis.url]);
    expect(noForce.code).toBe(2);
    expect(noForce.stderr).toContain('--force');

    const noYes = await runBinary(['locks', 'release', 'job:7', '--force', '--redis', redis.url]);
    expect(noYes.code).toBe(5);
    expect(noYes.stderr).toContain('--yes');
    expect(await lock.inspect('job:7')).toBeDefined();

    const lost = new Promise<void>((resolve) => lease.signal.addEventListener('abort', () => resolve()));
    const done = await runBinary([
      'locks',
      'release',
      'job:7',
      'job:none',
      '--force',
      '--yes',
      '--redis',
      redis.url,
      '--json',
    ]);
    expect(done.json()).toEqual([
      { key: 'job:7', released: true },
      { key: 'job:none', released: false },
    ]);
    expect(done.code).toBe(3); // one of the keys was already free
    expect(await lock.inspect('job:7')).toBeUndefined();
    await lost;
    expect(lease.signal.aborted).toBe(true);
  });

  it('bulk release --match frees every held key under a prefix, and only those', async () => {
    const held = await Promise.all(
      ['batch:1', 'batch:2', 'batch:3', 'keep:1'].map((k) => lock.acquire(k, { autoRenew: false })),
    );
    const r = await runBinary([
      'locks',
      'release',
      '--match',
      'batch:',
      '--force',
      '--yes',
      '--redis',
      redis.url,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual(['batch:1', 'batch:2', 'batch:3'].map((key) => ({ key, released: true })));
    expect((await lock.list()).map((l) => l.key)).toEqual(['keep:1']);
    expect(held.slice(0, 3).every((l) => l.signal.aborted)).toBe(true);
    const none = await runBinary([
      'locks',
      'release',
      '--match',
      'batch:',
      '--force',
      '--yes',
      '--redis',
      redis.url,
    ]);
    expect(none.code).toBe(3);
    expect((await runBinary(['locks', 'release', '--force', '--redis', redis.url])).code).toBe(2);
    await held[3]?.release();
  });

  it('stats and watch read the live lock space', async () => {
    const x = await lock.acquire('tenant-a:x');
    const y = await lock.acquire('tenant-a:y');
    const z = await lock.acquire('tenant-b:z');
    const waiter = lock.acquire('tenant-b:z', { wait: 10_000 });
    try {
      await expect.poll(async () => (await lock.inspect('tenant-b:z'))?.waiters, { timeout: 5000 }).toBe(1);
      const stats = await runBinary(['locks', 'stats', 'tenant-', '--redis', redis.url, '--json']);
      expect(stats.code).toBe(0);
      expect(stats.json()).toMatchObject({
        backend: 'redis',
        held: 3,
        waiting: 1,
        contended: 1,
        groups: { 'tenant-a': { held: 2, waiting: 0 }, 'tenant-b': { held: 1, waiting: 1 } },
      });

      let released: Promise<void> | undefined;
      const watch = runBinary(
        ['locks', 'watch', 'tenant-', '--interval', '300', '--count', '3', '--redis', redis.url, '--json'],
        {
          onStdout: () => {
            released ??= x.release().then(() => undefined);
          },
        },
      );
      await watch;
      await released;
      const frames = (await watch).lines<{ at: string; locks: LockJson[] }>();
      expect(frames).toHaveLength(3);
      expect(frames[0]?.locks.map((l) => l.key)).toEqual(['tenant-a:x', 'tenant-a:y', 'tenant-b:z']);
      expect(frames[2]?.locks.map((l) => l.key)).toEqual(['tenant-a:y', 'tenant-b:z']);
    } finally {
      await Promise.all([y.release(), z.release()]);
      await (await waiter).release();
    }
  });

  it('semaphore key space with --kind semaphore', async () => {
    const sem = createRedisSemaphore({ url: redis.url, permits: 2 });
    const p1 = await sem.acquire('pool', { owner: 'p1' });
    try {
      const ls = await runBinary(['locks', 'ls', '--kind', 'semaphore', '--redis', redis.url, '--json']);
      expect(ls.code).toBe(0);
      expect(ls.json<LockJson[]>().map((l) => l.key)).toContain('pool');
      const mutexes = await runBinary(['locks', 'ls', 'pool', '--redis', redis.url, '--json']);
      expect(mutexes.json()).toEqual([]);
    } finally {
      await p1.release();
      await sem.close();
    }
  });

  it('an unreachable Redis is BACKEND_UNAVAILABLE (exit 4), promptly', async () => {
    const started = Date.now();
    const down = await runBinary([
      'locks',
      'ls',
      '--redis',
      'redis://127.0.0.1:1',
      '--timeout',
      '1000',
      '--json',
    ]);
    expect(down.code).toBe(4);
    expect(JSON.parse(down.stderr).error.code).toBe('BACKEND_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(8000);
  });
});
