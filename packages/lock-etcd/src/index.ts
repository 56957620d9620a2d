/** @deprecated use `LockStats` from `@switchyard/core`. */
export type { LockStats as EtcdLockStats } from '@switchyard/core';
export {
  createEtcdElection,
  type EtcdElection,
  type Leader,
} from './etcd-election.js';
export { createEtcdLock, type EtcdLock } from './etcd-lock.js';
export { createEtcdSemaphore, type EtcdSemaphore, type EtcdSemaphoreOptions } from './etcd-semaphore.js';
export { type FencedPutOptions, type FencedPutResult, fencedPut } from './fencing.js';
export type { Leadership } from './leadership.js';
export type { EtcdLockInfo } from './lock-admin.js';
export type { EtcdLockOptions } from './options.js';
