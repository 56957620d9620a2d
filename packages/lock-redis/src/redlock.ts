import { invalidArgument, type KitLock, type LockInfo, SwitchyardError } from '@switchyard/core';
import {
  defineLock,
  exclusiveOptions,
  KEY_PREFIX,
  type LockAttempt,
  type LockDriver,
  lockOptions,
  opt,
  parseOptions,
  raceDeadline,
} from '@switchyard/core/driver';
import type { RedisOptions } from 'ioredis';
import { KeyLayout } from './key-layout.js';
import { scanKeys } from './key-scan.js';
import { LuaScript, type RedisClient } from './lua-script.js';
import { inspectMutex, type MutexInfo, mutexKind, withoutHid } from './mutex-kind.js';
import { quorumCall, tally } from './quorum-call.js';
import { type Connection, isRedisClient, ownConnection, PKG, prefixOption } from './redis-connection.js';
import type { RedisLockCommonOptions } from './redis-lock.js';
import { parseAttempt } from './redis-lock-driver.js';
import { SubscriberHub } from './subscriber-hub.js';
import { WaitTable } from './wait-table.js';

export interface RedlockOptions
  extends Omit<RedisLockCommonOptions, 'client' | 'url' | 'queueLease' | 'requestTimeout' | 'pollInterval'> {
  /** N independent Redis masters (not replicas of each other); 3 or 5 is typical. Not closed by `close()`. */
  clients?: RedisClient[];
  /** Or their URLs (the connections are ours, closed by `close()`). */
  urls?: string[];
  /** Deadline of one call to one node, ms (default 500); keep it small relative to the TTL. */
  requestTimeout?: number;
  /** Upper bound of the jittered fallback poll while waiting, ms (default 200). */
  pollInterval?: number;
}

export interface Redlock extends KitLock {
  readonly clients: readonly RedisClient[];
  readonly quorum: number;
  readonly prefix: string;
}

/**
 * KEYS: fence, lock. ARGV: token, hid. Raises the node's counter to at least `token`, and writes
 * `token` into the holder value when request `hid` holds the lock there (so a quorum agrees on it).
 */
const RAISE_FENCE = new LuaScript(
  `
local c = redis.call('GET', KEYS[1])
if (not c) or tonumber(c) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
local v = redis.call('GET', KEYS[2])
if v then
  local a = string.find(v, '|', 3, true)
  local b = string.find(v, '|', a + 1, true)
  if string.sub(v, a + 1, b - 1) == ARGV[2] then
    redis.call('SET', KEYS[2], string.sub(v, 1, 2) .. ARGV[1] .. string.sub(v, a), 'KEEPTTL')
  end
end
return 1
`,
  2,
);

function unavailable(what: string, failed: number, n: number, cause: unknown): SwitchyardError {
  return new SwitchyardError(
    'BACKEND_UNAVAILABLE',
    `[${PKG}] ${what}: ${failed} of ${n} Redlock nodes failed`,
    {
      cause,
    },
  );
}

/**
 * Redlock: the mutex API over N independent Redis instances. An attempt runs the acquire script on
 * every node in parallel and returns as soon as a majority (N/2+1) granted it, without waiting for
 * a dead or paused node; the layer then checks validity (ttl − elapsed − drift). A split vote or a
 * refusal is undone on every node. Fencing token = the largest counter of the quorum, and lagging
 * quorum nodes are raised to it before the lease is returned, so any later quorum (which intersects
 * this one) issues a larger token. Extend needs a quorum; release returns once a quorum released.
 */
