export type { ConsulClient } from './consul-call.js';
export {
  type ConsulDiscovery,
  type ConsulRegisterOptions,
  createConsulDiscovery,
} from './consul-discovery.js';
export { ConsulRegistration } from './consul-registration.js';
export { aggregateHealth, type CheckSpec, consulServiceId } from './instance-codec.js';
export type { ConsulDiscoveryOptions, MetaKeys } from './options.js';
