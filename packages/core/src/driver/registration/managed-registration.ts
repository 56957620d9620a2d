import type {
  InstanceHealth,
  Registration,
  RegistrationEvents,
  ServiceInstance,
} from '../../contracts/discovery.js';
import { INSTANCE_HEALTH } from '../../discovery/instance.js';
import { closedError, isSwitchyardError, SwitchyardError } from '../../errors.js';
import { throwIfAborted } from '../../primitives/abort.js';
import type { Backoff } from '../../primitives/backoff.js';
import type { Clock, TimerHandle } from '../../primitives/clock.js';
import { Emitter, type ListenerErrorHandler, type Unsubscribe } from '../../primitives/emitter.js';
import { assertOneOf, assertSignal } from '../../validation.js';
import { callBackend } from '../backend-call.js';
import type { RegistrationDriver } from './registration-driver.js';

export interface ManagedRegistrationOptions<Handle, Extra> {
  pkg: string;
  driver: RegistrationDriver<Handle, Extra>;
  instance: ServiceInstance;
  /** Record lifetime without a heartbeat, ms. */
  ttl: number;
  /** Heartbeat period, ms (default ttl / 3). */
  heartbeatInterval?: number;
  /** Deadline of one backend call, ms. */
  requestTimeout: number;
  clock: Clock;
  /** Delays between retries of a failed heartbeat or re-registration (capped at the heartbeat period). */
  backoff: Backoff;
  extra: Extra;
  /** Called once, when the registration is closed (for the backend's bookkeeping). */
  onClose?: () => void;
  /** Where a throwing event listener's error goes (default: a process warning). */
  onListenerError?: ListenerErrorHandler | undefined;
}

type State = 'live' | 'lost' | 'closed';

/**
 * A live registration, for every backend: heartbeats every ttl/3 through the driver, reports
 * `registration:lost` when the backend forgot the record (or was unreachable for a whole TTL),
 * re-registers with backoff and reports `registration:restored`, applies health changes, and
 * deregisters on close. Only one backend call runs at a time; timers never throw into the host.
 */
export class ManagedRegistration<Handle = unknown, Extra = Record<string, unknown>> implements Registration {
  readonly #o: ManagedRegistrationOptions<Handle, Extra>;
  readonly #events: Emitter<RegistrationEvents>;
  readonly #interval: number;
  #instance: ServiceInstance;
  #handle: Handle | undefined;
  #offLoss: (() => void) | undefined;
  #state: State = 'live';
  #timer: TimerHandle | undefined;
  /** The backend call in flight (heartbeat, update, re-put): the next one waits for it. */
  #busy: Promise<unknown> = Promise.resolve();
  #lastOk = 0;
  #failures = 0;
  #puts = 0;
  #closing: Promise<void> | undefined;

  private constructor(options: ManagedRegistrationOptions<Handle, Extra>) {
    this.#o = options;
    this.#events = new Emitter<RegistrationEvents>({
      diagnostics: true,
      source: options.pkg,
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
    this.#instance = options.instance;
    this.#interval = Math.max(1, Math.min(options.heartbeatInterval ?? options.ttl / 3, options.ttl / 2));
  }

  /** Puts the record (rejects with `BACKEND_UNAVAILABLE`, `ABORTED` or `TIMEOUT`) and starts heartbeats. */
  static async create<Handle, Extra>(
    options: ManagedRegistrationOptions<Handle, Extra>,
    signal?: AbortSignal,
  ): Promise<ManagedRegistration<Handle, Extra>> {
    const reg = new ManagedRegistration(options);
    try {
      await reg.#put(signal, 'register');
    } catch (error) {
      // The put may have reached the backend before the failure (a timeout, an abort): best-effort
      // removal so no orphan lingers until its TTL runs out.
      reg.#state = 'closed';
      options.onClose?.();
      const { driver, instance } = options;
      void reg.#call('deregister', undefined, (s) => driver.remove(undefined, instance, s)).catch(() => {});
      throw error;
    }
    reg.#schedule(reg.#interval);
    return reg;
  }

  get instance(): ServiceInstance {
    return this.#instance;
  }

  /** The backend's handle of the current record (lease id, check id…); changes on re-registration. */
  get handle(): Handle | undefined {
    return this.#handle;
  }

  /** Records written so far: 1 + re-registrations after losses. */
  get registrations(): number {
    return this.#puts;
  }

  /** `true` while the backend is believed to hold the record. */
  get live(): boolean {
    return this.#is('live');
  }

  on<K extends keyof RegistrationEvents>(
    event: K,
    listener: (payload: RegistrationEvents[K]) => void,
  ): Unsubscribe {
    return this.#events.on(event, listener);
  }

