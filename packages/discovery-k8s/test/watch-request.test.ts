import { Watch } from '@kubernetes/client-node';
import { systemClock } from '@switchyard/core';
import type { K8sEmulator } from '@switchyard/testkit/emulators/k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFailure } from '../src/api-error.js';
import { createK8sDiscovery } from '../src/index.js';
import { openWatch } from '../src/watch-request.js';
import { collect, slice } from './helpers.js';
import { startEmulator, waitFor } from './target.js';

// Why this package opens its watch requests itself instead of using client-node 1.4's `Watch`:
// the first block shows each defect against the emulator, the second that our request has none.

const PATH = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
let k8s: K8sEmulator;
let kubeConfig: Awaited<ReturnType<typeof startEmulator>>['kubeConfig'];
beforeAll(async () => {
  ({ emulator: k8s, kubeConfig } = await startEmulator());
});
afterAll(async () => {
  await k8s.close();
});

const settle = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p.then(() => 'settled' as const),
    new Promise<'pending'>((r) => setTimeout(r, ms, 'pending')),
  ]);

describe('client-node 1.4.0 Watch (the defects we route around)', () => {
  it('a watch whose response never comes neither settles nor can be aborted (no handle before the headers, no timeout)', async () => {
    k8s.blackholeNext(1, { match: { watch: true } });
    let done: unknown = 'not called';
    const started = new Watch(kubeConfig()).watch(
      PATH,
      {},
      () => {},
      (err) => {
        done = err;
      },
    );
    // Its 30 s AbortSignal.timeout is overwritten by the controller's signal; the controller is
    // only returned once the headers arrive.
    expect(await settle(started, 1500)).toBe('pending');
    expect(done).toBe('not called');
    await k8s.restart(); // releases the held request
    await settle(started, 2000);
  });

  it('a refused watch reports only the status text: no Status body, no Retry-After', async () => {
    k8s.failNext(1, { status: 429, retryAfter: 7, match: { watch: true } });
    const err = await new Promise<unknown>((resolve) => {
      void new Watch(kubeConfig()).watch(PATH, {}, () => {}, resolve);
    });
    expect(err).toMatchObject({ statusCode: 429, message: 'Too Many Requests' });
    const e = err as { body?: unknown; headers?: unknown; retryAfter?: unknown };
    expect([e.body, e.headers, e.retryAfter]).toEqual([undefined, undefined, undefined]);
  });
});

describe('our watch request', () => {
  it('a black-holed watch fails after `timeout` and can be aborted before any header', async () => {
    k8s.blackholeNext(2, { match: { watch: true } });
    const t0 = Date.now();
    const timedOut = await openWatch(kubeConfig(), PATH, {}, () => {}, {
      clock: systemClock,
      timeout: 300,
      signal: new AbortController().signal,
    }).catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - t0).toBeLessThan(2000);
    const ac = new AbortController();
    const pending = openWatch(kubeConfig(), PATH, {}, () => {}, {
      clock: systemClock,
      timeout: 60_000,
      signal: ac.signal,
    }).catch((e: unknown) => e);
    setTimeout(() => ac.abort(new Error('stop')), 100);
    expect(await pending).toMatchObject({ message: 'stop' });
  });

  it('a refused watch keeps the Status body and Retry-After', async () => {
    k8s.failNext(1, { status: 429, retryAfter: 7, match: { watch: true } });
    const err = await openWatch(kubeConfig(), PATH, {}, () => {}, {
      clock: systemClock,
      timeout: 2000,
      signal: new AbortController().signal,
    }).catch((e: unknown) => e);
    expect(apiFailure(err)).toMatchObject({ code: 429, retryAfter: 7000, reason: 'TooManyRequests' });
  });

  it('the discovery survives black-holed watch requests: stale while none answers, then fresh', async () => {
    k8s.apply(slice('default', 'web', 'web-a', ['pod-1']));
    await using d = createK8sDiscovery({
      client: kubeConfig(),
      requestTimeout: 300,
      backoff: { base: 20, max: 100 },
      idleTimeout: 0,
    });
    const w = collect(d, 'web');
    await waitFor(() => w.ids().join() === 'pod-1', 3000, 'initial');
    await new Promise((r) => setTimeout(r, 1100));
    k8s.blackholeNext(3, { match: { watch: true } });
    k8s.dropWatches();
    k8s.apply(slice('default', 'web', 'web-b', ['pod-2']));
    await waitFor(() => w.ids().join() === 'pod-1,pod-2' && !w.last()?.stale, 5000, 'converged');
    await w.stop();
    const stats = d.cacheStats()[0]!.endpointSlices;
    expect(stats.failures).toBeGreaterThanOrEqual(3);
    expect(w.replayed()).toEqual(['pod-1', 'pod-2']);
    expect(w.events.some((e) => e.stale)).toBe(true);
  });
});
