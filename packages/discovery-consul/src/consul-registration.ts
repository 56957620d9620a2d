import {
  assertOneOf,
  type Backoff,
  type Clock,
  Emitter,
  INSTANCE_HEALTH,
  type InstanceHealth,
  isSwitchyardError,
  type Registration,
  type RegistrationEvents,
  type ServiceInstance,
  SwitchyardError,
  type TimerHandle,
  throwIfAborted,
  type Unsubscribe,
} from '@switchyard/core';
import { type ConsulClient, consulCall, putServiceRegistration } from './consul-call.js';
import { type CheckSpec, consulServiceId, registrationBody } from './instance-codec.js';
import { PKG, type ResolvedOptions } from './options.js';

export interface RegistrationSetup {
  client: ConsulClient;
  options: ResolvedOptions;
  instance: ServiceInstance;
  ttl: number;
  heartbeatInterval: number;
  deregisterAfter: number;
  checks: readonly CheckSpec[];
  backoff: Backoff;
  onClose: () => void;
}

/**
 * A service registered on the local agent with a TTL check that this handle keeps passing (or
 * warning/critical, per `setHealth`). If the agent forgets the service (restart, reaper), the next
 * heartbeat sees `404 Unknown check ID`, emits `registration:lost`, registers again and emits
 * `registration:restored`. If the agent is unreachable for longer than the TTL, `registration:lost`
 * fires too, and `registration:restored` once a heartbeat gets through again.
 */
export class ConsulRegistration implements Registration {
  readonly #s: RegistrationSetup;
  readonly #clock: Clock;
  readonly #events = new Emitter<RegistrationEvents>({ diagnostics: true });
  readonly #serviceId: string;
  readonly #checkId: string;
  readonly #stop = new AbortController();
  #instance: ServiceInstance;
  #timer: TimerHandle | undefined;
  #closed = false;
  #lost = false;
  #failingSince: number | undefined;
  #attempt = 0;
  #maintenance = false;
  #beat: Promise<void> = Promise.resolve();

  constructor(setup: RegistrationSetup) {
    this.#s = setup;
    this.#clock = setup.options.clock;
    this.#instance = setup.instance;
    this.#serviceId = consulServiceId(setup.instance, setup.options.prefixServiceId);
    this.#checkId = `service:${this.#serviceId}:ttl`;
  }

  get instance(): ServiceInstance {
    return this.#instance;
  }

  /** Consul's service ID (`<service>:<id>` by default). */
  get serviceId(): string {
    return this.#serviceId;
  }

  /** The heartbeat TTL check's ID. */
  get checkId(): string {
    return this.#checkId;
  }

  /** Registers on the agent (and enables maintenance mode if the instance starts in it). */
  async start(signal?: AbortSignal): Promise<void> {
    await this.#register(signal);
    this.#schedule(this.#s.heartbeatInterval);
  }

  on<K extends keyof RegistrationEvents>(
    event: K,
    listener: (payload: RegistrationEvents[K]) => void,
  ): Unsubscribe {
    return this.#events.on(event, listener);
  }