export function createRedlock(options: RedlockOptions): Redlock {
  const o = parseOptions(PKG, options, {
    ...lockOptions({ requestTimeout: 500, pollInterval: 200 }),
    clients: opt.array(opt.instance<RedisClient>(isRedisClient, 'an ioredis Redis client'), {
      min: 1,
      max: 99,
    }),
    urls: opt.array(opt.url(['redis:', 'rediss:']), { min: 1, max: 99 }),
    redisOptions: opt.bag<RedisOptions>(),
    prefix: prefixOption(`${KEY_PREFIX.redis.locks}redlock:`),
  });
  exclusiveOptions(PKG, o, ['clients', 'urls'], { required: true });
  if (o.clients && o.redisOptions !== undefined) {
    throw invalidArgument(PKG, 'redisOptions', 'only applies with urls (configure your own clients instead)');
  }
  const layout = new KeyLayout(PKG, o.prefix);
  const conns: Connection[] = o.clients
    ? o.clients.map((client) => ({ client, close: undefined }))
    : (o.urls ?? []).map((url) => ownConnection(url, o.redisOptions, o.clock));
  const clients = conns.map((c) => c.client);
  if (new Set(clients).size !== clients.length) {
    throw invalidArgument(PKG, 'clients', 'must be distinct clients (one per independent node)');
  }
  const n = clients.length;
  const quorum = Math.floor(n / 2) + 1;
  const { clock, requestTimeout } = o;
  const nodes = mutexKind(layout, false, false);
  const hubs = clients.map((c) => SubscriberHub.of(c));
  const detach = hubs.map((h) => h.attach());
  const table = new WaitTable({
    hubs,
    channel: layout.channel,
    lostChannel: layout.lostChannel,
    mode: 'one',
    clock,
    pkg: PKG,
  });
  const background = new Set<Promise<unknown>>();
  const inBackground = (p: Promise<unknown>) => {
    const q = p.catch(() => {});
    background.add(q);
    void q.finally(() => background.delete(q));
  };
  const latchTtl = Math.ceil(requestTimeout * 4 + 1000);
  const q = (grace: boolean) => ({ timeout: requestTimeout, clock, grace, quorum });
  const undo = (req: Parameters<LockDriver['abandon']>[0]) =>
    inBackground(Promise.all(clients.map((c) => nodes.abandon(c, req).catch(() => {}))));

  const driver: LockDriver = {
    name: 'redlock',
    capabilities: Object.freeze({
      fair: false,
      reentrant: o.reentrant,
      ttlGranularity: 'milliseconds',
      notifications: true,
    }),
    lineUpLocally: true,
    async attempt(req): Promise<LockAttempt> {
      const results = await quorumCall(
        clients,
        q(true),
        async (c) => parseAttempt(await nodes.attempt(c, req, 0, false)),
        (rs, final) => {
          const t = tally(rs, (r) => r.acquired);
          if (t.yes >= quorum || t.yes + t.pending < quorum || final) return [...rs];
          return undefined;
        },
      );
      const won = results.flatMap((r, i) => (r?.ok && r.value.acquired ? [{ i, token: r.value.token }] : []));
      if (won.length >= quorum) {
        let token = 0n;
        for (const w of won) if (w.token > token) token = w.token;
        const lagging = won.filter((w) => w.token < token);
        const raised = await Promise.all(
          lagging.map(async (w) => {
            const c = clients[w.i] as RedisClient;
            const r = await raceDeadline(
              RAISE_FENCE.run(c, [layout.fence(req.key), layout.lock(req.key)], [token.toString(), req.id]),
              requestTimeout,
              clock,
              [],
            );
            return r.ok;
          }),
        );
        if (won.length - raised.filter((ok) => !ok).length >= quorum) return { acquired: true, token };
      }
      // Missed the quorum: undo everywhere (also on nodes that have not answered: the undo runs after
      // the attempt on each connection).
      undo(req);
      const t = tally(results, (r) => r.acquired);
      if (t.failed > n - quorum && t.no < quorum) throw unavailable('acquire', t.failed, n, t.firstError);
      // A split vote (some nodes granted): retry after a random short delay, as the Redlock
      // algorithm asks, so that the parties do not split again in lockstep.
      if (t.yes > 0) return { acquired: false, retryIn: Math.floor(Math.random() * o.pollInterval) };
      let retryIn = -1;
      for (const r of results) if (r?.ok && !r.value.acquired) retryIn = Math.max(retryIn, r.value.pttl);
      return { acquired: false, retryIn };
    },
    waiter: (req, bound) => table.open(req, bound),
    async extend(req, _token, ttl) {
      return quorumCall(
        clients,
        q(false),
        (c) => nodes.extend(c, req, Math.ceil(ttl)),
        (rs, final) => {
          const t = tally(rs, (v) => v === 1);
          if (t.yes >= quorum) return true;
          if (t.no > n - quorum) return false;
          if (!final) return undefined;
          if (t.failed > n - quorum) throw unavailable('extend', t.failed, n, t.firstError);
          return false;
        },
      );
    },
    release: (req, _token, _signal, retry) =>
      quorumCall(
        clients,
        q(true),
        (c) => nodes.release(c, req, latchTtl, retry),
        (rs, final) => {
          const t = tally(rs, (v) => v === 1);
          if (t.yes >= quorum) return true;
          if (t.no > n - quorum) return false;
          if (!final) return undefined;
          if (t.yes > 0) return true;
          if (t.failed > n - quorum) throw unavailable('release', t.failed, n, t.firstError);
          return false;
        },
      ),
    async abandon(req) {
      table.drop(req.id);
      await quorumCall(
        clients,
        q(true),
        (c) => nodes.abandon(c, req),
        (rs, final) => (final || tally(rs, () => true).yes >= quorum ? true : undefined),
      );
    },
    async inspect(key) {
      const info = await quorumCall(
        clients,
        q(true),
        (c) => inspectMutex(c, layout, key),
        (rs, final) => {
          // The holder a quorum agrees on: same request id and same token (the acquire wrote the
          // lease's token on every node of its quorum).
          const groups = new Map<string, MutexInfo[]>();
          for (const r of rs) {
            if (!r?.ok || !r.value) continue;
            const id = `${r.value.hid}|${r.value.token}`;
            groups.set(id, [...(groups.get(id) ?? []), r.value]);
          }
          for (const infos of groups.values()) {
            if (infos.length < quorum) continue;
            return {
              ...withoutHid(infos[0] as MutexInfo),
              ttlLeft: Math.min(...infos.map((i) => i.ttlLeft)),
              waiters: 0,
            };
          }
          const t = tally(rs, () => true);
          const largest = Math.max(0, ...[...groups.values()].map((g) => g.length));
          if (!final && largest + t.pending >= quorum) return undefined;
          if (t.failed > n - quorum) throw unavailable('inspect', t.failed, n, t.firstError);
          return null;
        },
      );
      return info ?? undefined;
    },
    async list(limit) {
      const seen = await quorumCall(
        clients,
        q(true),
        (c) => scanKeys(c, layout.pattern('lock'), limit),
        (rs, final) => {
          if (!final) return undefined;
          const t = tally(rs, () => true);
          if (t.failed > n - quorum) throw unavailable('list', t.failed, n, t.firstError);
          const count = new Map<string, number>();
          for (const r of rs) if (r?.ok) for (const k of r.value) count.set(k, (count.get(k) ?? 0) + 1);
          return [...count].filter(([, c]) => c >= quorum).map(([k]) => k);
        },
      );
      const infos: LockInfo[] = [];
      for (const redisKey of seen.slice(0, limit)) {
        const key = layout.keyOf(redisKey, 'lock');
        const info = key === undefined ? undefined : await driver.inspect(key, new AbortController().signal);
        if (info) infos.push(info);
      }
      return infos.sort((a, b) => (a.key < b.key ? -1 : 1));
    },
    async forceRelease(key) {
      return quorumCall(
        clients,
        q(true),
        (c) => nodes.forceRelease(c, key),
        (rs, final) => {
          const t = tally(rs, (v) => v === 1);
          if (!final && t.yes + t.no < n) return undefined;
          if (t.yes > 0) return true;
          if (t.failed > n - quorum) throw unavailable('forceRelease', t.failed, n, t.firstError);
          return false;
        },
      );
    },
    track: (req, lease) => table.track(req.id, lease),
    async close() {
      table.close();
      await Promise.all([...background]);
      for (const d of detach) d();
      await Promise.all(conns.map((c) => c.close?.()));
    },
  };
  const lock = defineLock(driver, {
    pkg: PKG,
    clock,
    ttl: o.ttl,
    wait: o.wait,
    // One attempt = the node calls, then raising lagging fence counters.
    requestTimeout: requestTimeout * 2 + 100,
    pollInterval: o.pollInterval,
    unavailableAfter: o.unavailableAfter,
    drift: o.drift,
    reentrant: o.reentrant,
    onListenerError: o.onListenerError,
  });
  return { ...lock, clients, quorum, prefix: layout.prefix };
}
