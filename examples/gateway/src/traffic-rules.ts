import { createMemoryRulesSource, type MemoryRulesSource } from '@switchyard/core';

/**
 * The gateway's only use of traffic rules: an operator pull-out/pull-in of one instance, applied
 * live by the discovery client and the balancers. Kept in this one file because the balancer's
 * traffic-rules API is changing on another branch; the config center will feed the same source.
 */
export interface GatewayTrafficRules {
  readonly source: MemoryRulesSource;
  pullOut(service: string, id: string): void;
  pullIn(service: string, id: string): void;
}

export function createGatewayTrafficRules(): GatewayTrafficRules {
  const source = createMemoryRulesSource();
  return {
    source,
    pullOut(service, id) {
      source.update((r) => ({
        ...r,
        pulledInstances: [
          ...(r.pulledInstances ?? []).filter((p) => p.service !== service || p.id !== id),
          { service, id },
        ],
      }));
    },
    pullIn(service, id) {
      source.update((r) => ({
        ...r,
        pulledInstances: (r.pulledInstances ?? []).filter((p) => p.service !== service || p.id !== id),
      }));
    },
  };
}
