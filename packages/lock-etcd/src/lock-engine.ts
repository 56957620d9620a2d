import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import {
  type AcquireOptions,
  abortedError,
  anySignal,
  assertInteger,
  assertKey,
  assertNonEmptyString,
  assertSignal,
  assertWait,
  backendUnavailable,
  deadlineSignal,
  fullJitterBackoff,
  type LockLease,
  LockStatsRecorder,
  type ManagedLease,
  raceSignal,
  SwitchyardError,
  sleep,
} from '@switchyard/core';
import { PKG } from './constants.js';
import { createHolderLease, type HolderParams } from './holder-lease.js';
import { contenderKey, lockDir } from './key-space.js';
import { assertTtl, type ResolvedOptions } from './options.js';
import { OrphanSweeper } from './orphan-sweeper.js';
import { deleteIfMine, enqueue, type QueueContext, rpc, waitTurn } from './queue.js';
import { ReentrantLease } from './reentrant-lease.js';
import { callOptions } from './rpc.js';
import { EtcdSession } from './session.js';

export interface EngineAcquireOptions extends AcquireOptions {
  /** Holders admitted at once: 1 for a mutex, N for a semaphore. */
  permits: number;
  /** Stored as the key's value (default: the owner id). Leader election stores the candidate value. */
  value?: string;
}

interface ReentryEntry {
  lease: ManagedLease;
  count: number;
}

/**
 * The machinery shared by the mutex, the semaphore and leader election: sessions, the revision
 * queue, holder leases, reentrancy, statistics and shutdown.
 */
