import { randomUUID } from 'node:crypto';
import type {
  DiscoveryBackend,
  DiscoveryEvent,
  InstanceHealth,
  InstanceInput,
  Registration,
  ServiceSnapshot,
} from '@switchyard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  activeSockets,
  delay,
  eventually,
  expectSwitchyardError,
  settleWithin,
  trackTimers,
} from './expect-error.js';

export interface DiscoveryConformanceTarget {
  /** Two clients on the same backend: one registers, the other resolves/watches, like two processes. */
  a: DiscoveryBackend;
  b: DiscoveryBackend;
  cleanup?: () => Promise<void>;
  /**
   * Optional fault hook: interrupt the backend (restart the server, drop connections) and resolve
   * when it serves again. When given, the suite checks that a watch loses no change across it.
   */
  interrupt?: () => Promise<void>;
  /**
   * Optional fault hook: make the backend forget every registration (wipe its data, restart the
   * agent). When given, the suite checks that a registration reports the loss, re-creates itself
   * and reports the restore.
   */
  forget?: () => Promise<void>;
  /**
   * For a read-only backend (`readOnly`): registers an instance through the backend's own API (a
   * test hook, e.g. writing an EndpointSlice), so the read side can be checked. The returned handle's
   * `setHealth` and `close` change and remove it the same way.
   */
  register?: (instance: InstanceInput, options?: { ttl?: number }) => Promise<Registration>;
}

export interface DiscoveryConformanceOptions {
  name: string;
  create: () => Promise<DiscoveryConformanceTarget>;
  ttlGranularity?: 'milliseconds' | 'seconds';
  /** Registration TTL used by the heartbeat test (default 300 ms, or 2000 ms for 'seconds'). */
  shortTtl?: number;
  /** Bound for a change to reach a watcher (default 2000 ms). */
  propagationBound?: number;
  checkTimers?: boolean;
  /**
   * The backend cannot register (`capabilities.register` false): instances come from the target's
   * `register` hook, `register` itself must reject with `UNSUPPORTED`, and the tests of the
   * registration handle (heartbeats, loss, duplicate ids) are skipped.
   */
  readOnly?: boolean;
  /** Health states the backend (or its hook) can express (default all four). */
  healthStates?: readonly InstanceHealth[];
  /** Metadata keys the backend adds on its own (Kubernetes node, pod…), ignored when comparing metadata. */
  ownMetadata?: RegExp;
}

