import type { Clock } from '@switchyard/core';
import type { LockAttempt, LockWaiter } from '@switchyard/core/driver';
import type { Etcd3, Watcher } from 'etcd3';
import { callOptions } from './etcd-connection.js';
import type { EtcdSession } from './session.js';

/** Where a queued request stands: its key, its place (create revision) and the session it lives on. */
export interface QueuePlace {
  readonly myKey: string;
  readonly dir: string;
  readonly rev: bigint;
  readonly session: EtcdSession;
}

export interface QueueWaiterOptions {
  client: Etcd3;
  clock: Clock;
  requestTimeout: number;
  permits: number;
  ttl: number;
  /** The request's current place (an attempt may have re-queued it on a new session). */
  place(): QueuePlace | undefined;
  /** Records that the request holds `place` now; returns the grant. */
  grant(place: QueuePlace): LockAttempt | undefined;
}

/**
 * The wait of a queued request. It reads the keys just older than its own and watches for
 * deletions from that read's revision on: a mutex waiter watches only its predecessor (a release
 * wakes exactly one waiter, FIFO by create revision) and, when that predecessor was the holder,
 * holds the lock without another read (no key can ever be created before ours again); a semaphore
 * waiter watches the queue directory (any older holder leaving may admit it).
 */
export class QueueWaiter implements LockWaiter {
  readonly sinceAttempt = true;
  readonly #o: QueueWaiterOptions;
  #watcher: Watcher | undefined;
  #opened: QueuePlace | undefined;
  /** The only key older than ours is the predecessor watched (mutex): its deletion makes us holder. */
  #nextInLine = false;
  #ready = false;
  #fired = false;
  #wake: (() => void) | undefined;

  constructor(options: QueueWaiterOptions) {
    this.#o = options;
  }

  get listening(): boolean {
    return this.#watcher !== undefined && this.#opened === this.#o.place();
  }

  /** Reads the predecessors and starts the watch; `false` when etcd did not answer within `bound`. */
  async open(bound: number): Promise<boolean> {
    this.#stop();
    const place = this.#o.place();
    if (!place) return false;
    const { client, clock, permits } = this.#o;
    const res = await client
      .getAll()
      .prefix(place.dir)
      .maxCreateRevision((place.rev - 1n).toString())
      .sort('Create', 'Descend')
      .limit(permits + 1)
      .options(callOptions(clock, bound))
      .exec();
    if (res.kvs.length < permits) {
      this.#opened = place;
      this.#ready = true;
      return true;
    }
    const builder = client
      .watch()
      .startRevision((BigInt(res.header.revision) + 1n).toString())
      .only('delete');
    const predecessor = permits === 1 ? res.kvs[0]!.key : undefined;
    const watcher = (predecessor ? builder.key(predecessor) : builder.prefix(place.dir)).watcher();
    // A watcher emits `error` on compaction or stream failure; without a listener that would throw.
    watcher.on('error', () => this.#notice(false));
    watcher.on('delete', (kv) => {
      if (kv.key.toString() !== place.myKey) this.#notice(true);
    });
    this.#watcher = watcher;
    this.#opened = place;
    this.#nextInLine = predecessor !== undefined && res.kvs.length === 1;
    return true;
  }

  #notice(deleted: boolean): void {
    if (deleted && this.#nextInLine) this.#ready = true;
    else this.#stop();
    this.#fired = true;
    this.#wake?.();
  }

  /**
   * Waits up to `ms` for our turn. A notice that does not make us holder (a waiter ahead gave up,
   * a semaphore holder left, a watch error) re-reads the predecessors here and goes on waiting, so
   * a hand-off deep in the queue costs one read, not an attempt and a read.
   */
  async wait(ms: number, signal: AbortSignal): Promise<LockAttempt | undefined> {
    const { clock } = this.#o;
    const end = clock.monotonic() + ms;
    for (;;) {
      if (!this.listening && !this.#ready) {
        const left = end - clock.monotonic();
        if (left <= 0 || signal.aborted) return undefined;
        if (!(await this.open(Math.max(1, Math.min(left, this.#o.requestTimeout))).catch(() => false))) {
          return undefined;
        }
      }
      if (!this.#fired && !this.#ready) await this.#sleep(end - clock.monotonic(), signal);
      this.#fired = false;
      if (signal.aborted) return undefined;
      if (this.#ready) break;
      if (clock.monotonic() >= end) return undefined;
    }
    const place = this.#opened;
    this.#ready = false;
    this.#stop();
    if (!place || place !== this.#o.place() || !place.session.held) return undefined;
    return this.#o.grant(place);
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.#o.clock.clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      // Ref'd: somebody awaits this acquire; grpc-js unrefs idle sockets, so without it a script
      // whose only work is this wait would exit (code 13) with the acquire pending.
      const timer = this.#o.clock.setTimeout(done, Math.max(0, ms));
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
      if (signal.aborted) done();
    });
  }

  #stop(): void {
    this.#watcher?.cancel().catch(() => {});
    this.#watcher = undefined;
    this.#nextInLine = false;
  }

  close(): void {
    this.#ready = false;
    this.#stop();
    this.#wake?.();
  }
}
