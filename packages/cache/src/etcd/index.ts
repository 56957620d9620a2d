export { createEtcdCacheStore, type EtcdCacheStore, type EtcdCacheStoreOptions } from './etcd-store.js';
