import type { LockStats } from '@switchyard/core';
import {
  assertDuration,
  assertInteger,
  assertWait,
  type Clock,
  type DistributedLock,
  invalidArgument,
  type LockInfo,
  systemClock,
} from '@switchyard/core';
import { Redis, type RedisOptions } from 'ioredis';
import { KeyLayout } from './key-layout.js';
import { LockEngine, PKG } from './lock-engine.js';
import type { AttemptResult, Handle, LockStrategy } from './lock-strategy.js';
import { parseAttempt } from './lock-strategy.js';
import { LuaScript, type RedisClient } from './lua-script.js';
import { ACQUIRE_MUTEX, CLEANUP_MUTEX, EXTEND_MUTEX, RELEASE_MUTEX } from './mutex-scripts.js';
import { fairKeys, inspectMutex } from './mutex-strategy.js';

export interface RedlockOptions {
  /** N independent Redis masters (not replicas of each other). 3 or 5 is typical. */
  clients?: RedisClient[];
  /** Or their URLs (connections are closed by `close()`). */
  urls?: string[];
  redisOptions?: RedisOptions;
  prefix?: string;
  /** Default lease TTL in ms (default 30 000). */
  ttl?: number;
  /** Default wait in ms (default `Infinity`). */
  wait?: number;
  /** Time limit of one call to one node, ms (default 500). Keep it small relative to the TTL. */
  nodeTimeout?: number;
  /** Upper bound of the jittered retry delay while waiting, ms (default 200; ±25 %). */
  retryDelay?: number;
  /** Clock drift allowance subtracted from validity, ms (default 1 % of ttl + 2, as in the Redlock spec). */
  drift?: number;
  clock?: Clock;
}

export interface Redlock extends DistributedLock {
  readonly clients: readonly RedisClient[];
  readonly quorum: number;
  stats(): LockStats;
}

/** KEYS: fence. ARGV: token. Raises the node's counter to at least `token`. */
const RAISE_FENCE = new LuaScript(
  `
local c = redis.call('GET', KEYS[1])
if (not c) or tonumber(c) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`,
  1,
);

type NodeResult<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Redlock: the mutex API over N independent Redis instances. An attempt runs the acquire script on
 * every node in parallel; it wins with a majority (N/2+1) and positive validity
 * (ttl − elapsed − drift, elapsed on the monotonic clock measured after the quorum replied);
 * otherwise it releases on every node and retries after a jittered delay. Fencing token = the
 * largest counter of the quorum, and the lagging quorum nodes are raised to it before the lease is
 * returned, so any later quorum (which intersects this one) issues a larger token.
 */
