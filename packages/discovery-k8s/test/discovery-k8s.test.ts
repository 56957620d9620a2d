import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectSwitchyardError } from '@switchyard/testkit/conformance';
import type { K8sEmulator } from '@switchyard/testkit/emulators/k8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createK8sDiscovery } from '../src/index.js';
import { collect, slice } from './helpers.js';
import { startEmulator, waitFor } from './target.js';

let k8s: K8sEmulator;
let kubeConfig: Awaited<ReturnType<typeof startEmulator>>['kubeConfig'];
const watchRequests: string[] = [];
beforeAll(async () => {
  ({ emulator: k8s, kubeConfig } = await startEmulator({
    bookmarkInterval: 200,
    onRequest: (r) => {
      if (r.watch) watchRequests.push(r.path);
    },
  }));
});
afterAll(async () => {
  await k8s.close();
});

let seq = 0;
const ns = () => `t${++seq}`;
const fast = { backoff: { base: 20, max: 200 }, idleTimeout: 0 };

describe('discovery-k8s', () => {
  it('one watch per namespace is shared by every service (not one per service)', async () => {
    const n = ns();
    for (let s = 0; s < 5; s++) k8s.apply(slice(n, `svc${s}`, `svc${s}-a`, [`pod-${s}`]));
    await using d = createK8sDiscovery({ client: kubeConfig(), namespace: n, ...fast });
    const before = watchRequests.filter((p) => p.includes(`/namespaces/${n}/`)).length;
    const watches = [0, 1, 2, 3, 4].map((s) => collect(d, `svc${s}`));
    for (const [s, w] of watches.entries())
      await waitFor(() => w.ids().join() === `pod-${s}`, 3000, `svc${s}`);
    k8s.apply(slice(n, 'svc3', 'svc3-b', ['pod-33']));
    await waitFor(() => watches[3]!.ids().join() === 'pod-3,pod-33', 3000, 'svc3 change');
    expect(watchRequests.filter((p) => p.includes(`/namespaces/${n}/`)).length - before).toBe(1);
    expect(d.activeWatches).toBe(5);
    const stats = d.cacheStats();
    expect(stats).toHaveLength(1);
    expect(stats[0]).toMatchObject({ scope: n, synced: true, stale: false, services: 5, slices: 6 });
    expect(stats[0]!.endpointSlices.lists).toBe(1);
    // Other services' watchers saw nothing of svc3's change.
    expect(watches[1]!.events).toHaveLength(1);
    await Promise.all(watches.map((w) => w.stop()));
  });

  it('name.namespace addresses another namespace (its own watch); allNamespaces uses one watch for all', async () => {
    const a = ns();
    const b = ns();
    k8s.apply(slice(a, 'web', 'web-1', ['pod-1']));
    k8s.apply(slice(b, 'web', 'web-1', ['pod-2']));
    await using d = createK8sDiscovery({ client: kubeConfig(), namespace: a, ...fast });
    expect(d.namespace).toBe(a);
    expect((await d.resolve('web')).instances.map((i) => i.id)).toEqual(['pod-1']);
    expect((await d.resolve(`web.${b}`)).instances.map((i) => i.id)).toEqual(['pod-2']);
    await using all = createK8sDiscovery({
      client: kubeConfig(),
      namespace: a,
      allNamespaces: true,
      ...fast,
      idleTimeout: 5000,
    });
    expect((await all.resolve(`web.${b}`)).instances.map((i) => [i.id, i.metadata['k8s.namespace']])).toEqual(
      [['pod-2', b]],
    );
    expect((await all.resolve('web')).instances.map((i) => i.id)).toEqual(['pod-1']);
    expect(all.cacheStats().map((s) => s.scope)).toEqual(['*']);
    const names = await all.services();
    expect(names).toContain('web');
    expect(names).toContain(`web.${b}`);
    await expectSwitchyardError(() => d.resolve('Web_1'), 'INVALID_ARGUMENT', 'service');
  });

  it('register rejects with UNSUPPORTED: Kubernetes registers Pods itself', async () => {
    await using d = createK8sDiscovery({ client: kubeConfig(), ...fast });
    expect(d.capabilities).toMatchObject({ register: false, watch: true });
    await expectSwitchyardError(
      () => d.register({ id: 'x', service: 'web', address: '127.0.0.1', port: 1 }),
      'UNSUPPORTED',
    );
  });

  it('label and field selectors narrow the slices watched', async () => {
    const n = ns();
    k8s.apply(
      slice(n, 'web', 'web-ctrl', ['pod-1'], {
        metadata: {
          name: 'web-ctrl',
          namespace: n,
          labels: {
            'kubernetes.io/service-name': 'web',
            'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
          },
        },
      }),
    );
    k8s.apply(
      slice(n, 'web', 'web-mesh', ['pod-2'], {
        metadata: {
          name: 'web-mesh',
          namespace: n,
          labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'mesh' },
        },
      }),
    );
    await using d = createK8sDiscovery({
      client: kubeConfig(),
      namespace: n,
      labelSelector: 'endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io',
      ...fast,
    });
    expect((await d.resolve('web')).instances.map((i) => i.id)).toEqual(['pod-1']);
    await using f = createK8sDiscovery({
      client: kubeConfig(),
      namespace: n,
      fieldSelector: 'metadata.name=web-mesh',
      ...fast,
    });
    expect((await f.resolve('web')).instances.map((i) => i.id)).toEqual(['pod-2']);
  });

  it('a Service filter on labels and annotations shows only the Services that pass, and follows their changes', async () => {
    const n = ns();
    k8s.apply(slice(n, 'api', 'api-1', ['pod-1']));
    k8s.apply(slice(n, 'db', 'db-1', ['pod-2']));
    const svc = (name: string, labels: Record<string, string>, annotations: Record<string, string> = {}) =>
      k8s.apply({
        kind: 'Service',
        metadata: { name, namespace: n, labels, annotations },
        spec: { ports: [{ port: 80 }] },
      });
    svc('api', { expose: 'yes' }, { 'switchyard.io/discover': 'true' });
    svc('db', { expose: 'yes' });
    await using d = createK8sDiscovery({
      client: kubeConfig(),
      namespace: n,
      serviceFilter: { labelSelector: 'expose=yes', annotations: { 'switchyard.io/discover': 'true' } },
      ...fast,
    });
    expect(await d.services()).toEqual(['api']);
    const db = collect(d, 'db');
    await waitFor(() => db.events.length === 1, 3000, 'db initial');
    expect(db.ids()).toEqual([]);
    svc('db', { expose: 'yes' }, { 'switchyard.io/discover': 'true' });
    await waitFor(() => db.ids().join() === 'pod-2', 3000, 'db appears when its Service passes');
    svc('db', { expose: 'no' }, { 'switchyard.io/discover': 'true' });
    await waitFor(() => db.ids().length === 0, 3000, 'db leaves with its label (DELETED from the selector)');
    await db.stop();
  });

  it('portName picks the port; draining and health filters follow the endpoint conditions', async () => {
    const n = ns();
    k8s.apply(
      slice(
        n,
        'web',
        'web-1',
        [
          'pod-1',
          { pod: 'pod-2', terminating: true, serving: true, ready: false },
          { pod: 'pod-3', ready: false },
        ],
        {
          ports: [
            { name: 'http', port: 8080 },
            { name: 'metrics', port: 9100 },
          ],
        },
      ),
    );
    await using d = createK8sDiscovery({ client: kubeConfig(), namespace: n, portName: 'metrics', ...fast });
    const all = await d.resolve('web', { filter: { health: ['passing', 'maintenance', 'critical'] } });
    expect(all.instances.map((i) => [i.id, i.port, i.health])).toEqual([
      ['pod-1', 9100, 'passing'],
      ['pod-2', 9100, 'maintenance'],
      ['pod-3', 9100, 'critical'],
    ]);
    expect((await d.resolve('web')).instances.map((i) => i.id)).toEqual(['pod-1']);
    await using serve = createK8sDiscovery({
      client: kubeConfig(),
      namespace: n,
      portName: 'http',
      draining: 'serve',
      ...fast,
    });
    expect((await serve.resolve('web')).instances.map((i) => [i.id, i.port])).toEqual([
      ['pod-1', 8080],
      ['pod-2', 8080],
    ]);
    // Without portName a two-port slice is reported, not guessed.
    const problems: unknown[] = [];
    const onUnmapped = (m: unknown) => problems.push(m);
    subscribe('switchyard:k8s:unmapped', onUnmapped);
    try {
      await using guess = createK8sDiscovery({ client: kubeConfig(), namespace: n, ...fast });
      expect((await guess.resolve('web')).instances).toEqual([]);
      expect(problems).toEqual([
        expect.objectContaining({
          service: 'web',
          slice: 'web-1',
          problem: expect.stringMatching(/set portName/),
        }),
      ]);
    } finally {
      unsubscribe('switchyard:k8s:unmapped', onUnmapped);
    }
  });

  it('watch events: a readiness flip is an update, a deleted slice removes its endpoints, revisions never go back', async () => {
    const n = ns();
    k8s.apply(slice(n, 'web', 'web-a', ['pod-1', 'pod-2']));
    await using d = createK8sDiscovery({ client: kubeConfig(), namespace: n, ...fast });
    const w = collect(d, 'web', { filter: { health: ['passing', 'critical'] } });
    await waitFor(() => w.ids().join() === 'pod-1,pod-2', 3000, 'initial');
    k8s.apply(slice(n, 'web', 'web-a', ['pod-1', { pod: 'pod-2', ready: false }]));
    await waitFor(
      () => w.last()?.diff.updated.some((i) => i.id === 'pod-2' && i.health === 'critical'),
      3000,
      'update',
    );
    k8s.apply(slice(n, 'web', 'web-b', ['pod-3']));
    k8s.remove('EndpointSlice', n, 'web-a');
    await waitFor(() => w.ids().join() === 'pod-3', 3000, 'slice deleted');
    await w.stop();
    expect(w.replayed()).toEqual(['pod-3']);
    for (let i = 1; i < w.events.length; i++)
      expect(w.events[i]!.snapshot.revision).toBeGreaterThan(w.events[i - 1]!.snapshot.revision);
    expect(w.events.every((e) => !e.stale)).toBe(true);
  });

  it('the shared watch stops after idleTimeout without readers, and restarts on the next read', async () => {
    const n = ns();
    k8s.apply(slice(n, 'web', 'web-a', ['pod-1']));
    await using d = createK8sDiscovery({ client: kubeConfig(), namespace: n, ...fast, idleTimeout: 100 });
    await d.resolve('web');
    expect(d.cacheStats()).toHaveLength(1);
    await waitFor(() => d.cacheStats().length === 0, 2000, 'idle stop');
    expect((await d.resolve('web')).instances).toHaveLength(1);
  });

  it('options: strict keys with suggestions, client xor kubeconfig, a kubeconfig file, the context namespace', async () => {
    await expectSwitchyardError(
      () => createK8sDiscovery({ client: kubeConfig(), namespce: 'x' } as never),
      'INVALID_ARGUMENT',
      'namespce',
    );
    await expectSwitchyardError(
      () => createK8sDiscovery({ client: {} as never }),
      'INVALID_ARGUMENT',
      'client',
    );
    await expectSwitchyardError(
      () => createK8sDiscovery({ client: kubeConfig(), kubeconfig: '/x' }),
      'INVALID_ARGUMENT',
      'kubeconfig',
    );
    await expectSwitchyardError(
      () => createK8sDiscovery({ client: kubeConfig(), draining: 'maybe' as never }),
      'INVALID_ARGUMENT',
      'draining',
    );
    await expectSwitchyardError(
      () => createK8sDiscovery({ client: kubeConfig(), namespace: 'Bad_NS' }),
      'INVALID_ARGUMENT',
      'namespace',
    );
    await expectSwitchyardError(
      () => createK8sDiscovery({ client: kubeConfig(), addressTypes: ['IPv5' as never] }),
      'INVALID_ARGUMENT',
      'addressTypes[0]',
    );
    await expectSwitchyardError(
      () => createK8sDiscovery({ client: kubeConfig(), backoff: { base: 10, max: 1 } }),
      'INVALID_ARGUMENT',
      'backoff.max',
    );
    const n = ns();
    k8s.apply(slice(n, 'web', 'web-a', ['pod-7']));
    const dir = mkdtempSync(join(tmpdir(), 'k8s-'));
    try {
      const file = join(dir, 'config');
      writeFileSync(file, k8s.kubeconfigFile({ namespace: n }));
      await using d = createK8sDiscovery({ kubeconfig: file, ...fast });
      expect(d.namespace).toBe(n);
      expect((await d.resolve('web')).instances.map((i) => i.id)).toEqual(['pod-7']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('publishes relists, 410s, staleness and missed changes on diagnostics_channel', async () => {
    const n = ns();
    k8s.apply(slice(n, 'web', 'web-a', ['pod-1']));
    const seen: Record<string, number> = {};
    const names = ['k8s:list', 'k8s:expired', 'k8s:missed'];
    const handlers = names.map((name) => {
      const h = () => {
        seen[name] = (seen[name] ?? 0) + 1;
      };
      subscribe(`switchyard:${name}`, h);
      return [name, h] as const;
    });
    try {
      await using d = createK8sDiscovery({ client: kubeConfig(), namespace: n, ...fast });
      const w = collect(d, 'web');
      await waitFor(() => w.ids().length === 1, 3000, 'initial');
      // A watch older than a second, whose next event never arrives (held, then the connection is cut),
      // resumes from a version that is compacted meanwhile: 410 at watch start, relist, the missed change.
      await new Promise((r) => setTimeout(r, 1100));
      const resume = k8s.stallWatches();
      k8s.apply(slice(n, 'web', 'web-b', ['pod-2']));
      k8s.dropWatches();
      k8s.apply(slice(n, 'other', 'other-a', ['pod-9']));
      k8s.compact();
      resume();
      await waitFor(() => w.ids().join() === 'pod-1,pod-2', 5000, 'resynced after 410');
      expect(w.events.at(-1)!.reason).toBe('resync');
      await w.stop();
      expect(seen['k8s:expired']).toBeGreaterThanOrEqual(1);
      expect(seen['k8s:list']).toBeGreaterThanOrEqual(2);
      expect(seen['k8s:missed']).toBe(1);
      expect(d.watchStats('web')).toBeUndefined();
    } finally {
      for (const [name, h] of handlers) unsubscribe(`switchyard:${name}`, h);
    }
  });
});
