import { createCache } from '@switchyard/cache';
import { createConfigAdmin } from '@switchyard/config-center';
import { type ConsoleServer, createConsoleServer } from '@switchyard/console';
import {
  createMemoryConfigStore,
  createMemoryDiscovery,
  createMemoryLock,
  createMemoryRulesSource,
  MemoryDiscoveryStore,
  MemoryLockStore,
} from '@switchyard/core';
import {
  createMemoryRouteStore,
  createRouteClient,
  createRouteServer,
  type RouteServer,
} from '@switchyard/stateful-route';

export interface ConsoleDemo {
  readonly server: ConsoleServer;
  /** `http://host:port/#token=…`: opens the console logged in. */
  readonly loginUrl: string;
  close(): Promise<void>;
}

/**
 * `pnpm demo --console`: a small live system on the embedded (in-memory) backends, with the
 * operator console over it — three orders instances in two zones, a held lock with a waiter, a
 * config namespace with history, two chat pods with sticky users, a warm cache. The console is
 * read-write on loopback; every action asks for a confirmation and lands in the audit log.
 */
export async function startConsoleDemo(port = 0): Promise<ConsoleDemo> {
  const closers: (() => Promise<unknown> | unknown)[] = [];
  const discovery = createMemoryDiscovery({ store: new MemoryDiscoveryStore() });
  closers.push(() => discovery.close());
  const rules = createMemoryRulesSource();
  for (const [id, zone, port] of [
    ['orders-1', 'zone-a', 8081],
    ['orders-2', 'zone-a', 8082],
    ['orders-3', 'zone-b', 8083],
  ] as const) {
    await discovery.register({ id, service: 'orders', address: '127.0.0.1', port, zone, tags: ['http'] });
  }
  await discovery.register({
    id: 'gw-1',
    service: 'gateway',
    address: '127.0.0.1',
    port: 8080,
    zone: 'zone-a',
  });

  // Locks: the billing job holds its ledger lock; a second worker waits for it.
  const lockStore = new MemoryLockStore();
  const locks = createMemoryLock({ store: lockStore, ttl: 30_000 });
  const worker = createMemoryLock({ store: lockStore, ttl: 30_000 });
  await locks.acquire('billing/ledger', { owner: 'billing-1' });
  const waiting = worker
    .acquire('billing/ledger', { owner: 'billing-2', wait: 3_600_000 })
    .catch(() => undefined);
  // Closed in reverse: the clients first (the waiter's acquire rejects with CLOSED), then the waiter.
  closers.push(async () => (await waiting)?.release().catch(() => {}));
  closers.push(
    () => locks.close(),
    () => worker.close(),
  );

  // Config: orders/discount published twice (history to compare and roll back).
  const configStore = createMemoryConfigStore();
  closers.push(() => configStore.close());
  const config = createConfigAdmin({ store: configStore, app: 'shop' });
  const ref = { env: 'prod', namespace: 'orders' };
  const first = await config.publish(
    ref,
    { discount: 5, currency: 'EUR' },
    { author: 'ops', expectedRevision: 0 },
  );
  await config.publish(
    ref,
    { discount: 15, currency: 'EUR' },
    { author: 'ops', expectedRevision: first.revision },
  );
  await config.publish(
    { env: 'staging', namespace: 'orders' },
    { discount: 20, currency: 'EUR' },
    { author: 'dev' },
  );

  // Routes: two chat pods; a gateway links a few users to them.
  const routeStore = createMemoryRouteStore();
  const pods: RouteServer[] = [];
  for (const [i, id] of ['chat-a', 'chat-b'].entries()) {
    await discovery.register({ id, service: 'chat', address: '127.0.0.1', port: 7000 + i });
    const pod = createRouteServer({ store: routeStore, service: 'chat', pod: id, heartbeat: 500 });
    await pod.start();
    pods.push(pod);
  }
  closers.push(async () => Promise.all(pods.map((p) => p.stop())));
  const gateway = createRouteClient({ store: routeStore, discovery });
  closers.push(() => gateway.close());
  for (const uid of ['alice', 'bob', 'carol', 'dave', 'erin'])
    await gateway.computeLinkedPod('tenant-1', uid, 'chat');

  // Cache: a namespace with some hits and misses.
  const cache = createCache({ name: 'catalog', l1: { maxEntries: 1000 }, ttl: 60_000 });
  closers.push(() => cache.close());
  const products = cache.namespace('products');
  for (let i = 0; i < 20; i++) {
    await products.getOrSet(`p:${i % 8}`, async () => ({ id: i % 8, price: 10 + (i % 8) }), {
      tags: ['shop:1'],
    });
  }

  const server = await createConsoleServer({
    port,
    readOnly: false,
    discovery,
    rules,
    locks: { billing: locks },
    config,
    routes: { store: routeStore, servers: pods },
    cache,
  });
  return {
    server,
    loginUrl: `${server.url}/#token=${server.token}`,
    async close() {
      await server.close();
      for (const close of closers.reverse()) await close();
    },
  };
}
