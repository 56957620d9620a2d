import {
  abortedError,
  backendUnavailable,
  type Clock,
  jitter,
  raceSignal,
  SwitchyardError,
} from '@switchyard/core';
import type { Etcd3, IKeyValue } from 'etcd3';
import { PKG } from './constants.js';
import { callOptions } from './rpc.js';

export interface QueueContext {
  client: Etcd3;
  requestTimeout: number;
  /** Fallback re-check period while waiting (jittered ±20 %), in case a watch event is lost. */
  pollInterval: number;
  clock: Clock;
}

export interface Enqueued {
  /** Create revision of our key: the fencing token and our place in the queue. */
  rev: bigint;
  /** True when we are among the `permits` oldest keys, i.e. we hold the lock already. */
  holding: boolean;
}

/**
 * Writes our contender key (idempotent: a retried request finds the key it already wrote) and, in
 * the same transaction, reads the `permits` oldest keys of the queue. One round trip.
 */
export async function enqueue(
  ctx: QueueContext,
  dir: string,
  myKey: string,
  value: string,
  leaseId: string,
  permits: number,
  signal: AbortSignal | undefined,
): Promise<Enqueued> {
  const { client } = ctx;
  const oldest = () => client.getAll().prefix(dir).sort('Create', 'Ascend').limit(permits);
  const res = await rpc(
    signal,
    'enqueue',
    client
      .if(myKey, 'Create', '==', 0)
      .then(client.put(myKey).value(value).lease(leaseId), oldest())
      .else(client.get(myKey), oldest())
      .options(callOptions(ctx.requestTimeout))
      .commit(),
  );
  let rev: bigint;
  if (res.succeeded) rev = BigInt(res.header.revision);
  else {
    const mine = res.responses[0]?.response_range?.kvs[0];
    if (!mine)
      throw new SwitchyardError('INTERNAL', `[${PKG}] contender key ${myKey} vanished during enqueue`);
    rev = BigInt(mine.create_revision);
  }
  const kvs = res.responses[1]?.response_range?.kvs ?? [];
  return { rev, holding: kvs.some((kv) => BigInt(kv.create_revision) === rev) };
}

/**
 * Waits until fewer than `permits` keys older than ours remain. For a mutex (one permit) the waiter
 * watches only the deletion of its immediate predecessor, so a release wakes exactly one waiter
 * (no thundering herd) and the order is FIFO by create revision. A semaphore waiter watches the
 * queue directory, because any older holder leaving may admit it. A jittered poll backs the watch.
 * Rejects with `LOCK_LOST` if our own key disappears (session expired, forced delete).
 */
export async function waitTurn(
  ctx: QueueContext,
  dir: string,
  myKey: string,
  myRev: bigint,
  permits: number,
  signal: AbortSignal,
): Promise<void> {
  const { client } = ctx;
  for (;;) {
    if (signal.aborted) throw abortedError(PKG, signal, 'acquire');
    const res = await rpc(
      signal,
      'queue read',
      client
        .if(myKey, 'Create', '==', myRev.toString())
        .then(
          client
            .getAll()
            .prefix(dir)
            .maxCreateRevision((myRev - 1n).toString())
            .sort('Create', 'Descend')
            // One more than needed: a mutex waiter with exactly one older key is next in line.
            .limit(permits + 1),
        )
        .options(callOptions(ctx.requestTimeout))
        .commit(),
    );
    if (!res.succeeded) {
      throw new SwitchyardError('LOCK_LOST', `[${PKG}] queue key ${myKey} disappeared while waiting`);
    }
    const older: IKeyValue[] = res.responses[0]?.response_range?.kvs ?? [];
    if (older.length < permits) return;
    const from = (BigInt(res.header.revision) + 1n).toString();
    const deleted = await waitForDelete(ctx, permits === 1 ? older[0]!.key : undefined, dir, from, signal);
    // Next in line: the only older key is gone, and no key can ever be created before ours again
    // (revisions only grow), so we hold the lock without another read. This saves a round trip
    // on every FIFO hand-off. Otherwise (a waiter ahead gave up, a poll, a watch error) re-read.
    if (deleted && permits === 1 && older.length === 1) return;
  }
}

function waitForDelete(
  ctx: QueueContext,
  key: Buffer | undefined,
  dir: string,
  fromRevision: string,
  signal: AbortSignal,
): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const builder = ctx.client.watch().startRevision(fromRevision).only('delete');
    const watcher = (key ? builder.key(key) : builder.prefix(dir)).watcher();
    // A watcher emits `error` on compaction or stream failure; without a listener that would throw.
    watcher.on('error', () => done(false));
    watcher.on('delete', () => done(true));
    const timer = ctx.clock.setTimeout(() => done(false), jitter(ctx.pollInterval, 0.2), { unref: true });
    const onAbort = () => done(false, abortedError(PKG, signal, 'acquire'));
    signal.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    function done(deleted: boolean, error?: SwitchyardError): void {
      if (settled) return;
      settled = true;
      ctx.clock.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      watcher.cancel().catch(() => {});
      if (error) reject(error);
      else resolve(deleted);
    }
  });
}

/** True while `myKey` still exists with create revision `rev` (a read-only transaction). */
export async function isMine(
  ctx: QueueContext,
  myKey: string,
  rev: bigint,
  signal?: AbortSignal,
): Promise<boolean> {
  const { client } = ctx;
  const res = await rpc(
    signal,
    'ownership check',
    client.if(myKey, 'Create', '==', rev.toString()).options(callOptions(ctx.requestTimeout)).commit(),
  );
  return res.succeeded;
}

/** Deletes `myKey` only if it still has create revision `rev`; resolves whether it did. */
export async function deleteIfMine(
  ctx: QueueContext,
  myKey: string,
  rev: bigint,
  signal?: AbortSignal,
): Promise<boolean> {
  const { client } = ctx;
  const res = await rpc(
    signal,
    'release',
    client
      .if(myKey, 'Create', '==', rev.toString())
      .then(client.delete().key(myKey))
      .options(callOptions(ctx.requestTimeout))
      .commit(),
  );
  return res.succeeded;
}

/** Runs one etcd call under `signal`; client failures become `BACKEND_UNAVAILABLE`. */
export async function rpc<T>(signal: AbortSignal | undefined, what: string, call: Promise<T>): Promise<T> {
  try {
    return await raceSignal(call, signal, PKG, what);
  } catch (error) {
    if (signal?.aborted) throw abortedError(PKG, signal, what);
    throw backendUnavailable(PKG, what, error);
  }
}
