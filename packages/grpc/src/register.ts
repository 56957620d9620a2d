import { experimental } from '@grpc/grpc-js';
import type { EndpointStatsView, WatchSource } from '@switchyard/loadbalancer';
import { POLICY, SCHEME } from './constants.js';
import { deleteDiscoverySource, setDiscoverySource } from './discovery-registry.js';
import { SwitchyardLbConfig } from './lb-config.js';
import { livePolicies, SwitchyardLoadBalancer } from './switchyard-lb-policy.js';
import { SwitchyardResolver } from './switchyard-resolver.js';

let registered = false;

export interface RegisterSwitchyardGrpcOptions {
  /** Any discovery backend or discovery client (anything with `watch(service, { signal })`). */
  discovery: WatchSource;
  /** The target authority that selects this discovery: `switchyard://<name>/service`. Default `default` (`switchyard:///service`). */
  name?: string;
}

export interface SwitchyardGrpcRegistration extends Disposable {
  /** Forgets the discovery (channels already resolving keep their watch until closed). */
  unregister(): void;
}

/**
 * Registers (once per process) the `switchyard` resolver scheme and LB policy with grpc-js, and the
 * discovery behind `switchyard://<name>/…` targets.
 */
export function registerSwitchyardGrpc(options: RegisterSwitchyardGrpcOptions): SwitchyardGrpcRegistration {
  const name = options.name ?? 'default';
  setDiscoverySource(name, options.discovery);
  if (!registered) {
    experimental.registerResolver(SCHEME, SwitchyardResolver);
    experimental.registerLoadBalancerType(POLICY, SwitchyardLoadBalancer, SwitchyardLbConfig);
    registered = true;
  }
  const unregister = () => deleteDiscoverySource(name, options.discovery);
  return { unregister, [Symbol.dispose]: unregister };
}

/** A service config JSON selecting the `switchyard` policy, for the `grpc.service_config` channel option. */
export function switchyardServiceConfig(config: { picker?: string; hashMetadata?: string } = {}): string {
  new SwitchyardLbConfig(config); // validate now: INVALID_ARGUMENT naming the field
  return JSON.stringify({ loadBalancingConfig: [{ [POLICY]: config }] });
}

/** Per-endpoint statistics of every live `switchyard` policy for `service` (breaker, ejection, in-flight). */
export function switchyardChannelStats(service: string): EndpointStatsView[] {
  const out: EndpointStatsView[] = [];
  for (const p of livePolicies) if (p.service === service && p.balancer) out.push(...p.balancer.stats());
  return out;
}
