import type { ServiceInstance } from '@switchyard/core';
import type { RegistrationDriver } from '@switchyard/core/driver';
import { encodeInstance, recordValue } from './instance-record.js';
import type { RedisContext } from './redis-context.js';
import { HEARTBEAT, PUT, REMOVE, UPDATE } from './scripts.js';

/** The driver's handle of a live record. */
export interface RedisRecord {
  /** Owner token stored with the record: only this registration extends, updates or removes it. */
  readonly token: string;
  readonly ttl: number;
  /** Epoch of the service when the record was written; a heartbeat under another epoch fails. */
  readonly epoch: string;
}

/**
 * The four remote operations of a registration, each one Lua call. Keep-alive scheduling, loss,
 * re-registration and close are core's `ManagedRegistration`.
 */
export function redisRegistration(ctx: RedisContext): RegistrationDriver<RedisRecord> {
  /** Token of a put in flight or failed, so `remove(undefined)` can take back what it may have left. */
  const attempted = new Map<string, string>();
  const slot = (i: ServiceInstance) => `${i.service}\u0000${i.id}`;

  return {
    async put(instance, ttl) {
      const token = ctx.uid();
      attempted.set(slot(instance), token);
      const epoch = await ctx.run(PUT, instance.service, [instance.id, token, encodeInstance(instance), ttl]);
      attempted.delete(slot(instance));
      return { token, ttl, epoch: String(epoch) };
    },

    async heartbeat(record, instance) {
      const k = ctx.keys.service(instance.service);
      const value = recordValue(record.token, encodeInstance(instance));
      const alive = await HEARTBEAT.run(
        ctx.client,
        [k.records, k.deadlines, k.meta],
        [instance.id, value, record.ttl, record.epoch],
      );
      return alive === 1;
    },

    async update(record, instance) {
      const args = [instance.id, record.token, encodeInstance(instance), record.ttl];
      return (await ctx.run(UPDATE, instance.service, args)) === 1;
    },

    async remove(record, instance) {
      const token = record?.token ?? attempted.get(slot(instance));
      if (token === undefined) return;
      await ctx.run(REMOVE, instance.service, [instance.id, token]);
      if (attempted.get(slot(instance)) === token) attempted.delete(slot(instance));
    },
  };
}
