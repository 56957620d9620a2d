import { type Clock, type LockCapabilities, type LockInfo, SwitchyardError } from '@switchyard/core';
import type { LockAttempt, LockDriver, LockRequest, ManagedLease } from '@switchyard/core/driver';
import type { Etcd3, IKeyValue } from 'etcd3';
import { PKG } from './constants.js';
import { callOptions } from './etcd-connection.js';
import { lockDir, parseContenderKey } from './key-space.js';
import { OrphanSweeper } from './orphan-sweeper.js';
import { type QueuePlace, QueueWaiter } from './queue-waiter.js';
import { type EtcdSession, SessionPool } from './session.js';

export interface EtcdDriverOptions {
  name: string;
  capabilities: LockCapabilities;
  client: Etcd3;
  closeClient: () => void;
  prefix: string;
  /** Holders admitted at once per key: 1 for a mutex, N for a semaphore. */
  permits: number;
  clock: Clock;
  requestTimeout: number;
  /** What a contender key stores (default the owner; an election stores the candidate's value). */
  storedValue?: (request: LockRequest) => string;
}

/** A held place: the session the key lives on (an extend to another whole-second TTL moves it). */
interface Held extends QueuePlace {
  session: EtcdSession;
}

/** The whole-second etcd lease for a ttl (the lock's own validity stays the requested ttl). */
export const secondsFor = (ttl: number): number => Math.max(1, Math.ceil(ttl / 1000));

/**
 * The `LockDriver` of every etcd kind. Contenders queue as keys `<prefix>/<key>/<request id>` on
 * this client's session lease for the TTL; the `permits` oldest keys (lowest create revision) hold
 * and a holder's create revision is its fencing token. One transaction per attempt; waiters watch
 * for deletions (see QueueWaiter); a key whose delete failed is retried in the background while the
 * session lives, so a failed release or abandon never leaves the lock stuck.
 */
export class EtcdLockDriver implements LockDriver {
  readonly name: string;
  readonly capabilities: LockCapabilities;
  readonly #o: EtcdDriverOptions;
  readonly #sessions: SessionPool;
  readonly #queued = new Map<string, QueuePlace>();
  readonly #held = new Map<string, Held>();
  readonly #keys = new WeakMap<ManagedLease, string>();
  readonly #orphans: OrphanSweeper;

