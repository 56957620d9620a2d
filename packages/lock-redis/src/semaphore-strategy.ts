import type { LockInfo } from '@switchyard/core';
import type { KeyLayout } from './key-layout.js';
import type { LockStrategy, StrategyContext } from './lock-strategy.js';
import { parseAttempt } from './lock-strategy.js';
import { ACQUIRE_PERMIT, EXTEND_PERMIT, LIST_PERMITS, RELEASE_PERMIT } from './semaphore-scripts.js';

/** A holder of a permit (or a read lock). */
export interface PermitHolder {
  readonly owner: string;
  readonly token: bigint;
  readonly ttlLeft: number;
}

/** Holder operations shared by the semaphore and the reader side of the read-write lock. */
export const permitOps: Pick<LockStrategy, 'extend' | 'release' | 'cleanup'> = {
  async extend({ client, layout }, h, ttl) {
    return (
      (await EXTEND_PERMIT.run(
        client,
        [layout.holders(h.key), layout.queueMeta(h.key)],
        [h.hid, Math.ceil(ttl)],
      )) === 1
    );
  },
  async release({ client, layout }, h) {
    const reply = await RELEASE_PERMIT.run(
      client,
      [layout.holders(h.key), layout.queueMeta(h.key)],
      [h.hid, layout.channel, h.key],
    );
    return reply === 1;
  },
  async cleanup({ client, layout }, h) {
    await RELEASE_PERMIT.run(
      client,
      [layout.holders(h.key), layout.queueMeta(h.key)],
      [h.hid, layout.channel, h.key],
    );
  },
};

export async function listHolders(
  { client, layout }: { client: StrategyContext['client']; layout: KeyLayout },
  key: string,
): Promise<PermitHolder[]> {
  const rows = (await LIST_PERMITS.run(client, [layout.holders(key), layout.queueMeta(key)], [])) as string[];
  const out: PermitHolder[] = [];
  for (let i = 0; i + 2 < rows.length; i += 3) {
    const meta = rows[i + 2]!;
    const sep = meta.indexOf('|');
    out.push({ token: BigInt(meta.slice(0, sep)), owner: meta.slice(sep + 1), ttlLeft: Number(rows[i + 1]) });
  }
  return out;
}

/** Summarises holders as one LockInfo: the newest holder, the others counted as `waiters: 0`. */
export function holdersInfo(key: string, holders: PermitHolder[]): LockInfo | undefined {
  const newest = holders.reduce<PermitHolder | undefined>(
    (a, b) => (a && a.token > b.token ? a : b),
    undefined,
  );
  if (!newest) return undefined;
  return { key, owner: newest.owner, token: newest.token, ttlLeft: newest.ttlLeft, waiters: 0 };
}

export function semaphoreStrategy(permits: number): LockStrategy {
  return {
    async attempt({ client, layout }, h) {
      return parseAttempt(
        await ACQUIRE_PERMIT.run(
          client,
          [layout.holders(h.key), layout.queueMeta(h.key), layout.fence(h.key)],
          [h.owner, h.hid, h.ttl, permits],
        ),
      );
    },
    ...permitOps,
    async inspect(ctx, key) {
      return holdersInfo(key, await listHolders(ctx, key));
    },
  };
}
