import { abortedError } from '@switchyard/core';
import { PKG } from './options.js';

/** One held slot. `signal` fires when the caller's signal fires or the slot is taken back. */
export interface QuerySlot {
  readonly signal: AbortSignal;
  /** The slot was taken back from a long blocking query (re-queue it with a short wait). */
  readonly preempted: boolean;
  release(): void;
}

interface Holder {
  readonly controller: AbortController;
  long: boolean;
  preempted: boolean;
}

/**
 * Caps queries in flight: each holds one connection to the agent, and Consul refuses a client
 * IP's connections past `http_max_conns_per_client` (go-connlimit). With more watch loops than
 * slots (`contended`), blocking queries use short waits so the loops take turns, and the loops
 * holding long waits when contention starts give their slot back. FIFO.
 */
export class QuerySlots {
  readonly #max: number;
  readonly #holders = new Set<Holder>();
  readonly #queue: ((h: Holder) => void)[] = [];
  #loops = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /** More watch loops than slots: blocking queries should use short waits. */
  get contended(): boolean {
    return this.#loops > this.#max;
  }

  /** A watch loop starts; call the returned function when it ends. */
  join(): () => void {
    this.#loops++;
    if (this.contended) {
      for (const h of this.#holders) {
        if (!h.long) continue;
        h.preempted = true;
        h.controller.abort();
      }
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#loops--;
    };
  }

  async acquire(signal: AbortSignal, long: boolean): Promise<QuerySlot> {
    if (signal.aborted) throw abortedError(PKG, signal, 'query');
    const holder =
      this.#holders.size < this.#max
        ? this.#take()
        : await new Promise<Holder>((resolve, reject) => {
            const grant = (h: Holder) => {
              signal.removeEventListener('abort', onAbort);
              resolve(h);
            };
            const onAbort = () => {
              const i = this.#queue.indexOf(grant);
              if (i >= 0) this.#queue.splice(i, 1);
              reject(abortedError(PKG, signal, 'query'));
            };
            signal.addEventListener('abort', onAbort, { once: true });
            this.#queue.push(grant);
          });
    holder.long = long;
    const { controller } = holder;
    const onCaller = () => controller.abort(signal.reason);
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onCaller, { once: true });
    let released = false;
    return {
      signal: controller.signal,
      get preempted() {
        return holder.preempted && !signal.aborted;
      },
      release: () => {
        if (released) return;
        released = true;
        signal.removeEventListener('abort', onCaller);
        this.#holders.delete(holder);
        const next = this.#queue.shift();
        if (next) next(this.#take());
      },
    };
  }

  #take(): Holder {
    const h: Holder = { controller: new AbortController(), long: false, preempted: false };
    this.#holders.add(h);
    return h;
  }
}
