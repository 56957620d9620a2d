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

describe('subscribeDiagnostic', () => {
  it('types the payload by channel and every payload names its publisher', async () => {
    const { subscribeDiagnostic } = await import('../src/index.js');
    const acquired: { key: string; token: bigint; source: string }[] = [];
    const lost: { instance: { id: string }; source: string }[] = [];
    const resyncs: { service: string; backend: string; source: string }[] = [];
    const offs = [
      subscribeDiagnostic('switchyard:lease:acquired', (p) => acquired.push(p)),
      subscribeDiagnostic('switchyard:registration:lost', (p) => lost.push(p)),
      subscribeDiagnostic('switchyard:discovery:panic', (p) => resyncs.push(p)),
    ];
    try {
      const lock = createMemoryLock();
      await (await lock.acquire('typed-k', { ttl: 5000 })).release();
      await lock.close();
      expect(acquired).toEqual([expect.objectContaining({ key: 'typed-k', token: 1n, source: 'core' })]);

      const backend = createMemoryDiscovery();
      const client = createDiscoveryClient({ backend, panicThreshold: 0.9 });
      const reg = await backend.register({ id: 'x', service: 'typed', address: '127.0.0.1', port: 1 });
      await backend.register({ id: 'y', service: 'typed', address: '127.0.0.1', port: 2 });
      await client.resolve('typed');
      await reg.setHealth('critical');
      await expect.poll(() => resyncs.length).toBeGreaterThan(0);
      expect(resyncs[0]).toMatchObject({ service: 'typed', backend: backend.name, source: 'core' });
      await client.close();
      await backend.close();
    } finally {
      for (const off of offs) off();
    }
    // Unsubscribed: nothing more arrives.
    const lock = createMemoryLock();
    await (await lock.acquire('typed-k2', { ttl: 5000 })).release();
    await lock.close();
    expect(acquired).toHaveLength(1);
    expect(lost).toEqual([]);
  });
});

// Type-level: an unknown channel does not compile; payload fields are typed.
export function _typedSubscribeCompiles(sub: typeof import('../src/index.js').subscribeDiagnostic): void {
  // @ts-expect-error not a Switchyard channel
  sub('switchyard:nope', () => {});
  sub('switchyard:lease:lost', (p) => {
    const token: bigint = p.token;
    const source: string = p.source;
    void token;
    void source;
  });
}
