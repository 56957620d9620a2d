import {
  type Clock,
  createMemoryCacheStore,
  createMemoryConfigStore,
  createMemoryDiscovery,
  createMemoryLock,
  type DistributedLock,
  type LockAdmin,
  MemoryConfigState,
  MemoryDiscoveryStore,
  MemoryLockStore,
  systemClock,
} from '@switchyard/core';
import type { DemoDiscovery } from './k8s-discovery.js';
import { redisDiscoveryFromEnv } from './redis-discovery.js';

/**
 * The "infrastructure" of the demo: one in-memory registry, lock service and config server that
 * every simulated process connects to with its own client, exactly as they would to etcd or Redis.
 */
export function createCluster(
  clock: Clock = systemClock,
  discovery?: DemoDiscovery,
  locks?: () => DistributedLock & LockAdmin,
) {
  const discoveryStore = new MemoryDiscoveryStore({ clock });
  const lockStore = new MemoryLockStore({ clock });
  const configState = new MemoryConfigState({ clock });
  const redisDiscovery = redisDiscoveryFromEnv();
  const opened: { close(): Promise<void> }[] = [];
  return {
    /** A new set of clients, as one process would open them. */
    connect() {
      const clients = {
        discovery:
          discovery?.connect() ??
          redisDiscovery?.(3000) ??
          createMemoryDiscovery({ store: discoveryStore, ttl: 3000 }),
        locks: locks?.() ?? createMemoryLock({ store: lockStore, ttl: 2000 }),
        config: createMemoryConfigStore({ state: configState }),
        cache: createMemoryCacheStore({ maxEntries: 1000 }),
      };
      opened.push(clients.discovery, clients.locks, clients.config, clients.cache);
      return clients;
    },
    /** Closes every client opened through `connect`. */
    async close() {
      await Promise.all(opened.map((c) => c.close()));
      await discovery?.close();
    },
  };
}

export type Cluster = ReturnType<typeof createCluster>;
export type Clients = ReturnType<Cluster['connect']>;
