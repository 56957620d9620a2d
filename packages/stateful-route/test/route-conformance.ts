/**
 * One suite for every route store (memory and Redis): placement, routability, drain, failover,
 * fencing, persistence windows, batch reads, cache coherence and bad input, through the client
 * and server drivers. Real time with short leases (heartbeat 100 ms, TTL 300 ms).
 */
import { delay, eventually, expectSwitchyardError } from '@switchyard/testkit/conformance';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createRouteClient,
  createRouteServer,
  type RouteClient,
  type RouteClientOptions,
  type RouteServer,
  type RouteServerOptions,
  type RouteStore,
} from '../src/index.js';

export interface RouteConformanceTarget {
  name: string;
  /** A store; each call may return a new connection to the same backend. */
  store(): RouteStore | Promise<RouteStore>;
  teardown?(): Promise<void>;
  /** Pod lease TTL for the suite, ms (default 1 000; heartbeats every 100 ms). */
  ttl?: number;
}

const HB = 100;

export function runRouteConformance(target: RouteConformanceTarget): void {
  const TTL = target.ttl ?? 1_000;
  describe(`route conformance: ${target.name}`, () => {
    let store: RouteStore;
    /** The pods' own connection (pods and callers are different processes in production). */
    let podStore: RouteStore;
    let n = 0;
    const open: { close(): Promise<void> }[] = [];
    let service = '';
    beforeAll(async () => {
      store = await target.store();
      podStore = await target.store();
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((o) => o.close()));
    });
    afterAll(async () => {
      await store.close();
      await podStore.close();
      await target.teardown?.();
    });
    const nextService = () => {
      service = `svc-${++n}-${Math.random().toString(36).slice(2, 8)}`;
      return service;
    };
    async function pods(count: number, extra: Partial<RouteServerOptions> = {}): Promise<RouteServer[]> {
      const out: RouteServer[] = [];
      for (let i = 0; i < count; i++) {
        const s = createRouteServer({
          store: podStore,
          service,
          pod: `pod-${i}`,
          heartbeat: HB,
          ttl: TTL,
          ...extra,
        });
        await s.start();
        open.push(s);
        out.push(s);
      }
      return out;
    }
    function client(extra: Partial<RouteClientOptions> = {}): RouteClient {
      const c = createRouteClient({ store, stateRefreshInterval: 50, ...extra });
      open.push(c);
      return c;
    }
    const tally = (pods: string[]) => {
      const m = new Map<string, number>();
      for (const p of pods) m.set(p, (m.get(p) ?? 0) + 1);
      return m;
    };

    it('places each user on exactly one pod; concurrent callers agree; balanced', async () => {
      nextService();
      await pods(5);
      const callers = [client(), client(), client()];
      const uids = Array.from({ length: 400 }, (_, i) => `u${i}`);
      const results = await Promise.all(
        callers.map((c) => Promise.all(uids.map((u) => c.computeLinkedPod('ns', u, service)))),
      );
      for (let i = 0; i < uids.length; i++) {
        expect(new Set(results.map((r) => r[i])).size).toBe(1);
      }
      const counts = [...tally(results[0]!).values()];
      expect(counts).toHaveLength(5);
      const mean = uids.length / 5;
      expect(Math.max(...counts) / mean).toBeLessThanOrEqual(1.1);
      // Hits come from the cache now; the store agrees.
      const again = await Promise.all(uids.map((u) => callers[1]!.computeLinkedPod('ns', u, service)));
      expect(again).toEqual(results[0]);
      expect(callers[1]!.stats().hits).toBeGreaterThanOrEqual(uids.length);
      const fresh = client();
      expect(await Promise.all(uids.map((u) => fresh.getLinkedPodNotCache('ns', u, service)))).toEqual(
        results[0],
      );
    });

    it('weighs new users by published load score and capacity', async () => {
      nextService();
      const [a, b] = await pods(3);
      await a!.setLoadState(100); // cost ×2
      await b!.setLoadState(0);
      const c = client({ strategy: 'least-loaded' });
      const placed = await Promise.all(
        Array.from({ length: 500 }, (_, i) => c.computeLinkedPod('ns', `w${i}`, service)),
      );
      const t = tally(placed);
      expect(t.get('pod-0')! / t.get('pod-1')!).toBeGreaterThan(0.4);
      expect(t.get('pod-0')! / t.get('pod-1')!).toBeLessThan(0.6);
    });

    it('scale-out moves no existing user; new users fill the new pod first', async () => {
      nextService();
      await pods(3);
      const c = client();
      const uids = Array.from({ length: 150 }, (_, i) => `s${i}`);
      const before = await Promise.all(uids.map((u) => c.computeLinkedPod('ns', u, service)));
      await pods(1, { pod: 'pod-new' });
      const fresh = client(); // no cache: every answer comes from the store
      expect(await Promise.all(uids.map((u) => fresh.computeLinkedPod('ns', u, service)))).toEqual(before);
      expect(fresh.stats().moved).toBe(0);
      const newcomers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => fresh.computeLinkedPod('ns', `n${i}`, service)),
      );
      expect(newcomers.every((p) => p === 'pod-new')).toBe(true);
    });

    it('opt-in rebalance moves users to a new pod on cache misses, within the move budget', async () => {
      nextService();
      await pods(1);
      const seed = client();
      const uids = Array.from({ length: 60 }, (_, i) => `r${i}`);
      for (const u of uids) expect(await seed.computeLinkedPod('ns', u, service)).toBe('pod-0');
      await pods(1, { pod: 'pod-1' });
      const c = client({ cacheSize: 0, rebalance: 1.5, moveBudget: { perInterval: 10, interval: 60_000 } });
      const moves: string[] = [];
      c.on('link:moved', (e) => {
        expect(e).toMatchObject({ from: 'pod-0', pod: 'pod-1', reason: 'rebalance' });
        moves.push(e.uid);
      });
      const after = await Promise.all(uids.map((u) => c.computeLinkedPod('ns', u, service)));
      expect(moves).toHaveLength(10); // the budget, though 60 vs 0 is far from balanced
      expect(after.filter((p) => p === 'pod-1')).toHaveLength(10);
      // Without the option nothing moves.
      const plain = client({ cacheSize: 0 });
      expect(await Promise.all(uids.map((u) => plain.computeLinkedPod('ns', u, service)))).toEqual(after);
      expect(plain.stats().moved).toBe(0);
    });

    it('never returns FORBIDDEN, DRAINING (for new users) or dead pods', async () => {
      nextService();
      const [p0, p1, p2] = await pods(3);
      const c = client();
      await p0!.setRoutingState('FORBIDDEN');
      await p1!.drain();
      await p2!.close(); // stops heartbeating: dead after TTL
      await delay(TTL + 50);
      await expectSwitchyardError(c.computeLinkedPod('ns', 'x', service), 'NO_AVAILABLE_INSTANCE');
      const [p3] = await pods(1, { pod: 'pod-3' });
      await eventually(
        async () => (await c.computeLinkedPod('ns', 'y', service)) === 'pod-3',
        2_000,
        'pod-3',
      );
      for (let i = 0; i < 50; i++) expect(await c.computeLinkedPod('ns', `z${i}`, service)).toBe('pod-3');
      expect(p3!.serving).toBe(true);
    });

    it('drain keeps existing users (no new links); drain with move moves them, one event each, within the budget', async () => {
      nextService();
      const [p0] = await pods(2);
      const c = client({ moveBudget: { perInterval: 5, interval: 60_000 } });
      const mine: string[] = [];
      for (let i = 0; mine.length < 10; i++) {
        if ((await c.computeLinkedPod('ns', `d${i}`, service)) === 'pod-0') mine.push(`d${i}`);
      }
      await p0!.drain();
      for (let i = 0; i < 20; i++) expect(await c.computeLinkedPod('ns', `new${i}`, service)).toBe('pod-1');
      for (const u of mine) expect(await c.computeLinkedPod('ns', u, service)).toBe('pod-0');
      const moves: string[] = [];
      c.on('link:moved', (e) => {
        expect(e.from).toBe('pod-0');
        expect(e.reason).toBe('drain');
        moves.push(e.uid);
      });
      await p0!.drain({ move: true });
      await eventually(
        () => c.getLinkedInCache('ns', mine[0]!, service) === undefined,
        2_000,
        'cache invalidated',
      );
      const after = await Promise.all(mine.map((u) => c.computeLinkedPod('ns', u, service)));
      // The budget (5 per interval) caps the moves; the rest stay on the draining pod meanwhile.
      expect(after.filter((p) => p === 'pod-1')).toHaveLength(5);
      expect(moves).toHaveLength(5);
      // Released users land elsewhere at once.
      const stay = mine.filter((_, i) => after[i] === 'pod-0');
      await p0!.removeLinkedPod('ns', stay[0]!);
      expect(await c.computeLinkedPod('ns', stay[0]!, service)).toBe('pod-1');
    });

    it('fails over: a dead pod’s users move within TTL; reportUnreachable shortens it', async () => {
      nextService();
      const [p0] = await pods(2);
      const c = client();
      let u = 0;
      while ((await c.computeLinkedPod('ns', `f${u}`, service)) !== 'pod-0') u++;
      await p0!.close(); // lease lapses
      const t0 = Date.now();
      await eventually(
        async () => (await c.computeLinkedPod('ns', `f${u}`, service)) === 'pod-1',
        3_000,
        'moved',
      );
      expect(Date.now() - t0).toBeLessThan(TTL + 250);

      // reportUnreachable: a pod that stopped beating is declared dead before its TTL.
      nextService();
      const [q0] = await pods(2, { heartbeat: 100, ttl: 1_000 });
      let v = 0;
      while ((await c.computeLinkedPod('ns', `g${v}`, service)) !== 'pod-0') v++;
      expect(await c.reportUnreachable(service, 'pod-0')).toBe(false); // beating: not dead
      await q0!.close();
      const closedAt = Date.now();
      await delay(200);
      const c2 = client();
      expect(await c2.reportUnreachable(service, 'pod-0')).toBe(false); // 200 ms < TTL / 2: maybe just slow
      await delay(400);
      const reported = Date.now();
      expect(await c2.reportUnreachable(service, 'pod-0')).toBe(true); // 600 ms > TTL / 2: dead now, not at 1 000
      expect(reported - closedAt).toBeLessThan(900);
      await eventually(() => c.getLinkedInCache('ns', `g${v}`, service) === undefined, 1_000, 'invalidated');
      expect(await c.computeLinkedPod('ns', `g${v}`, service)).toBe('pod-1');
    });

    it('fences a pod whose lease lapsed: new epoch, old links void, lost users reported', async () => {
      nextService();
      // Heartbeat slower than the TTL: the lease lapses between beats (a paused pod).
      const slow = createRouteServer({ store: podStore, service, pod: 'pod-0', heartbeat: 1_400, ttl: 600 });
      await slow.start();
      open.push(slow);
      await pods(1, { pod: 'pod-1' });
      const c = client();
      const users: string[] = [];
      for (let i = 0; users.length < 3 && i < 100; i++) {
        if ((await c.computeLinkedPod('ns', `e${i}`, service)) === 'pod-0') users.push(`e${i}`);
      }
      const firstEpoch = slow.epoch;
      expect(await slow.assertOwner('ns', users[0]!)).toBe(firstEpoch);
      const fenced = new Promise<{ lostEpoch: number; epoch: number }>((r) => slow.on('pod:fenced', r));
      await delay(650);
      expect(slow.serving).toBe(false);
      await expectSwitchyardError(slow.assertOwner('ns', users[0]!), 'CONFLICT');
      // Meanwhile the first user moved.
      expect(await c.computeLinkedPod('ns', users[0]!, service)).toBe('pod-1');
      const f = await fenced;
      expect(f.lostEpoch).toBe(firstEpoch);
      expect(f.epoch).toBeGreaterThan(firstEpoch);
      // Back with a new epoch: none of its old users is silently its own.
      const check = await slow.checkLinks('ns', users);
      expect(check.owned).toEqual([]);
      expect(check.lost).toEqual(users);
    });

    it('CAS moves, setLinkedPodIfAbsent, persistSeconds windows', async () => {
      nextService();
      const [p0, p1] = await pods(2);
      const c = client();
      expect(await c.setLinkedPodIfAbsent('ns', 'k', service, 'pod-0')).toBe('pod-0');
      expect(await c.setLinkedPodIfAbsent('ns', 'k', service, 'pod-1')).toBe('pod-0');
      await expectSwitchyardError(p1!.setLinkedPod('ns', 'k', { expect: 'pod-9' }), 'CONFLICT');
      expect(await p1!.setLinkedPod('ns', 'k', { expect: 'pod-0' })).toBe(p1!.epoch);
      expect(await c.getLinkedPodNotCache('ns', 'k', service)).toBe('pod-1');
      expect(await p0!.trySetLinkedPod('ns', 'k')).toBe('pod-1');
      // Released with a window: not linked, but a returning user goes back.
      expect(await p1!.removeLinkedPodWithId('ns', 'k', 'pod-1', 0.3)).toBe(true);
      c.cacheExpired('ns', 'k', service);
      expect(await c.getLinkedPod('ns', 'k', service)).toBeUndefined();
      expect(await c.getLinkedPodInCacheOrIfPersist('ns', 'k', service)).toBe('pod-1');
      expect(await c.computeLinkedPod('ns', 'k', service)).toBe('pod-1');
      expect(await c.getLinkedPodNotCache('ns', 'k', service)).toBe('pod-1');
      // Window elapsed: a fresh placement.
      await p1!.removeLinkedPodWithId('ns', 'k', 'pod-1', 0.1);
      await delay(150);
      expect(await c.getLinkedPodInCacheOrIfPersist('ns', 'k', service)).toBeUndefined();
      expect(await p0!.removeLinkedPod('ns', 'nobody')).toBe(false);
    });

    it('batch reads, services of a user, cache primitives', async () => {
      const s1 = nextService();
      await pods(3);
      const c = client();
      const uids = Array.from({ length: 100 }, (_, i) => `b${i}`);
      const placed = await Promise.all(uids.map((u) => c.computeLinkedPod('ns', u, s1)));
      const { byPod, unlinked } = await c.batchGetLinkedPod('ns', [...uids, 'none'], s1);
      expect(unlinked).toEqual(['none']);
      for (const [pod, list] of byPod) for (const u of list) expect(placed[uids.indexOf(u)]).toBe(pod);
      expect([...byPod.values()].flat()).toHaveLength(100);
      const s2 = nextService();
      await pods(1, { pod: 'other' });
      await c.computeLinkedPod('ns', 'b0', s2);
      expect(await c.getLinkService('ns', 'b0')).toMatchObject({ [s1]: placed[0], [s2]: 'other' });
      expect(c.getLinkedInCache('ns', 'b0', s2)).toBe('other');
      c.cacheExpired('ns', 'b0', s2);
      expect(c.getLinkedInCache('ns', 'b0', s2)).toBeUndefined();
      await c.setCache('ns', 'b0', s2, 'other');
      expect(c.getLinkedInCache('ns', 'b0', s2)).toBe('other');
      const user = await c.describeUser('ns', 'b0');
      expect(user[s2]).toMatchObject({ pod: 'other', valid: true, till: 0 });
      expect(user[s1]?.pod).toBe(placed[0]);
      const pod = await c.describePod(s2, 'other');
      expect(pod).toMatchObject({ pod: 'other', state: 'NORMAL', links: 1 });
      expect(await c.describePod(s2, 'ghost')).toBeUndefined();
    });

    it('invalidates cached links when the pod’s published state changes (not only by TTL)', async () => {
      nextService();
      const [p0] = await pods(2);
      const c = client({ stateRefreshInterval: 60_000, cacheTtl: 600_000 });
      let u = 0;
      while ((await c.computeLinkedPod('ns', `c${u}`, service)) !== 'pod-0') u++;
      expect(c.getLinkedInCache('ns', `c${u}`, service)).toBe('pod-0');
      await p0!.setRoutingState('FORBIDDEN');
      await eventually(() => c.getLinkedInCache('ns', `c${u}`, service) === undefined, 1_000, 'pushed');
      expect(c.stats().staleCorrections).toBeGreaterThanOrEqual(1);
      expect(await c.computeLinkedPod('ns', `c${u}`, service)).toBe('pod-1');
    });

    it('rejects bad input with INVALID_ARGUMENT naming the field', async () => {
      nextService();
      const [p0] = await pods(1);
      const c = client();
      await expectSwitchyardError(
        () => c.computeLinkedPod('', 'u', service),
        'INVALID_ARGUMENT',
        'namespace',
      );
      await expectSwitchyardError(() => c.computeLinkedPod('ns', '', service), 'INVALID_ARGUMENT', 'uid');
      await expectSwitchyardError(() => c.computeLinkedPod('ns', 'u', ''), 'INVALID_ARGUMENT', 'service');
      await expectSwitchyardError(
        c.setLinkedPodIfAbsent('ns', 'u', service, 'ghost'),
        'INVALID_ARGUMENT',
        'pod',
      );
      await expectSwitchyardError(c.setCache('ns', 'u', service, 'ghost'), 'INVALID_ARGUMENT', 'pod');
      await expectSwitchyardError(
        p0!.removeLinkedPodWithId('ns', 'u', 'pod-0', -1),
        'INVALID_ARGUMENT',
        'persistSeconds',
      );
      await expectSwitchyardError(() => p0!.setLoadState(101), 'INVALID_ARGUMENT', 'load');
      await expectSwitchyardError(
        c.batchGetLinkedPod('ns', ['a', ''], service),
        'INVALID_ARGUMENT',
        'uids[1]',
      );
      expect(() => createRouteServer({ store, service, pod: 'a|b' })).toThrow(/pod/);
      expect(() => createRouteClient({ store, cacheTtl: -1 })).toThrow(/cacheTtl/);
    });
  });
}
