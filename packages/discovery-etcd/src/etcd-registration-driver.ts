import type { Clock } from '@switchyard/core';
import type { RegistrationDriver } from '@switchyard/core/driver';
import type { Etcd3, Lease } from 'etcd3';
import type { InstanceCodec } from './instance-codec.js';

/** The live record of one registration: its key and the lease that keeps it. */
export interface EtcdRecord {
  readonly key: string;
  readonly lease: Lease;
  /** The lease id (decimal), as etcd reports it on the key. */
  readonly leaseId: string;
  /** Monotonic time of the last successful keep-alive. */
  lastKeepAlive: number;
  readonly ttl: number;
}

/** gRPC call options with an absolute deadline. */
export function callDeadline(clock: Clock, ms: number): { deadline: Date } {
  return { deadline: new Date(clock.now() + ms) };
}

/**
 * Per-call options for a call that may take `ms`: an absolute deadline for a client the user gave
 * us, nothing for one we created (its call-options factory sets a fresh deadline per attempt, so a
 * retry on another member gets time of its own).
 */
export type CallDeadlines = (ms: number) => { deadline?: Date };

/**
 * Registration on etcd: the instance is a key on its own lease; `etcd3` sends keep-alives every
 * ttl/3 on its stream. The kit's heartbeat checks that the key still exists on our lease with our
 * value, and sends one extra keep-alive on a fresh stream when the stream has been silent for half
 * a TTL (a stream stuck on a frozen member gives up only after a whole TTL).
 */
export function etcdRegistrationDriver(
  client: Etcd3,
  codec: InstanceCodec,
  clock: Clock,
  requestTimeout: number,
  deadlines: CallDeadlines,
): RegistrationDriver<EtcdRecord> {
  const opts = () => deadlines(requestTimeout);
  return {
    async put(instance, ttl, signal) {
      const lease = client.lease(Math.max(1, Math.ceil(ttl / 1000)), opts());
      lease.on('keepaliveSucceeded', () => {
        record.lastKeepAlive = clock.monotonic();
      });
      const record: EtcdRecord = {
        key: codec.key(instance.service, instance.id),
        lease,
        leaseId: '',
        lastKeepAlive: clock.monotonic(),
        ttl,
      };
      try {
        const id = await lease.grant();
        signal.throwIfAborted();
        await lease.put(record.key).value(codec.encode(instance)).options(opts()).exec();
        // The kit may have given up on this call (deadline, abort): take it back rather than keep an
        // orphan alive with our keep-alives.
        signal.throwIfAborted();
        return Object.assign(record, { leaseId: String(id) });
      } catch (error) {
        lease.removeAllListeners();
        lease.revoke(opts()).catch(() => {});
        throw error;
      }
    },

    async heartbeat(record, instance) {
      if (clock.monotonic() - record.lastKeepAlive > record.ttl / 2) {
        record.lease
          .keepaliveOnce(callDeadline(clock, Math.min(requestTimeout, record.ttl / 3)))
          .then(() => {
            record.lastKeepAlive = clock.monotonic();
          })
          .catch(() => {});
      }
      const res = await client
        .get(record.key)
        .options(deadlines(Math.min(requestTimeout, record.ttl)))
        .exec();
      const kv = res.kvs[0];
      if (!kv || kv.lease !== record.leaseId) return false;
      if (kv.value.toString() !== codec.encode(instance)) {
        await record.lease.put(record.key).value(codec.encode(instance)).options(opts()).exec();
      }
      return true;
    },

    async update(record, instance) {
      const res = await client
        .if(record.key, 'Lease', '==', record.leaseId)
        .then(client.put(record.key).value(codec.encode(instance)).lease(record.leaseId))
        .options(opts())
        .commit();
      return res.succeeded;
    },

    async remove(record) {
      // A put that failed midway revoked its own lease. Revoking the lease deletes the key with it:
      // one call, so a deregistration needs one healthy member, not two.
      if (!record) return;
      await record.lease.revoke(opts());
    },

    watchLoss(record, lost) {
      const onLost = (error: unknown) => lost(error);
      record.lease.on('lost', onLost);
      return () => record.lease.off('lost', onLost);
    },

    dispose(record) {
      record.lease.removeAllListeners();
      // Best effort: a replaced lease still holding nothing expires on its own within one TTL.
      if (!record.lease.revoked()) record.lease.revoke(opts()).catch(() => {});
    },
  };
}
