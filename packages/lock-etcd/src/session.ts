import { type Clock, isSwitchyardError, raceSignal, SwitchyardError } from '@switchyard/core';
import { ManagedLease } from '@switchyard/core/driver';
import { type Etcd3, EtcdLeaseInvalidError, type Lease } from 'etcd3';
import { PKG } from './constants.js';
import { callOptions } from './etcd-connection.js';

export interface SessionOptions {
  client: Etcd3;
  ttlSeconds: number;
  requestTimeout: number;
  clock: Clock;
}

/**
 * One etcd lease shared by every key this client writes with this whole-second TTL (the Go client's
 * `concurrency.Session`). Its keep-alive runs on a core `ManagedLease` (sent at ttl/3, retried until
 * validity runs out, loss declared on time) that publishes no diagnostics: a session is not a lock
 * hold, so one acquire is one `lease:acquired`. etcd3's own keep-alive is not used: it declares a
 * lease lost only after 2 × TTL without a reply, when another client may have held the lock a whole TTL.
 */
export class EtcdSession {
  readonly ttlSeconds: number;
  readonly leaseId: string;
  readonly lease: ManagedLease;
  readonly #etcdLease: Lease;
  readonly #opts: SessionOptions;

  private constructor(etcdLease: Lease, leaseId: string, lease: ManagedLease, options: SessionOptions) {
    this.#etcdLease = etcdLease;
    this.leaseId = leaseId;
    this.ttlSeconds = options.ttlSeconds;
    this.lease = lease;
    this.#opts = options;
  }

  static async open(options: SessionOptions, signal?: AbortSignal): Promise<EtcdSession> {
    const { client, ttlSeconds, requestTimeout, clock } = options;
    const sentAt = clock.monotonic();
    const etcdLease = client.lease(ttlSeconds, {
      autoKeepAlive: false,
      ...callOptions(clock, requestTimeout),
    });
    // etcd3 emits `lost` on a failed grant and on an expired keep-alive; always listen (see below).
    let onLost: (error: unknown) => void = () => {};
    etcdLease.on('lost', (error) => onLost(error));
    const leaseId = await raceSignal(etcdLease.grant(), signal, PKG, 'lease grant').catch(
      (error: unknown) => {
        etcdLease.revoke(callOptions(clock, requestTimeout)).catch(() => {});
        throw error;
      },
    );
    const holder: { lease?: ManagedLease } = {};
    const lease = new ManagedLease({
      pkg: PKG,
      key: `session ${leaseId}`,
      owner: leaseId,
      token: BigInt(leaseId),
      // etcd may grant more (its minimum is about 1.5 × election timeout): counting the asked-for
      // TTL is the safe side.
      ttl: ttlSeconds * 1000,
      acquiredAt: sentAt,
      autoRenew: true,
      clock,
      diagnostics: false,
      driver: {
        extend: async (_ttl, s) => {
          // Bounded by the lease's validity: a call that hangs (paused or partitioned member) must
          // fail by then so the loss is declared on time.
          const left = (holder.lease?.validUntil ?? Number.POSITIVE_INFINITY) - clock.monotonic();
          try {
            const res = await raceSignal(
              etcdLease.keepaliveOnce(callOptions(clock, Math.min(requestTimeout, left))),
              s,
              PKG,
              'keep-alive',
            );
            return res.TTL !== '0';
          } catch (error) {
            if (error instanceof EtcdLeaseInvalidError) return false;
            throw error;
          }
        },
        release: async (s) => {
          await raceSignal(etcdLease.revoke(callOptions(clock, requestTimeout)), s, PKG, 'lease revoke');
          return true;
        },
      },
    });
    holder.lease = lease;
    onLost = (error) =>
      lease.markLost(
        new SwitchyardError('LOCK_LOST', `[${PKG}] etcd lease ${leaseId} was lost`, { cause: error }),
      );
    return new EtcdSession(etcdLease, leaseId, lease, options);
  }

  get held(): boolean {
    return this.lease.held;
  }

  /** A keep-alive sent now; `false` (never a throw) when the session is gone. */
  async keepAlive(signal?: AbortSignal): Promise<boolean> {
    try {
      await this.lease.extend(undefined, { signal });
      return true;
    } catch (error) {
      if (isSwitchyardError(error, 'LOCK_LOST')) return false;
      throw error;
    }
  }

  /** Revokes the lease (deleting every key on it), bounded by the request timeout; never throws. */
  async close(): Promise<void> {
    const { clock, requestTimeout } = this.#opts;
    const ac = new AbortController();
    const timer = clock.setTimeout(() => ac.abort(), requestTimeout + 100, { unref: true });
    await this.lease.release({ signal: ac.signal }).catch(() => false);
    clock.clearTimeout(timer);
    this.#etcdLease.release();
  }
}

/** The sessions of one lock client, one per whole-second TTL, opened on first use; a lost one is replaced. */
export class SessionPool {
  readonly #sessions = new Map<number, Promise<EtcdSession>>();
  readonly #base: Omit<SessionOptions, 'ttlSeconds'>;
  #closed = false;

  constructor(base: Omit<SessionOptions, 'ttlSeconds'>) {
    this.#base = base;
  }

  async get(ttlSeconds: number, signal: AbortSignal | undefined): Promise<EtcdSession> {
    const existing = this.#sessions.get(ttlSeconds);
    if (existing) {
      const s = await existing.catch(() => undefined);
      if (s?.held) return s;
      if (this.#sessions.get(ttlSeconds) === existing) this.#sessions.delete(ttlSeconds);
    }
    if (this.#closed) throw new SwitchyardError('CLOSED', `[${PKG}] lock client is closed`);
    const opening = EtcdSession.open({ ...this.#base, ttlSeconds });
    this.#sessions.set(ttlSeconds, opening);
    opening.then(
      (s) => {
        s.lease.on('lease:lost', () => {
          if (this.#sessions.get(ttlSeconds) === opening) this.#sessions.delete(ttlSeconds);
        });
        if (this.#closed) s.close().catch(() => {});
      },
      () => {
        if (this.#sessions.get(ttlSeconds) === opening) this.#sessions.delete(ttlSeconds);
      },
    );
    return raceSignal(opening, signal, PKG, 'lease grant');
  }

  async close(): Promise<void> {
    this.#closed = true;
    const sessions = await Promise.all([...this.#sessions.values()].map((p) => p.catch(() => undefined)));
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => s?.close()));
  }
}
