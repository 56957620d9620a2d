import { randomUUID } from 'node:crypto';
import type { TimerHandle } from '@switchyard/core';
import type { CacheEngine } from '../cache-engine.js';
import { type BusMessage, parseMessage } from './bus-message.js';
import type { BusListener, BusTransport } from './bus-transport.js';

/** Clock skew allowed between processes when deciding whether a publisher started after us, ms. */
const SKEW = 1000;

interface Peer {
  since: number;
  seqs: Map<string, number>;
  seenAt: number;
}

/**
 * A coherent L1 over any bus transport. Every write publishes an invalidation carrying a sequence
 * number per (publisher, namespace); every `heartbeatInterval` each publisher announces its
 * current sequence numbers. A subscriber that sees a number jump (a lost message), that was
 * disconnected, or that stops hearing its **own** heartbeat back (a silently dead subscription)
 * cannot know what it missed, so it demotes the L1 entries of the namespace concerned to
 * last-resort stale values: never served as fresh again, only when the source fails. Staleness of
 * L1 is therefore bounded by about three heartbeats plus delivery, whatever gets lost.
 */
export class Coherence implements BusListener {
  readonly #engine: CacheEngine;
  readonly #transport: BusTransport;
  readonly #channel: string;
  readonly #interval: number;
  readonly #id = randomUUID().slice(0, 13);
  readonly #since: number;
  readonly #seqs = new Map<string, number>();
  readonly #peers = new Map<string, Peer>();
  readonly #pending = new Map<string, Set<string>>();
  #flushQueued = false;
  #timer: TimerHandle | undefined;
  #connected = false;
  #trusted = false;
  #everConnected = false;
  #readyAt = 0;
  #lastEcho = 0;
  #downSince = 0;
  #demotedWhileDown = false;
  #closed = false;
  gaps = 0;
  flushes = 0;
  received = 0;
  published = 0;

  constructor(engine: CacheEngine, transport: BusTransport, channel: string, heartbeatInterval: number) {
    this.#engine = engine;
    this.#transport = transport;
    this.#channel = channel;
    this.#interval = heartbeatInterval;
    this.#since = engine.clock.now();
    transport.start(channel, this).catch((error) => {
      engine.reportError('', 'bus start', error);
    });
    this.#schedule();
  }

  get isConnected(): boolean {
    return this.#connected;
  }

  get trusted(): boolean {
    return this.#trusted;
  }

  /** Worst-case age of an L1 entry after a write elsewhere, ms (detection of a silent subscription). */
  get stalenessBound(): number {
    return 3 * this.#interval;
  }

  /** While L1 cannot be vouched for, new L1 entries stay fresh one heartbeat at most. */
  untrustedCap(): number | undefined {
    return this.#trusted ? undefined : this.#interval;
  }

  // Publishing

  invalidate(prefix: string, keys: readonly string[]): void {
    if (this.#transport.kind === 'keys' || this.#closed || keys.length === 0) return;
    let set = this.#pending.get(prefix);
    if (!set) {
      set = new Set();
      this.#pending.set(prefix, set);
    }
    for (const k of keys) set.add(k);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.#flushPending());
    }
  }

