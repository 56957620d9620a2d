export type { CheckSpec, ConsulRegisterExtra } from './check-spec.js';
export type { ConsulClient } from './consul-call.js';
export {
  type ConsulDiscovery,
  type ConsulRegisterOptions,
  createConsulDiscovery,
} from './consul-discovery.js';
export type { ConsulRecord } from './consul-registration.js';
export type { ConsulDiscoveryOptions, MetaKeys } from './options.js';
