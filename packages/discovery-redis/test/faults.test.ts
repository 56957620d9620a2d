import type { ChildProcess } from 'node:child_process';
import type { Registration } from '@switchyard/core';
import { eventually } from '@switchyard/testkit/conformance';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisDiscovery, type RedisDiscoveryOptions } from '../src/index.js';
import { collect, kill9, spawnRegistrant, track } from './helpers.js';
import { startTcpProxy } from './tcp-proxy.js';

// No persistence: a restart of this server loses everything.
let redis: RedisServer;
let n = 0;
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(children.map(kill9));
  await redis?.stop();
});

const TTL = 1500;
const inst = (id: string) => ({ id, service: 'api', address: '127.0.0.1', port: 8000 });
function discovery(prefix: string, extra: RedisDiscoveryOptions = {}) {
  return createRedisDiscovery({
    url: redis.url,
    prefix,
    ttl: TTL,
    requestTimeout: 500,
    sweepInterval: 200,
    backoff: { base: 50, max: 300 },
    ...extra,
  });
}
async function registrant(prefix: string, ttl: number, ids: string[]) {
  const child = await spawnRegistrant(redis.url, prefix, 'api', ttl, ids);
  children.push(child);
  return child;
}
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `i${from + i}`);

describe('fault: churn and dead registrants', () => {
  it('churn: every watcher counts every change exactly once', async () => {
    const prefix = `f${++n}:`;
    const writers = [discovery(prefix), discovery(prefix)];
    const watchers = [discovery(prefix), discovery(prefix), discovery(prefix)];
    const ws = watchers.map((w) => collect(w, 'api'));
    await eventually(() => ws.every((w) => w.events.length === 1), 2000, 'initial');
    const ids = range(0, 60);
    const regs = new Map<string, Registration>();
    await Promise.all(ids.map(async (id, i) => regs.set(id, await writers[i % 2]!.register(inst(id)))));
    await eventually(() => ws.every((w) => w.ids().length === 60), 3000, 'all registered');
    await Promise.all(ids.slice(0, 20).map((id) => regs.get(id)!.setHealth('critical')));
    await eventually(
      () =>
        ws.every(
          (w) =>
            w
              .view()
              .split(',')
              .filter((v) => v.endsWith(':critical')).length === 20,
        ),
      3000,
      'health changes',
    );
    await Promise.all(ids.slice(30).map((id) => regs.get(id)!.close()));
    await eventually(() => ws.every((w) => w.ids().length === 30), 3000, 'deregistrations');

    for (const w of ws) {
      const added = w.count('added');
      const removed = w.count('removed');
      expect([...added.keys()].sort()).toEqual([...ids].sort());
      expect([...added.values()].every((c) => c === 1)).toBe(true);
      expect([...removed.keys()].sort()).toEqual(ids.slice(30).sort());
      expect([...removed.values()].every((c) => c === 1)).toBe(true);
      expect(w.events.reduce((s, e) => s + e.diff.updated.length, 0)).toBe(20);
      expect(w.events.some((e) => e.reason === 'resync')).toBe(false);
      // 60 puts + 20 updates + 30 removals: the revision is the count of changes.
      expect(w.events.at(-1)!.snapshot.revision).toBe(110);
    }
    await Promise.all(ws.map((w) => w.stop()));
    await Promise.all([...writers, ...watchers].map((d) => d.close()));
  });

  it('kill -9 of registrant processes: each of their instances leaves every watcher once, within a TTL', async () => {
    const prefix = `f${++n}:`;
    await using local = discovery(prefix);
    await using watcher = discovery(prefix);
    await using _keep = await local.register(inst('keep'));
    const [c1, c2] = await Promise.all([
      registrant(prefix, TTL, range(0, 5)),
      registrant(prefix, TTL, range(5, 10)),
    ]);
    const w = collect(watcher, 'api');
    await eventually(() => w.ids().length === 11, 3000, 'all 11 registered');
    await kill9(c1!);
    const killed = Date.now();
    await eventually(() => w.ids().length === 6, TTL + 1500, 'first process gone');
    expect(Date.now() - killed).toBeLessThan(TTL + 1000);
    expect(w.ids()).toEqual([...range(5, 10), 'keep'].sort());
    await kill9(c2!);
    await eventually(() => w.ids().join() === 'keep', TTL + 1500, 'second process gone');
    const removed = w.count('removed');
    expect([...removed.keys()].sort()).toEqual(range(0, 10).sort());
    expect([...removed.values()].every((c) => c === 1)).toBe(true);
    expect(w.events.some((e) => e.reason === 'resync')).toBe(false);
    await w.stop();
  });
});