  clear(prefix: string): void {
    if (this.#transport.kind === 'keys') return;
    this.#flushPending();
    this.#send({ t: 'c', p: this.#id, since: this.#since, n: prefix, s: this.#next(prefix) });
  }

  tags(prefix: string, records: [string, number, number][]): void {
    if (this.#transport.kind === 'keys') return;
    this.#flushPending();
    this.#send({ t: 'g', p: this.#id, since: this.#since, n: prefix, s: this.#next(prefix), r: records });
  }

  #next(prefix: string): number {
    const s = (this.#seqs.get(prefix) ?? 0) + 1;
    this.#seqs.set(prefix, s);
    return s;
  }

  #flushPending(): void {
    this.#flushQueued = false;
    for (const [prefix, keys] of this.#pending) {
      this.#send({ t: 'd', p: this.#id, since: this.#since, n: prefix, s: this.#next(prefix), k: [...keys] });
    }
    this.#pending.clear();
  }

  /** A failed publish is not retried: its sequence number is spent, so subscribers see the gap. */
  #send(m: BusMessage): void {
    if (this.#closed) return;
    this.published++;
    this.#transport.publish(this.#channel, JSON.stringify(m)).catch((error) => {
      this.#engine.reportError(m.t === 'h' ? '' : (m.n ?? ''), 'bus publish', error);
    });
  }

  // Receiving (BusListener)

  message(text: string): void {
    const m = parseMessage(text);
    if (!m || this.#closed) return;
    this.received++;
    const engine = this.#engine;
    if (m.p === this.#id) {
      this.#lastEcho = engine.clock.monotonic();
      if (this.#connected && !this.#trusted) this.#regainTrust('reconnect');
      return;
    }
    let peer = this.#peers.get(m.p);
    const isNew = peer === undefined;
    if (!peer) {
      peer = { since: m.since, seqs: new Map(), seenAt: 0 };
      this.#peers.set(m.p, peer);
    }
    peer.seenAt = engine.clock.monotonic();
    if (m.t === 'h') {
      for (const [prefix, seq] of Object.entries(m.q ?? {})) this.#check(m.p, peer, isNew, prefix, seq, true);
      return;
    }
    const prefix = m.n ?? '';
    this.#check(m.p, peer, isNew, prefix, m.s ?? 0, false);
    if (m.t === 'd') engine.dropKeys(m.k ?? []);
    else if (m.t === 'c') engine.dropPrefix(prefix);
    else if (m.t === 'g') for (const [id, d, x] of m.r ?? []) engine.tags.merge(id, d, x);
  }

  keys(keys: readonly string[] | null): void {
    if (this.#closed) return;
    this.received++;
    if (keys === null) this.#demote('', 'tracking');
    else this.#engine.dropKeys(keys);
  }

  connected(): void {
    if (this.#closed) return;
    const first = !this.#everConnected;
    this.#connected = true;
    this.#everConnected = true;
    this.#lastEcho = this.#engine.clock.monotonic();
    // Anything published before (or while) we were not subscribed is unknown to us.
    this.#regainTrust(first ? 'start' : 'reconnect');
    this.#engine.events.emit('cache:bus', { cache: this.#engine.name, state: 'connected' });
  }

  disconnected(cause?: unknown): void {
    if (this.#closed || !this.#connected) return;
    this.#connected = false;
    this.#trusted = false;
    this.#downSince = this.#engine.clock.monotonic();
    this.#demotedWhileDown = false;
    this.#engine.events.emit('cache:bus', { cache: this.#engine.name, state: 'disconnected', cause });
  }

  #regainTrust(reason: 'start' | 'reconnect'): void {
    this.#trusted = true;
    this.#readyAt = this.#engine.clock.now(); // listening without a break from here on
    this.#peers.clear(); // sequence baselines restart: what was missed is covered by the demotion
    this.#demote('', reason);
  }

  /**
   * Is `seq` the next number from this publisher for `prefix`? A heartbeat carries the last number
   * sent. A publisher that started after we subscribed (or up to `SKEW` before: clocks differ, and
   * a false alarm only costs a demotion) is checked from 1; one that was already running is taken
   * as it is (we were not listening for its earlier messages, and the demotion on connect covered them).
   */
  #check(
    publisher: string,
    peer: Peer,
    isNew: boolean,
    prefix: string,
    seq: number,
    heartbeat: boolean,
  ): void {
    const last = peer.seqs.get(prefix);
    let expected: number | undefined;
    if (last !== undefined) expected = heartbeat ? last : last + 1;
    else if (!isNew || peer.since >= this.#readyAt - SKEW) expected = heartbeat ? 0 : 1;
    peer.seqs.set(prefix, Math.max(last ?? 0, seq));
    if (expected === undefined || seq <= expected) return;
    this.gaps++;
    this.#engine.events.emit('cache:gap', {
      cache: this.#engine.name,
      namespace: prefix,
      publisher,
      expected,
      received: seq,
    });
    this.#demote(prefix, 'gap');
  }

  #demote(prefix: string, reason: 'gap' | 'reconnect' | 'silent' | 'start' | 'tracking'): void {
    const entries = this.#engine.demotePrefix(prefix);
    this.flushes++;
    this.#engine.events.emit('cache:flush', { cache: this.#engine.name, namespace: prefix, reason, entries });
  }

  // Heartbeat and liveness

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#engine.clock.setTimeout(() => this.#tick(), this.#interval, { unref: true });
  }

  #tick(): void {
    try {
      const now = this.#engine.clock.monotonic();
      if (this.#transport.kind === 'messages') {
        this.#flushPending();
        this.#send({ t: 'h', p: this.#id, since: this.#since, q: Object.fromEntries(this.#seqs) });
        if (this.#connected && this.#trusted && now - this.#lastEcho > 3 * this.#interval) {
          // Subscribed, yet our own heartbeats do not come back: the subscription is dead.
          this.#trusted = false;
          this.#demote('', 'silent');
          this.#engine.events.emit('cache:bus', { cache: this.#engine.name, state: 'silent' });
        }
      }
      if (
        !this.#connected &&
        this.#everConnected &&
        !this.#demotedWhileDown &&
        now - this.#downSince > 2 * this.#interval
      ) {
        this.#demotedWhileDown = true;
        this.#demote('', 'silent');
      }
      for (const [id, p] of this.#peers) if (now - p.seenAt > 30 * this.#interval) this.#peers.delete(id);
    } catch (error) {
      this.#engine.reportError('', 'bus heartbeat', error);
    }
    this.#schedule();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flushPending();
    this.#closed = true;
    this.#engine.clock.clearTimeout(this.#timer);
    await this.#transport.close();
  }
}
