import type { Clock, LockCapabilities, LockInfo } from '@switchyard/core';
import type { LockAttempt, LockDriver, LockRequest } from '@switchyard/core/driver';
import type { KeyLayout } from './key-layout.js';
import { scanKeys } from './key-scan.js';
import type { RedisClient } from './lua-script.js';
import { SubscriberHub } from './subscriber-hub.js';
import { WaitTable, type WakeMode } from './wait-table.js';

/** The scripts of one lock kind (mutex, fair, semaphore, reader, writer) on one Redis. */
export interface KindScripts {
  /** The key suffix `list` scans for (`lock` for mutex holders, `holders` for permits). */
  readonly listSuffix: string;
  /** → `{acquired, token | pttl, server ms[, ms left on a grant picked up]}`. `queueLease` 0: do not queue. */
  attempt(c: RedisClient, req: LockRequest, queueLease: number, requeue: boolean): Promise<unknown>;
  extend(c: RedisClient, req: LockRequest, ttl: number): Promise<unknown>;
  /** `retry`: a second call after an ambiguous failure (answers like the first, through the latch). */
  release(c: RedisClient, req: LockRequest, latchTtl: number, retry: boolean): Promise<unknown>;
  abandon(c: RedisClient, req: LockRequest): Promise<unknown>;
  inspect(c: RedisClient, key: string): Promise<LockInfo | undefined>;
  forceRelease(c: RedisClient, key: string): Promise<unknown>;
}

export interface RedisDriverOptions {
  name: string;
  capabilities: LockCapabilities;
  client: RedisClient;
  /** Closes the connection when this driver created it. */
  closeClient?: (() => Promise<void>) | undefined;
  layout: KeyLayout;
  scripts: KindScripts;
  /** Cap of a waiter's queue place (and of a hand-off grant to it) without a refresh, ms. */
  queueLease: number;
  mode: WakeMode;
  clock: Clock;
  requestTimeout: number;
  pkg: string;
}

/** Parses the `{acquired, token|pttl, serverMs[, grantPttl]}` reply of an acquire script. */
export function parseAttempt(reply: unknown): {
  acquired: boolean;
  token: bigint;
  pttl: number;
  serverMs: number;
  grantPttl: number;
} {
  const [ok, value, ms, grantPttl] = reply as [string, string, string, string | undefined];
  const acquired = ok === '1';
  return {
    acquired,
    token: acquired ? BigInt(value) : 0n,
    pttl: acquired ? -1 : Number(value),
    serverMs: Number(ms),
    grantPttl: grantPttl === undefined ? -1 : Number(grantPttl),
  };
}

/**
 * The `LockDriver` of every single-Redis kind: one script round trip per attempt, a request's
 * queue place refreshed by its attempts, waiting on the client's shared pub/sub connection, the
 * release latch for retried releases, forced-release notices to the holder, admin by `SCAN`.
 */
export function redisLockDriver(o: RedisDriverOptions): LockDriver {
  const { client, scripts, clock } = o;
  const hub = SubscriberHub.of(client);
  const detach = hub.attach();
  const table = new WaitTable({
    hubs: [hub],
    channel: o.layout.channel,
    lostChannel: o.layout.lostChannel,
    mode: o.mode,
    clock,
    pkg: o.pkg,
  });
  const latchTtl = Math.ceil(o.requestTimeout * 4 + 1000);
  return {
    name: o.name,
    capabilities: o.capabilities,
    async attempt(req, { queueFor, requeue }): Promise<LockAttempt> {
      const lease = queueFor > 0 ? Math.ceil(Math.min(o.queueLease, queueFor)) : 0;
      if (lease > 0) table.preRegister(req.key, req.id);
      const sentAt = clock.monotonic();
      let r: ReturnType<typeof parseAttempt>;
      try {
        r = parseAttempt(await scripts.attempt(client, req, lease, requeue));
      } catch (error) {
        table.drop(req.id);
        throw error;
      }
      table.observe(r.serverMs, clock.monotonic() - sentAt);
      if (!r.acquired) return { acquired: false, retryIn: r.pttl };
      table.drop(req.id);
      // Picked up a hand-off grant (its notice missed): it may be shorter than the ttl.
      if (r.grantPttl >= 0 && r.grantPttl < req.ttl)
        return { acquired: true, token: r.token, validFor: r.grantPttl };
      return { acquired: true, token: r.token };
    },
    waiter: (req, bound) => table.open(req, bound),
    async extend(req, _token, ttl) {
      return (await scripts.extend(client, req, Math.ceil(ttl))) === 1;
    },
    async release(req, _token, _signal, retry) {
      return (await scripts.release(client, req, latchTtl, retry)) === 1;
    },
    async abandon(req) {
      table.drop(req.id);
      await scripts.abandon(client, req);
    },
    inspect: (key) => scripts.inspect(client, key),
    async list(limit) {
      const redisKeys = await scanKeys(client, o.layout.pattern(scripts.listSuffix), limit);
      const infos = await Promise.all(
        redisKeys.map((k) => {
          const key = o.layout.keyOf(k, scripts.listSuffix);
          return key === undefined ? undefined : scripts.inspect(client, key);
        }),
      );
      return infos.filter((i): i is LockInfo => i !== undefined).sort((a, b) => (a.key < b.key ? -1 : 1));
    },
    async forceRelease(key) {
      return (await scripts.forceRelease(client, key)) === 1;
    },
    track: (req, lease) => table.track(req.id, lease),
    async close() {
      table.close();
      detach();
      await o.closeClient?.();
    },
  };
}
