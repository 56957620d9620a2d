/**
 * One name for one idea, in every package (the table is in the core README, "Naming"):
 * `requestTimeout` is the deadline of one backend call; `pollInterval` the fallback poll while
 * waiting for a notification; `backoff` ({ base, max, factor }) the delays between retries after
 * failures; connections are `client` (yours, never closed by us) or `url` / `hosts` (ours).
 */

/** Default TTLs, ms: one per contract, whatever the backend. */
export const DEFAULT_TTL = Object.freeze({
  /** A lock lease (Redisson's watchdog default). */
  lock: 30_000,
  /** A discovery registration (lease, TTL check or expiry score). */
  registration: 10_000,
});

/** Default deadline of one backend call, ms. */
export const DEFAULT_REQUEST_TIMEOUT = 5_000;

/**
 * How long a lock `acquire` keeps retrying an unreachable backend before it rejects with
 * `BACKEND_UNAVAILABLE`, ms, when its `wait` is longer (a wait bound reached first rejects with
 * `LOCK_TIMEOUT`, the outage as cause).
 */
export const DEFAULT_UNAVAILABLE_AFTER = 10_000;

/** Key prefixes: etcd keys are paths, Redis keys are colon-separated. */
export const KEY_PREFIX = Object.freeze({
  etcd: Object.freeze({
    locks: '/switchyard/locks',
    services: '/switchyard/services',
    config: '/switchyard/config',
    cache: '/switchyard/cache',
  }),
  redis: Object.freeze({
    locks: 'switchyard:lock:',
    services: 'switchyard:svc:',
    config: 'switchyard:cfg:',
    cache: 'switchyard:cache:',
    routes: 'switchyard:route:',
  }),
});
