export {
  createEtcdElection,
  type EtcdElection,
  type EtcdElectionOptions,
  type Leader,
} from './etcd-election.js';
export {
  createEtcdLock,
  type EtcdLock,
  type EtcdLockCommonOptions,
  type EtcdLockOptions,
} from './etcd-lock.js';
export { createEtcdSemaphore, type EtcdSemaphore, type EtcdSemaphoreOptions } from './etcd-semaphore.js';
export { type FencedPutOptions, fencedPut } from './fencing.js';
export type { Leadership } from './leadership.js';
