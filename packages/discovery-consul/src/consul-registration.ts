import { isSwitchyardError, type ServiceInstance, SwitchyardError } from '@switchyard/core';
import type { RegistrationDriver } from '@switchyard/core/driver';
import type { ConsulRegisterExtra } from './check-spec.js';
import { type ConsulClient, consulCall, isUnknownToAgent, putServiceRegistration } from './consul-call.js';
import { consulServiceId, registrationBody } from './instance-codec.js';
import { PKG, type ResolvedOptions } from './options.js';

/** The driver's handle of a live registration: Consul's IDs of the service and its heartbeat check. */
export interface ConsulRecord {
  readonly serviceId: string;
  readonly checkId: string;
  /** Whether the agent has the service in maintenance mode (set by us). */
  maintenance: boolean;
}

const TTL_METHOD = { passing: 'pass', warning: 'warn', critical: 'fail', maintenance: 'pass' } as const;

/**
 * The remote half of a registration on the local agent: put = register the service with its TTL
 * check (and extra checks), heartbeat = pass/warn/fail the TTL check, update = health and
 * maintenance mode, remove = deregister. Keep-alive, loss and re-registration are core's.
 */
export function consulRegistration(
  client: ConsulClient,
  o: ResolvedOptions,
): RegistrationDriver<ConsulRecord, ConsulRegisterExtra> {
  /** Service IDs whose register request went out without a handle coming back (see `remove`). */
  const attempted = new Set<string>();
  /** Service IDs this driver registered and has not removed: a put for one re-registers. */
  const registered = new Set<string>();
  const ids = (instance: ServiceInstance) => {
    const serviceId = consulServiceId(instance, o.prefixServiceId);
    return { serviceId, checkId: `service:${serviceId}:ttl` };
  };

  /** Sets the TTL check to the instance's health; `false` when the agent does not know the check. */
  async function ttl(record: ConsulRecord, instance: ServiceInstance, signal: AbortSignal): Promise<boolean> {
    const method = TTL_METHOD[instance.health];
    try {
      await consulCall('heartbeat', signal, (ctx) =>
        client.agent.check[method]({
          id: record.checkId,
          note: `${instance.health} (switchyard heartbeat)`,
          token: o.token,
          ctx,
        } as never),
      );
      return true;
    } catch (error) {
      if (isUnknownToAgent(error)) return false;
      throw error;
    }
  }

  async function maintenance(record: ConsulRecord, enable: boolean, signal: AbortSignal): Promise<boolean> {
    try {
      await consulCall('maintenance', signal, (ctx) =>
        client.agent.service.maintenance({
          id: record.serviceId,
          enable,
          reason: enable ? 'set by @switchyard/discovery-consul' : undefined,
          token: o.token,
          ctx,
        } as never),
      );
      record.maintenance = enable;
      return true;
    } catch (error) {
      if (isUnknownToAgent(error)) return false;
      throw error;
    }
  }

  return {
    async put(instance, ttlMs, signal, extra) {
      const record: ConsulRecord = { ...ids(instance), maintenance: false };
      const body = registrationBody(instance, {
        keys: o.metaKeys,
        prefix: o.prefixServiceId,
        ttl: ttlMs,
        deregisterAfter: extra.deregisterCriticalServiceAfter ?? o.deregisterCriticalServiceAfter,
        checks: extra.checks ?? [],
        ttlCheckId: record.checkId,
      });
      // A re-registration (core's, after heartbeats failed for a whole TTL) first tries the heartbeat
      // on the check it may still have, and registers only when the agent has forgotten it: a
      // register restarts the TTL of a check it keeps (agent.go addCheck), so re-registering while
      // heartbeats fail would keep the check from ever going critical and being reaped.
      if (registered.has(record.serviceId) && (await ttl(record, instance, signal))) {
        if (await maintenance(record, instance.health === 'maintenance', signal)) return record;
      }
      attempted.add(record.serviceId);
      await consulCall('register', signal, (ctx) => putServiceRegistration(client, body, o.token, ctx));
      // A re-registered check keeps the status it had (agent.go restores it from a snapshot, whatever
      // Status we send), so a restarted process would stay critical until its first heartbeat:
      // send that heartbeat now.
      const set =
        (await ttl(record, instance, signal)) &&
        (instance.health !== 'maintenance' || (await maintenance(record, true, signal)));
      if (!set) {
        throw new SwitchyardError(
          'BACKEND_UNAVAILABLE',
          `[${PKG}] register of ${instance.service}/${instance.id}: the agent forgot it right after registering it`,
        );
      }
      attempted.delete(record.serviceId);
      registered.add(record.serviceId);
      return record;
    },

    heartbeat: (record, instance, signal) => ttl(record, instance, signal),

    async update(record, instance, signal) {
      const want = instance.health === 'maintenance';
      if (want !== record.maintenance && !(await maintenance(record, want, signal))) return false;
      return ttl(record, instance, signal);
    },

    async remove(record, instance, signal) {
      const serviceId = record?.serviceId ?? ids(instance).serviceId;
      registered.delete(serviceId);
      // A put that failed before sending anything left nothing behind.
      if (!record && !attempted.has(serviceId)) return;
      try {
        await consulCall('deregister', signal, (ctx) =>
          client.agent.service.deregister({ id: serviceId, token: o.token, ctx } as never),
        );
      } catch (error) {
        // Already gone (agent restarted or reaped it) is what we wanted.
        if (!isSwitchyardError(error, 'NOT_FOUND')) throw error;
      }
      attempted.delete(serviceId);
    },
  };
}
