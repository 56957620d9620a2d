export { createEtcdConfigStore, type EtcdConfigStoreOptions } from './store/etcd-config-store.js';
export { createRedisConfigStore, type RedisConfigStoreOptions } from './store/redis-config-store.js';
