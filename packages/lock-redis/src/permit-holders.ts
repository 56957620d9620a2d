import type { LockInfo } from '@switchyard/core';
import type { KeyLayout } from './key-layout.js';
import type { RedisClient } from './lua-script.js';
import { INSPECT_PERMITS } from './semaphore-scripts.js';

/** A holder of a permit (or a read lock). */
export interface PermitHolder {
  readonly owner: string;
  readonly token: bigint;
  readonly ttlLeft: number;
}

/** Live holders of `key` and the number of queued waiters. */
export async function readPermits(
  c: RedisClient,
  layout: KeyLayout,
  key: string,
): Promise<{ holders: PermitHolder[]; waiters: number }> {
  const rows = (await INSPECT_PERMITS.run(
    c,
    [layout.holders(key), layout.holderMeta(key), layout.queue(key)],
    [],
  )) as string[];
  const holders: PermitHolder[] = [];
  for (let i = 1; i + 2 < rows.length; i += 3) {
    const meta = rows[i + 2]!;
    const sep = meta.indexOf('|');
    holders.push({
      token: BigInt(meta.slice(0, sep)),
      owner: meta.slice(sep + 1),
      ttlLeft: Number(rows[i + 1]),
    });
  }
  return { holders, waiters: Number(rows[0] ?? 0) };
}

/** Holders summarised as one `LockInfo`: the newest holder, with the queued waiters. */
export async function inspectPermits(
  c: RedisClient,
  layout: KeyLayout,
  key: string,
): Promise<LockInfo | undefined> {
  const { holders, waiters } = await readPermits(c, layout, key);
  let newest: PermitHolder | undefined;
  for (const h of holders) if (!newest || h.token > newest.token) newest = h;
  if (!newest) return undefined;
  return { key, owner: newest.owner, token: newest.token, ttlLeft: newest.ttlLeft, waiters };
}
