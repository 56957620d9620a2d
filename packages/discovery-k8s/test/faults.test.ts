import type { K8sEmulator, K8sEmulatorOptions } from '@switchyard/testkit/emulators/k8s';
import { afterEach, describe, expect, it } from 'vitest';
import { createK8sDiscovery, type K8sDiscovery } from '../src/index.js';
import { Churn } from './churn.js';
import { collect } from './helpers.js';
import { startEmulator, waitFor } from './target.js';

// Every scenario: random changes in rounds, a fault in each round, and a count of rounds whose
// watcher converged to the truth (the slices written) — all of them must. The events replayed
// from the first must give the last snapshot (no change dropped, no ghost).

const ROUNDS = 8;
const CHANGES = 6;
const CONVERGE_MS = 6000;

let emulator: K8sEmulator | undefined;
let discovery: K8sDiscovery | undefined;
afterEach(async () => {
  await discovery?.close();
  await emulator?.close();
  discovery = undefined;
  emulator = undefined;
});

async function setup(emu: K8sEmulatorOptions = {}, options: Parameters<typeof createK8sDiscovery>[0] = {}) {
  const started = await startEmulator({ bookmarkInterval: 100, ...emu });
  emulator = started.emulator;
  discovery = createK8sDiscovery({
    client: started.kubeConfig(),
    backoff: { base: 20, max: 300 },
    quietTimeout: 600,
    requestTimeout: 2000,
    ...options,
  });
  const churn = new Churn(emulator, 'default', 'web', 42);
  return { k8s: emulator, d: discovery, churn };
}

/** Runs the rounds; returns how many converged. */
async function rounds(
  churn: Churn,
  w: ReturnType<typeof collect>,
  fault: (round: number) => void | Promise<void>,
): Promise<number> {
  let converged = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (let c = 0; c < CHANGES; c++) churn.step();
    await fault(r);
    for (let c = 0; c < CHANGES; c++) churn.step();
    const want = churn.expected().join();
    await waitFor(
      () => w.ids().join() === want && !w.last()?.stale,
      CONVERGE_MS,
      `round ${r}: ${want} (have ${w.ids().join()})`,
    );
    converged++;
  }
  return converged;
}