  async setHealth(health: InstanceHealth, options: { signal?: AbortSignal } = {}): Promise<void> {
    assertOneOf(PKG, 'health', health, INSTANCE_HEALTH);
    throwIfAborted(PKG, options.signal, 'setHealth');
    if (this.#closed) throw new SwitchyardError('CLOSED', `[${PKG}] registration is closed`);
    this.#instance = Object.freeze({ ...this.#instance, health });
    await this.#beat.catch(() => {});
    try {
      if ((health === 'maintenance') !== this.#maintenance)
        await this.#setMaintenance(health === 'maintenance', options.signal);
      if (health !== 'maintenance') await this.#updateTtl(options.signal);
    } catch (error) {
      if (!isSwitchyardError(error, 'NOT_FOUND')) throw error;
      // The agent forgot us: registering again carries the new health.
      this.#markLost(error);
      await this.#register(options.signal);
      this.#markRestored();
    }
  }

  async close(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#stop.abort();
    this.#events.removeAll();
    this.#s.onClose();
    // A heartbeat may be re-registering right now: let it settle first, or its PUT could land
    // after our deregister and leave an orphan on the agent.
    await this.#beat.catch(() => {});
    const { client, options: o } = this.#s;
    try {
      await consulCall('deregister', options.signal, (ctx) =>
        client.agent.service.deregister({
          id: this.#serviceId,
          token: o.token,
          ctx,
          timeout: o.requestTimeout,
        } as never),
      );
    } catch (error) {
      // Already gone (agent restarted or reaped it) is what we wanted.
      if (!isSwitchyardError(error, 'NOT_FOUND')) throw error;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #register(signal?: AbortSignal): Promise<void> {
    const { client, options: o } = this.#s;
    const body = registrationBody(this.#instance, {
      keys: o.metaKeys,
      prefix: o.prefixServiceId,
      ttl: this.#s.ttl,
      deregisterAfter: this.#s.deregisterAfter,
      checks: this.#s.checks,
      ttlCheckId: this.#checkId,
    });
    await consulCall('register', signal, (ctx) =>
      putServiceRegistration(client, body, { token: o.token, timeout: o.requestTimeout, ctx }),
    );
    this.#maintenance = false;
    if (this.#instance.health === 'maintenance') await this.#setMaintenance(true, signal);
  }

  async #setMaintenance(enable: boolean, signal?: AbortSignal): Promise<void> {
    const { client, options: o } = this.#s;
    await consulCall('maintenance', signal, (ctx) =>
      client.agent.service.maintenance({
        id: this.#serviceId,
        enable,
        reason: enable ? 'set by @switchyard/discovery-consul' : undefined,
        token: o.token,
        ctx,
        timeout: o.requestTimeout,
      } as never),
    );
    this.#maintenance = enable;
  }

  async #updateTtl(signal?: AbortSignal): Promise<void> {
    const { client, options: o } = this.#s;
    const health = this.#instance.health;
    const method = health === 'warning' ? 'warn' : health === 'critical' ? 'fail' : 'pass';
    await consulCall('heartbeat', signal, (ctx) =>
      client.agent.check[method]({
        id: this.#checkId,
        note: `${health} (switchyard heartbeat)`,
        token: o.token,
        ctx,
        timeout: o.requestTimeout,
      } as never),
    );
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#beat = this.#heartbeat();
      },
      ms,
      { unref: true },
    );
  }

  /** One heartbeat; never throws (a timer callback must not). */
  async #heartbeat(): Promise<void> {
    if (this.#closed) return;
    const signal = this.#stop.signal;
    try {
      try {
        await this.#updateTtl(signal);
      } catch (error) {
        if (!isSwitchyardError(error, 'NOT_FOUND')) throw error;
        // The agent no longer knows our check: it restarted or reaped the service. Register again.
        this.#markLost(error);
        await this.#register(signal);
      }
      this.#attempt = 0;
      this.#failingSince = undefined;
      this.#markRestored();
      this.#schedule(this.#s.heartbeatInterval);
    } catch (error) {
      if (this.#closed) return;
      const now = this.#clock.monotonic();
      this.#failingSince ??= now;
      // Past the TTL the agent has marked us critical: that is a loss worth reporting.
      if (now - this.#failingSince >= this.#s.ttl) this.#markLost(error);
      this.#schedule(Math.min(this.#s.backoff(this.#attempt++), this.#s.heartbeatInterval));
    }
  }

  #markRestored(): void {
    if (!this.#lost || this.#closed) return;
    this.#lost = false;
    this.#events.emit('registration:restored', { instance: this.#instance });
  }

  #markLost(cause: unknown): void {
    if (this.#lost || this.#closed) return;
    this.#lost = true;
    this.#events.emit('registration:lost', { instance: this.#instance, cause });
  }
}