/** The discovery contract of DESIGN.md. Call inside a vitest file. */
export function runDiscoveryConformance(options: DiscoveryConformanceOptions): void {
  const seconds = options.ttlGranularity === 'seconds';
  const shortTtl = options.shortTtl ?? (seconds ? 2000 : 300);
  const bound = options.propagationBound ?? 2000;
  const readOnly = options.readOnly ?? false;
  const states = options.healthStates ?? ['passing', 'warning', 'critical', 'maintenance'];
  const degraded: InstanceHealth = states.includes('warning')
    ? 'warning'
    : (states.find((h) => h !== 'passing' && h !== 'critical') ?? 'critical');
  const own = (metadata: Readonly<Record<string, string>>) =>
    Object.fromEntries(Object.entries(metadata).filter(([k]) => !options.ownMetadata?.test(k)));
  const readOnlySkip = "read-only backend: registration is the platform's job";

  describe(`discovery conformance: ${options.name}`, () => {
    let t: DiscoveryConformanceTarget;
    let a: DiscoveryBackend;
    let b: DiscoveryBackend;
    let service: string;
    const inst = (id: string, extra: Partial<InstanceInput> = {}): InstanceInput => ({
      id,
      service,
      address: '127.0.0.1',
      port: 8000 + Number.parseInt(id.replace(/\D/g, '') || '1', 10),
      ...extra,
    });

    beforeEach(async () => {
      service = `svc-${randomUUID().slice(0, 8)}`;
      t = await options.create();
      a = t.a;
      b = t.b;
    });
    afterEach(async () => {
      await t.cleanup?.();
    });

    /** Registers through the backend, or through the target's hook for a read-only backend. */
    function reg(target: DiscoveryConformanceTarget, input: InstanceInput, opts?: { ttl?: number }) {
      if (!readOnly) return target.a.register(input, opts);
      if (!target.register) throw new Error('a readOnly target needs a register hook');
      return target.register(input, opts);
    }

    /** Collects watch events in the background. */
    function collect(backend: DiscoveryBackend, filter?: Parameters<DiscoveryBackend['watch']>[1]) {
      const events: DiscoveryEvent[] = [];
      const ac = new AbortController();
      const done = (async () => {
        for await (const e of backend.watch(service, { ...filter, signal: ac.signal })) events.push(e);
      })();
      return {
        events,
        last: (): ServiceSnapshot | undefined => events.at(-1)?.snapshot,
        ids: () => (events.at(-1)?.snapshot.instances ?? []).map((i) => i.id),
        stop: async () => {
          ac.abort();
          await done;
        },
      };
    }

    it('register makes the instance resolvable from another client, with defaults filled in', async () => {
      await using _reg = await reg(t, inst('i1', { tags: ['v1'], metadata: { team: 'core' }, zone: 'z1' }));
      await eventually(
        async () => (await b.resolve(service)).instances.length === 1,
        bound,
        'instance visible',
      );
      const snap = await b.resolve(service);
      expect(snap.service).toBe(service);
      const i = snap.instances[0]!;
      expect(i).toMatchObject({
        id: 'i1',
        service,
        address: '127.0.0.1',
        port: 8001,
        weight: 1,
        health: 'passing',
        zone: 'z1',
      });
      expect(i.tags).toEqual(['v1']);
      expect(own(i.metadata)).toEqual({ team: 'core' });
      expect(typeof snap.revision).toBe('number');
      expect(await b.services()).toContain(service);
    });

    it('close() deregisters', async () => {
      const handle = await reg(t, inst('i1'));
      await eventually(async () => (await b.resolve(service)).instances.length === 1, bound, 'registered');
      await handle.close();
      await handle.close();
      await eventually(async () => (await b.resolve(service)).instances.length === 0, bound, 'deregistered');
    });

    it('resolve filters by health (passing by default), tags, metadata and zone', async () => {
      await using r1 = await reg(
        t,
        inst('i1', { tags: ['a', 'b'], metadata: { v: '1' }, zone: 'z1', region: 'r1' }),
      );
      await using _r2 = await reg(
        t,
        inst('i2', { tags: ['a'], metadata: { v: '2' }, zone: 'z2', region: 'r1' }),
      );
      await eventually(async () => (await b.resolve(service)).instances.length === 2, bound, 'both visible');
      const ids = async (f: Parameters<DiscoveryBackend['resolve']>[1]) =>
        (await b.resolve(service, f)).instances.map((i) => i.id);
      expect(await ids({ filter: { tags: ['b'] } })).toEqual(['i1']);
      expect(await ids({ filter: { metadata: { v: '2' } } })).toEqual(['i2']);
      expect(await ids({ filter: { zone: 'z2' } })).toEqual(['i2']);
      expect(await ids({ filter: { region: 'r1' } })).toEqual(['i1', 'i2']);
      await r1.setHealth('critical');
      await eventually(
        async () => (await ids(undefined)).join() === 'i2',
        bound,
        'critical instance filtered out',
      );
      expect(await ids({ filter: { health: ['critical'] } })).toEqual(['i1']);
      expect(await ids({ filter: { health: ['passing', 'critical'] } })).toEqual(['i1', 'i2']);
      if (states.includes('maintenance')) {
        await r1.setHealth('maintenance');
        await eventually(
          async () => (await ids({ filter: { health: ['maintenance'] } })).join() === 'i1',
          bound,
          'maintenance',
        );
      }
      await r1.setHealth('passing');
      await eventually(async () => (await ids(undefined)).length === 2, bound, 'back to passing');
    });

    it('watch yields an initial snapshot, then every change with a diff and a monotonic revision', async () => {
      await using _r1 = await reg(t, inst('i1'));
      await eventually(async () => (await b.resolve(service)).instances.length === 1, bound, 'i1 visible');
      const w = collect(b);
      await eventually(() => w.events.length >= 1, bound, 'initial event');
      expect(w.events[0]!.reason).toBe('initial');
      expect(w.events[0]!.stale).toBe(false);
      expect(w.ids()).toEqual(['i1']);
      expect(w.events[0]!.diff.added.map((i) => i.id)).toEqual(['i1']);

      const r2 = await reg(t, inst('i2'));
      await eventually(() => w.ids().join() === 'i1,i2', bound, 'i2 added');
      const addEvent = w.events.find((e) => e.diff.added.some((i) => i.id === 'i2'))!;
      expect(addEvent.reason).not.toBe('initial');

      await r2.setHealth('critical');
      await eventually(() => w.ids().join() === 'i1', bound, 'i2 filtered when critical');
      expect(w.events.some((e) => e.diff.removed.some((i) => i.id === 'i2'))).toBe(true);

      await r2.setHealth('passing');
      await eventually(() => w.ids().join() === 'i1,i2', bound, 'i2 back');
      await r2.close();
      await eventually(() => w.ids().join() === 'i1', bound, 'i2 removed');
      await w.stop();

      for (let i = 1; i < w.events.length; i++) {
        expect(w.events[i]!.snapshot.revision).toBeGreaterThanOrEqual(w.events[i - 1]!.snapshot.revision);
      }
      expect(w.events.at(-1)!.snapshot.revision).toBeGreaterThan(w.events[0]!.snapshot.revision);
      // Replaying the diffs over the initial snapshot gives the final snapshot.
      const state = new Map<string, unknown>();
      for (const e of w.events) {
        for (const i of e.diff.added) state.set(i.id, i);
        for (const i of e.diff.updated) state.set(i.id, i);
        for (const i of e.diff.removed) state.delete(i.id);
      }
      expect([...state.keys()].sort()).toEqual(w.ids());
    });

    it('watch reports updates to registered instances with setHealth when the filter includes them', async () => {
      await using r1 = await reg(t, inst('i1'));
      const w = collect(b, { filter: { health: ['passing', 'warning', 'critical', 'maintenance'] } });
      await eventually(() => w.ids().join() === 'i1', bound, 'initial');
      await r1.setHealth(degraded);
      await eventually(
        () => w.events.some((e) => e.diff.updated.some((i) => i.id === 'i1' && i.health === degraded)),
        bound,
        'updated',
      );
      await w.stop();
    });

    it('several watchers of one service each get every change; ending the loop stops the watch', async () => {
      const w1 = collect(b);
      const w2 = collect(b);
      const w3 = collect(a);
      await using _r = await reg(t, inst('i7'));
      for (const w of [w1, w2, w3])
        await eventually(() => w.ids().join() === 'i7', bound, 'all watchers see i7');
      await Promise.all([w1.stop(), w2.stop(), w3.stop()]);
    });

    it('heartbeats keep a registration alive past its TTL', async (ctx) => {
      if (readOnly) ctx.skip(readOnlySkip);
      await using _reg = await a.register(inst('i1'), { ttl: shortTtl });
      await delay(shortTtl * 2.5);
      expect((await b.resolve(service)).instances.map((i) => i.id)).toEqual(['i1']);
    });

    it('a watch loses no change across a backend interruption', async (ctx) => {
      if (!t.interrupt) ctx.skip('the target has no interrupt() hook');
      await using _r1 = await reg(t, inst('i1'));
      const w = collect(b);
      await eventually(() => w.ids().join() === 'i1', bound, 'initial');
      await t.interrupt!();
      await using _r2 = await reg(t, inst('i2'));
      await eventually(() => w.ids().join() === 'i1,i2', bound * 5, 'change after interruption delivered');
      await w.stop();
    });

    it('a registration the backend forgot reports the loss, re-registers itself and reports the restore', async (ctx) => {
      if (readOnly) ctx.skip(readOnlySkip);
      if (!t.forget) ctx.skip('the target has no forget() hook');
      const handle = await a.register(inst('i1'), { ttl: shortTtl });
      const log: string[] = [];
      handle.on('registration:lost', () => log.push('lost'));
      handle.on('registration:restored', () => log.push('restored'));
      await eventually(async () => (await b.resolve(service)).instances.length === 1, bound, 'registered');
      await t.forget!();
      await eventually(
        () => log.join() === 'lost,restored',
        shortTtl * 4 + bound,
        () => `events: ${log.join()}`,
      );
      await eventually(
        async () => (await b.resolve(service)).instances.length === 1,
        bound,
        'registered again',
      );
      await handle.close();
    });

    it('a second registration of the same instance id on one client is refused with CONFLICT', async (ctx) => {
      if (readOnly) ctx.skip(readOnlySkip);
      const handle = await a.register(inst('i1'));
      await expectSwitchyardError(() => a.register(inst('i1', { port: 9999 })), 'CONFLICT');
      await handle.close();
      const again = await a.register(inst('i1'));
      await again.close();
    });

    it('rejects unknown option keys, non-AbortSignal signals and malformed filters', async () => {
      if (!readOnly) {
        await expectSwitchyardError(
          () => a.register(inst('i1'), { tll: 5000 } as never),
          'INVALID_ARGUMENT',
          'tll',
        );
      }
      await expectSwitchyardError(
        () => a.resolve(service, { signal: {} as AbortSignal }),
        'INVALID_ARGUMENT',
        'signal',
      );
      await expectSwitchyardError(
        () => a.watch(service, { signal: {} as AbortSignal }),
        'INVALID_ARGUMENT',
        'signal',
      );
      await expectSwitchyardError(
        () => a.resolve(service, { filter: { zonee: 'z1' } as never }),
        'INVALID_ARGUMENT',
        'filter.zonee',
      );
      await expectSwitchyardError(
        () => a.resolve(service, { filter: { tags: 'a' as never } }),
        'INVALID_ARGUMENT',
        'filter.tags',
      );
      if (readOnly) {
        expect((await b.resolve(service)).instances).toEqual([]);
        return;
      }
      await expectSwitchyardError(
        () => a.register(inst('i1', { address: '999.1.1.1' })),
        'INVALID_ARGUMENT',
        'instance.address',
      );
      await expectSwitchyardError(
        () => a.register(inst('i1', { address: '0.0.0.0' })),
        'INVALID_ARGUMENT',
        'instance.address',
      );
      await expectSwitchyardError(
        () => a.register(inst('i1', { metadata: { big: 'x'.repeat(2 * 1024 * 1024) } })),
        'INVALID_ARGUMENT',
        'instance.metadata.big',
      );
      // The client is still healthy after all of that.
      await using _reg = await a.register(inst('i2'));
      await eventually(
        async () => (await b.resolve(service)).instances.length === 1,
        bound,
        'valid call works',
      );
    });

    it('rejects bad input with INVALID_ARGUMENT naming the field', async () => {
      if (readOnly) {
        await expectSwitchyardError(() => a.register(inst('i1')), 'UNSUPPORTED');
        expect(a.capabilities.register).toBe(false);
        await expectSwitchyardError(() => a.resolve(''), 'INVALID_ARGUMENT', 'service');
        await expectSwitchyardError(() => a.resolve('bad name!'), 'INVALID_ARGUMENT', 'service');
        await expectSwitchyardError(() => a.watch('bad name!'), 'INVALID_ARGUMENT', 'service');
        await expectSwitchyardError(
          () => a.resolve(service, { filter: { zone: 1 as never } }),
          'INVALID_ARGUMENT',
          'filter.zone',
        );
        expect((await b.resolve(service)).instances).toEqual([]);
        return;
      }
      await expectSwitchyardError(
        () => a.register(inst('i1', { service: '' })),
        'INVALID_ARGUMENT',
        'instance.service',
      );
      await expectSwitchyardError(
        () => a.register(inst('i1', { service: 'bad name!' })),
        'INVALID_ARGUMENT',
        'instance.service',
      );
      await expectSwitchyardError(() => a.register(inst('', {})), 'INVALID_ARGUMENT', 'instance.id');
      await expectSwitchyardError(
        () => a.register(inst('i1', { port: 0 })),
        'INVALID_ARGUMENT',
        'instance.port',
      );
      await expectSwitchyardError(
        () => a.register(inst('i1', { port: 65536 })),
        'INVALID_ARGUMENT',
        'instance.port',
      );
      await expectSwitchyardError(
        () => a.register(inst('i1', { port: 1.5 })),
        'INVALID_ARGUMENT',
        'instance.port',
      );
      await expectSwitchyardError(
        () => a.register(inst('i1', { address: '' })),
        'INVALID_ARGUMENT',
        'instance.address',
      );
      await expectSwitchyardError(
        () => a.register(inst('i1', { address: 'not an address' })),
        'INVALID_ARGUMENT',
        'instance.address',
      );
      await expectSwitchyardError(
        () => a.register(inst('i1', { weight: -1 })),
        'INVALID_ARGUMENT',
        'instance.weight',
      );
      await expectSwitchyardError(() => a.register(inst('i1'), { ttl: 0 }), 'INVALID_ARGUMENT', 'ttl');
      await expectSwitchyardError(() => a.register(inst('i1'), { ttl: -1 }), 'INVALID_ARGUMENT', 'ttl');
      await expectSwitchyardError(() => a.resolve(''), 'INVALID_ARGUMENT', 'service');
      await expectSwitchyardError(() => a.watch('bad name!'), 'INVALID_ARGUMENT', 'service');
      expect((await b.resolve(service)).instances).toEqual([]);
    });

    it('close() ends watches, stops heartbeats and leaves no timers or sockets behind', async (ctx) => {
      if (options.checkTimers === false) ctx.skip('checkTimers: false for this target');
      await t.cleanup?.();
      t = { a, b };
      await delay(50);
      const sockets = activeSockets();
      const timers = trackTimers();
      try {
        const fresh = await options.create();
        t = fresh;
        await reg(fresh, inst('i1'), { ttl: shortTtl });
        const events: DiscoveryEvent[] = [];
        const loop = (async () => {
          for await (const e of fresh.b.watch(service)) events.push(e);
          return 'ended';
        })();
        await eventually(() => events.at(-1)?.snapshot.instances.length === 1, bound, 'registered');
        await fresh.cleanup?.();
        t = { a: fresh.a, b: fresh.b };
        const outcome = await settleWithin(
          loop.catch((e: unknown) => e),
          5000,
        );
        expect(outcome, 'a watch must end when its client closes').not.toBe('timeout');
        await eventually(
          () => timers.live() === 0,
          3000,
          () => `no live timers; created at:\n${timers.describeLive()}`,
        );
        await eventually(
          () => activeSockets() <= sockets,
          3000,
          () => `open sockets back to ${sockets} (now ${activeSockets()})`,
        );
      } finally {
        timers.restore();
      }
    });
  });
}
