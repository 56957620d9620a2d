import { assertKey, type LockInfo } from '@switchyard/core';
import type { IKeyValue } from 'etcd3';
import { PKG } from './constants.js';
import { lockDir, parseContenderKey } from './key-space.js';
import type { LockEngine } from './lock-engine.js';
import { rpc } from './queue.js';
import { callOptions } from './rpc.js';

export interface EtcdLockInfo extends LockInfo {
  /** The holder's queue key in etcd. */
  readonly queueKey: string;
  /** The holder's etcd lease id (decimal string). */
  readonly leaseId: string;
}

/**
 * Operator view of the lock space. The holder of a key is its oldest queue key (lowest create
 * revision); every other queue key is a waiter. (For a semaphore the N oldest hold: `waiters`
 * then counts every key after the first.)
 */
export class LockAdmin {
  readonly #engine: LockEngine;

  constructor(engine: LockEngine) {
    this.#engine = engine;
  }

  async inspect(key: string, signal?: AbortSignal): Promise<EtcdLockInfo | undefined> {
    assertKey(PKG, 'key', key);
    this.#engine.assertOpen();
    const { client, requestTimeout } = this.#engine.options;
    const dir = lockDir(this.#engine.options.prefix, key);
    const res = await rpc(
      signal,
      'inspect',
      client.getAll().prefix(dir).sort('Create', 'Ascend').options(callOptions(requestTimeout)).exec(),
    );
    const holder = res.kvs[0];
    if (!holder) return undefined;
    return this.#info(key, holder, res.kvs.length - 1, signal);
  }

  async list(signal?: AbortSignal): Promise<EtcdLockInfo[]> {
    this.#engine.assertOpen();
    const { client, requestTimeout, prefix } = this.#engine.options;
    const res = await rpc(
      signal,
      'list',
      client
        .getAll()
        .prefix(`${prefix}/`)
        .sort('Create', 'Ascend')
        .options(callOptions(requestTimeout))
        .exec(),
    );
    const byKey = new Map<string, { holder: IKeyValue; count: number }>();
    for (const kv of res.kvs) {
      const parsed = parseContenderKey(prefix, kv.key.toString());
      if (!parsed) continue;
      const entry = byKey.get(parsed.key);
      if (entry) entry.count++;
      else byKey.set(parsed.key, { holder: kv, count: 1 });
    }
    const infos = await Promise.all(
      [...byKey].map(([key, { holder, count }]) => this.#info(key, holder, count - 1, signal)),
    );
    return infos.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  }

  /**
   * Deletes the current holder's queue key (only if it is still that holder's), letting the next
   * waiter in. The holder learns at its next renewal (at most ttl/3 later) through `lease:lost`.
   * Fencing is unaffected: the next holder's token is a later revision.
   */
  async forceRelease(key: string, signal?: AbortSignal): Promise<boolean> {
    const info = await this.inspect(key, signal);
    if (!info) return false;
    return this.#engine.deleteIfMine(info.queueKey, info.token, signal);
  }

  async #info(key: string, holder: IKeyValue, waiters: number, signal?: AbortSignal): Promise<EtcdLockInfo> {
    const { client, requestTimeout } = this.#engine.options;
    let ttlLeft = -1;
    if (holder.lease !== '0') {
      const ttl = await rpc(
        signal,
        'lease ttl',
        client.leaseClient.leaseTimeToLive({ ID: holder.lease, keys: false }, callOptions(requestTimeout)),
      ).catch(() => undefined);
      if (ttl && Number(ttl.TTL) >= 0) ttlLeft = Number(ttl.TTL) * 1000;
    }
    return {
      key,
      owner: holder.value.toString(),
      token: BigInt(holder.create_revision),
      ttlLeft,
      waiters,
      queueKey: holder.key.toString(),
      leaseId: holder.lease,
    };
  }
}
