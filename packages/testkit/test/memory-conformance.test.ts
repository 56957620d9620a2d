import {
  createMemoryCacheStore,
  createMemoryConfigStore,
  createMemoryDiscovery,
  createMemoryLock,
  MemoryConfigState,
  MemoryDiscoveryStore,
  MemoryLockStore,
} from '@switchyard/core';
import {
  runCacheStoreConformance,
  runConfigStoreConformance,
  runDiscoveryConformance,
  runLockConformance,
} from '../src/conformance/index.js';

runLockConformance({
  name: 'memory',
  async create() {
    const store = new MemoryLockStore();
    const a = createMemoryLock({ store });
    const b = createMemoryLock({ store });
    return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});

runLockConformance({
  name: 'memory (reentrant)',
  async create() {
    const store = new MemoryLockStore();
    const a = createMemoryLock({ store, reentrant: true });
    const b = createMemoryLock({ store, reentrant: true });
    return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});

runDiscoveryConformance({
  name: 'memory',
  async create() {
    const store = new MemoryDiscoveryStore();
    const a = createMemoryDiscovery({ store });
    const b = createMemoryDiscovery({ store });
    return {
      a,
      b,
      forget: async () => store.reset(),
      cleanup: async () => void (await Promise.all([a.close(), b.close()])),
    };
  },
});

runCacheStoreConformance({
  name: 'memory',
  async create() {
    const store = createMemoryCacheStore();
    return { store, cleanup: () => store.close() };
  },
});

runConfigStoreConformance({
  name: 'memory',
  async create() {
    const state = new MemoryConfigState();
    const a = createMemoryConfigStore({ state });
    const b = createMemoryConfigStore({ state });
    return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});
