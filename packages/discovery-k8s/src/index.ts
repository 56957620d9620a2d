export { createK8sDiscovery, type K8sDiscovery } from './k8s-discovery.js';
export type { K8sDiscoveryOptions } from './options.js';
export type { ReflectorStats } from './reflector.js';
export type { ScopeStats } from './scope-watch.js';
export type { AddressType, DrainingPolicy } from './slice-mapping.js';
