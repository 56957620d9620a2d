import type {
  DiscoveryBackend,
  InstanceHealth,
  InstanceInput,
  Registration,
  RegistrationEvents,
  ServiceInstance,
} from '../../contracts/discovery.js';
import { invalidArgument, SwitchyardError } from '../../errors.js';
import { deadlineSignal, raceSignal } from '../../primitives/abort.js';
import type { Backoff } from '../../primitives/backoff.js';
import type { Clock, TimerHandle } from '../../primitives/clock.js';
import { Emitter, type Unsubscribe } from '../../primitives/emitter.js';
import { assertDuration } from '../../validation.js';
import { CLIENT_PKG as PKG } from './options.js';
import type { ClientRegisterOptions, ManagedRegistration } from './types.js';

const SIGNAL_NAME = /^SIG[A-Z0-9]+$/;

export interface ManagedRegistrationDeps {
  backend: DiscoveryBackend;
  clock: Clock;
  backoff: Backoff;
  onClose: () => void;
}

interface Settings {
  ttl: number | undefined;
  restoreGrace: number;
  deregisterTimeout: number;
  signals: readonly NodeJS.Signals[];
}

/** Validates the client-only registration options (INVALID_ARGUMENT naming the field). */
export function resolveRegisterOptions(options: ClientRegisterOptions): Settings {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument(PKG, 'options', 'must be an object');
  const signals = options.deregisterOnSignals ?? [];
  if (!Array.isArray(signals))
    throw invalidArgument(PKG, 'deregisterOnSignals', 'must be an array of signal names');
  signals.forEach((s, i) => {
    if (typeof s !== 'string' || !SIGNAL_NAME.test(s) || s === 'SIGKILL' || s === 'SIGSTOP') {
      throw invalidArgument(
        PKG,
        `deregisterOnSignals[${i}]`,
        `must be a catchable signal name like "SIGTERM", got ${JSON.stringify(s)}`,
      );
    }
  });
  return {
    ttl: options.ttl,
    restoreGrace: assertDuration(PKG, 'restoreGrace', options.restoreGrace ?? 1_000, { allowZero: true }),
    deregisterTimeout: assertDuration(PKG, 'deregisterTimeout', options.deregisterTimeout ?? 5_000),
    signals: [...new Set(signals)],
  };
}

/**
 * Wraps a backend registration: the backend keeps it alive (heartbeats/lease); when the backend
 * reports `registration:lost` and does not restore it within `restoreGrace`, this re-registers
 * (with backoff) and emits `registration:restored`. Deregisters on close or, opt-in, on a process signal.
 */
export class ClientRegistration implements ManagedRegistration {
  readonly #deps: ManagedRegistrationDeps;
  readonly #settings: Settings;
  readonly #input: InstanceInput;
  readonly #events = new Emitter<RegistrationEvents>({ diagnostics: true });
  readonly #signalHandlers = new Map<NodeJS.Signals, () => void>();
  #current: Registration;
  /** The handle given up on after a loss (already closed). */
  #retired: Registration | undefined;
  #offCurrent: Unsubscribe[] = [];
  #health: InstanceHealth;
  #lost = false;
  #failures = 0;
  #timer: TimerHandle | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #registrations = 1;

  private constructor(
    deps: ManagedRegistrationDeps,
    settings: Settings,
    input: InstanceInput,
    first: Registration,
  ) {
    this.#deps = deps;
    this.#settings = settings;
    this.#input = input;
    this.#current = first;
    this.#health = first.instance.health;
    this.#attach(first);
    for (const sig of settings.signals) {
      const handler = () => void this.#onProcessSignal(sig);
      this.#signalHandlers.set(sig, handler);
      process.on(sig, handler);
    }
  }

  static async create(
    deps: ManagedRegistrationDeps,
    input: InstanceInput,
    options: ClientRegisterOptions,
  ): Promise<ClientRegistration> {
    const settings = resolveRegisterOptions(options);
    const first = await deps.backend.register(input, { ttl: settings.ttl, signal: options.signal });
    return new ClientRegistration(deps, settings, input, first);
  }

