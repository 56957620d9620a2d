export { createEtcdDiscovery, type EtcdDiscovery, type EtcdDiscoveryOptions } from './etcd-discovery.js';
export type { EtcdRecord } from './etcd-registration-driver.js';
export { requireLeaderCallOptions, requireLeaderInterceptor } from './require-leader.js';