describe('faults: the view always converges (counted over every round)', () => {
  it('a stream dropped every 3 events', async () => {
    const { k8s, d, churn } = await setup();
    churn.seed(4, 5);
    const w = collect(d, 'web');
    await waitFor(() => w.ids().join() === churn.expected().join(), CONVERGE_MS, 'initial');
    k8s.dropWatchesEvery(3);
    expect(await rounds(churn, w, () => {})).toBe(ROUNDS);
    await w.stop();
    expect(w.replayed()).toEqual(churn.expected());
    const stats = d.cacheStats()[0]!.endpointSlices;
    expect(stats.watchesOpened).toBeGreaterThanOrEqual(Math.floor((ROUNDS * CHANGES * 2) / 3 / 2));
    expect(stats.events).toBeGreaterThanOrEqual(ROUNDS * CHANGES);
  });

  it('410 Expired mid-stream after a compaction, every round', async () => {
    const { k8s, d, churn } = await setup();
    churn.seed(4, 5);
    const w = collect(d, 'web');
    await waitFor(() => w.ids().length > 0, CONVERGE_MS, 'initial');
    expect(
      await rounds(churn, w, () => {
        k8s.compact();
        k8s.expireWatches();
      }),
    ).toBe(ROUNDS);
    await w.stop();
    expect(w.replayed()).toEqual(churn.expected());
    const stats = d.cacheStats()[0]!.endpointSlices;
    expect(stats.expired).toBeGreaterThanOrEqual(ROUNDS);
    expect(stats.lists).toBeGreaterThanOrEqual(ROUNDS);
    expect(w.events.some((e) => e.reason === 'resync')).toBe(true);
  });

  it('an apiserver restart onto a lower resourceVersion history (etcd restored): watchdog or anti-entropy relist, TooLarge, from scratch', async () => {
    // The watch from the old version hangs (kube-apiserver's watch cache waits for it) and, once the
    // new history passes it, resumes silently after the events it skipped: only a relist can see those.
    const { k8s, d, churn } = await setup(
      { futureWatch: 'hang', tooLargeWait: 150 },
      { resyncInterval: 1500 },
    );
    churn.seed(3, 4);
    const w = collect(d, 'web');
    await waitFor(() => w.ids().length > 0, CONVERGE_MS, 'initial');
    // First a healthy watch (past client-go's "very short watch", with events) far ahead of the
    // restored history: its resume hangs and only the watchdog (or the resync) can end it.
    for (let c = 0; c < 12; c++) churn.step();
    await waitFor(() => w.ids().join() === churn.expected().join(), CONVERGE_MS, 'before the restore');
    await new Promise((r) => setTimeout(r, 1100));
    await k8s.restart({ history: 'new', firstResourceVersion: 1 });
    churn.step();
    churn.step();
    await waitFor(
      () => w.ids().join() === churn.expected().join() && !w.last()?.stale,
      CONVERGE_MS,
      'after the restore',
    );
    const first = d.cacheStats()[0]!.endpointSlices;
    expect(first.watchdogFires + first.resyncs).toBeGreaterThanOrEqual(1);
    expect(first.fromScratch).toBeGreaterThanOrEqual(1);
    // Then a restore in every round, whatever state the watch is in (often a very short one).
    const listsBefore = first.lists;
    expect(await rounds(churn, w, () => k8s.restart({ history: 'new', firstResourceVersion: 1 }))).toBe(
      ROUNDS,
    );
    await w.stop();
    expect(w.replayed()).toEqual(churn.expected());
    expect(d.cacheStats()[0]!.endpointSlices.lists - listsBefore).toBeGreaterThanOrEqual(ROUNDS);
    expect(d.cacheStats()[0]!.missedChanges).toBeGreaterThan(0);
  });

  it('an apiserver restart onto a higher history (--bump-revision, mark compacted), and one that answers TooLarge at once', async () => {
    const { k8s, d, churn } = await setup({ tooLargeWait: 100 });
    churn.seed(3, 4);
    const w = collect(d, 'web');
    await waitFor(() => w.ids().length > 0, CONVERGE_MS, 'initial');
    expect(
      await rounds(churn, w, (r) =>
        k8s.restart({
          history: 'new',
          firstResourceVersion: r % 2 === 0 ? k8s.resourceVersion + 1_000_000 : 1,
        }),
      ),
    ).toBe(ROUNDS);
    await w.stop();
    expect(w.replayed()).toEqual(churn.expected());
    expect(d.cacheStats()[0]!.endpointSlices.fromScratch).toBeGreaterThanOrEqual(1);
  });

  it('stalled streams (no event, no bookmark, no FIN): the watchdog relists, watchers see stale then fresh', async () => {
    const { k8s, d, churn } = await setup();
    churn.seed(3, 4);
    const w = collect(d, 'web');
    await waitFor(() => w.ids().length > 0, CONVERGE_MS, 'initial');
    const converged = await rounds(churn, w, async () => {
      const resume = k8s.stallWatches();
      await waitFor(() => w.last()?.stale === true, CONVERGE_MS, 'stale while stalled');
      resume();
    });
    expect(converged).toBe(ROUNDS);
    await w.stop();
    expect(w.replayed()).toEqual(churn.expected());
    expect(d.cacheStats()[0]!.endpointSlices.watchdogFires).toBeGreaterThanOrEqual(ROUNDS);
  });

  it('a slow paged list whose continue tokens expire falls back to a full list', async () => {
    const { k8s, d, churn } = await setup({ continueTokenTtl: 250 }, { pageSize: 2 });
    churn.seed(12, 2);
    k8s.setListDelay(100);
    const w = collect(d, 'web');
    await waitFor(() => w.ids().join() === churn.expected().join(), CONVERGE_MS, 'initial');
    expect(
      await rounds(churn, w, () => {
        k8s.compact();
        k8s.expireWatches();
      }),
    ).toBe(ROUNDS);
    await w.stop();
    expect(w.replayed()).toEqual(churn.expected());
    const stats = d.cacheStats()[0]!.endpointSlices;
    expect(stats.pages).toBeGreaterThan(stats.lists);
    expect(stats.expired).toBeGreaterThanOrEqual(ROUNDS + 1);
  });

  it('500 and 429 on watch start: backoff (Retry-After honoured), resume without a relist', async () => {
    const { k8s, d, churn } = await setup();
    churn.seed(3, 4);
    const w = collect(d, 'web');
    await waitFor(() => w.ids().length > 0, CONVERGE_MS, 'initial');
    await new Promise((r) => setTimeout(r, 1100)); // past client-go's "very short watch"
    const listsBefore = d.cacheStats()[0]!.endpointSlices.lists;
    const watchTimes: number[] = [];
    const converged = await rounds(churn, w, async (r) => {
      if (r === 0) {
        k8s.failNext(1, { status: 429, retryAfter: 1, match: { watch: true } });
        const t0 = Date.now();
        k8s.dropWatches();
        await waitFor(() => k8s.openWatches > 0, 5000, 're-watch after 429');
        watchTimes.push(Date.now() - t0);
      } else if (r === 1) {
        k8s.failNext(3, { status: 500, match: { watch: true } });
        k8s.dropWatches();
      }
    });
    expect(converged).toBe(ROUNDS);
    await w.stop();
    expect(watchTimes[0]).toBeGreaterThanOrEqual(950);
    expect(d.cacheStats()[0]!.endpointSlices.failures).toBeGreaterThanOrEqual(4);
    // Dropped streams resume from the last version: no relist was needed.
    expect(d.cacheStats()[0]!.endpointSlices.lists).toBe(listsBefore);
    expect(w.events.some((e) => e.stale)).toBe(true);
  });

  it('the first outage after a healthy stretch marks watchers stale at once (not only a second one)', async () => {
    const { k8s, d, churn } = await setup();
    churn.seed(2, 3);
    const w = collect(d, 'web');
    await waitFor(() => w.ids().join() === churn.expected().join(), CONVERGE_MS, 'initial');
    // A change delivered on the live subscription: to the kit the next failure looks like a blip.
    churn.step();
    await waitFor(() => w.ids().join() === churn.expected().join(), CONVERGE_MS, 'a change');
    const down = k8s.restart({ downtime: 1500 });
    const t0 = Date.now();
    await waitFor(() => w.last()?.stale === true, 1200, 'stale during the outage');
    expect(Date.now() - t0).toBeLessThan(1200);
    await down;
    churn.step();
    await waitFor(
      () => w.ids().join() === churn.expected().join() && !w.last()?.stale,
      CONVERGE_MS,
      'fresh after the outage',
    );
    await w.stop();
    expect(w.replayed()).toEqual(churn.expected());
  });

  it('the API down for a while: watchers keep the last state marked stale, then converge', async () => {
    const { k8s, d, churn } = await setup();
    churn.seed(3, 4);
    const w = collect(d, 'web');
    await waitFor(() => w.ids().length > 0, CONVERGE_MS, 'initial');
    const converged = await rounds(churn, w, async (r) => {
      if (r % 3 === 0) await k8s.restart({ downtime: 300 });
    });
    expect(converged).toBe(ROUNDS);
    await w.stop();
    expect(w.replayed()).toEqual(churn.expected());
    const staleEvents = w.events.filter((e) => e.stale);
    expect(staleEvents.length).toBeGreaterThanOrEqual(1);
    // A stale event repeats the last known state.
    expect(staleEvents.every((e) => e.diff.added.length === 0 && e.diff.removed.length === 0)).toBe(true);
  });
});
