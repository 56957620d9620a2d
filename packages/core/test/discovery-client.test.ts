import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  type ClientDiscoveryEvent,
  createDiscoveryClient,
  createMemoryRulesSource,
  type DiscoverySource,
  hasPullOuts,
  type InstanceInput,
  pullOutsOf,
  routesOf,
} from '../src/index.js';
import { env, ids } from './discovery-client-fixtures.js';

const inst = (id: string, extra: Partial<InstanceInput> = {}): InstanceInput => ({
  id,
  service: 'api',
  address: `10.0.0.${id.replace(/\D/g, '') || '1'}`,
  port: 8080,
  ...extra,
});

async function next(it: AsyncIterator<ClientDiscoveryEvent>): Promise<ClientDiscoveryEvent> {
  const r = await it.next();
  if (r.done) throw new Error('stream ended');
  return r.value;
}

describe('discovery client: cache', () => {
  it('serves resolve() from memory after the first sync, with one backend watch', async () => {
    const { backend, memory } = env();
    await memory.register(inst('a1'));
    await memory.register(inst('a2', { health: 'critical' }));
    await memory.register(inst('a3'));
    await using client = createDiscoveryClient({ backend });
    const first = await client.resolve('api');
    expect(ids(first.instances)).toEqual(['a1', 'a3']);
    expect(first).toMatchObject({ service: 'api', stale: false, panic: false });
    for (let i = 0; i < 5; i++) await client.resolve('api', { filter: { tags: [] } });
    expect(backend.calls).toMatchObject({ watch: 1, resolve: 0 });
    expect(client.status('api')).toMatchObject({ state: 'synced', instances: 3, watchesOpened: 1 });
  });

  it('shares one backend watch between subscribers and delivers snapshot + diff', async () => {
    const { backend, memory } = env();
    const r1 = await memory.register(inst('a1'));
    await using client = createDiscoveryClient({ backend });
    const w1 = client.watch('api')[Symbol.asyncIterator]();
    const w2 = client.watch('api')[Symbol.asyncIterator]();
    const w3 = client.watch('api', { filter: { tags: ['blue'] } })[Symbol.asyncIterator]();
    const initial = await next(w1);
    expect(initial.reason).toBe('initial');
    expect(ids(initial.diff.added)).toEqual(['a1']);
    expect((await next(w2)).reason).toBe('initial');
    expect(ids((await next(w3)).snapshot.instances)).toEqual([]);

    const blue = await memory.register(inst('a2', { tags: ['blue'] }));
    const added = await next(w1);
    expect(added).toMatchObject({ reason: 'change', source: 'watch', stale: false });
    expect(ids(added.diff.added)).toEqual(['a2']);
    expect(added.snapshot.revision).toBeGreaterThan(initial.snapshot.revision);
    expect(ids((await next(w3)).diff.added)).toEqual(['a2']);

    await r1.setHealth('warning', {});
    const removed = await next(w1);
    expect(ids(removed.diff.removed)).toEqual(['a1']);
    expect(ids((await next(w2)).diff.added)).toEqual(['a2']);
    expect(ids((await next(w2)).diff.removed)).toEqual(['a1']);

    const wide = client.watch('api', { filter: { health: ['passing', 'warning'] } })[Symbol.asyncIterator]();
    expect(ids((await next(wide)).snapshot.instances)).toEqual(['a1', 'a2']);
    await r1.setHealth('passing');
    const upd = await next(wide);
    expect(ids(upd.diff.updated)).toEqual(['a1']);
    expect(upd.diff.updated[0]?.health).toBe('passing');
    // The blue-only subscriber saw nothing for a1's changes: its next event is a2 leaving.
    await blue.close();
    await memory.register(inst('a2', { tags: [] }));
    expect(ids((await next(w3)).diff.removed)).toEqual(['a2']);

    expect(backend.calls.watch).toBe(1);
    expect(client.status('api').subscribers).toBe(4);
    await w1.return?.();
    expect(client.status('api').subscribers).toBe(3);
  });

  it('composes health, tag, metadata, zone, region and predicate filters', async () => {
    const { backend, memory } = env();
    await memory.register(
      inst('a1', { tags: ['v2', 'grpc'], metadata: { env: 'prod' }, zone: 'z1', region: 'r1' }),
    );
    await memory.register(inst('a2', { tags: ['v2'], metadata: { env: 'prod' }, zone: 'z2', region: 'r1' }));
    await memory.register(inst('a3', { tags: ['v1'], metadata: { env: 'test' }, zone: 'z1', region: 'r2' }));
    await memory.register(inst('a4', { tags: ['v2'], zone: 'z1', region: 'r1', health: 'warning' }));
    await using client = createDiscoveryClient({ backend, panicThreshold: 0 });
    const pick = async (filter: object) => ids((await client.resolve('api', { filter })).instances);
    expect(await pick({ tags: ['v2'] })).toEqual(['a1', 'a2']);
    expect(await pick({ tags: ['v2', 'grpc'] })).toEqual(['a1']);
    expect(await pick({ metadata: { env: 'prod' } })).toEqual(['a1', 'a2']);
    expect(await pick({ zone: 'z1' })).toEqual(['a1', 'a3']);
    expect(await pick({ region: 'r2' })).toEqual(['a3']);
    expect(await pick({ zone: 'z1', health: ['passing', 'warning'] })).toEqual(['a1', 'a3', 'a4']);
    expect(await pick({ tags: ['v2'], where: (i: { port: number; id: string }) => i.id !== 'a1' })).toEqual([
      'a2',
    ]);
    expect(backend.calls.resolve).toBe(0);
  });

  it('memoises the default-filter snapshot per version and freezes it', async () => {
    const { backend, memory } = env();
    await memory.register(inst('a1'));
    await using client = createDiscoveryClient({ backend });
    const s1 = await client.resolve('api');
    expect(await client.resolve('api')).toBe(s1);
    expect(Object.isFrozen(s1) && Object.isFrozen(s1.instances)).toBe(true);
    const w = client.watch('api')[Symbol.asyncIterator]();
    await next(w);
    await memory.register(inst('a2'));
    await next(w);
    const s2 = await client.resolve('api');
    expect(s2).not.toBe(s1);
    expect(ids(s2.instances)).toEqual(['a1', 'a2']);
  });

  it('a throwing filter predicate ends only that subscriber, with the error', async () => {
    const { backend, memory } = env();
    await memory.register(inst('a1'));
    await using client = createDiscoveryClient({ backend });
    const good = client.watch('api')[Symbol.asyncIterator]();
    await next(good);
    const bad = client
      .watch('api', {
        filter: {
          where: (i) => {
            if (i.id === 'a2') throw new Error('predicate blew up');
            return true;
          },
        },
      })
      [Symbol.asyncIterator]();
    await next(bad);
    await memory.register(inst('a2'));
    await expect(bad.next()).rejects.toThrow('predicate blew up');
    expect(ids((await next(good)).diff.added)).toEqual(['a2']);
    expect(client.status('api')).toMatchObject({ state: 'synced', subscribers: 1, watchesOpened: 1 });
    await expect(
      client.resolve('api', {
        filter: {
          where: () => {
            throw new Error('nope');
          },
        },
      }),
    ).rejects.toThrow('nope');
  });

  it('is usable wherever a backend is (same resolve/watch signatures)', async () => {
    const { backend, memory } = env();
    await memory.register(inst('a1'));
    await using client = createDiscoveryClient({ backend });
    const sources: DiscoverySource[] = [memory, client];
    for (const source of sources) {
      const snap = await source.resolve('api', { filter: { health: ['passing'] } });
      expect(ids(snap.instances)).toEqual(['a1']);
      const it = source.watch('api', { signal: AbortSignal.timeout(5_000) })[Symbol.asyncIterator]();
      const ev = (await it.next()).value;
      expect(ev.reason).toBe('initial');
      await it.return?.();
    }
  });

  it('ends watches on signal and on close, and leaves no timers behind', async () => {
    const { backend, memory, clock } = env();
    await memory.register(inst('a1'));
    const baseline = clock.pendingTimers();
    const client = createDiscoveryClient({ backend, clock, resyncInterval: 1_000, staleAfter: 5_000 });
    const ac = new AbortController();
    const a = client.watch('api', { signal: ac.signal })[Symbol.asyncIterator]();
    const b = client.watch('api')[Symbol.asyncIterator]();
    await next(a);
    await next(b);
    await client.resolve('other');
    expect(clock.pendingTimers()).toBeGreaterThan(baseline);
    const shared = new AbortController();
    for (let i = 0; i < 3; i++) {
      const it = client.watch('api', { signal: shared.signal })[Symbol.asyncIterator]();
      await next(it);
      await it.return?.();
    }
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    ac.abort();
    expect((await a.next()).done).toBe(true);
    expect(client.status('api').subscribers).toBe(1);
    await clock.advance(3_000);
    await client.close();
    expect((await b.next()).done).toBe(true);
    expect(clock.pendingTimers()).toBe(baseline);
    await clock.advance(100);
    expect(backend.openWatches).toBe(0);
    await expect(client.resolve('api')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('discovery client: traffic rules', () => {
  it('applies instance, server and zone pull-outs live, with diff events', async () => {
    const { backend, memory } = env();
    await memory.register(inst('a1', { address: '10.0.0.1', zone: 'z1' }));
    await memory.register(inst('a2', { address: '10.0.0.2', zone: 'z1' }));
    await memory.register(inst('a3', { address: '10.0.0.3', zone: 'z2' }));
    await memory.register(inst('a4', { address: '10.0.0.4', zone: 'z2' }));
    await memory.register({ id: 'o1', service: 'other', address: '10.0.0.9', port: 1, zone: 'z2' });
    const rules = createMemoryRulesSource({ pulledInstances: [{ service: 'api', id: 'a1' }] });
    await using client = createDiscoveryClient({ backend, rules, panicThreshold: 0 });
    const w = client.watch('api')[Symbol.asyncIterator]();
    const other = client.watch('other')[Symbol.asyncIterator]();
    expect(ids((await next(w)).snapshot.instances)).toEqual(['a2', 'a3', 'a4']);
    expect(ids((await next(other)).snapshot.instances)).toEqual(['o1']);

    rules.update((r) => ({ ...r, pulledServers: ['10.0.0.2'] }));
    const e1 = await next(w);
    expect(e1).toMatchObject({ source: 'rules', reason: 'change' });
    expect(ids(e1.diff.removed)).toEqual(['a2']);
    expect(ids((await client.resolve('api')).instances)).toEqual(['a3', 'a4']);

    rules.update((r) => ({ ...r, pulledZones: [{ service: 'api', zone: 'z2' }] }));
    expect(ids((await next(w)).diff.removed)).toEqual(['a3', 'a4']);
    expect(ids((await client.resolve('other')).instances)).toEqual(['o1']);
    rules.update((r) => ({ ...r, pulledZones: [{ zone: 'z2' }] }));
    expect(ids((await next(other)).diff.removed)).toEqual(['o1']);

    // Pull-in: remove the rules.
    rules.set({});
    const back = await next(w);
    expect(ids(back.diff.added)).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(back.snapshot.revision).toBeGreaterThan(e1.snapshot.revision);
    expect(backend.calls.resolve).toBe(0);
  });

  it('keeps pulled-out instances out even in panic mode', async () => {
    const { backend, memory } = env();
    await memory.register(inst('a1'));
    await memory.register(inst('a2', { health: 'critical' }));
    await memory.register(inst('a3', { health: 'critical' }));
    const rules = createMemoryRulesSource({ pulledInstances: [{ service: 'api', id: 'a3' }] });
    await using client = createDiscoveryClient({ backend, rules, panicThreshold: 0.75 });
    const snap = await client.resolve('api');
    expect(snap.panic).toBe(true);
    expect(ids(snap.instances)).toEqual(['a1', 'a2']);
  });
});

describe('traffic rules split: pull-outs (discovery client) and routes (balancer)', () => {
  it('splits a rules document and ignores route-only changes in the client', async () => {
    const route = { service: 'api', groups: [{ name: 'blue', weight: 1, match: { tags: ['blue'] } }] };
    const doc = { pulledInstances: [{ service: 'api', id: 'a1' }], routes: [route] };
    expect(pullOutsOf(doc)).toEqual({ pulledInstances: doc.pulledInstances });
    expect(routesOf(doc)).toEqual({ routes: [route] });
    expect(pullOutsOf(undefined)).toEqual({});
    expect(hasPullOuts(doc)).toBe(true);
    expect(hasPullOuts({ routes: [route], pulledZones: [] })).toBe(false);

    const { backend, memory } = env();
    await memory.register(inst('a1'));
    await memory.register(inst('a2'));
    const rules = createMemoryRulesSource(doc);
    await using client = createDiscoveryClient({ backend, rules });
    const w = client.watch('api')[Symbol.asyncIterator]();
    expect(ids((await next(w)).snapshot.instances)).toEqual(['a2']);
    const before = client.status('api').version;
    rules.update((r) => ({ ...r, routes: [] }));
    expect(client.status('api').version).toBe(before);
    rules.set({});
    expect(ids((await next(w)).diff.added)).toEqual(['a1']);
  });
});

describe('discovery client: mass-failure guard', () => {
  it('returns every instance when too few are healthy, says so, and emits events', async () => {
    const { backend, memory } = env();
    const regs = await Promise.all(['a1', 'a2', 'a3', 'a4'].map((id) => memory.register(inst(id))));
    await memory.register(inst('m1', { health: 'maintenance' }));
    await using client = createDiscoveryClient({ backend });
    const panics: unknown[] = [];
    client.on('discovery:panic', (p) => panics.push(p));
    const w = client.watch('api')[Symbol.asyncIterator]();
    expect(ids((await next(w)).snapshot.instances)).toEqual(['a1', 'a2', 'a3', 'a4']);

    await regs[0]?.setHealth('critical');
    await next(w);
    await regs[1]?.setHealth('critical'); // 2 of 4 healthy: exactly 50 %, not below
    expect(ids((await next(w)).snapshot.instances)).toEqual(['a3', 'a4']);
    await regs[2]?.setHealth('critical'); // 1 of 4 < 50 %: panic
    const ev = await next(w);
    expect(ev.panic).toBe(true);
    expect(ev.snapshot.panic).toBe(true);
    expect(ids(ev.snapshot.instances)).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(ids(ev.diff.added)).toEqual(['a1', 'a2']);
    const snap = await client.resolve('api');
    expect(snap.panic).toBe(true);
    expect(ids(snap.instances)).not.toContain('m1');
    expect(client.status('api').panic).toBe(true);
    expect(panics).toEqual([{ service: 'api', active: true, healthy: 1, total: 4 }]);

    await regs[0]?.setHealth('passing'); // 2 of 4: the guard releases
    const calm = await next(w);
    expect(calm.panic).toBe(false);
    expect(ids(calm.snapshot.instances)).toEqual(['a1', 'a4']);
    await regs[1]?.setHealth('passing');
    expect(ids((await next(w)).diff.added)).toEqual(['a2']);
    expect(panics.at(-1)).toMatchObject({ active: false });
    expect(ids((await client.resolve('api')).instances)).toEqual(['a1', 'a2', 'a4']);
  });

  it('can be disabled with panicThreshold 0', async () => {
    const { backend, memory } = env();
    await memory.register(inst('a1'));
    await memory.register(inst('a2', { health: 'critical' }));
    await memory.register(inst('a3', { health: 'critical' }));
    await using client = createDiscoveryClient({ backend, panicThreshold: 0 });
    const snap = await client.resolve('api');
    expect(snap.panic).toBe(false);
    expect(ids(snap.instances)).toEqual(['a1']);
  });
});

describe('discovery client: anti-entropy relist', () => {
  it('reports changes the watch missed as resync events and counters', async () => {
    const { backend, memory, clock } = env();
    await memory.register(inst('a1'));
    await using client = createDiscoveryClient({ backend, clock, resyncInterval: 10_000 });
    const resyncs: unknown[] = [];
    client.on('discovery:resync', (e) => resyncs.push(e));
    const w = client.watch('api')[Symbol.asyncIterator]();
    await next(w);
    backend.dropEvents = true; // the watch now silently loses changes
    await memory.register(inst('a2'));
    await clock.advance(1_000);
    expect(ids((await client.resolve('api')).instances)).toEqual(['a1']);
    await clock.advance(11_000); // one jittered resync period
    const ev = await next(w);
    expect(ev).toMatchObject({ reason: 'resync', source: 'resync', stale: false });
    expect(ids(ev.diff.added)).toEqual(['a2']);
    expect(ids((await client.resolve('api')).instances)).toEqual(['a1', 'a2']);
    expect(resyncs).toHaveLength(1);
    expect(client.status('api')).toMatchObject({ resyncs: 1, resyncsWithChanges: 1, missedChanges: 1 });

    // Relisting a cache that is up to date is normal and quiet.
    backend.dropEvents = false;
    await clock.advance(11_000);
    expect(client.status('api')).toMatchObject({ resyncs: 2, resyncsWithChanges: 1, missedChanges: 1 });
    expect(resyncs).toHaveLength(1);
    expect(backend.calls.resolve).toBe(2);
  });

  it('resync() on demand returns the missed diff', async () => {
    const { backend, memory } = env();
    const r = await memory.register(inst('a1'));
    await using client = createDiscoveryClient({ backend, resyncInterval: 0 });
    await client.resolve('api');
    backend.dropEvents = true;
    await r.close();
    const diff = await client.resync('api');
    expect(ids(diff.removed)).toEqual(['a1']);
    expect((await client.resolve('api')).instances).toEqual([]);
    await expect(client.resync('never-seen')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
