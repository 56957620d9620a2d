export { createEtcdLock, type EtcdLock } from './etcd-lock.js';
export type { EtcdLockInfo } from './lock-admin.js';
export type { EtcdLockStats } from './lock-stats.js';
export type { EtcdLockOptions } from './options.js';
