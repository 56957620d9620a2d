import type { LockInfo } from '@switchyard/core';
import type { LockStrategy, StrategyContext } from './lock-strategy.js';
import { parseAttempt } from './lock-strategy.js';
import {
  ACQUIRE_FAIR,
  ACQUIRE_MUTEX,
  CLEANUP_MUTEX,
  EXTEND_MUTEX,
  INSPECT_MUTEX,
  RELEASE_MUTEX,
  RELEASE_SIMPLE,
} from './mutex-scripts.js';

/**
 * Exclusive lock; `fair` adds the FIFO queue with per-waiter deadlines and direct hand-off.
 * `notifyFree`: publish a release notice even when nobody is queued (for waiters that do not queue).
 */
export function mutexStrategy(fair: boolean, notifyFree = false): LockStrategy {
  return {
    // Both kinds queue a waiting handle (the plain mutex so that a release can hand off to it).
    waitLeavesState: true,
    async attempt({ client, layout }, h, queueLease, queued) {
      const reentrant = h.reentrant ? '1' : '0';
      if (!fair) {
        return parseAttempt(
          await ACQUIRE_MUTEX.run(client, fairKeys(layout, h.key), [
            h.owner,
            h.hid,
            h.ttl,
            reentrant,
            Math.ceil(queueLease),
            queued ? '1' : '0',
          ]),
        );
      }
      return parseAttempt(
        await ACQUIRE_FAIR.run(client, fairKeys(layout, h.key), [
          h.owner,
          h.hid,
          h.ttl,
          reentrant,
          Math.ceil(queueLease),
          layout.channel,
          h.key,
        ]),
      );
    },
    async extend({ client, layout }, h, ttl) {
      return (await EXTEND_MUTEX.run(client, [layout.lock(h.key)], [h.owner, Math.ceil(ttl)])) === 1;
    },
    async release({ client, layout }, h, latchTtl, retry) {
      const [lock, fence, queue, dl, meta] = fairKeys(layout, h.key);
      if (!fair) {
        const reply = await RELEASE_SIMPLE.run(
          client,
          [lock, layout.latch(h.key, h.hid), fence, queue, dl, meta],
          [h.owner, layout.channel, h.key, Math.ceil(latchTtl), retry ? '1' : '0', notifyFree ? '1' : '0'],
        );
        return reply === 1;
      }
      const reply = await RELEASE_MUTEX.run(
        client,
        [lock, layout.latch(h.key, h.hid), fence, queue, dl, meta],
        [h.owner, layout.channel, h.key, Math.ceil(latchTtl)],
      );
      return reply === 1;
    },
    async cleanup({ client, layout }, h) {
      await CLEANUP_MUTEX.run(client, fairKeys(layout, h.key), [h.owner, h.hid, layout.channel, h.key]);
    },
    async inspect({ client, layout }, key) {
      return inspectMutex({ client, layout }, key);
    },
  };
}

export function fairKeys(
  layout: StrategyContext['layout'],
  key: string,
): [string, string, string, string, string] {
  return [
    layout.lock(key),
    layout.fence(key),
    layout.queue(key),
    layout.queueDeadlines(key),
    layout.queueMeta(key),
  ];
}

export async function inspectMutex(
  { client, layout }: StrategyContext,
  key: string,
): Promise<LockInfo | undefined> {
  const reply = (await INSPECT_MUTEX.run(client, [layout.lock(key), layout.queue(key)], [])) as string[];
  if (reply.length < 4) return undefined;
  const [owner, token, pttl, waiters] = reply as [string, string, string, string];
  return { key, owner, token: BigInt(token), ttlLeft: Number(pttl), waiters: Number(waiters) };
}
