export { instanceLabel } from './instance-label.js';
export { instanceToTxt, txtToInstanceFields } from './instance-txt.js';
export {
  createDnsDiscovery,
  type DnsDiscoveryOptions,
  type DnsLookupMode,
} from './resolver/dns-discovery.js';
export {
  createDnsResolver,
  type DnsAnswer,
  type DnsResolver,
  type DnsResolverOptions,
  type DnsResolverStats,
  type QueryType,
} from './resolver/dns-resolver.js';
export {
  type DnsServer,
  type DnsServerOptions,
  type DnsServerStats,
  startDnsServer,
} from './server/dns-server.js';
export {
  type RegistrationApi,
  type RegistrationApiOptions,
  startRegistrationApi,
} from './service/registration-api.js';
export { loadServiceConfig, type ServiceConfig } from './service/service-config.js';
export { orderSrv, type SrvChoice } from './srv-order.js';
