import {
  assertOneOf,
  backendUnavailable,
  Emitter,
  INSTANCE_HEALTH,
  type InstanceHealth,
  type Registration,
  type RegistrationEvents,
  raceSignal,
  type ServiceInstance,
  SwitchyardError,
  type TimerHandle,
  throwIfAborted,
  type Unsubscribe,
} from '@switchyard/core';
import type { Lease } from 'etcd3';
import { deadline, type EtcdDiscoveryContext, PKG } from './context.js';

/**
 * One instance kept alive on an etcd lease. The `etcd3` lease object sends keep-alives every
 * TTL/3; on top of it, a supervision tick (also every TTL/3) checks that the key still exists
 * on our lease with our value. A revoked or expired lease, a deleted key or keep-alives that
 * have not succeeded for a whole TTL emit `registration:lost`; the registration is then re-put
 * on a new lease, which emits `registration:restored`.
 */
export class EtcdRegistration implements Registration {
  readonly #ctx: EtcdDiscoveryContext;
  readonly #ttlMs: number;
  readonly #ttlSeconds: number;
  readonly #key: string;
  readonly #events = new Emitter<RegistrationEvents>({ diagnostics: true });
  readonly #onClose: (reg: EtcdRegistration) => void;
  #instance: ServiceInstance;
  #lease: Lease | undefined;
  #leaseId = '';
  #lastKeepAlive = 0;
  #state: 'live' | 'lost' | 'closed' = 'live';
  #timer: TimerHandle | undefined;
  #restoring: Promise<void> | undefined;

  private constructor(
    ctx: EtcdDiscoveryContext,
    instance: ServiceInstance,
    ttlMs: number,
    onClose: (reg: EtcdRegistration) => void,
  ) {
    this.#ctx = ctx;
    this.#instance = instance;
    this.#ttlMs = ttlMs;
    this.#ttlSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
    this.#key = ctx.codec.key(instance.service, instance.id);
    this.#onClose = onClose;
  }

  /** Grants a lease and puts the instance; rejects with `BACKEND_UNAVAILABLE` or `ABORTED`. */
  static async create(
    ctx: EtcdDiscoveryContext,
    instance: ServiceInstance,
    ttlMs: number,
    signal: AbortSignal | undefined,
    onClose: (reg: EtcdRegistration) => void,
  ): Promise<EtcdRegistration> {
    const reg = new EtcdRegistration(ctx, instance, ttlMs, onClose);
    await reg.#establish(signal);
    if (signal?.aborted) {
      await reg.close();
      throwIfAborted(PKG, signal, 'register');
    }
    reg.#schedule();
    return reg;
  }

  get instance(): ServiceInstance {
    return this.#instance;
  }

  /** The etcd key holding this instance. */
  get key(): string {
    return this.#key;
  }

