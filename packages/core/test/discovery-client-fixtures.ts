import {
  AsyncChannel,
  createManualClock,
  createMemoryDiscovery,
  type DiscoveryBackend,
  type DiscoveryEvent,
  type ManualClock,
  MemoryDiscoveryStore,
  type Registration,
  type RegistrationEvents,
  type ServiceInstance,
} from '../src/index.js';

/** A memory backend wrapped with switchable faults and call counters. */
export interface FaultyBackend extends DiscoveryBackend {
  readonly calls: { watch: number; resolve: number; register: number };
  /** `backend.watch` throws (connection refused). */
  failWatch: boolean;
  /** `backend.resolve` rejects. */
  failResolve: boolean;
  /** `backend.resolve` never settles (until its signal fires). */
  hangResolve: boolean;
  /** Watches silently drop every change after the initial snapshot. */
  dropEvents: boolean;
  /** Fails every open watch stream with `error`. */
  breakWatches(error?: unknown): void;
  readonly openWatches: number;
}

export function faulty(inner: DiscoveryBackend): FaultyBackend {
  const open = new Map<AsyncChannel<DiscoveryEvent>, AbortController>();
  const backend: FaultyBackend = {
    name: `faulty(${inner.name})`,
    capabilities: inner.capabilities,
    calls: { watch: 0, resolve: 0, register: 0 },
    failWatch: false,
    failResolve: false,
    hangResolve: false,
    dropEvents: false,
    get openWatches() {
      return open.size;
    },
    register(instance, options) {
      backend.calls.register++;
      return inner.register(instance, options);
    },
    async resolve(service, options = {}) {
      backend.calls.resolve++;
      if (backend.failResolve) throw new Error('ECONNREFUSED (injected)');
      if (backend.hangResolve) {
        return new Promise((_, reject) => {
          options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
        });
      }
      return inner.resolve(service, options);
    },
    watch(service, options = {}) {
      backend.calls.watch++;
      if (backend.failWatch) throw new Error('ECONNREFUSED (injected)');
      const ac = new AbortController();
      const out: AsyncChannel<DiscoveryEvent> = new AsyncChannel<DiscoveryEvent>({
        onReturn: () => {
          ac.abort();
          open.delete(out);
        },
      });
      open.set(out, ac);
      const signal = options.signal ? AbortSignal.any([ac.signal, options.signal]) : ac.signal;
      void (async () => {
        try {
          for await (const event of inner.watch(service, { ...options, signal })) {
            if (backend.dropEvents && event.reason !== 'initial') continue;
            out.push(event);
          }
          out.close();
        } catch (error) {
          out.fail(error);
        } finally {
          open.delete(out);
        }
      })();
      return out;
    },
    breakWatches(error = new Error('stream reset (injected)')) {
      for (const [channel, ac] of open) {
        ac.abort();
        channel.fail(error);
      }
      open.clear();
    },
    services: (options) => inner.services(options),
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner.close(),
  };
  return backend;
}

export interface Env {
  clock: ManualClock;
  store: MemoryDiscoveryStore;
  memory: DiscoveryBackend;
  backend: FaultyBackend;
  /** Lets queued promise work run without moving time. */
  tick(): Promise<void>;
}

export function env(): Env {
  const clock = createManualClock();
  const store = new MemoryDiscoveryStore({ clock });
  const memory = createMemoryDiscovery({ store, clock, ttl: 60_000 });
  return { clock, store, memory, backend: faulty(memory), tick: () => clock.advance(0) };
}

export const ids = (instances: readonly ServiceInstance[]): string[] => instances.map((i) => i.id);

/** A registration that reports `registration:lost` on demand and never restores itself. */
export function deadEndRegistration(
  instance: ServiceInstance,
  onClose: () => void,
): Registration & {
  loseIt(): void;
} {
  const listeners = new Map<string, Set<(p: never) => void>>();
  return {
    instance,
    async setHealth() {},
    on<K extends keyof RegistrationEvents>(event: K, listener: (payload: RegistrationEvents[K]) => void) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (p: never) => void);
      return () => set.delete(listener as (p: never) => void);
    },
    async close() {
      onClose();
    },
    async [Symbol.asyncDispose]() {
      onClose();
    },
    loseIt() {
      for (const l of listeners.get('registration:lost') ?? []) {
        (l as (p: RegistrationEvents['registration:lost']) => void)({
          instance,
          cause: new Error('lease gone'),
        });
      }
    },
  };
}

export { createManualClock };