  constructor(o: EtcdDriverOptions) {
    this.#o = o;
    this.name = o.name;
    this.capabilities = o.capabilities;
    this.#sessions = new SessionPool({ client: o.client, requestTimeout: o.requestTimeout, clock: o.clock });
    this.#orphans = new OrphanSweeper(o.clock, (key, rev) =>
      rev === undefined ? this.#deleteKey(key) : this.#deleteIfMine(key, rev),
    );
  }

  #opts(): { deadline: Date } {
    return callOptions(this.#o.clock, this.#o.requestTimeout);
  }

  #myKey(req: LockRequest): string {
    return `${lockDir(this.#o.prefix, req.key)}${req.id}`;
  }

  /** The etcd key a lease of this driver holds (for an election's proclaim). */
  queueKeyOf(lease: ManagedLease): string | undefined {
    return this.#keys.get(lease);
  }

  #grant(req: LockRequest, place: QueuePlace, since: number): LockAttempt {
    this.#queued.delete(req.id);
    this.#held.set(req.id, { ...place });
    // The key lives as long as its session: the grant is never valid for longer than that.
    const validFor = Math.min(req.ttl, place.session.lease.validUntil - since);
    return { acquired: true, token: place.rev, validFor, grantedAt: since };
  }

  async attempt(
    req: LockRequest,
    { queueFor }: { queueFor: number },
    signal: AbortSignal,
  ): Promise<LockAttempt> {
    const { client, clock, permits } = this.#o;
    const session = await this.#sessions.get(secondsFor(req.ttl), signal);
    const dir = lockDir(this.#o.prefix, req.key);
    const myKey = `${dir}${req.id}`;
    const value = this.#o.storedValue?.(req) ?? req.owner;
    const sentAt = clock.monotonic();
    if (queueFor === 0 && permits === 1) return this.#tryOnce(req, dir, myKey, value, session, sentAt);
    const oldest = () => client.getAll().prefix(dir).sort('Create', 'Ascend').limit(permits);
    const res = await client
      .if(myKey, 'Create', '==', 0)
      .then(client.put(myKey).value(value).lease(session.leaseId), oldest())
      .else(client.get(myKey), oldest())
      .options(this.#opts())
      .commit();
    let rev: bigint;
    if (res.succeeded) rev = BigInt(res.header.revision);
    else {
      const mine = res.responses[0]?.response_range?.kvs[0];
      if (!mine)
        throw new SwitchyardError('INTERNAL', `[${PKG}] queue key ${myKey} vanished during an attempt`);
      rev = BigInt(mine.create_revision);
      // Still queued on a session that was lost here: move it to the live one, keeping its place.
      if (mine.lease !== session.leaseId && !(await this.#move(myKey, rev, session))) {
        throw new SwitchyardError('BACKEND_UNAVAILABLE', `[${PKG}] queue key ${myKey} expired while queued`);
      }
    }
    const kvs = res.responses[1]?.response_range?.kvs ?? [];
    const prev = this.#queued.get(req.id);
    const place = prev?.rev === rev && prev.session === session ? prev : { myKey, dir, rev, session };
    if (kvs.some((kv) => BigInt(kv.create_revision) === rev)) return this.#grant(req, place, sentAt);
    if (queueFor === 0) {
      await this.#deleteIfMine(myKey, rev);
      return { acquired: false };
    }
    this.#queued.set(req.id, place);
    return { acquired: false };
  }

  /** A mutex `tryAcquire`: writes the key only when the queue is empty (one round trip, no trace). */
  async #tryOnce(
    req: LockRequest,
    dir: string,
    myKey: string,
    value: string,
    session: EtcdSession,
    sentAt: number,
  ): Promise<LockAttempt> {
    const dirKey = Buffer.from(dir);
    const res = await this.#o.client.kv.txn(
      {
        // A compare over a range holds for every key in it: Create == 0 over the directory means
        // nobody holds or queues for the lock.
        compare: [
          {
            key: dirKey,
            range_end: prefixEnd(dirKey),
            target: 'Create',
            result: 'Equal',
            create_revision: 0,
          },
        ],
        success: [
          { request_put: { key: Buffer.from(myKey), value: Buffer.from(value), lease: session.leaseId } },
        ],
        failure: [],
      },
      this.#opts(),
    );
    if (!res.succeeded) return { acquired: false };
    return this.#grant(req, { myKey, dir, rev: BigInt(res.header.revision), session }, sentAt);
  }

  async waiter(req: LockRequest, bound: number): Promise<QueueWaiter> {
    const w = new QueueWaiter({
      client: this.#o.client,
      clock: this.#o.clock,
      requestTimeout: this.#o.requestTimeout,
      permits: this.#o.permits,
      ttl: req.ttl,
      place: () => this.#queued.get(req.id),
      grant: (place) => this.#grant(req, place, this.#o.clock.monotonic()),
    });
    await w.open(bound).catch(() => false);
    return w;
  }

  async extend(req: LockRequest, token: bigint, ttl: number, signal: AbortSignal): Promise<boolean> {
    const h = this.#held.get(req.id);
    if (!h) return false;
    const seconds = secondsFor(ttl);
    if (seconds !== h.session.ttlSeconds) {
      const target = await this.#sessions.get(seconds, signal);
      if (!(await this.#move(h.myKey, token, target))) return false;
      h.session = target;
      this.#follow(req, h);
    }
    // A keep-alive sent after extend() started: the validity the lease computes holds.
    const [alive, mine] = await Promise.all([h.session.keepAlive(signal), this.#isMine(h.myKey, token)]);
    return alive && mine;
  }

  async release(req: LockRequest, token: bigint, _signal: AbortSignal, retry: boolean): Promise<boolean> {
    const h = this.#held.get(req.id);
    const myKey = h?.myKey ?? this.#myKey(req);
    let done: boolean;
    try {
      done = await this.#deleteIfMine(myKey, token);
    } catch (error) {
      // Unknown outcome: keep deleting it in the background while the session lives.
      this.#orphans.add(myKey, token);
      throw error;
    }
    this.#held.delete(req.id);
    // A retry after a lost reply finds the key gone: the first call deleted it, unless the session
    // ended meanwhile (then the lock was lost anyway).
    return done || (retry && h?.session.held === true);
  }

  async abandon(req: LockRequest): Promise<void> {
    this.#queued.delete(req.id);
    this.#held.delete(req.id);
    const myKey = this.#myKey(req);
    await this.#deleteKey(myKey).catch((error: unknown) => {
      this.#orphans.add(myKey);
      throw error;
    });
  }

  track(req: LockRequest, lease: ManagedLease): () => void {
    const h = this.#held.get(req.id);
    if (!h) return () => {};
    this.#keys.set(lease, h.myKey);
    const stop = this.#follow(req, h, lease);
    const offLost = lease.on('lease:lost', () => {
      // Free the queue for the others if the key is still ours (client-side expiry, failed renewal).
      this.#deleteIfMine(h.myKey, h.rev).catch(() => this.#orphans.add(h.myKey, h.rev));
    });
    return () => {
      stop();
      offLost();
      this.#held.delete(req.id);
    };
  }

  readonly #following = new Map<string, { lease: ManagedLease; off: () => void }>();

  /** Ties a lease to the session its key lives on: the session's loss is the lease's. */
  #follow(req: LockRequest, h: Held, lease?: ManagedLease): () => void {
    const prev = this.#following.get(req.id);
    prev?.off();
    const target = lease ?? prev?.lease;
    if (!target) return () => {};
    const off = h.session.lease.on('lease:lost', ({ cause }) => target.markLost(cause));
    this.#following.set(req.id, { lease: target, off });
    if (h.session.lease.signal.aborted) target.markLost(h.session.lease.signal.reason);
    return () => {
      this.#following.get(req.id)?.off();
      this.#following.delete(req.id);
    };
  }

  /** Holders are the `permits` oldest keys; a semaphore is summarised by its newest holder (as on Redis). */
  async inspect(key: string): Promise<LockInfo | undefined> {
    const kvs = await this.#queue(key);
    if (kvs.length === 0) return undefined;
    return this.#info(key, this.#newestHolder(kvs), kvs.length, new Map());
  }

  /** Every holder of `key` (owner, token, ttl left), oldest first. */
  async holders(key: string): Promise<LockInfo[]> {
    const kvs = (await this.#queue(key)).slice(0, this.#o.permits);
    const ttls = new Map<string, Promise<number>>();
    return Promise.all(kvs.map((kv) => this.#info(key, kv, kvs.length, ttls)));
  }

  async #queue(key: string): Promise<IKeyValue[]> {
    const res = await this.#o.client
      .getAll()
      .prefix(lockDir(this.#o.prefix, key))
      .sort('Create', 'Ascend')
      .options(this.#opts())
      .exec();
    return res.kvs;
  }

  #newestHolder(queue: IKeyValue[]): IKeyValue {
    return queue[Math.min(this.#o.permits, queue.length) - 1]!;
  }

  async list(limit: number): Promise<LockInfo[]> {
    const { client, prefix } = this.#o;
    const res = await client
      .getAll()
      .prefix(`${prefix}/`)
      .sort('Create', 'Ascend')
      .options(this.#opts())
      .exec();
    const byKey = new Map<string, IKeyValue[]>();
    for (const kv of res.kvs) {
      const parsed = parseContenderKey(prefix, kv.key.toString());
      if (!parsed) continue;
      const queue = byKey.get(parsed.key);
      if (queue) queue.push(kv);
      else byKey.set(parsed.key, [kv]);
    }
    const ttls = new Map<string, Promise<number>>();
    const chosen = [...byKey].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).slice(0, limit);
    return Promise.all(chosen.map(([key, q]) => this.#info(key, this.#newestHolder(q), q.length, ttls)));
  }

  async #info(
    key: string,
    holder: IKeyValue,
    count: number,
    ttls: Map<string, Promise<number>>,
  ): Promise<LockInfo> {
    let ttl = ttls.get(holder.lease);
    if (!ttl) {
      ttl = this.#o.client.leaseClient
        .leaseTimeToLive({ ID: holder.lease, keys: false }, this.#opts())
        .then((r) => (Number(r.TTL) >= 0 ? Number(r.TTL) * 1000 : -1))
        .catch(() => -1);
      ttls.set(holder.lease, ttl);
    }
    return {
      key,
      owner: holder.value.toString(),
      token: BigInt(holder.create_revision),
      ttlLeft: holder.lease === '0' ? -1 : await ttl,
      waiters: Math.max(0, count - this.#o.permits),
    };
  }

  /**
   * Deletes the current holders' keys (only while they are still theirs), letting the next waiters
   * in. A holder in another client learns at its next renewal; fencing is untouched (the next
   * holder's token is a later revision).
   */
  async forceRelease(key: string): Promise<boolean> {
    const res = await this.#o.client
      .getAll()
      .prefix(lockDir(this.#o.prefix, key))
      .sort('Create', 'Ascend')
      .limit(this.#o.permits)
      .options(this.#opts())
      .exec();
    const done = await Promise.all(
      res.kvs.map((kv) => this.#deleteIfMine(kv.key.toString(), BigInt(kv.create_revision))),
    );
    return done.includes(true);
  }

  async #isMine(myKey: string, rev: bigint): Promise<boolean> {
    const res = await this.#o.client.if(myKey, 'Create', '==', rev.toString()).options(this.#opts()).commit();
    return res.succeeded;
  }

  async #deleteIfMine(myKey: string, rev: bigint): Promise<boolean> {
    const { client } = this.#o;
    const res = await client
      .if(myKey, 'Create', '==', rev.toString())
      .then(client.delete().key(myKey))
      .options(this.#opts())
      .commit();
    return res.succeeded;
  }

  async #deleteKey(myKey: string): Promise<void> {
    await this.#o.client.delete().key(myKey).options(this.#opts()).exec();
  }

  /** Puts the key on `session`'s lease while it keeps create revision `rev` (its place and token). */
  async #move(myKey: string, rev: bigint, session: EtcdSession): Promise<boolean> {
    const { client } = this.#o;
    const res = await client
      .if(myKey, 'Create', '==', rev.toString())
      .then({
        request_put: {
          key: Buffer.from(myKey),
          value: Buffer.alloc(0),
          lease: session.leaseId,
          ignore_value: true,
        },
      } as never)
      .options(this.#opts())
      .commit();
    return res.succeeded;
  }

  async close(): Promise<void> {
    await this.#orphans.close(true);
    await this.#sessions.close();
    this.#o.closeClient();
  }
}

/** The end of the range of every key starting with `prefix` (etcd's prefix + 1). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
