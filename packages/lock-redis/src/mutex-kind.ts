import type { LockInfo } from '@switchyard/core';
import type { KeyLayout } from './key-layout.js';
import type { RedisClient } from './lua-script.js';
import {
  ABANDON_MUTEX,
  ACQUIRE_FAIR,
  ACQUIRE_MUTEX,
  EXTEND_MUTEX,
  FORCE_RELEASE_MUTEX,
  INSPECT_MUTEX,
  RELEASE_MUTEX,
} from './mutex-scripts.js';
import type { KindScripts } from './redis-lock-driver.js';

/** A mutex holder as `inspect` reports it, plus the request id holding it (for Redlock's quorum). */
export type MutexInfo = LockInfo & { readonly hid: string };

export function mutexKeys(layout: KeyLayout, key: string): string[] {
  return [
    layout.lock(key),
    layout.fence(key),
    layout.queue(key),
    layout.queueDeadlines(key),
    layout.queueMeta(key),
  ];
}

export async function inspectMutex(
  c: RedisClient,
  layout: KeyLayout,
  key: string,
): Promise<MutexInfo | undefined> {
  const reply = (await INSPECT_MUTEX.run(c, [layout.lock(key), layout.queue(key)], [])) as string[];
  if (reply.length < 5) return undefined;
  const [owner, token, pttl, waiters, hid] = reply as [string, string, string, string, string];
  return { key, owner, token: BigInt(token), ttlLeft: Number(pttl), waiters: Number(waiters), hid };
}

/**
 * The mutex on one Redis: `fair` lets only the head of the queue take a free lock (strict FIFO);
 * the plain mutex lets anyone take a free lock but hands a released one to the first queued waiter.
 * `queue: false` (Redlock nodes): attempts never queue, every release announces the lock free.
 */
export function mutexKind(layout: KeyLayout, fair: boolean, queue = true): KindScripts {
  const { channel } = layout;
  return {
    listSuffix: 'lock',
    attempt(c, req, lease, requeue) {
      const ttl = Math.ceil(req.ttl);
      if (fair) {
        return ACQUIRE_FAIR.run(c, mutexKeys(layout, req.key), [
          req.owner,
          req.id,
          ttl,
          lease,
          channel,
          req.key,
        ]);
      }
      return ACQUIRE_MUTEX.run(c, mutexKeys(layout, req.key), [
        req.owner,
        req.id,
        ttl,
        queue ? lease : 0,
        requeue ? '1' : '0',
      ]);
    },
    extend: (c, req, ttl) => EXTEND_MUTEX.run(c, [layout.lock(req.key)], [req.id, ttl]),
    release(c, req, latchTtl, retry) {
      const k = req.key;
      return RELEASE_MUTEX.run(
        c,
        [
          layout.lock(k),
          layout.latch(k, req.id),
          layout.fence(k),
          layout.queue(k),
          layout.queueDeadlines(k),
          layout.queueMeta(k),
        ],
        [req.id, channel, k, latchTtl, retry ? '1' : '0', queue ? '0' : '1'],
      );
    },
    abandon: (c, req) =>
      ABANDON_MUTEX.run(c, mutexKeys(layout, req.key), [req.id, channel, req.key, queue ? '0' : '1']),
    inspect: (c, key) => inspectMutex(c, layout, key).then((i) => i && withoutHid(i)),
    forceRelease: (c, key) =>
      FORCE_RELEASE_MUTEX.run(c, mutexKeys(layout, key), [channel, key, layout.lostChannel]),
  };
}

export function withoutHid({ hid: _, ...info }: MutexInfo): LockInfo {
  return info;
}
