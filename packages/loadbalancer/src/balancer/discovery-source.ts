import type { DiscoveryBackend, DiscoveryClient } from '@switchyard/core';
import { createDiscoveryClient, invalidArgument } from '@switchyard/core';
import type { WatchSource } from '@switchyard/core/driver';
import { PKG } from '../weights/prepared-set.js';
import type { ResolvedBalancerOptions } from './balancer-options.js';

/**
 * What the balancer watches. Pull-outs are a discovery question, applied by the discovery client
 * only: a client is watched as it is (its own rules apply); a raw backend given with `rules` is
 * wrapped in a client owned by the balancer (no health panic, so it delivers what the backend's
 * watch would, minus the pull-outs); a bare watch source cannot apply pull-outs, so `rules` with it
 * is `INVALID_ARGUMENT`.
 */
export function watchSourceFor(o: ResolvedBalancerOptions): {
  source: WatchSource;
  owned: DiscoveryClient | undefined;
} {
  if (!o.rules || isDiscoveryClient(o.discovery)) return { source: o.discovery, owned: undefined };
  if (!isDiscoveryBackend(o.discovery)) {
    throw invalidArgument(
      PKG,
      'rules',
      'needs a discovery client or backend as `discovery` (pull-outs are applied by the discovery client), got a bare watch source',
    );
  }
  const owned = createDiscoveryClient({
    backend: o.discovery,
    rules: o.rules,
    clock: o.clock,
    panicThreshold: 0,
  });
  return { source: owned, owned };
}

function isDiscoveryClient(source: WatchSource): source is DiscoveryClient {
  const c = source as Partial<DiscoveryClient>;
  return typeof c.status === 'function' && typeof c.resync === 'function' && typeof c.backend === 'object';
}

function isDiscoveryBackend(source: WatchSource): source is DiscoveryBackend {
  const b = source as Partial<DiscoveryBackend>;
  return typeof b.register === 'function' && typeof b.resolve === 'function';
}
