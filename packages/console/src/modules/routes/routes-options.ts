import type { RouteServer, RouteStore } from '@switchyard/stateful-route';

/** The part of a `RouteServer` the Routes page drives: the pod's own routing-state publication. */
export type RoutePodControl = Pick<
  RouteServer,
  'service' | 'pod' | 'epoch' | 'getRoutingState' | 'setRoutingState'
>;

/**
 * Routes page backend. The page reads the `RouteStore` (exact pod leases and link counts against
 * the store's clock, judged links, change notices). A pod's routing state is the pod's own
 * publication (its server driver rewrites it at every heartbeat), so drain/activate act through
 * that pod's `RouteServer`: pass the ones running in this process in `servers`.
 */
export interface RoutesPageOptions {
  store: RouteStore;
  /** Route servers of pods in this process: the page can drain / activate / forbid these. */
  servers?: readonly RoutePodControl[];
}

const isStore = (v: unknown): v is RouteStore => {
  const s = v as RouteStore | null;
  return (
    typeof s?.listPods === 'function' &&
    typeof s.getLinks === 'function' &&
    typeof s.services === 'function' &&
    typeof s.onChange === 'function'
  );
};

const isControl = (v: unknown): boolean => {
  const c = v as RoutePodControl | null;
  return (
    typeof c?.pod === 'string' && typeof c.service === 'string' && typeof c.setRoutingState === 'function'
  );
};

/** The `routes` option check: a `RouteStore`, or `{ store, servers? }`. */
export function isRoutesOption(v: unknown): v is RouteStore | RoutesPageOptions {
  if (isStore(v)) return true;
  const o = v as RoutesPageOptions | null;
  if (!isStore(o?.store)) return false;
  return o.servers === undefined || (Array.isArray(o.servers) && o.servers.every(isControl));
}

export function normaliseRoutesOption(v: RouteStore | RoutesPageOptions): Required<RoutesPageOptions> {
  return isStore(v) ? { store: v, servers: [] } : { store: v.store, servers: v.servers ?? [] };
}
