import { constants } from 'node:os';
import type {
  DiscoveryBackend,
  InstanceHealth,
  InstanceInput,
  Registration,
  RegistrationEvents,
  ServiceInstance,
} from '../../contracts/discovery.js';
import { invalidArgument } from '../../errors.js';
import { opt, parseOptions } from '../../options/option-schema.js';
import { deadlineSignal, raceSignal } from '../../primitives/abort.js';
import type { Clock } from '../../primitives/clock.js';
import type { Unsubscribe } from '../../primitives/emitter.js';
import { CLIENT_PKG as PKG } from './options.js';
import type { ClientRegisterOptions, ClientRegistration as ClientRegistrationContract } from './types.js';

const SIGNAL_NAME = /^SIG[A-Z0-9]+$/;

const REGISTER_SCHEMA = {
  deregisterOnSignals: opt.array(
    opt.custom((v, at) => {
      if (
        typeof v !== 'string' ||
        !SIGNAL_NAME.test(v) ||
        v === 'SIGKILL' ||
        v === 'SIGSTOP' ||
        !isKnownSignal(v)
      ) {
        throw invalidArgument(
          at.pkg,
          at.field,
          `must be a catchable signal name like "SIGTERM", got ${JSON.stringify(v)}`,
        );
      }
      return v as NodeJS.Signals;
    }),
  ),
  deregisterTimeout: opt.duration().default(5_000),
};

function isKnownSignal(name: string): boolean {
  return Object.hasOwn(constants.signals, name);
}

/**
 * What the discovery client's `register` returns: the backend's own registration (backends built
 * on the driver kit keep it alive and re-register after a loss themselves), plus opt-in
 * deregistration on a process signal, bounded by `deregisterTimeout`.
 */
export class ClientRegistration implements ClientRegistrationContract {
  readonly #inner: Registration;
  readonly #clock: Clock;
  readonly #deregisterTimeout: number;
  readonly #signalHandlers = new Map<NodeJS.Signals, () => void>();
  readonly #onClose: () => void;
  #closing: Promise<void> | undefined;

  private constructor(
    inner: Registration,
    clock: Clock,
    deregisterTimeout: number,
    signals: readonly NodeJS.Signals[],
    onClose: () => void,
  ) {
    this.#inner = inner;
    this.#clock = clock;
    this.#deregisterTimeout = deregisterTimeout;
    this.#onClose = onClose;
    for (const sig of new Set(signals)) {
      const handler = () => void this.#onProcessSignal(sig);
      this.#signalHandlers.set(sig, handler);
      process.on(sig, handler);
    }
  }

  static async create(
    backend: DiscoveryBackend,
    clock: Clock,
    input: InstanceInput,
    options: ClientRegisterOptions,
    onClose: () => void,
  ): Promise<ClientRegistration> {
    const { deregisterOnSignals, deregisterTimeout, ...backendOptions } = options ?? {};
    const own = parseOptions(PKG, { deregisterOnSignals, deregisterTimeout }, REGISTER_SCHEMA);
    const inner = await backend.register(input, backendOptions);
    return new ClientRegistration(
      inner,
      clock,
      own.deregisterTimeout,
      own.deregisterOnSignals ?? [],
      onClose,
    );
  }

  get instance(): ServiceInstance {
    return this.#inner.instance;
  }

  /** Records written for this instance (1 + re-registrations), when the backend counts them. */
  get registrations(): number {
    return (this.#inner as { registrations?: number }).registrations ?? 1;
  }

  on<K extends keyof RegistrationEvents>(
    event: K,
    listener: (payload: RegistrationEvents[K]) => void,
  ): Unsubscribe {
    return this.#inner.on(event, listener);
  }

  setHealth(health: InstanceHealth, options?: { signal?: AbortSignal }): Promise<void> {
    return this.#inner.setHealth(health, options);
  }

  close(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#closing ??= (async () => {
      for (const [sig, handler] of this.#signalHandlers) process.off(sig, handler);
      this.#signalHandlers.clear();
      try {
        await this.#inner.close(options);
      } finally {
        this.#onClose();
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #onProcessSignal(sig: NodeJS.Signals): Promise<void> {
    const { signal, dispose } = deadlineSignal(this.#deregisterTimeout, { clock: this.#clock });
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
