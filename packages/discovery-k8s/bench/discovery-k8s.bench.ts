/**
 * discovery-k8s benchmark on the testkit Kubernetes emulator (in this process, plain HTTP).
 *
 * 1. Initial sync: 500 Services × 20 endpoints (one EndpointSlice each) → time until a watch of
 *    every service has delivered its 20 instances, and the heap it holds; against a plain
 *    client-node `makeInformer` over the same EndpointSlices with a hand-written per-service map.
 * 2. Change → snapshot: flip the readiness of one endpoint, time until the watcher of that service
 *    gets the new snapshot (ours) / until the informer's `update` handler has rebuilt the
 *    service's endpoint list (peer); sequential, p50/p99.
 *
 * Both run in the same process, interleaved, twice each; medians are reported.
 * Run: pnpm --filter @switchyard/discovery-k8s bench
 */
import { setMaxListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DiscoveryV1Api, KubeConfig, makeInformer, type V1EndpointSlice } from '@kubernetes/client-node';
import type { DiscoveryEvent } from '@switchyard/core';
import { fmt, markdownTable, median, percentile, ratio } from '@switchyard/testkit/bench';
import { type KubeObject, startK8sEmulator } from '@switchyard/testkit/emulators/k8s';
import { createK8sDiscovery } from '../src/index.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const SERVICES = Number(process.env.BENCH_SERVICES ?? 500);
const PER_SERVICE = Number(process.env.BENCH_PER_SERVICE ?? 20);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 500);
const ROUNDS = 2;

const heapMb = async () => {
  await new Promise((r) => setTimeout(r, 300));
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

function sliceOf(s: number, flipped = -1): KubeObject {
  return {
    kind: 'EndpointSlice',
    metadata: {
      name: `svc-${s}-abcde`,
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': `svc-${s}` },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: PER_SERVICE }, (_, e) => ({
      addresses: [`10.${(s >> 8) & 255}.${s & 255}.${e + 1}`],
      conditions: { ready: e !== flipped, serving: e !== flipped, terminating: false },
      nodeName: `node-${e % 7}`,
      zone: `zone-${e % 3}`,
      targetRef: { kind: 'Pod', name: `svc-${s}-pod-${e}`, namespace: 'default' },
    })),
  };
}

/** The endpoint each service has not-ready now (-1: none); every change toggles it, so it always changes something. */
const flipped = new Map<number, number>();
function change(k8s: Emulator, i: number): number {
  const s = i % SERVICES;
  const next = (flipped.get(s) ?? -1) === -1 ? i % PER_SERVICE : -1;
  flipped.set(s, next);
  k8s.apply(sliceOf(s, next));
  return s;
}

interface Result {
  syncMs: number;
  heapMb: number;
  latencies: number[];
  requests: number;
}

type Emulator = Awaited<ReturnType<typeof startK8sEmulator>>;

async function ours(k8s: Emulator, kc: () => KubeConfig): Promise<Result> {
  const base = await heapMb();
  const requests0 = k8s.requests.list + k8s.requests.watch;
  const d = createK8sDiscovery({ client: kc() });
  const ac = new AbortController();
  setMaxListeners(0, ac.signal); // one signal for 500 watches
  const waiters = new Map<string, (e: DiscoveryEvent) => void>();
  let synced = 0;
  let allSynced!: () => void;
  const done = new Promise<void>((r) => {
    allSynced = r;
  });
  const t0 = performance.now();
  const loops = Array.from({ length: SERVICES }, (_, s) =>
    (async () => {
      for await (const e of d.watch(`svc-${s}`, { signal: ac.signal })) {
        if (e.reason === 'initial' && e.snapshot.instances.length === PER_SERVICE && ++synced === SERVICES)
          allSynced();
        waiters.get(`svc-${s}`)?.(e);
      }
    })(),
  );
  await done;
  const syncMs = performance.now() - t0;
  const heap = (await heapMb()) - base;
  const latencies: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const s = i % SERVICES;
    const seen = new Promise<DiscoveryEvent>((r) => waiters.set(`svc-${s}`, r));
    const t = performance.now();
    change(k8s, i);
    await seen;
    latencies.push(performance.now() - t);
    waiters.delete(`svc-${s}`);
  }
  const requests = k8s.requests.list + k8s.requests.watch - requests0;
  ac.abort();
  await Promise.all(loops);
  await d.close();
  return { syncMs, heapMb: heap, latencies, requests };
}

