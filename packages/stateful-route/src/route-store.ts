import type { LinkRecord, MoveReason, PickStrategy, PodRecord, RoutingState } from './route-model.js';

export type RouteChange =
  | { readonly kind: 'pod'; readonly service: string }
  /** Notices may have been missed (the subscription just started or reconnected): relist everything. */
  | { readonly kind: 'resync' }
  | { readonly kind: 'link'; readonly namespace: string; readonly service: string; readonly uid: string };

/** What a pod publishes on registration and on every heartbeat. */
export interface PodPublication {
  state: RoutingState;
  load: number;
  capacity: number;
  /** Lease TTL, ms. */
  ttl: number;
  move: boolean;
}

/** Result of a claim: the user's pod now, and what happened. */
export interface ClaimResult {
  readonly pod: string;
  readonly epoch: number;
  /** `hit`: the stored link was valid; `created`: new link; `moved`: re-placed from `from`. */
  readonly outcome: 'hit' | 'created' | 'moved';
  readonly from?: string | undefined;
  readonly reason?: MoveReason | undefined;
}

export interface ClaimRequest {
  strategy: PickStrategy;
  r1: number;
  r2: number;
  /** Moves of users away from `DRAINING`+move pods allowed per `moveInterval` per service. */
  moveBudget: number;
  moveInterval: number;
  /**
   * 0 = off. Otherwise a valid link on a NORMAL pod moves to the best pod when its pod's cost
   * (links / capacity × load factor) exceeds `rebalance` × the best pod's placement cost; each such
   * move spends the same budget as drain moves.
   */
  rebalance: number;
}

/** A stored link with the store's verdict on it. */
export interface JudgedLink extends LinkRecord {
  /** True when the pod is live, the epoch matches and the pod still serves its existing users. */
  readonly valid: boolean;
}

export type SetLinkMode =
  /** Keep a valid existing link; otherwise link to the target (which must accept new users). */
  | 'absent'
  /** Link to the target whatever the current link is (the target must be live and not FORBIDDEN). */
  | 'force'
  /** Link to the target only if the current link's pod is `expect` (`''` = no valid link). */
  | 'cas';

export interface SetLinkResult {
  /** The user's pod after the call (the target, or the existing owner when not changed). */
  readonly pod: string;
  readonly epoch: number;
  readonly changed: boolean;
  readonly previous?: string | undefined;
}

export interface PodListing {
  /** Store time when listed (ms), to translate deadlines to the local clock. */
  readonly now: number;
  readonly pods: readonly PodRecord[];
}

/**
 * The storage contract of stateful routing, implemented by the Redis store (Lua, one round trip per
 * call) and the in-memory store (the embedded default). Every method is atomic per service.
 * `signal` aborts the call (`ABORTED`); outages reject with `BACKEND_UNAVAILABLE`.
 */
export interface RouteStore extends AsyncDisposable {
  readonly name: string;
  /** New incarnation: a fresh epoch (strictly greater than any before for this service). */
  registerPod(service: string, pod: string, p: PodPublication, signal?: AbortSignal): Promise<number>;
  /** Renews the lease; false when this incarnation was declared dead or replaced (fenced). */
  heartbeatPod(
    service: string,
    pod: string,
    epoch: number,
    p: PodPublication,
    signal?: AbortSignal,
  ): Promise<boolean>;
  /** Removes the pod's record (graceful stop); only this incarnation's. */
  removePod(service: string, pod: string, epoch: number, signal?: AbortSignal): Promise<void>;
  listPods(service: string, signal?: AbortSignal): Promise<PodListing>;
  /**
   * Immediate lease check after a caller could not reach the pod: declares it dead now when its
   * last heartbeat is older than `max(grace, ttl / 2)` ms (1.5 heartbeats at the default TTL, so a
   * healthy pod is never declared dead). Returns true when the pod is (now) dead.
   */
  suspectPod(service: string, pod: string, grace: number, signal?: AbortSignal): Promise<boolean>;
  /** Returns the valid link or places the user on the best pod, atomically. `undefined`: no pod accepts users. */
  claim(
    namespace: string,
    service: string,
    uid: string,
    req: ClaimRequest,
    signal?: AbortSignal,
  ): Promise<ClaimResult | undefined>;
  /** Stored links (one round trip for all uids), judged; `undefined` where absent or expired. */
  getLinks(
    namespace: string,
    service: string,
    uids: readonly string[],
    signal?: AbortSignal,
  ): Promise<(JudgedLink | undefined)[]>;
  /** Throws `INVALID_ARGUMENT` (field `pod`) for a pod the service does not know. */
  setLink(
    namespace: string,
    service: string,
    uid: string,
    pod: string,
    mode: SetLinkMode,
    expect: string,
    signal?: AbortSignal,
  ): Promise<SetLinkResult>;
  /** Releases the link if held by `pod` (`''` = any); kept `persistMs` for a returning user. */
  removeLink(
    namespace: string,
    service: string,
    uid: string,
    pod: string,
    persistMs: number,
    signal?: AbortSignal,
  ): Promise<boolean>;
  /** Services that have (had) pods. */
  services(signal?: AbortSignal): Promise<string[]>;
  /**
   * Change notices for the callers' local caches: a pod's record changed state (registration,
   * state, removal, suspicion) or a link was released or moved by a pod.
   */
  onChange(listener: (change: RouteChange) => void): () => void;
  close(): Promise<void>;
}
