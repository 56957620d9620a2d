/**
 * Console benchmark: SSE fan-out latency. One registration → the event reaches N console SSE
 * subscribers (`GET /api/services/:service/events`, each its own HTTP connection, parsed as the page
 * parses it) versus the same N plain `discovery.watch` loops in-process (the floor: what the console
 * adds is HTTP, JSON and the per-subscriber view). Same memory discovery, same process, same run;
 * the two alternate per N.
 *
 * Each round registers a fresh instance into a service of BASE instances, times every subscriber
 * until it sees it, then deregisters it and waits until every subscriber saw that too (untimed).
 * The SSE clients run in the bench process (like the watch loops), so their HTTP parsing shares the
 * event loop with the server: the numbers are an upper bound of what one console process adds.
 *
 * Run: pnpm --filter @switchyard/console bench   (BENCH_ROUNDS=…, QUICK=1 for a short run)
 */
import { setMaxListeners } from 'node:events';
import { createMemoryDiscovery, type InstanceHealth, type ServiceInstance } from '@switchyard/core';
import { fmt, markdownTable, summarize } from '@switchyard/testkit/bench';
import { createConsoleServer } from '../src/index.js';

const QUICK = process.env['QUICK'] === '1';
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? (QUICK ? 40 : 200));
const FANOUT = [1, 10, 100];
const WARMUP = 20; // untimed rounds first (JIT, connection set-up)
const BASE = 10;
const TOKEN = 'console-bench-token-0123456789';
const SERVICE = 'bench';
const ALL: InstanceHealth[] = ['passing', 'warning', 'critical', 'maintenance'];

/** A subscriber: reports each snapshot's instance ids; `close()` ends it. */
interface Subscriber {
  ready: Promise<void>;
  close(): Promise<void>;
}
type OnIds = (ids: ReadonlySet<string>) => void;

const discovery = createMemoryDiscovery();
for (let i = 0; i < BASE; i++) {
  await discovery.register({
    service: SERVICE,
    id: `base-${i}`,
    address: `10.0.0.${i + 1}`,
    port: 8080,
    zone: `z${i % 3}`,
    tags: ['v1'],
    metadata: { version: '1.2.3' },
  });
}
const server = await createConsoleServer({ discovery, token: TOKEN });
const auth = { authorization: `Bearer ${TOKEN}` };

/** One console SSE connection, parsing `data:` events like the page's EventSource does. */
function sseSubscriber(onIds: OnIds): Subscriber {
  const ac = new AbortController();
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => {
    resolveReady = r;
  });
  const done = (async () => {
    const res = await fetch(`${server.url}/api/services/${SERVICE}/events`, {
      headers: auth,
      signal: ac.signal,
    });
    if (res.status !== 200 || !res.body) throw new Error(`SSE answered ${res.status}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) return;
        buffer += decoder.decode(value, { stream: true });
        for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
          const chunk = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          if (!chunk.startsWith('data: ')) continue;
          const snap = JSON.parse(chunk.slice(6)) as { instances: ServiceInstance[] };
          onIds(new Set(snap.instances.map((x) => x.id)));
          resolveReady();
        }
      }
    } catch (error) {
      if (!ac.signal.aborted) throw error;
    }
  })();
  return {
    ready,
    async close() {
      ac.abort();
      await done.catch(() => {});
    },
  };
}

/** One plain in-process `discovery.watch` loop (the floor). */
function watchSubscriber(onIds: OnIds): Subscriber {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => {
    resolveReady = r;
  });
  const done = (async () => {
    try {
      for await (const ev of discovery.watch(SERVICE, { filter: { health: ALL }, signal: ac.signal })) {
        onIds(new Set(ev.snapshot.instances.map((x) => x.id)));
        resolveReady();
      }
    } catch (error) {
      if (!ac.signal.aborted) throw error;
    }
  })();
  return {
    ready,
    async close() {
      ac.abort();
      await done.catch(() => {});
    },
  };
}

/** Registers/deregisters ROUNDS instances; latency (ms) from `register` until each subscriber saw it. */
async function measure(n: number, make: (onIds: OnIds) => Subscriber): Promise<number[]> {
  let target = '';
  let present = false;
  let t0 = 0;
  let pending = 0;
  let settle: (() => void) | undefined;
  let recording = false;
  const samples: number[] = [];
  const seen = new Array<boolean>(n).fill(false);
  const subs = Array.from({ length: n }, (_, k) =>
    make((ids) => {
      if (seen[k] || target === '' || ids.has(target) !== present) return;
      seen[k] = true;
      if (present && recording) samples.push(performance.now() - t0);
      if (--pending === 0) settle?.();
    }),
  );
  await Promise.all(subs.map((s) => s.ready));
  const step = async (id: string, add: boolean, act: () => Promise<unknown>) => {
    seen.fill(false);
    pending = n;
    const all = new Promise<void>((r) => {
      settle = r;
    });
    target = id;
    present = add;
    t0 = performance.now();
    await act();
    await all;
  };
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    recording = r >= WARMUP;
    const id = `new-${n}-${r}`;
    let reg: { close(): Promise<void> } | undefined;
    await step(id, true, async () => {
      reg = await discovery.register({ service: SERVICE, id, address: '10.9.9.9', port: 9000 });
    });
    await step(id, false, async () => reg!.close());
  }
  target = '';
  await Promise.all(subs.map((s) => s.close()));
  return samples;
}

const rows: string[][] = [];
const ms = (v: number) => `${fmt(v, v < 1 ? 3 : 2)} ms`;
try {
  for (const n of FANOUT) {
    const floor = summarize(await measure(n, watchSubscriber));
    const sse = summarize(await measure(n, sseSubscriber));
    rows.push([
      `N=${n}`,
      `p50 ${ms(sse.p50)} · p99 ${ms(sse.p99)}`,
      `p50 ${ms(floor.p50)} · p99 ${ms(floor.p99)}`,
      `${fmt(sse.p50 / floor.p50, 1)}× · ${fmt(sse.p99 / floor.p99, 1)}×`,
      `${sse.count} / ${floor.count}`,
    ]);
  }
} finally {
  await server.close();
  await discovery.close();
}

console.log(
  `\nNode ${process.version}, memory discovery, ${BASE} instances + 1 registered per round, ${ROUNDS} rounds, loopback, ${new Date().toISOString()}\n`,
);
console.log(
  markdownTable(
    [
      'subscribers',
      'console SSE (register → event parsed)',
      'discovery.watch in-process (floor)',
      'SSE / floor (p50 · p99)',
      'samples',
    ],
    rows,
  ),
);
process.exit(0);
