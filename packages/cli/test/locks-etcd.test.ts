import { createEtcdLock } from '@switchyard/lock-etcd';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBinary } from './run-binary.js';

let etcd: EtcdCluster;
let lock: ReturnType<typeof createEtcdLock>;

beforeAll(async () => {
  etcd = await startEtcd();
  lock = createEtcdLock({ hosts: etcd.endpoints, ttl: 6000 }); // a forced release is noticed at the next renewal (ttl/3)
});
afterAll(async () => {
  await lock?.close();
  await etcd?.stop();
});

describe('switchyard locks on etcd (built binary)', () => {
  it('ls / inspect / stats / force-release against a live holder and waiter', async () => {
    const hosts = etcd.endpoints.map((e) => e.replace(/^http:\/\//, '')).join(',');
    const held = await lock.acquire('reports:daily', { owner: 'cron-1' });
    const waiter = lock.acquire('reports:daily', { wait: 20_000, owner: 'cron-2' });
    await expect.poll(async () => (await lock.inspect('reports:daily'))?.waiters, { timeout: 5000 }).toBe(1);

    const ls = await runBinary(['locks', 'ls', '--etcd', hosts, '--json']);
    expect(ls.code).toBe(0);
    expect(ls.json()).toEqual([
      expect.objectContaining({
        key: 'reports:daily',
        owner: 'cron-1',
        token: String(held.token),
        waiters: 1,
      }),
    ]);

    const inspect = await runBinary(['locks', 'inspect', 'reports:daily', '--json'], {
      env: { SWITCHYARD_ETCD: etcd.endpoints.join(',') },
    });
    expect(inspect.json()).toMatchObject({ owner: 'cron-1', waiters: 1 });

    const stats = await runBinary(['locks', 'stats', '--etcd', hosts, '--json']);
    expect(stats.json()).toMatchObject({ backend: 'etcd', held: 1, waiting: 1, contended: 1 });

    const release = await runBinary([
      'locks',
      'force-release',
      'reports:daily',
      '--force',
      '--yes',
      '--etcd',
      hosts,
    ]);
    expect(release.code).toBe(0);
    expect(release.stdout).toContain('released reports:daily');
    // the waiter takes over with a larger fencing token; the old holder is told it lost the lock
    const next = await waiter;
    expect(next.token > held.token).toBe(true);
    await expect.poll(() => held.signal.aborted, { timeout: 10_000 }).toBe(true);
    const after = await runBinary(['locks', 'inspect', 'reports:daily', '--etcd', hosts, '--json']);
    expect(after.json()).toMatchObject({ owner: 'cron-2', token: String(next.token), waiters: 0 });
    await next.release();
  });

  it('--kind semaphore is refused on etcd with a usage error naming the flag (exit 2)', async () => {
    const r = await runBinary(['locks', 'ls', '--kind', 'semaphore', '--etcd', etcd.endpoints[0] as string]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--kind');
  });

  it('an unreachable etcd is BACKEND_UNAVAILABLE (exit 4)', async () => {
    const r = await runBinary(['locks', 'ls', '--etcd', '127.0.0.1:1', '--timeout', '1000', '--json']);
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stderr).error.code).toBe('BACKEND_UNAVAILABLE');
  });
});
