/**
 * The routing model shared by both stores and the client cache: what a pod publishes, what a link
 * holds, when a link is still valid and which pod a new user gets. The Redis Lua scripts
 * (`redis-scripts.ts`) implement exactly these rules; the memory store calls them directly.
 */

export const PKG = 'stateful-route';

/**
 * Routing state a pod publishes. `NORMAL` takes new users; `DRAINING` takes no new users and keeps
 * its existing ones (or gives them up at their next request when drained with `move: true`);
 * `FORBIDDEN` is never routed to: its users move at their next request.
 */
export type RoutingState = 'NORMAL' | 'DRAINING' | 'FORBIDDEN';

export const ROUTING_STATES: readonly RoutingState[] = ['NORMAL', 'DRAINING', 'FORBIDDEN'];

/** One pod of a service as published by its server driver (the pod's lease). */
export interface PodRecord {
  readonly pod: string;
  /** Incarnation (fencing value): strictly increasing per service, a new one on every (re)registration. */
  readonly epoch: number;
  readonly state: RoutingState;
  /** Load score the pod publishes, 0–100 (higher is busier). */
  readonly load: number;
  /** Relative capacity (users it should hold relative to other pods), > 0. */
  readonly capacity: number;
  /** Lease deadline, store time (ms). The pod is dead once the store's clock passes it. */
  readonly deadline: number;
  /** Lease TTL the pod renews with, ms. */
  readonly ttl: number;
  /** With `DRAINING`: existing users move at their next request (within the move budget). */
  readonly move: boolean;
  /** Active links held by this incarnation. */
  readonly links: number;
}

/** A user's link to a pod incarnation. */
export interface LinkRecord {
  readonly pod: string;
  readonly epoch: number;
  /** 0 = held; otherwise the store time (ms) until which a released link is kept (`persistSeconds`). */
  readonly till: number;
}

/** Why a stored link is not used as it is. */
export type LinkVerdict = 'ok' | 'dead' | 'epoch' | 'expired' | 'forbidden' | 'drain';

/** The one definition of link validity (Lua `judge` is the same). */
export function judgeLink(link: LinkRecord, pod: PodRecord | undefined, now: number): LinkVerdict {
  if (link.till !== 0 && link.till <= now) return 'expired';
  if (pod === undefined || pod.deadline <= now) return 'dead';
  if (pod.epoch !== link.epoch) return 'epoch';
  if (pod.state === 'FORBIDDEN') return 'forbidden';
  if (pod.state === 'DRAINING' && pod.move) return 'drain';
  return 'ok';
}

/** Why a link moved (or was created). */
export type MoveReason = Exclude<LinkVerdict, 'ok' | 'expired'> | 'rebalance';

/** A pod may take new users: live and `NORMAL`. */
export const acceptsNewUsers = (p: PodRecord, now: number): boolean =>
  p.deadline > now && p.state === 'NORMAL' && p.capacity > 0;

/** Placement cost: links per unit of capacity, inflated by the published load score. */
export const placementCost = (p: PodRecord): number => ((p.links + 1) / p.capacity) * (1 + p.load / 100);

/** How a new user's pod is chosen among the pods that accept new users. */
export type PickStrategy = 'least-loaded' | 'p2c';

/**
 * Picks a pod for a new user. `least-loaded` takes the lowest cost (ties broken from a rotating
 * start `r1`); `p2c` compares two random candidates (`r1`, `r2` in [0, 1)).
 */
export function pickPod(
  candidates: readonly PodRecord[],
  strategy: PickStrategy,
  r1: number,
  r2: number,
): PodRecord | undefined {
  const n = candidates.length;
  if (n === 0) return undefined;
  if (strategy === 'p2c' && n > 2) {
    const a = Math.floor(r1 * n);
    let b = Math.floor(r2 * (n - 1));
    if (b >= a) b += 1;
    const pa = candidates[a]!;
    const pb = candidates[b]!;
    return placementCost(pa) <= placementCost(pb) ? pa : pb;
  }
  const start = Math.floor(r1 * n);
  let best: PodRecord | undefined;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const p = candidates[(start + i) % n]!;
    const c = placementCost(p);
    if (c < bestCost) {
      best = p;
      bestCost = c;
    }
  }
  return best;
}
