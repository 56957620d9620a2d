import { type Clock, ManagedLease, raceSignal, SwitchyardError } from '@switchyard/core';
import { type Etcd3, EtcdLeaseInvalidError, type Lease } from 'etcd3';
import { PKG } from './constants.js';
import { callOptions } from './rpc.js';

export interface SessionOptions {
  client: Etcd3;
  ttlSeconds: number;
  requestTimeout: number;
  clock: Clock;
  signal?: AbortSignal | undefined;
}

/**
 * One etcd lease shared by every lock key a client writes with this TTL (like the Go client's
 * `concurrency.Session`). Keep-alive is the session's job, driven by a core `ManagedLease`: a
 * keep-alive at ttl/3 measured from the moment it was *sent*, retried until validity runs out, and
 * an event-loop-aware loss declaration. When the session is lost, every lock on it is lost.
 *
 * etcd3's own auto keep-alive is not used on purpose: it only declares a lease lost after 2 × TTL
 * without a reply, by which time another client may have held the lock for a whole TTL.
 */
export class EtcdSession {
  readonly ttlSeconds: number;
  readonly leaseId: string;
  readonly leaseHex: string;
  readonly lease: ManagedLease;
  readonly #etcdLease: Lease;
  readonly #requestTimeout: number;

  private constructor(etcdLease: Lease, leaseId: string, lease: ManagedLease, options: SessionOptions) {
    this.#etcdLease = etcdLease;
    this.leaseId = leaseId;
    this.leaseHex = BigInt(leaseId).toString(16);
    this.ttlSeconds = options.ttlSeconds;
    this.lease = lease;
    this.#requestTimeout = options.requestTimeout;
  }

  static async open(options: SessionOptions): Promise<EtcdSession> {
    const { client, ttlSeconds, requestTimeout, clock } = options;
    const sentAt = clock.monotonic();
    const etcdLease = client.lease(ttlSeconds, { autoKeepAlive: false, ...callOptions(requestTimeout) });
    // etcd3 emits `lost` on a failed grant and on an expired keep-alive; always listen (see below).
    let onLost: (error: unknown) => void = () => {};
    etcdLease.on('lost', (error) => onLost(error));
    const leaseId = await raceSignal(etcdLease.grant(), options.signal, PKG, 'lease grant').catch(
      (error: unknown) => {
        etcdLease.revoke(callOptions(requestTimeout)).catch(() => {});
        throw error;
      },
    );
    const ttl = ttlSeconds * 1000;
    const holder: { lease?: ManagedLease } = {};
    const lease = new ManagedLease({
      pkg: PKG,
      key: `session ${BigInt(leaseId).toString(16)}`,
      owner: leaseId,
      token: BigInt(leaseId),
      ttl,
      acquiredAt: sentAt,
      autoRenew: true,
      clock,
      driver: {
        extend: async (_ttl, signal) => {
          // Bound the keep-alive by the lease's validity: a call that hangs (paused or partitioned
          // member) must fail by then so the loss is declared on time, not after requestTimeout.
          const left = (holder.lease?.validUntil ?? Number.POSITIVE_INFINITY) - clock.monotonic();
          try {
            const res = await raceSignal(
              etcdLease.keepaliveOnce(callOptions(Math.max(1, Math.min(requestTimeout, left)))),
              signal,
              PKG,
              'keep-alive',
            );
            return res.TTL !== '0';
          } catch (error) {
            if (error instanceof EtcdLeaseInvalidError) return false;
            throw error;
          }
        },
        release: async (signal) => {
          await raceSignal(etcdLease.revoke(callOptions(requestTimeout)), signal, PKG, 'lease revoke');
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
      if (SwitchyardError.is(error, 'LOCK_LOST')) return false;
      throw error;
    }
  }

  /** Revokes the lease (deleting every key on it). Bounded by the request timeout; never throws. */
  async close(): Promise<void> {
    const ac = AbortSignal.timeout(this.#requestTimeout + 100);
    await this.lease.release({ signal: ac }).catch(() => false);
    this.#etcdLease.release();
  }
}