export class LockEngine {
  readonly options: ResolvedOptions;
  readonly stats = new LockStatsRecorder();
  readonly ownerScope = new AsyncLocalStorage<string>();
  readonly ctx: QueueContext;
  readonly #sessions = new Map<number, Promise<EtcdSession>>();
  readonly #leases = new Set<ManagedLease>();
  readonly #reentry = new Map<string, ReentryEntry>();
  readonly #pending = new Set<AbortController>();
  readonly #queueKeys = new WeakMap<LockLease, string>();
  readonly #orphans: OrphanSweeper;
  #seq = 0;
  #closed = false;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.ctx = {
      client: options.client,
      requestTimeout: options.requestTimeout,
      pollInterval: options.pollInterval,
      clock: options.clock,
    };
    this.#orphans = new OrphanSweeper(options.clock, (key, rev) =>
      rev === undefined ? this.#deleteKeyOnce(key) : this.deleteIfMine(key, rev),
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  assertOpen(): void {
    if (this.#closed) throw new SwitchyardError('CLOSED', `[${PKG}] lock client is closed`);
  }

  async acquire(key: string, options: EngineAcquireOptions): Promise<LockLease> {
    this.assertOpen();
    assertKey(PKG, 'key', key);
    const ttl = assertTtl(options.ttl ?? this.options.ttl);
    const wait = assertWait(PKG, 'wait', options.wait ?? Number.POSITIVE_INFINITY);
    const permits = assertInteger(PKG, 'permits', options.permits, 1, 1_000_000);
    const userSignal = assertSignal(PKG, 'signal', options.signal);
    const explicitOwner =
      options.owner === undefined ? undefined : assertNonEmptyString(PKG, 'owner', options.owner, 256);
    const owner = explicitOwner ?? this.ownerScope.getStore() ?? randomUUID();
    const autoRenew = options.autoRenew ?? true;
    if (userSignal?.aborted) throw abortedError(PKG, userSignal, 'acquire');

    const reentryKey = `${key}\u0000${owner}`;
    if (this.options.reentrant) {
      const entry = this.#reentry.get(reentryKey);
      if (entry?.lease.held) {
        entry.count++;
        return new ReentrantLease(entry.lease, () => this.#leave(reentryKey, entry));
      }
    }

    const { clock } = this.options;
    const started = clock.monotonic();
    const closing = new AbortController();
    this.#pending.add(closing);
    const base = anySignal(userSignal, closing.signal) ?? closing.signal;
    const deadline = deadlineSignal(wait === 0 ? Number.POSITIVE_INFINITY : wait, {
      parent: base,
      clock,
      what: 'acquire',
    });
    const dir = lockDir(this.options.prefix, key);
    let session: EtcdSession | undefined;
    let myKey: string | undefined;
    let rev: bigint | undefined;
    let lastError: unknown;
    this.stats.waiting++;
    let contended = false;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          if (!session?.held) {
            if (myKey !== undefined) await this.deleteKey(myKey);
            session = await this.session(Math.ceil(ttl / 1000), base);
            myKey = contenderKey(dir, session.leaseHex, ++this.#seq);
          }
          // Idempotent: after a transient failure the same key is found again, keeping our place.
          const queued = await enqueue(
            this.ctx,
            dir,
            myKey!,
            options.value ?? owner,
            session.leaseId,
            permits,
            AbortSignal.any([base, session.lease.signal]),
          );
          rev = queued.rev;
          if (!queued.holding) {
            if (wait === 0 || deadline.signal.aborted) throw lockTimeout(key, wait);
            if (!contended) this.stats.contended++;
            contended = true;
            await waitTurn(
              this.ctx,
              dir,
              myKey!,
              rev,
              permits,
              AbortSignal.any([deadline.signal, session.lease.signal]),
            );
          }
          break;
        } catch (error) {
          // A backend outage inside a wait budget is retried (with jittered backoff) rather than
          // failing the whole wait; the error surfaces once the budget or the signal says stop.
          if (!this.#retryable(error, wait, base, deadline.signal)) throw error;
          lastError = error;
          await sleep(retryBackoff(attempt), { signal: deadline.signal, clock, pkg: PKG }).catch(() => {
            throw error;
          });
        }
      }
    } catch (error) {
      if (myKey !== undefined) await this.deleteKey(myKey);
      throw this.#acquireError(
        error,
        key,
        wait,
        userSignal,
        closing.signal,
        deadline.signal,
        session,
        lastError,
      );
    } finally {
      deadline.dispose();
      this.#pending.delete(closing);
      this.stats.waiting--;
    }
    this.stats.acquired++;
    this.stats.recordWait(clock.monotonic() - started);
    const lease = this.#holderLease({
      key,
      myKey: myKey!,
      rev: rev!,
      owner,
      ttl,
      autoRenew,
      session: session!,
      started,
    });
    if (this.options.reentrant) {
      const entry: ReentryEntry = { lease, count: 1 };
      this.#reentry.set(reentryKey, entry);
      lease.on('lease:lost', () => {
        if (this.#reentry.get(reentryKey) === entry) this.#reentry.delete(reentryKey);
      });
      return new ReentrantLease(lease, () => this.#leave(reentryKey, entry));
    }
    return lease;
  }

  /** The session for a TTL (in seconds), opened once and shared; a lost session is replaced. */
  async session(ttlSeconds: number, signal: AbortSignal | undefined): Promise<EtcdSession> {
    const existing = this.#sessions.get(ttlSeconds);
    if (existing) {
      const s = await raceSignal(existing, signal, PKG, 'session').catch((error: unknown) => {
        if (signal?.aborted) throw error;
        return undefined;
      });
      if (s?.held) return s;
      if (this.#sessions.get(ttlSeconds) === existing) this.#sessions.delete(ttlSeconds);
    }
    this.assertOpen();
    const opening = EtcdSession.open({
      client: this.options.client,
      ttlSeconds,
      requestTimeout: this.options.requestTimeout,
      clock: this.options.clock,
    });
    this.#sessions.set(ttlSeconds, opening);
    opening.then(
      (s) => {
        s.lease.on('lease:lost', () => {
          if (this.#sessions.get(ttlSeconds) === opening) this.#sessions.delete(ttlSeconds);
        });
        if (this.#closed) s.close().catch(() => {});
      },
      () => {
        if (this.#sessions.get(ttlSeconds) === opening) this.#sessions.delete(ttlSeconds);
      },
    );
    return await rpc(signal, 'session grant', opening);
  }

  #holderLease(p: HolderParams): ManagedLease {
    const lease = createHolderLease(
      {
        options: this.options,
        ctx: this.ctx,
        stats: this.stats,
        session: (ttlSeconds, signal) => this.session(ttlSeconds, signal),
        orphan: (myKey, rev) => this.#orphans.add(myKey, rev),
        untrack: (l) => {
          this.#leases.delete(l);
          this.stats.held--;
        },
      },
      p,
    );
    this.#leases.add(lease);
    this.#queueKeys.set(lease, p.myKey);
    this.stats.held++;
    return lease;
  }

  /** The etcd key a lease of this engine holds (for election proclaim). */
  queueKeyOf(lease: LockLease): string | undefined {
    return this.#queueKeys.get(lease);
  }

  async #leave(reentryKey: string, entry: ReentryEntry): Promise<boolean> {
    entry.count--;
    if (entry.count > 0) return entry.lease.held;
    if (this.#reentry.get(reentryKey) === entry) this.#reentry.delete(reentryKey);
    return entry.lease.release();
  }

  #retryable(error: unknown, wait: number, base: AbortSignal, deadline: AbortSignal): boolean {
    if (wait === 0 || base.aborted || deadline.aborted || this.#closed) return false;
    return SwitchyardError.is(error, 'BACKEND_UNAVAILABLE', 'LOCK_LOST');
  }

  #acquireError(
    error: unknown,
    key: string,
    wait: number,
    user: AbortSignal | undefined,
    closing: AbortSignal,
    deadline: AbortSignal,
    session: EtcdSession | undefined,
    lastError: unknown,
  ): SwitchyardError {
    if (SwitchyardError.is(error, 'LOCK_TIMEOUT')) {
      this.stats.timedOut++;
      return error;
    }
    if (user?.aborted) {
      this.stats.aborted++;
      return abortedError(PKG, user, 'acquire');
    }
    if (closing.aborted) {
      return new SwitchyardError('CLOSED', `[${PKG}] lock client closed while acquiring "${key}"`);
    }
    if (deadline.aborted) {
      this.stats.timedOut++;
      return lockTimeout(key, wait, lastError);
    }
    if (session?.lease.signal.aborted || SwitchyardError.is(error, 'LOCK_LOST')) {
      return new SwitchyardError(
        'BACKEND_UNAVAILABLE',
        `[${PKG}] etcd session lost while acquiring "${key}"`,
        { cause: error },
      );
    }
    return backendUnavailable(PKG, `acquire "${key}"`, error);
  }

  /** Deletes our key if it is still ours; resolves whether it was. */
  deleteIfMine(myKey: string, rev: bigint, signal?: AbortSignal): Promise<boolean> {
    return deleteIfMine(this.ctx, myKey, rev, signal);
  }

  /** Cleanup of a queue key after a failed, timed-out or aborted acquire; retried in the background. */
  async deleteKey(myKey: string): Promise<void> {
    await this.#deleteKeyOnce(myKey).catch(() => this.#orphans.add(myKey));
  }

  async #deleteKeyOnce(myKey: string): Promise<void> {
    await this.options.client.delete().key(myKey).options(callOptions(this.options.requestTimeout)).exec();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [...this.#pending]) c.abort();
    await Promise.all([...this.#leases].map((l) => l.release().catch(() => false)));
    await this.#orphans.close(true);
    const sessions = await Promise.all([...this.#sessions.values()].map((p) => p.catch(() => undefined)));
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => s?.close()));
    if (this.options.ownsClient) this.options.client.close();
  }
}

const retryBackoff = fullJitterBackoff({ base: 50, max: 1000 });

function lockTimeout(key: string, wait: number, cause?: unknown): SwitchyardError {
  const during = cause === undefined ? '' : ' (etcd was unavailable meanwhile; see cause)';
  return new SwitchyardError(
    'LOCK_TIMEOUT',
    `[${PKG}] could not acquire "${key}" within ${wait} ms${during}`,
    {
      details: { key, wait },
      cause,
    },
  );
}
