import {
  type AcquireOptions,
  AsyncChannel,
  assertKey,
  assertString,
  SwitchyardError,
} from '@switchyard/core';
import type { Etcd3, IKeyValue } from 'etcd3';
import { PKG } from './constants.js';
import { lockDir } from './key-space.js';
import { Leadership } from './leadership.js';
import { LockEngine } from './lock-engine.js';
import { type EtcdLockOptions, resolveOptions } from './options.js';
import { rpc } from './queue.js';
import { callOptions } from './rpc.js';

export interface Leader {
  /** The value the leader campaigned (or last proclaimed) with. */
  readonly value: string;
  /** Create revision of the leader's key: a fencing token for the term. */
  readonly token: bigint;
  readonly key: string;
}

export interface EtcdElection extends AsyncDisposable {
  readonly client: Etcd3;
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
 * oldest is leader (fair, no thundering herd). Default prefix `switchyard/election`.
 */
export function createEtcdElection(options: Omit<EtcdLockOptions, 'reentrant'>): EtcdElection {
  const engine = new LockEngine(
    resolveOptions({ ...options, prefix: options?.prefix ?? 'switchyard/election', reentrant: false }),
  );
  const { client, requestTimeout, prefix } = engine.options;
  const observers = new Set<() => void>();

  async function leader(election: string, signal?: AbortSignal): Promise<Leader | undefined> {
    const res = await rpc(
      signal,
      'leader',
      client
        .getAll()
        .prefix(lockDir(prefix, election))
        .sort('Create', 'Ascend')
        .limit(1)
        .options(callOptions(requestTimeout))
        .exec(),
    );
    const kv = res.kvs[0];
    return kv ? toLeader(kv) : undefined;
  }

  return {
    client,
    async campaign(election, value, opts = {}) {
      assertKey(PKG, 'election', election);
      assertString(PKG, 'value', value);
      const lease = await engine.acquire(election, { ...opts, permits: 1, value, autoRenew: true });
      const queueKey = engine.queueKeyOf(lease);
      return new Leadership(election, lease, async (next, signal) => {
        assertString(PKG, 'value', next);
        const lost = () => new SwitchyardError('LOCK_LOST', `[${PKG}] not leader of "${election}" any more`);
        if (!lease.held || queueKey === undefined) throw lost();
        const res = await rpc(
          signal,
          'proclaim',
          client
            .if(queueKey, 'Create', '==', lease.token.toString())
            .then(client.put(queueKey).value(next).ignoreLease())
            .options(callOptions(requestTimeout))
            .commit(),
        );
        if (!res.succeeded) throw lost();
      });
    },
    leader(election, opts = {}) {
      assertKey(PKG, 'election', election);
      return leader(election, opts.signal);
    },
    observe(election, opts = {}) {
      assertKey(PKG, 'election', election);
      engine.assertOpen();
      const signal = opts.signal;
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
      const poll = setInterval(refresh, engine.options.pollInterval);
      poll.unref();
      const onAbort = () => {
        stop();
        channel.close();
      };
      stop = () => {
        clearInterval(poll);
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
      for (const o of [...observers]) o();
      await engine.close();
    },
    async [Symbol.asyncDispose]() {
      await this.close();
    },
  };
}

function toLeader(kv: IKeyValue): Leader {
  return { value: kv.value.toString(), token: BigInt(kv.create_revision), key: kv.key.toString() };
}
