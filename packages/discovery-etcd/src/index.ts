export { createEtcdDiscovery, type EtcdDiscovery, type EtcdDiscoveryOptions } from './etcd-discovery.js';
export type { EtcdRegistration } from './etcd-registration.js';
export { InstanceCodec } from './instance-codec.js';
export { requireLeaderCallOptions, requireLeaderInterceptor } from './require-leader.js';