  get instance(): ServiceInstance {
    return this.#current.instance;
  }

  get registrations(): number {
    return this.#registrations;
  }

  on<K extends keyof RegistrationEvents>(
    event: K,
    listener: (payload: RegistrationEvents[K]) => void,
  ): Unsubscribe {
    return this.#events.on(event, listener);
  }

  async setHealth(health: InstanceHealth, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#closed) throw new SwitchyardError('CLOSED', `[${PKG}] registration is closed`);
    // While lost, the new health is applied by the re-registration.
    if (!this.#lost) await this.#current.setHealth(health, options);
    this.#health = health;
  }

  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#closing ??= this.#doClose(options);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #doClose(options: { signal?: AbortSignal }): Promise<void> {
    this.#closed = true;
    this.#deps.clock.clearTimeout(this.#timer);
    for (const [sig, handler] of this.#signalHandlers) process.off(sig, handler);
    this.#signalHandlers.clear();
    this.#detach();
    if (this.#retired === this.#current) {
      this.#events.removeAll();
      this.#deps.onClose();
      return;
    }
    try {
      await this.#current.close(options);
    } finally {
      this.#events.removeAll();
      this.#deps.onClose();
    }
  }

  #attach(reg: Registration): void {
    this.#offCurrent = [
      reg.on('registration:lost', (payload) => this.#onLost(payload)),
      reg.on('registration:restored', (payload) => this.#onRestored(payload)),
    ];
  }

  #detach(): void {
    for (const off of this.#offCurrent) off();
    this.#offCurrent = [];
  }

  #onLost(payload: RegistrationEvents['registration:lost']): void {
    if (this.#closed || this.#lost) return;
    this.#lost = true;
    this.#events.emit('registration:lost', payload);
    this.#schedule(this.#settings.restoreGrace);
  }

  #onRestored(payload: RegistrationEvents['registration:restored']): void {
    this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#lost || this.#closed) return;
    this.#lost = false;
    this.#failures = 0;
    this.#events.emit('registration:restored', payload);
  }

  #schedule(ms: number): void {
    this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = this.#deps.clock.setTimeout(() => void this.#reRegister(), ms, { unref: true });
  }

  /** The backend did not restore the registration itself: drop the old handle, register anew. */
  async #reRegister(): Promise<void> {
    this.#timer = undefined;
    if (this.#closed || !this.#lost) return;
    const old = this.#current;
    if (this.#retired !== old) {
      this.#retired = old;
      this.#detach();
      const { signal, dispose } = deadlineSignal(this.#settings.deregisterTimeout, {
        clock: this.#deps.clock,
      });
      // Close first: a backend that deregisters by id must not remove the new registration.
      await raceSignal(old.close({ signal }), signal).catch(() => {});
      dispose();
      if (this.#closed) return;
    }
    try {
      const next = await this.#deps.backend.register(
        { ...this.#input, health: this.#health },
        { ttl: this.#settings.ttl },
      );
      if (this.#closed) {
        await next.close().catch(() => {});
        return;
      }
      this.#current = next;
      this.#registrations++;
      this.#attach(next);
      this.#lost = false;
      this.#failures = 0;
      this.#events.emit('registration:restored', { instance: next.instance });
    } catch {
      if (this.#closed) return;
      this.#schedule(this.#deps.backoff(this.#failures++));
    }
  }

  async #onProcessSignal(sig: NodeJS.Signals): Promise<void> {
    const { signal, dispose } = deadlineSignal(this.#settings.deregisterTimeout, { clock: this.#deps.clock });
    try {
      await raceSignal(this.close({ signal }), signal);
    } catch {
      // Best effort: the process is going away either way.
    } finally {
      dispose();
    }
    // Our listener kept Node from exiting: if nobody else handles the signal, re-raise it.
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  }
}