  async setHealth(health: InstanceHealth, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { pkg } = this.#o;
    assertOneOf(pkg, 'health', health, INSTANCE_HEALTH);
    const signal = assertSignal(pkg, 'signal', options?.signal);
    throwIfAborted(pkg, signal, 'setHealth');
    if (this.#is('closed')) throw closedError(pkg, 'registration');
    this.#instance = Object.freeze({ ...this.#instance, health });
    // While lost, the re-registration carries the new health.
    if (this.#is('lost')) return;
    await this.#exclusive(async () => {
      if (!this.#is('live')) return;
      const { driver } = this.#o;
      if (!driver.update) {
        await this.#put(signal, 'setHealth');
        return;
      }
      const handle = this.#handle as Handle;
      const ok = await this.#call('setHealth', signal, (s) => driver.update!(handle, this.#instance, s));
      if (!ok)
        this.#lose(new SwitchyardError('NOT_FOUND', `[${pkg}] ${this.#describe()} was gone on setHealth`));
    });
    if (this.#is('lost')) this.#schedule(0);
  }

  /** Stops heartbeats and deregisters. Idempotent; rejects with `BACKEND_UNAVAILABLE` if the record could not be removed (it then expires within its TTL). */
  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = assertSignal(this.#o.pkg, 'signal', options?.signal);
    this.#closing ??= this.#close(signal);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(signal: AbortSignal | undefined): Promise<void> {
    const wasLive = !this.#is('closed');
    this.#state = 'closed';
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#events.removeAll();
    if (!wasLive) return;
    this.#o.onClose?.();
    // A heartbeat or re-put may be in flight: let it settle first, or its write could land after
    // the removal and leave an orphan.
    await this.#busy.catch(() => {});
    this.#offLoss?.();
    const handle = this.#handle;
    try {
      if (handle !== undefined) {
        const remove = () =>
          this.#call('deregister', signal, (s) => this.#o.driver.remove(handle, this.#instance, s));
        // One retry: a fresh call may reach another member or a re-established connection. If both
        // fail, the record expires on its own within its TTL (the rejection says so).
        await remove().catch((error: unknown) => {
          if (signal?.aborted || !isSwitchyardError(error, 'BACKEND_UNAVAILABLE')) throw error;
          return remove();
        });
      }
    } finally {
      if (handle !== undefined) this.#o.driver.dispose?.(handle);
    }
  }

  /** The current state (a method, so that checks after an await are not narrowed away). */
  #is(state: State): boolean {
    return this.#state === state;
  }

  #describe(): string {
    return `registration of ${this.#instance.service}/${this.#instance.id}`;
  }

  /** One backend call with the request deadline (and the caller's signal). */
  #call<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const { pkg, clock, requestTimeout } = this.#o;
    const { service, id } = this.#instance;
    return callBackend(`${what} of ${service}/${id}`, { pkg, clock, timeout: requestTimeout, signal }, fn);
  }

  /** Writes the record (first registration or re-registration) and adopts the new handle. */
  async #put(signal: AbortSignal | undefined, what: string): Promise<void> {
    const { driver, ttl, extra } = this.#o;
    const handle = await this.#call(what, signal, (s) => driver.put(this.#instance, ttl, s, extra));
    if (this.#is('closed') && what !== 'register') {
      // Closed while the put was in flight: take it back.
      await this.#call('deregister', undefined, (s) => driver.remove(handle, this.#instance, s)).catch(
        () => {},
      );
      driver.dispose?.(handle);
      return;
    }
    const old = this.#handle;
    this.#offLoss?.();
    this.#handle = handle;
    this.#puts++;
    this.#lastOk = this.#o.clock.monotonic();
    this.#offLoss = driver.watchLoss?.(handle, (cause) => this.#onBackendLoss(handle, cause));
    if (old !== undefined && old !== handle) driver.dispose?.(old);
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#busy.catch(() => {}).then(fn);
    this.#busy = run.catch(() => {});
    return run;
  }

  #schedule(ms: number): void {
    if (this.#is('closed')) return;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => void this.#tick(), ms, { unref: true });
  }

  #retryDelay(): number {
    return Math.min(this.#o.backoff(this.#failures++), this.#interval);
  }

  #onBackendLoss(handle: Handle, cause: unknown): void {
    if (handle !== this.#handle || !this.#is('live')) return;
    this.#lose(cause);
    this.#schedule(0);
  }

  #lose(cause: unknown): void {
    if (!this.#is('live')) return;
    this.#state = 'lost';
    this.#events.emit('registration:lost', { instance: this.#instance, cause });
  }

  #restored(): void {
    if (!this.#is('lost')) return;
    this.#state = 'live';
    this.#events.emit('registration:restored', { instance: this.#instance });
  }

  /** One heartbeat (or, while lost, one re-registration). Never throws. */
  async #tick(): Promise<void> {
    this.#timer = undefined;
    if (this.#is('closed')) return;
    let next = this.#interval;
    await this.#exclusive(async () => {
      if (this.#is('closed')) return;
      const { driver, clock, ttl, pkg } = this.#o;
      try {
        if (this.#is('lost') || this.#handle === undefined) {
          await this.#put(undefined, 're-register');
          if (this.#is('closed')) return;
          this.#failures = 0;
          this.#restored();
          return;
        }
        const handle = this.#handle;
        const alive = await this.#call('heartbeat', undefined, (s) =>
          driver.heartbeat(handle, this.#instance, s),
        );
        if (this.#is('closed') || handle !== this.#handle) return;
        if (alive) {
          this.#lastOk = clock.monotonic();
          this.#failures = 0;
          return;
        }
        this.#lose(
          new SwitchyardError('NOT_FOUND', `[${pkg}] the backend no longer has the ${this.#describe()}`),
        );
        next = 0; // re-register at once
      } catch (error) {
        if (this.#is('closed')) return;
        // Unreachable for a whole TTL: the backend has expired the record by now.
        if (this.#is('live') && clock.monotonic() - this.#lastOk >= ttl) this.#lose(error);
        next = this.#retryDelay();
      }
    });
    this.#schedule(next);
  }
}
