import { backendUnavailable } from '@switchyard/core';
import { opt, parseOptions } from '@switchyard/core/driver';
import type { BusListener, BusTransport } from './bus-transport.js';

/** The shared "server" of in-process buses: one per simulated cluster of processes. */
export class MemoryBusHub {
  readonly #subscribers = new Map<string, Set<MemoryBusTransport>>();

  /** @internal */
  join(channel: string, t: MemoryBusTransport): void {
    let set = this.#subscribers.get(channel);
    if (!set) {
      set = new Set();
      this.#subscribers.set(channel, set);
    }
    set.add(t);
  }

  /** @internal */
  leave(channel: string, t: MemoryBusTransport): void {
    this.#subscribers.get(channel)?.delete(t);
  }

  /** @internal */
  deliver(channel: string, message: string): void {
    for (const t of this.#subscribers.get(channel) ?? []) t.receive(message);
  }
}

/**
 * An in-process bus transport (for one process with several caches, tests and the demo). Delivery
 * is asynchronous, in order. `disconnect()` / `reconnect()` / `loseNext(n)` simulate faults.
 */
export class MemoryBusTransport implements BusTransport {
  readonly name = 'memory';
  readonly kind = 'messages' as const;
  readonly #hub: MemoryBusHub;
  #channel: string | undefined;
  #listener: BusListener | undefined;
  #online = true;
  #lose = 0;
  #closed = false;

  constructor(hub: MemoryBusHub) {
    this.#hub = hub;
  }

  async start(channel: string, listener: BusListener): Promise<void> {
    this.#channel = channel;
    this.#listener = listener;
    this.#hub.join(channel, this);
    queueMicrotask(() => {
      if (!this.#closed && this.#online) listener.connected();
    });
  }

  async publish(channel: string, message: string): Promise<void> {
    if (this.#closed) return;
    if (!this.#online) throw backendUnavailable('cache', 'memory bus publish', 'disconnected');
    queueMicrotask(() => this.#hub.deliver(channel, message));
  }

  /** @internal */
  receive(message: string): void {
    if (!this.#online || this.#closed) return;
    if (this.#lose > 0) {
      this.#lose--;
      return;
    }
    this.#listener?.message(message);
  }

  /** The subscription drops: nothing is delivered or published until `reconnect()`. */
  disconnect(): void {
    if (!this.#online) return;
    this.#online = false;
    this.#listener?.disconnected(backendUnavailable('cache', 'memory bus', 'simulated disconnect'));
  }

  reconnect(): void {
    if (this.#online) return;
    this.#online = true;
    this.#listener?.connected();
  }

  /** The next `n` messages addressed to this subscriber are silently lost. */
  loseNext(n: number): void {
    this.#lose += n;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#channel !== undefined) this.#hub.leave(this.#channel, this);
  }
}

/** A transport on `hub` (default: a hub of its own, i.e. only caches sharing the transport's hub talk). */
export function createMemoryBus(options: { hub?: MemoryBusHub } = {}): MemoryBusTransport {
  const o = parseOptions('cache', options, {
    hub: opt.instance<MemoryBusHub>((v) => v instanceof MemoryBusHub, 'a MemoryBusHub'),
  });
  return new MemoryBusTransport(o.hub ?? new MemoryBusHub());
}