describe('fault: data loss', () => {
  for (const how of ['restart without persistence', 'FLUSHALL'] as const) {
    it(`${how}: registrations are re-created, watchers drop the ghost of a dead process`, async () => {
      const prefix = `f${++n}:`;
      await using a = discovery(prefix);
      await using b = discovery(prefix);
      const regs = await Promise.all(range(0, 5).map((id) => a.register(inst(id))));
      const logs = regs.map(track);
      // A process that dies with a long TTL: only the data loss itself can remove its instance.
      const ghost = await registrant(prefix, 60_000, ['ghost']);
      const w = collect(b, 'api');
      await eventually(() => w.ids().length === 6, 3000, 'initial');
      await kill9(ghost);
      if (how === 'FLUSHALL') await redis.command('FLUSHALL');
      else await redis.process.restart();
      const lost = Date.now();
      await eventually(() => logs.every((l) => l.join() === 'lost,restored'), TTL * 2, 'lost then restored');
      await eventually(() => w.ids().join() === range(0, 5).join(), TTL * 2, 'ghost dropped');
      expect(Date.now() - lost).toBeLessThan(TTL * 2);
      expect(w.count('removed').get('ghost')).toBe(1);
      expect((await b.resolve('api')).instances.map((i) => i.id)).toEqual(range(0, 5));
      expect(b.watchStats('api')!.regressions).toBeGreaterThanOrEqual(1);
      // Revisions seen by the watcher never go backwards, though Redis restarted counting.
      for (let i = 1; i < w.events.length; i++)
        expect(w.events[i]!.snapshot.revision).toBeGreaterThanOrEqual(w.events[i - 1]!.snapshot.revision);
      // And the watch goes on.
      await using _late = await a.register(inst('late'));
      await eventually(() => w.ids().includes('late'), 2000, 'change after the loss');
      await w.stop();
      await Promise.all(regs.map((r) => r.close()));
    });
  }
});

describe('fault: slow reader and paused server', () => {
  it('a stream trimmed past a slow reader: it relists and emits the exact diff', async () => {
    const prefix = `f${++n}:`;
    const proxy = await startTcpProxy(redis.port);
    // The writers trim the stream (every client of a prefix should use the same streamMaxLen).
    await using writer = discovery(prefix, { streamMaxLen: 10 });
    // The watcher's own sweeps would notice the stall too; keep them out of the way.
    await using watcher = createRedisDiscovery({
      url: proxy.url,
      prefix,
      streamMaxLen: 10,
      sweepInterval: 60_000,
      requestTimeout: 5000,
      backoff: { base: 50, max: 300 },
    });
    const stay = await writer.register(inst('stay'));
    const w = collect(watcher, 'api');
    await eventually(() => w.ids().join() === 'stay', 2000, 'initial');
    proxy.stall();
    const regs = await Promise.all(range(0, 150).map((id) => writer.register(inst(id))));
    await Promise.all(regs.slice(0, 140).map((r) => r.close()));
    await stay.setHealth('warning');
    expect(Number(await redis.command(`XLEN ${prefix}{api}:log`).then((r) => r.slice(1)))).toBeLessThan(200);
    proxy.flow();
    const expected = [...range(140, 150), 'stay'].sort();
    await eventually(() => w.ids().join() === expected.join(), 5000, 'caught up');
    expect(w.view()).toContain('stay:warning');
    expect(watcher.watchStats('api')!.resets).toBeGreaterThanOrEqual(1);
    expect(w.events.some((e) => e.reason === 'resync')).toBe(true);
    // Replaying the diffs over the initial snapshot gives the final state: no change was dropped.
    const state = new Map<string, string>();
    for (const e of w.events) {
      for (const i of [...e.diff.added, ...e.diff.updated]) state.set(i.id, i.health);
      for (const i of e.diff.removed) state.delete(i.id);
    }
    expect([...state.keys()].sort()).toEqual(expected);
    expect(state.get('stay')).toBe('warning');
    await w.stop();
    await Promise.all(regs.slice(140).map((r) => r.close()));
    await proxy.close();
  });

  it('a paused server (SIGSTOP): watches go stale, then resync; registrations survive', async () => {
    const prefix = `f${++n}:`;
    await using a = discovery(prefix, { ttl: 4000 });
    await using b = discovery(prefix);
    await using reg = await a.register(inst('i1'));
    const log = track(reg);
    const w = collect(b, 'api');
    await eventually(() => w.ids().join() === 'i1', 2000, 'initial');
    redis.process.pause();
    try {
      await eventually(() => w.events.at(-1)!.stale, 3000, 'stale while paused');
    } finally {
      redis.process.resume();
    }
    await using _r2 = await a.register(inst('i2'));
    await eventually(() => !w.events.at(-1)!.stale && w.ids().join() === 'i1,i2', 3000, 'resumed');
    expect(log).toEqual([]);
    await w.stop();
  });
});
