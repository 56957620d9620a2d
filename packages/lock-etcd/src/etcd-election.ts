import { randomUUID } from 'node:crypto';
import {
  type AcquireOptions,
  AsyncChannel,
  assertKey,
  assertString,
  type KitLock,
  SwitchyardError,
} from '@switchyard/core';
import { callBackend, KEY_PREFIX, type ManagedLease, opt, parseOptions } from '@switchyard/core/driver';
import type { Etcd3, IKeyValue } from 'etcd3';
import { PKG } from './constants.js';
import { callOptions } from './etcd-connection.js';
import { buildEtcdLock, commonSchema, type EtcdLockCommonOptions } from './etcd-lock.js';
import { lockDir } from './key-space.js';
import { Leadership } from './leadership.js';

export interface Leader {
  /** The value the leader campaigned (or last proclaimed) with. */
  readonly value: string;
  /** Create revision of the leader's key: a fencing token for the term. */
  readonly token: bigint;
  readonly key: string;
}

export type EtcdElectionOptions = Omit<EtcdLockCommonOptions, 'reentrant'>;

export interface EtcdElection extends AsyncDisposable {
  readonly client: Etcd3;
  /** The lock the candidates queue on (inspect, list, forceRelease, stats: the same shape as every kind). */
  readonly lock: KitLock;
  /** Resolves when this candidate is leader; the lease's `signal` fires if leadership is lost. */
  campaign(election: string, value: string, options?: Omit<AcquireOptions, 'autoRenew'>): Promise<Leadership>;
  /** The current leader, or `undefined` when there is none. */
  leader(election: string, options?: { signal?: AbortSignal }): Promise<Leader | undefined>;
  /**
   * The current leader, then every change (a new leader, a proclaimed value, no leader), as an
   * async iterable. Ends when `signal` fires or the loop breaks. Intermediate states may be skipped.
   */
  observe(election: string, options?: { signal?: AbortSignal }): AsyncIterable<Leader | undefined>;
  close(): Promise<void>;
}

/**
 * Leader election on the mutex queue: campaigning candidates queue by create revision and the
 * oldest is leader (fair, no thundering herd). Default prefix `/switchyard/elections`.
 */
export function createEtcdElection(options: EtcdElectionOptions): EtcdElection {
  const o = parseOptions(PKG, options, {
    ...commonSchema(KEY_PREFIX.etcd.locks.replace(/locks$/, 'elections')),
    reentrant: opt.custom(() => {
      throw new SwitchyardError('INVALID_ARGUMENT', `[${PKG}] reentrant is not an option of an election`, {
        field: 'reentrant',
      });
    }),
  });
  const values = new Map<string, string>();
  const { lock, driver, client } = buildEtcdLock(
    { ...o, reentrant: false },
    {
      name: 'etcd-election',
      permits: 1,
      fair: true,
      storedValue: (req) => values.get(req.owner) ?? req.owner,
    },
  );
  const { clock, requestTimeout, prefix, pollInterval } = o;
  const observers = new Set<() => void>();
  const call = <T>(what: string, signal: AbortSignal | undefined, fn: (s: AbortSignal) => Promise<T>) =>
    callBackend(what, { pkg: PKG, clock, timeout: requestTimeout, signal }, fn);

  async function leader(election: string): Promise<Leader | undefined> {
    const res = await client
      .getAll()
      .prefix(lockDir(prefix, election))
      .sort('Create', 'Ascend')
      .limit(1)
      .options(callOptions(clock, requestTimeout))
      .exec();
    const kv = res.kvs[0];
    return kv ? toLeader(kv) : undefined;
  }

  return {
    client,
    lock,
    async campaign(election, value, opts = {}) {
      assertKey(PKG, 'election', election);
      assertString(PKG, 'value', value);
      if ((opts as AcquireOptions).autoRenew !== undefined) {
        throw new SwitchyardError(
          'INVALID_ARGUMENT',
          `[${PKG}] autoRenew is not an option of campaign (leadership always renews)`,
          { field: 'autoRenew' },
        );
      }
      const owner = opts.owner ?? `candidate-${randomUUID()}`;
      if (values.has(owner)) {
        throw new SwitchyardError('INVALID_ARGUMENT', `[${PKG}] owner "${owner}" is already campaigning`, {
          field: 'owner',
        });
      }
      values.set(owner, value);
      let lease: ManagedLease;
      try {
        lease = (await lock.acquire(election, { ...opts, owner, autoRenew: true })) as ManagedLease;
      } finally {
        values.delete(owner);
      }
      const queueKey = driver.queueKeyOf(lease);
      return new Leadership(election, lease, async (next, signal) => {
        assertString(PKG, 'value', next);
        const lost = () => new SwitchyardError('LOCK_LOST', `[${PKG}] not leader of "${election}" any more`);
        if (!lease.held || queueKey === undefined) throw lost();
        const res = await call('proclaim', signal, () =>
          client
            .if(queueKey, 'Create', '==', lease.token.toString())
            .then(client.put(queueKey).value(next).ignoreLease())
            .options(callOptions(clock, requestTimeout))
            .commit(),
        );
        if (!res.succeeded) throw lost();
      });
    },
    leader(election, opts) {
      const { signal } = parseOptions(PKG, opts, { signal: opt.signal() });
      assertKey(PKG, 'election', election);
      return call('leader', signal, () => leader(election));
    },
    observe(election, opts) {
      const { signal } = parseOptions(PKG, opts, { signal: opt.signal() });
      assertKey(PKG, 'election', election);
      let stop: () => void = () => {};
      const channel = new AsyncChannel<Leader | undefined>({ coalesce: true, onReturn: () => stop() });
      let last: string | undefined;
      let running: Promise<void> | undefined;
      let again = false;
      const refresh = () => {
        if (running) {
          again = true;
          return;
        }
        running = (async () => {
          do {
            again = false;
            try {
              const now = await leader(election);
              const id = now ? `${now.key}@${now.token}=${now.value}` : '';
              if (id !== last) {
                last = id;
                channel.push(now);
              }
            } catch {
              // The watch or the poll below will try again.
            }
          } while (again && !channel.closed);
          running = undefined;
        })();
      };
      const watcher = client.watch().prefix(lockDir(prefix, election)).watcher();
      watcher.on('error', () => refresh());
      watcher.on('connected', () => refresh());
      watcher.on('data', () => refresh());
      // The fallback poll, on the injected clock.
      let timer = clock.setTimeout(
        function tick() {
          refresh();
          timer = clock.setTimeout(tick, pollInterval, { unref: true });
        },
        pollInterval,
        { unref: true },
      );
      const onAbort = () => {
        stop();
        channel.close();
      };
      stop = () => {
        clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        observers.delete(onAbort);
        watcher.cancel().catch(() => {});
      };
      observers.add(onAbort);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      refresh();
      return channel;
    },
    async close() {
      for (const stopObserver of [...observers]) stopObserver();
      await lock.close();
    },
    async [Symbol.asyncDispose]() {
      await this.close();
    },
  };
}

function toLeader(kv: IKeyValue): Leader {
  return { value: kv.value.toString(), token: BigInt(kv.create_revision), key: kv.key.toString() };
}
