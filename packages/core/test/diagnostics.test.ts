import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDiscoveryClient,
  createMemoryDiscovery,
  createMemoryLock,
  DIAGNOSTICS_CHANNELS,
} from '../src/index.js';

describe('diagnostics_channel hooks', () => {
  const seen: { name: string; message: unknown }[] = [];
  const handlers = new Map<string, (message: unknown, name: string | symbol) => void>();
  for (const name of DIAGNOSTICS_CHANNELS) {
    const fn = (message: unknown) => seen.push({ name, message });
    handlers.set(name, fn);
    subscribe(name, fn);
  }
  afterEach(() => {
    seen.length = 0;
  });

  it('lock leases publish acquired, released and lost', async () => {
    const lock = createMemoryLock();
    const lease = await lock.acquire('diag-k', { ttl: 5000 });
    await lease.release();
    const short = await lock.acquire('diag-k2', { ttl: 20, autoRenew: false });
    await expect.poll(() => short.signal.aborted).toBe(true);
    const names = seen.map((s) => s.name);
    expect(names).toContain('switchyard:lease:acquired');
    expect(names).toContain('switchyard:lease:released');
    expect(names).toContain('switchyard:lease:lost');
    expect(seen.find((s) => s.name === 'switchyard:lease:acquired')?.message).toMatchObject({
      key: 'diag-k',
      token: 1n,
    });
    await lock.close();
  });

  it('the discovery client publishes its events (panic threshold engaging)', async () => {
    const backend = createMemoryDiscovery();
    const client = createDiscoveryClient({ backend, panicThreshold: 0.5 });
    const regs = await Promise.all(
      ['a', 'b', 'c'].map((id, i) =>
        backend.register({ id, service: 'diag', address: '127.0.0.1', port: i + 1 }),
      ),
    );
    expect((await client.resolve('diag')).instances).toHaveLength(3);
    await regs[0]!.setHealth('critical');
    await regs[1]!.setHealth('critical');
    await expect
      .poll(() => seen.find((s) => s.name === 'switchyard:discovery:panic')?.message)
      .toMatchObject({ service: 'diag', active: true, healthy: 1, total: 3 });
    await client.close();
    await backend.close();
  });

  it('unsubscribed channels cost nothing and receive nothing', () => {
    for (const [name, fn] of handlers) unsubscribe(name, fn);
    expect(seen).toHaveLength(0);
  });
});

describe('onListenerError', () => {
  it('redirects a throwing listener of a lease and a registration instead of a process warning', async () => {
    const { createMemoryDiscovery, createMemoryLock } = await import('../src/index.js');
    const seen: string[] = [];
    const warnings: unknown[] = [];
    const onWarning = (w: unknown) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const lock = createMemoryLock({ onListenerError: (_e, event) => seen.push(event) });
      const lease = await lock.acquire('k', { ttl: 20, autoRenew: false });
      lease.on('lease:lost', () => {
        throw new Error('listener bug');
      });
      await new Promise((r) => setTimeout(r, 60));
      expect(seen).toEqual(['lease:lost']);
      await lock.close();
      const discovery = createMemoryDiscovery({ onListenerError: (_e, event) => seen.push(event) });
      expect(() => createMemoryDiscovery({ onListenerError: 'x' as never })).toThrow(/onListenerError/);
      await discovery.close();
      await new Promise((r) => setTimeout(r, 10));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