/** What a user writes today: one informer over the namespace's slices, a per-service map kept by hand. */
async function informer(k8s: Emulator, kc: () => KubeConfig): Promise<Result> {
  const base = await heapMb();
  const requests0 = k8s.requests.list + k8s.requests.watch;
  const config = kc();
  const api = config.makeApiClient(DiscoveryV1Api);
  const path = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
  const inf = makeInformer(config, path, () => api.listNamespacedEndpointSlice({ namespace: 'default' }));
  const byService = new Map<string, { address: string; port: number; ready: boolean }[]>();
  const waiters = new Map<string, () => void>();
  const rebuild = (slice: V1EndpointSlice) => {
    const svc = slice.metadata?.labels?.['kubernetes.io/service-name'];
    if (!svc) return;
    const port = slice.ports?.[0]?.port ?? 0;
    byService.set(
      svc,
      (slice.endpoints ?? []).map((e) => ({
        address: e.addresses[0]!,
        port,
        ready: e.conditions?.ready ?? true,
      })),
    );
    waiters.get(svc)?.();
  };
  inf.on('add', rebuild);
  inf.on('update', rebuild);
  inf.on('delete', (slice) => byService.delete(slice.metadata?.labels?.['kubernetes.io/service-name'] ?? ''));
  const t0 = performance.now();
  await inf.start();
  while (byService.size < SERVICES) await new Promise((r) => setImmediate(r));
  const syncMs = performance.now() - t0;
  const heap = (await heapMb()) - base;
  const latencies: number[] = [];
  // Let the informer's watch connect before timing changes.
  while (k8s.openWatches === 0) await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < CHANGES; i++) {
    const s = i % SERVICES;
    const seen = new Promise<void>((r) => waiters.set(`svc-${s}`, r));
    const t = performance.now();
    change(k8s, i);
    await seen;
    latencies.push(performance.now() - t);
    waiters.delete(`svc-${s}`);
  }
  const requests = k8s.requests.list + k8s.requests.watch - requests0;
  await inf.stop();
  return { syncMs, heapMb: heap, latencies, requests };
}

async function main(): Promise<void> {
  const k8s = await startK8sEmulator({ historyLimit: 50_000 });
  const kc = () => {
    const c = new KubeConfig();
    c.loadFromOptions(k8s.kubeconfig({ namespace: 'default' }));
    return c;
  };
  for (let s = 0; s < SERVICES; s++) k8s.apply(sliceOf(s));
  const a: Result[] = [];
  const b: Result[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      a.push(await ours(k8s, kc));
      b.push(await informer(k8s, kc));
    }
  } finally {
    await k8s.close();
  }
  const pick = (rs: Result[], f: (r: Result) => number) => median(rs.map(f));
  const p = (rs: Result[], q: number) =>
    median(
      rs.map((r) =>
        percentile(
          [...r.latencies].sort((x, y) => x - y),
          q,
        ),
      ),
    );
  const rows = [
    [
      `initial sync, ${SERVICES} × ${PER_SERVICE} (ms)`,
      fmt(
        pick(a, (r) => r.syncMs),
        1,
      ),
      fmt(
        pick(b, (r) => r.syncMs),
        1,
      ),
      ratio(
        pick(a, (r) => r.syncMs),
        pick(b, (r) => r.syncMs),
      ),
    ],
    [
      'heap held after sync (MB)',
      fmt(
        pick(a, (r) => r.heapMb),
        1,
      ),
      fmt(
        pick(b, (r) => r.heapMb),
        1,
      ),
      ratio(
        pick(a, (r) => r.heapMb),
        pick(b, (r) => r.heapMb),
      ),
    ],
    [
      `change → snapshot p50 (ms, ${CHANGES} sequential)`,
      fmt(p(a, 50), 3),
      fmt(p(b, 50), 3),
      ratio(p(a, 50), p(b, 50)),
    ],
    ['change → snapshot p99 (ms)', fmt(p(a, 99), 3), fmt(p(b, 99), 3), ratio(p(a, 99), p(b, 99))],
    [
      'API requests (lists + watches)',
      String(pick(a, (r) => r.requests)),
      String(pick(b, (r) => r.requests)),
      '',
    ],
  ];
  console.log(
    `discovery-k8s bench — node ${process.version}, ${SERVICES} services × ${PER_SERVICE} endpoints, medians of ${ROUNDS} interleaved rounds\n`,
  );
  console.log(
    markdownTable(
      ['measure', `discovery-k8s (${SERVICES} watches)`, 'client-node makeInformer + map', 'ratio'],
      rows,
    ),
  );
  console.log(
    '\nThe informer column does less: no instance mapping beyond address/port/ready, no per-watcher diff, no filters.',
  );
}

await main();
