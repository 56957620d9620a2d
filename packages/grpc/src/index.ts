export { INSTANCES_ATTRIBUTE, POLICY, SCHEME } from './constants.js';
export { SwitchyardLbConfig, type SwitchyardLbJson, type SwitchyardPickerName } from './lb-config.js';
export {
  type RegisterSwitchyardGrpcOptions,
  registerSwitchyardGrpc,
  type SwitchyardGrpcRegistration,
  switchyardChannelStats,
  switchyardServiceConfig,
} from './register.js';
export { SwitchyardLoadBalancer } from './switchyard-lb-policy.js';
export { endpointOf, SwitchyardResolver } from './switchyard-resolver.js';