  /** The current lease id (changes when the registration is restored on a new lease). */
  get leaseId(): string {
    return this.#leaseId;
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
    if (this.#state === 'closed') throw new SwitchyardError('CLOSED', `[${PKG}] registration is closed`);
    this.#instance = Object.freeze({ ...this.#instance, health });
    // While lost, the restore puts the new value; the supervision tick also repairs a failed put.
    if (this.#state !== 'live' || !this.#lease) return;
    await this.#put(this.#lease, options.signal, 'setHealth');
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#ctx.clock.clearTimeout(this.#timer);
    this.#events.removeAll();
    this.#onClose(this);
    const lease = this.#lease;
    this.#lease = undefined;
    lease?.removeAllListeners();
    // Best effort: if etcd is unreachable the lease expires on its own within one TTL.
    const opts = deadline(this.#ctx.requestTimeout);
    await Promise.allSettled([
      this.#ctx.client.delete().key(this.#key).options(opts).exec(),
      lease?.revoke(opts),
    ]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #establish(signal: AbortSignal | undefined): Promise<void> {
    const { client, requestTimeout } = this.#ctx;
    const lease = client.lease(this.#ttlSeconds, deadline(requestTimeout));
    lease.on('lost', (err) => this.#onLeaseLost(lease, err));
    lease.on('keepaliveSucceeded', () => {
      if (lease === this.#lease) this.#lastKeepAlive = this.#ctx.clock.monotonic();
    });
    try {
      const id = await raceSignal(lease.grant(), signal, PKG, 'register');
      await this.#put(lease, signal, 'register');
      if (this.#state === 'closed') {
        // Closed while a restore was in flight: revoking the lease deletes the key again.
        this.#dropLease(lease);
        return;
      }
      const old = this.#lease;
      this.#lease = lease;
      this.#leaseId = String(id);
      this.#lastKeepAlive = this.#ctx.clock.monotonic();
      if (old && old !== lease) this.#dropLease(old);
    } catch (error) {
      this.#dropLease(lease);
      throw backendUnavailable(PKG, `lease for ${this.#key}`, error);
    }
  }

  async #put(lease: Lease, signal: AbortSignal | undefined, what: string): Promise<void> {
    const value = this.#ctx.codec.encode(this.#instance);
    try {
      await raceSignal(
        lease.put(this.#key).value(value).options(deadline(this.#ctx.requestTimeout)).exec(),
        signal,
        PKG,
        what,
      );
    } catch (error) {
      throw backendUnavailable(PKG, `${what} of ${this.#instance.service}/${this.#instance.id}`, error);
    }
  }

  #dropLease(lease: Lease): void {
    lease.removeAllListeners();
    lease.revoke(deadline(this.#ctx.requestTimeout)).catch(() => {});
  }

  #schedule(): void {
    if (this.#state === 'closed') return;
    this.#timer = this.#ctx.clock.setTimeout(
      () => {
        void this.#tick()
          .catch(() => {})
          .finally(() => this.#schedule());
      },
      Math.max(100, this.#ttlMs / 3),
      { unref: true },
    );
  }

  async #tick(): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state === 'lost') return this.#restore();
    const lease = this.#lease;
    if (!lease) return;
    if (this.#ctx.clock.monotonic() - this.#lastKeepAlive > this.#ttlMs / 2) this.#kick(lease);
    try {
      const res = await this.#ctx.client
        .get(this.#key)
        .options(deadline(Math.min(this.#ctx.requestTimeout, this.#ttlMs)))
        .exec();
      if (this.#state !== 'live' || lease !== this.#lease) return;
      const kv = res.kvs[0];
      if (!kv || kv.lease !== this.#leaseId) {
        this.#lost(
          new SwitchyardError(
            'NOT_FOUND',
            `[${PKG}] key ${this.#key} ${kv ? 'is no longer on our lease' : 'was deleted'}`,
          ),
        );
        return this.#restore();
      }
      if (kv.value.toString() !== this.#ctx.codec.encode(this.#instance)) {
        await this.#put(lease, undefined, 'repair');
      }
    } catch (error) {
      // Unreachable: the lease is presumed expired once keep-alives have failed for a whole TTL.
      if (this.#ctx.clock.monotonic() - this.#lastKeepAlive > this.#ttlMs) {
        this.#lost(backendUnavailable(PKG, 'keep-alive', error));
        return this.#restore();
      }
    }
  }

  /**
   * Keep-alives have been silent for half a TTL: the `etcd3` stream may sit on a frozen member (it
   * only gives up after a whole TTL). One extra keep-alive on a fresh stream, which may land on
   * another member, renews the lease in time.
   */
  #kick(lease: Lease): void {
    lease
      .keepaliveOnce(deadline(Math.min(this.#ctx.requestTimeout, this.#ttlMs / 3)))
      .then(() => {
        if (lease === this.#lease) this.#lastKeepAlive = this.#ctx.clock.monotonic();
      })
      .catch(() => {});
  }

  #onLeaseLost(lease: Lease, err: unknown): void {
    if (lease !== this.#lease || this.#state !== 'live') return;
    this.#lost(backendUnavailable(PKG, `lease of ${this.#key}`, err));
    this.#restore().catch(() => {});
  }

  #lost(cause: unknown): void {
    if (this.#state !== 'live') return;
    this.#state = 'lost';
    this.#events.emit('registration:lost', { instance: this.#instance, cause });
  }

  /** Re-puts the instance on a new lease; retried by the next tick if etcd is still unreachable. */
  #restore(): Promise<void> {
    this.#restoring ??= (async () => {
      try {
        await this.#establish(undefined);
        if (this.#state !== 'lost') return;
        this.#state = 'live';
        this.#events.emit('registration:restored', { instance: this.#instance });
      } catch {
        // still lost; the next tick tries again
      } finally {
        this.#restoring = undefined;
      }
    })();
    return this.#restoring;
  }
}
