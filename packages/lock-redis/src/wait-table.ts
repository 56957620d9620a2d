import { type Clock, SwitchyardError, type TimerHandle } from '@switchyard/core';
import type { LockAttempt, LockRequest, LockWaiter, ManagedLease } from '@switchyard/core/driver';
import type { SubscriberHub } from './subscriber-hub.js';

/** A hand-off received from a release script (`g|` notice). */
interface Grant {
  token: bigint;
  /** Server time (ms) of the grant. */
  serverMs: number;
  /** ms the grant is valid from `serverMs`. */
  pttl: number;
}

interface Entry {
  readonly key: string;
  readonly hid: string;
  /** A notice arrived that the waiter has not acted on yet. */
  notified: boolean;
  grant: Grant | undefined;
  wake: (() => void) | undefined;
  /** The layer opened a waiter on it (before that it was registered ahead of the attempt). */
  opened: boolean;
  /** The notice epoch when it was registered (see `sinceAttempt`). */
  epoch: number;
}

/** `one`: a release wakes one local waiter (the kinds whose waiters race); `all`: every one. */
export type WakeMode = 'one' | 'all';

export interface WaitTableOptions {
  /** The hubs of the client(s) notices come from (several for Redlock). */
  hubs: readonly SubscriberHub[];
  channel: string;
  lostChannel: string;
  mode: WakeMode;
  clock: Clock;
  pkg: string;
  /** ms without waiters before the release channel is left (default 2 000). */
  linger?: number;
}

/**
 * The local waiters of one lock object and what they hear: release (`r|key`) and hand-off
 * (`g|token|ms|pttl|len|hid key`) notices on the prefix channel, joined only while there are
 * waiters (idle clients get no traffic), and forced-release notices (`l|len|hid key`) for the
 * leases it follows. A waiting request is registered *before* its attempt is sent when notices are
 * already flowing, so a hand-off that races the attempt's reply is never missed and the layer need
 * not re-check. Grant validity counts from the server time of the grant (estimated through the
 * offset seen in earlier replies): a waiter frozen after a hand-off sees its grant as expired.
 */
export class WaitTable {
  readonly #o: WaitTableOptions;
  readonly #byKey = new Map<string, Entry[]>();
  readonly #byId = new Map<string, Entry>();
  readonly #tracked = new Map<string, ManagedLease>();
  readonly #leaveEvents: (() => void)[] = [];
  readonly #leaveLost: (() => void)[] = [];
  #lingerTimer: TimerHandle | undefined;
  #epoch = 0;
  /** Server ms − local wall ms, from the last reply that carried server time. */
  #offset = 0;
  #rtt = 0;
  #closed = false;

  constructor(options: WaitTableOptions) {
    this.#o = options;
  }

  /** Notices reach this table right now (on at least one hub). */
  get listening(): boolean {
    return this.#leaveEvents.length > 0 && this.#o.hubs.some((h) => h.isReady(this.#o.channel));
  }

  /** A reply computed at server time `serverMs` came back `rtt` ms after it was sent. */
  observe(serverMs: number, rtt: number): void {
    if (serverMs <= 0) return;
    this.#offset = serverMs - this.#o.clock.now();
    this.#rtt = rtt;
  }

