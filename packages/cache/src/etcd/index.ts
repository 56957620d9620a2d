export { createEtcdBus, type EtcdBusOptions } from './etcd-bus.js';
export { createEtcdCacheStore, type EtcdCacheStore, type EtcdCacheStoreOptions } from './etcd-store.js';
