import { describe, expect, it } from 'vitest';
import {
  type ClientDiscoveryEvent,
  createDiscoveryClient,
  type DiscoveryBackend,
  type DiscoveryEvent,
  type InstanceInput,
} from '../src/index.js';
import { env, ids } from './discovery-client-fixtures.js';

const inst = (id: string, extra: Partial<InstanceInput> = {}): InstanceInput => ({
  id,
  service: 'api',
  address: '10.0.0.1',
  port: 8080,
  ...extra,
});

async function next(it: AsyncIterator<ClientDiscoveryEvent>): Promise<ClientDiscoveryEvent> {
  const r = await it.next();
  if (r.done) throw new Error('stream ended');
  return r.value;
}

describe('discovery client: stale-on-error', () => {
  it('serves the last snapshot marked stale while the watch is down, then resyncs on recovery', async () => {
    const { backend, memory, clock, tick } = env();
    await memory.register(inst('a1'));
    const a2 = await memory.register(inst('a2'));
    await using client = createDiscoveryClient({
      backend,
      clock,
      resyncInterval: 0,
      backoff: { base: 1_000, max: 1_000 },
    });
    const log: string[] = [];
    client.on('discovery:stale', (e) => log.push(`stale:${e.service}`));
    client.on('discovery:recovered', (e) => log.push(`recovered:${e.service}:${ids(e.diff.removed)}`));
    client.on('discovery:resync', (e) => log.push(`resync:${e.afterOutage}`));
    const w = client.watch('api')[Symbol.asyncIterator]();
    await next(w);

    backend.failWatch = true;
    backend.breakWatches();
    const staleEvent = await next(w);
    expect(staleEvent).toMatchObject({ stale: true, source: 'status' });
    expect(staleEvent.diff).toEqual({ added: [], removed: [], updated: [] });
    const snap = await client.resolve('api');
    expect(snap.stale).toBe(true);
    expect(ids(snap.instances)).toEqual(['a1', 'a2']);
    expect(client.status('api')).toMatchObject({ state: 'stale' });
    expect(client.status('api').staleSince).toBe(clock.now());
    expect(backend.calls.resolve).toBe(0);

    // Changes during the outage, and several failed reconnects.
    await a2.close();
    await clock.advance(5_000);
    expect(backend.calls.watch).toBeGreaterThan(2);
    expect(client.status('api').state).toBe('stale');

    backend.failWatch = false;
    await clock.advance(1_000);
    await tick();
    const back = await next(w);
    expect(back).toMatchObject({ reason: 'resync', source: 'resync', stale: false });
    expect(ids(back.diff.removed)).toEqual(['a2']);
    expect((await client.resolve('api')).stale).toBe(false);
    expect(log).toEqual(['stale:api', 'resync:true', 'recovered:api:a2']);
    expect(client.status('api')).toMatchObject({ state: 'synced', missedChanges: 1, staleSince: undefined });
  });

  it('treats a watch stream that ends as a failure and reconnects', async () => {
    const { backend, memory, clock } = env();
    await memory.register(inst('a1'));
    await using client = createDiscoveryClient({ backend, clock, backoff: { base: 10, max: 10 } });
    const stale: unknown[] = [];
    client.on('discovery:stale', (e) => stale.push(e.cause));
    await client.resolve('api');
    backend.breakWatches(new Error('boom'));
    await clock.advance(50);
    expect(stale).toHaveLength(1);
    expect(client.status('api')).toMatchObject({ state: 'synced', watchesOpened: 2 });
  });

  it('backs off a watch that fails right after each snapshot instead of relisting in a tight loop', async () => {
    const { memory, clock } = env();
    await memory.register(inst('a1'));
    let watches = 0;
    const flappy: DiscoveryBackend = {
      ...memory,
      watch: (service) =>
        (async function* () {
          watches++;
          const snapshot = await memory.resolve(service);
          yield {
            snapshot,
            diff: { added: snapshot.instances, removed: [], updated: [] },
            reason: 'initial',
            stale: false,
          };
          throw new Error('stream reset (injected)');
        })(),
    };
    await using client = createDiscoveryClient({
      backend: flappy,
      clock,
      resyncInterval: 0,
      backoff: { base: 100, max: 60_000, random: () => 0.999 },
    });
    await client.resolve('api');
    await clock.advance(3_000); // delays ~100, 200, 400, 800, 1600 ms
    expect(watches).toBeGreaterThanOrEqual(4);
    expect(watches).toBeLessThanOrEqual(6);
    expect(client.status('api').state).toBe('stale');
  });

  it('falls back to a direct read before the first sync, and fails with BACKEND_UNAVAILABLE if that fails too', async () => {
    const { backend, memory, clock, tick } = env();
    await memory.register(inst('a1'));
    await using client = createDiscoveryClient({ backend, clock, backoff: { base: 1_000, max: 1_000 } });
    const errors: string[] = [];
    client.on('discovery:error', (e) => errors.push(e.during));
    backend.failWatch = true;
    const direct = await client.resolve('api');
    expect(ids(direct.instances)).toEqual(['a1']);
    expect(backend.calls.resolve).toBe(1);
    expect(errors).toEqual(['watch']);

    backend.failResolve = true;
    await expect(client.resolve('api')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(client.status('api').state).toBe('syncing');

    backend.failWatch = false;
    backend.failResolve = false;
    await clock.advance(1_000);
    await tick();
    expect(client.status('api').state).toBe('synced');
    await client.resolve('api');
    expect(backend.calls.resolve).toBe(2);
  });

  it('rejects resolve with TIMEOUT when the first snapshot never comes (syncTimeout)', async () => {
    const { memory, clock } = env();
    const silent: DiscoveryBackend = {
      ...memory,
      watch: () => ({
        [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<DiscoveryEvent>>(() => {}) }),
      }),
    };
    await using client = createDiscoveryClient({ backend: silent, clock, syncTimeout: 2_000 });
    const pending = client.resolve('api');
    const check = expect(pending).rejects.toMatchObject({ code: 'TIMEOUT' });
    await clock.advance(2_000);
    await check;
    const ac = new AbortController();
    const aborted = client.resolve('api', { signal: ac.signal });
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    const cut = client.resolve('api');
    await client.close();
    await expect(cut).rejects.toMatchObject({ code: 'CLOSED' });
    expect(clock.pendingTimers()).toBe(0);
  });

  it('counts failed relists, keeps serving, and reports them as discovery:error', async () => {
    const { backend, memory, clock } = env();
    await memory.register(inst('a1'));
    await using client = createDiscoveryClient({ backend, clock, resyncInterval: 1_000, staleAfter: 0 });
    const errors: unknown[] = [];
    client.on('discovery:error', (e) => errors.push(e));
    await client.resolve('api');
    backend.failResolve = true;
    await clock.advance(1_200);
    expect(client.status('api')).toMatchObject({ resyncFailures: 1, state: 'synced' });
    expect(errors).toHaveLength(1);
    await expect(client.resync('api')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(ids((await client.resolve('api')).instances)).toEqual(['a1']);
  });
});

describe('discovery client: gap and staleness detection', () => {
  it('marks a silent backend stale after staleAfter and restarts the watch', async () => {
    const { backend, memory, clock, tick } = env();
    await memory.register(inst('a1'));
    await using client = createDiscoveryClient({
      backend,
      clock,
      resyncInterval: 1_000,
      staleAfter: 5_000,
      requestTimeout: 500,
      backoff: { base: 10, max: 10 },
    });
    const log: string[] = [];
    client.on('discovery:stale', () => log.push('stale'));
    client.on('discovery:recovered', () => log.push('recovered'));
    const w = client.watch('api')[Symbol.asyncIterator]();
    await next(w);
    const heard = client.status('api').lastHeardAt;

    // Relists keep the cache "heard from" on a quiet service.
    await clock.advance(4_000);
    expect(client.status('api').lastHeardAt).toBeGreaterThan(heard ?? 0);
    expect(log).toEqual([]);

    // The backend stops answering relists (timeouts); the watch is silent.
    backend.hangResolve = true;
    await clock.advance(6_000);
    expect(log[0]).toBe('stale');
    expect(client.status('api').watchesOpened).toBe(2);
    await tick();
    expect(log).toEqual(['stale', 'recovered']);
    const events = [await next(w), await next(w)];
    expect(events.map((e) => e.stale)).toEqual([true, false]);
    expect(client.status('api').resyncFailures).toBeGreaterThan(0);
  });

  it('relists when a backend revision goes backwards', async () => {
    const { memory } = env();
    let push: (e: DiscoveryEvent) => void = () => {};
    const events: DiscoveryEvent[] = [];
    const backend: DiscoveryBackend = {
      ...memory,
      watch: () => ({
        [Symbol.asyncIterator]: () => ({
          next: () =>
            new Promise<IteratorResult<DiscoveryEvent>>((resolve) => {
              const queued = events.shift();
              if (queued) resolve({ value: queued, done: false });
              else push = (e) => resolve({ value: e, done: false });
            }),
        }),
      }),
    };
    await memory.register(inst('a1'));
    const snap = await memory.resolve('api');
    events.push({
      snapshot: { ...snap, revision: 10 },
      diff: { added: snap.instances, removed: [], updated: [] },
      reason: 'initial',
      stale: false,
    });
    await using client = createDiscoveryClient({ backend, resyncInterval: 0 });
    await client.resolve('api');
    push({
      snapshot: { ...snap, instances: [], revision: 5 },
      diff: { added: [], removed: snap.instances, updated: [] },
      reason: 'change',
      stale: false,
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(client.status('api')).toMatchObject({ revisionRegressions: 1 });
    // The relist (memory's current state) put a1 back.
    expect(ids((await client.resolve('api')).instances)).toEqual(['a1']);
    expect(client.status('api').missedChanges).toBe(1);
  });

  it('takes two lower-revision relists that disagree with the cache as the truth of the backend (data loss)', async () => {
    const { memory } = env();
    await memory.register(inst('a1'));
    const ghost = await memory.register(inst('ghost'));
    const snap = await memory.resolve('api');
    let revision = 1000;
    const backend: DiscoveryBackend = {
      ...memory,
      // The watch stays quiet after its first snapshot (a watch waiting on a future revision).
      watch: () => ({
        [Symbol.asyncIterator]: () => {
          let sent = false;
          return {
            next: (): Promise<IteratorResult<DiscoveryEvent>> => {
              if (sent) return new Promise(() => {});
              sent = true;
              return Promise.resolve({
                value: {
                  snapshot: { ...snap, revision },
                  diff: { added: snap.instances, removed: [], updated: [] },
                  reason: 'initial',
                  stale: false,
                },
                done: false,
              });
            },
          };
        },
      }),
      // The store was wiped and restarted: low revisions, the ghost gone.
      resolve: async (service, options) => ({ ...(await memory.resolve(service, options)), revision: 3 }),
    };
    await using client = createDiscoveryClient({ backend, resyncInterval: 0 });
    expect(ids((await client.resolve('api')).instances)).toEqual(['a1', 'ghost']);
    revision = 0;
    await ghost.close();
    expect(await client.resync('api')).toMatchObject({ removed: [] }); // first lower read: not trusted yet
    const diff = await client.resync('api');
    expect(ids(diff.removed)).toEqual(['ghost']);
    expect(ids((await client.resolve('api')).instances)).toEqual(['a1']);
    expect(client.status('api').revisionRegressions).toBe(1);
  });

  it('marks the cache stale as soon as the backend reports its watch stale, and recovers with a resync', async () => {
    const { memory } = env();
    await memory.register(inst('a1'));
    const snap = await memory.resolve('api');
    const queue: DiscoveryEvent[] = [
      {
        snapshot: snap,
        diff: { added: snap.instances, removed: [], updated: [] },
        reason: 'initial',
        stale: false,
      },
    ];
    let wake: () => void = () => {};
    const backend: DiscoveryBackend = {
      ...memory,
      watch: () => ({
        [Symbol.asyncIterator]: () => ({
          next: async () => {
            while (queue.length === 0) await new Promise<void>((r) => (wake = r));
            return { value: queue.shift()!, done: false };
          },
        }),
      }),
    };
    await using client = createDiscoveryClient({ backend });
    const stale: string[] = [];
    client.on('discovery:stale', ({ service }) => stale.push(service));
    client.on('discovery:recovered', ({ service }) => stale.push(`recovered:${service}`));
    await client.resolve('api');
    queue.push({
      snapshot: snap,
      diff: { added: [], removed: [], updated: [] },
      reason: 'change',
      stale: true,
    });
    wake();
    await new Promise((r) => setTimeout(r, 10));
    expect(stale).toEqual(['api']);
    expect((await client.resolve('api')).stale).toBe(true);
    queue.push({
      snapshot: { ...snap, revision: snap.revision + 1 },
      diff: { added: [], removed: [], updated: [] },
      reason: 'change',
      stale: false,
    });
    wake();
    await new Promise((r) => setTimeout(r, 10));
    expect(stale).toEqual(['api', 'recovered:api']);
    expect((await client.resolve('api')).stale).toBe(false);
  });
});