  /** Registers a request about to send a waiting attempt, when notices are already flowing. */
  preRegister(key: string, hid: string): void {
    if (this.#byId.has(hid) || !this.listening) return;
    this.#add(key, hid);
  }

  /** Drops a registration the layer never turned into a waiter (the attempt won, failed, or was abandoned). */
  drop(hid: string): void {
    const e = this.#byId.get(hid);
    if (e && !e.opened) this.#remove(e);
  }

  async open(req: LockRequest, bound: number): Promise<LockWaiter> {
    const found = this.#byId.get(req.id);
    const early = found !== undefined && found.epoch === this.#epoch;
    const e = found ?? this.#add(req.key, req.id);
    e.opened = true;
    const ready = await Promise.all(
      this.#o.hubs.map((h) => h.whenReady(this.#o.channel, bound, this.#o.clock)),
    );
    const sinceAttempt = early && e.epoch === this.#epoch && ready.some(Boolean);
    const table = this;
    return {
      get listening() {
        return table.listening;
      },
      sinceAttempt,
      wait: (ms, signal) => this.#wait(e, ms, signal),
      close: () => this.#remove(e),
    };
  }

  /** Follows a granted lease: a forced-release notice for its request marks it lost. */
  track(hid: string, lease: ManagedLease): () => void {
    if (this.#leaveLost.length === 0 && !this.#closed) {
      const listener = { message: (m: string) => this.#lost(m) };
      for (const hub of this.#o.hubs) this.#leaveLost.push(hub.join(this.#o.lostChannel, listener));
    }
    this.#tracked.set(hid, lease);
    return () => {
      if (this.#tracked.get(hid) === lease) this.#tracked.delete(hid);
    };
  }

  close(): void {
    this.#closed = true;
    this.#o.clock.clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    for (const leave of this.#leaveEvents.splice(0)) leave();
    for (const leave of this.#leaveLost.splice(0)) leave();
    for (const e of [...this.#byId.values()]) e.wake?.();
    this.#byKey.clear();
    this.#byId.clear();
    this.#tracked.clear();
  }

  #add(key: string, hid: string): Entry {
    const e: Entry = {
      key,
      hid,
      notified: false,
      grant: undefined,
      wake: undefined,
      opened: false,
      epoch: this.#epoch,
    };
    this.#byId.set(hid, e);
    const list = this.#byKey.get(key);
    if (list) list.push(e);
    else this.#byKey.set(key, [e]);
    this.#o.clock.clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    if (this.#leaveEvents.length === 0 && !this.#closed) {
      const listener = {
        message: (m: string) => this.#dispatch(m),
        // Notices sent while nobody listened are lost: every waiter re-checks once.
        ready: () => {
          for (const k of this.#byKey.keys()) this.#wake(k, 'all');
        },
        down: () => {
          this.#epoch++;
        },
      };
      for (const hub of this.#o.hubs) this.#leaveEvents.push(hub.join(this.#o.channel, listener));
    }
    return e;
  }

  #remove(e: Entry): void {
    if (this.#byId.get(e.hid) !== e) return;
    this.#byId.delete(e.hid);
    const list = this.#byKey.get(e.key);
    if (list) {
      list.splice(list.indexOf(e), 1);
      if (list.length === 0) this.#byKey.delete(e.key);
      // A wake-up this waiter did not use goes to the next one.
      else if (e.notified && !e.grant && this.#o.mode === 'one') this.#wake(e.key, 'one');
    }
    if (this.#byId.size === 0 && this.#leaveEvents.length > 0 && !this.#closed) {
      this.#lingerTimer ??= this.#o.clock.setTimeout(
        () => {
          this.#lingerTimer = undefined;
          if (this.#byId.size > 0) return;
          for (const leave of this.#leaveEvents.splice(0)) leave();
        },
        this.#o.linger ?? 2000,
        { unref: true },
      );
    }
  }

  #wait(e: Entry, ms: number, signal: AbortSignal): Promise<LockAttempt | undefined> {
    const take = (): LockAttempt | undefined => {
      e.notified = false;
      const g = e.grant;
      e.grant = undefined;
      return g && this.#attemptOf(g);
    };
    if (e.grant || e.notified || signal.aborted || this.#closed) return Promise.resolve(take());
    const { clock } = this.#o;
    return new Promise((resolve) => {
      const finish = () => {
        clock.clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        e.wake = undefined;
        resolve(take());
      };
      const timer = clock.setTimeout(finish, ms);
      signal.addEventListener('abort', finish, { once: true });
      e.wake = finish;
    });
  }

  #attemptOf(g: Grant): LockAttempt {
    const { clock } = this.#o;
    // How long ago the server granted it, from the server's clock: a process frozen after the
    // hand-off sees all of the freeze here, so the layer gives a stale grant back.
    const elapsed = Math.max(0, clock.now() + this.#offset - g.serverMs) + this.#rtt;
    return { acquired: true, token: g.token, validFor: g.pttl, grantedAt: clock.monotonic() - elapsed };
  }

  #wake(key: string, mode: WakeMode): void {
    const list = this.#byKey.get(key);
    if (!list) return;
    if (mode === 'all') {
      for (const e of list) this.#notify(e);
      return;
    }
    // One waiter at a time tries: while one is busy (trying, or not yet back to waiting) the
    // notice is left with it; else the first sleeping one wakes. Several waking at once would only
    // race each other (for Redlock into split votes; each node's release notice is one more wake).
    const target = list.find((e) => e.wake === undefined) ?? list.find((e) => !e.notified);
    if (target) this.#notify(target);
  }

  #notify(e: Entry): void {
    e.notified = true;
    e.wake?.();
  }

  #dispatch(message: string): void {
    if (message.startsWith('r|')) {
      this.#wake(message.slice(2), this.#o.mode);
      return;
    }
    if (!message.startsWith('g|')) return;
    const [, token, ms, pttl, len] = message.split('|', 5) as [string, string, string, string, string];
    const start = 2 + token.length + 1 + ms.length + 1 + pttl.length + 1 + len.length + 1;
    const hid = message.slice(start, start + Number(len));
    const e = this.#byId.get(hid);
    if (!e || e.key !== message.slice(start + Number(len))) return;
    e.grant = { token: BigInt(token), serverMs: Number(ms), pttl: Number(pttl) };
    this.#notify(e);
  }

  #lost(message: string): void {
    if (!message.startsWith('l|')) return;
    const len = message.slice(2, message.indexOf('|', 2));
    const start = 2 + len.length + 1;
    const hid = message.slice(start, start + Number(len));
    const lease = this.#tracked.get(hid);
    if (!lease || lease.key !== message.slice(start + Number(len))) return;
    lease.markLost(
      new SwitchyardError(
        'LOCK_LOST',
        `[${this.#o.pkg}] lock "${lease.key}" was force-released by an operator`,
      ),
    );
  }
}