export function createRedlock(options: RedlockOptions): Redlock {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument(PKG, 'options', 'must be an object');
  let clients: RedisClient[];
  let owns = false;
  if (options.clients !== undefined) {
    if (!Array.isArray(options.clients) || options.clients.length === 0) {
      throw invalidArgument(PKG, 'clients', 'must be a non-empty array of ioredis clients');
    }
    clients = options.clients;
  } else if (Array.isArray(options.urls) && options.urls.length > 0) {
    clients = options.urls.map((url) => {
      const c = new Redis(url, { maxRetriesPerRequest: 1, ...options.redisOptions });
      c.on('error', () => {});
      return c;
    });
    owns = true;
  } else {
    throw invalidArgument(PKG, 'clients', 'or urls is required');
  }
  assertInteger(PKG, 'clients.length', clients.length, 1, 99);
  const clock = options.clock ?? systemClock;
  const nodeTimeout = assertDuration(PKG, 'nodeTimeout', options.nodeTimeout ?? 500);
  const retryDelay = assertDuration(PKG, 'retryDelay', options.retryDelay ?? 200);
  const drift =
    options.drift === undefined
      ? undefined
      : assertDuration(PKG, 'drift', options.drift, { allowZero: true });
  const quorum = Math.floor(clients.length / 2) + 1;
  const layout = new KeyLayout(PKG, options.prefix ?? 'switchyard:redlock:');

  const onAll = <T>(fn: (c: RedisClient) => Promise<T>): Promise<NodeResult<T>[]> =>
    Promise.all(
      clients.map(async (c) => {
        let timer: ReturnType<Clock['setTimeout']> | undefined;
        try {
          const timeout = new Promise<never>((_, reject) => {
            timer = clock.setTimeout(() => reject(new Error('node timeout')), nodeTimeout, { unref: true });
          });
          const p = fn(c);
          p.catch(() => {});
          return { ok: true as const, value: await Promise.race([p, timeout]) };
        } catch (error) {
          return { ok: false as const, error };
        } finally {
          clock.clearTimeout(timer);
        }
      }),
    );

  const releaseAll = (h: Handle) =>
    onAll((c) => CLEANUP_MUTEX.run(c, fairKeys(layout, h.key), [h.owner, h.hid, layout.channel, h.key]));

  const failure = (results: NodeResult<unknown>[]): Error | undefined => {
    const errors = results.filter((r) => !r.ok);
    if (errors.length <= clients.length - quorum) return undefined;
    const first = errors[0] as { error: unknown } | undefined;
    return new Error(`${errors.length} of ${clients.length} nodes failed`, { cause: first?.error });
  };

  const strategy: LockStrategy = {
    async attempt(_ctx, h): Promise<AttemptResult> {
      const start = clock.monotonic();
      const results = await onAll(async (c) =>
        parseAttempt(
          await ACQUIRE_MUTEX.run(c, fairKeys(layout, h.key), [h.owner, h.hid, h.ttl, '0', '0', '0']),
        ),
      );
      const won = results.flatMap((r, i) => (r.ok && r.value.acquired ? [{ i, token: r.value.token }] : []));
      const busy = results.flatMap((r) => (r.ok && !r.value.acquired ? [r.value] : []));
      const serverMs = results.find((r) => r.ok)?.value.serverMs ?? clock.now();
      let ok = won.length >= quorum;
      let token = maxToken(won.map((w) => w.token));
      if (ok) {
        const lagging = won.filter((w) => w.token < token);
        if (lagging.length > 0) {
          const raised = await Promise.all(
            lagging.map((w) =>
              RAISE_FENCE.run(clients[w.i]!, [layout.fence(h.key)], [token.toString()]).then(
                () => true,
                () => false,
              ),
            ),
          );
          ok = won.length - raised.filter((r) => !r).length >= quorum;
        }
        const drifted = drift ?? Math.floor(h.ttl * 0.01) + 2;
        if (clock.monotonic() - start >= h.ttl - drifted) ok = false; // no validity left
      }
      if (ok) return { acquired: true, token, pttl: -1, serverMs, grantPttl: -1 };
      // Missed the quorum or the validity: undo everywhere (also on nodes that did not answer).
      await releaseAll(h);
      const err = failure(results);
      if (err && busy.length < quorum) throw err;
      token = 0n;
      const pttl = busy.reduce((m, b) => Math.max(m, b.pttl), -1);
      return { acquired: false, token, pttl, serverMs, grantPttl: -1 };
    },
    async extend(_ctx, h, ttl) {
      const results = await onAll((c) =>
        EXTEND_MUTEX.run(c, [layout.lock(h.key)], [h.owner, Math.ceil(ttl)]),
      );
      if (results.filter((r) => r.ok && r.value === 1).length >= quorum) return true;
      const err = failure(results);
      if (err) throw err;
      return false;
    },
    async release(_ctx, h, latchTtl) {
      const results = await onAll((c) => {
        const [lock, fence, queue, dl, meta] = fairKeys(layout, h.key);
        return RELEASE_MUTEX.run(
          c,
          [lock, layout.latch(h.key, h.hid), fence, queue, dl, meta],
          [h.owner, layout.channel, h.key, Math.ceil(latchTtl)],
        );
      });
      return results.filter((r) => r.ok && r.value === 1).length >= quorum;
    },
    async cleanup(_ctx, h) {
      await releaseAll(h);
    },
    async inspect(_ctx, key): Promise<LockInfo | undefined> {
      const results = await onAll((c) => inspectMutex({ client: c, layout }, key));
      const byOwner = new Map<string, LockInfo[]>();
      for (const r of results) {
        if (!r.ok || !r.value) continue;
        byOwner.set(r.value.owner, [...(byOwner.get(r.value.owner) ?? []), r.value]);
      }
      for (const infos of byOwner.values()) {
        if (infos.length >= quorum) {
          return {
            key,
            owner: infos[0]!.owner,
            token: maxToken(infos.map((i) => i.token)),
            ttlLeft: Math.min(...infos.map((i) => i.ttlLeft)),
            waiters: 0,
          };
        }
      }
      const err = failure(results);
      if (err) throw err;
      return undefined;
    },
  };

  const engine = new LockEngine({
    name: 'redlock',
    client: clients[0]!,
    ownsClient: false,
    layout,
    strategy,
    capabilities: Object.freeze({
      fair: false,
      reentrant: false,
      ttlGranularity: 'milliseconds',
      notifications: true,
    }),
    wakeMode: 'one',
    clock,
    ttl: assertDuration(PKG, 'ttl', options.ttl ?? 30_000),
    wait: assertWait(PKG, 'wait', options.wait ?? Number.POSITIVE_INFINITY),
    operationTimeout: nodeTimeout * 2 + 500,
    pollInterval: retryDelay,
    queueLease: 0,
    drift,
    reentrant: false,
  });
  const close = async () => {
    await engine.close();
    if (owns) await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  };
  return {
    name: engine.name,
    capabilities: engine.capabilities,
    clients,
    quorum,
    acquire: (key, o) => engine.acquire(key, o),
    tryAcquire: (key, o) => engine.tryAcquire(key, o),
    inspect: (key, o) => engine.inspect(key, o),
    stats: () => engine.stats.snapshot(),
    close,
    [Symbol.asyncDispose]: close,
  };
}

function maxToken(tokens: bigint[]): bigint {
  let max = 0n;
  for (const t of tokens) if (t > max) max = t;
  return max;
}
