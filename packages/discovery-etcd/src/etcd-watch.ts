import { AsyncChannel, backendUnavailable, type Clock } from '@switchyard/core';
import {
  type WatchBatch,
  type WatchChange,
  type WatchPosition,
  watchResetError,
} from '@switchyard/core/driver';
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import type { InstanceCodec } from './instance-codec.js';

export const PKG = 'discovery-etcd';

/**
 * One etcd watch of a service's key range from `from.revision + 1`, as a stream of batches. The
 * watch-created response reports the server's revision (a lower one than we applied means the
 * store lost data: the kit relists); a broken stream ends the iteration with an error and the kit
 * resumes from the last revision (etcd replays the log, no relist); a watch etcd cancels (the
 * start revision was compacted, no leader) throws `watchResetError` and the kit relists.
 *
 * Each watch gets a namespace of its own, hence its own gRPC stream: one stream stuck on a frozen
 * member (a new connection whose handshake never completes) cannot hold every watch of the client,
 * and a watch not confirmed within `requestTimeout` is abandoned for a fresh one.
 */
export function watchService(
  detaching: Set<Promise<void>>,
  client: Etcd3,
  codec: InstanceCodec,
  clock: Clock,
  requestTimeout: number,
  service: string,
  from: WatchPosition,
  signal: AbortSignal,
): AsyncIterable<WatchBatch> {
  const prefix = codec.servicePrefix(service);
  let watcher: Watcher | undefined;
  const channel = new AsyncChannel<WatchBatch>({ onReturn: () => stop() });
  const connectTimer = clock.setTimeout(
    () =>
      channel.fail(
        backendUnavailable(
          PKG,
          `watch of ${service}`,
          new Error(`not confirmed within ${requestTimeout} ms`),
        ),
      ),
    requestTimeout,
    { unref: true },
  );
  const stop = () => {
    clock.clearTimeout(connectTimer);
    signal.removeEventListener('abort', onAbort);
    const w = watcher;
    watcher = undefined;
    if (w) {
      const p = detach(w, clock, requestTimeout);
      detaching.add(p);
      void p.finally(() => detaching.delete(p));
    }
    channel.close();
  };
  const onAbort = () => stop();
  signal.addEventListener('abort', onAbort, { once: true });

  const w = client
    .namespace('')
    .watch()
    .prefix(prefix)
    .startRevision(String(from.revision + 1))
    .watcher();
  watcher = w;
  w.on('connected', (res: IWatchResponse) => {
    clock.clearTimeout(connectTimer);
    channel.push({ revision: from.revision, backendRevision: Number(res.header.revision) });
  });
  w.on('data', (res: IWatchResponse) => {
    const changes: WatchChange[] = [];
    let revision = from.revision;
    for (const ev of res.events) {
      const key = ev.kv.key.toString();
      const names = codec.parseKey(key);
      revision = Math.max(revision, Number(ev.kv.mod_revision));
      if (!names || names.service !== service) continue;
      const instance = ev.type === 'Put' ? codec.decode(key, ev.kv.value.toString()) : undefined;
      changes.push(instance ? { type: 'put', instance } : { type: 'delete', id: names.id });
    }
    const header = Number(res.header.revision);
    // A progress notification (no events) means every change up to its revision was delivered.
    channel.push({ changes, revision: res.events.length === 0 ? header : revision, backendRevision: header });
  });
  // The stream broke: the kit resumes from the last revision (etcd3's own resume position is not exact).
  w.on('disconnected', (error: unknown) => {
    channel.fail(backendUnavailable(PKG, `watch of ${service}`, error));
    stop();
  });
  // etcd cancelled this watch (compacted start revision, no leader, …): relist and diff.
  w.on('error', (error: unknown) => {
    channel.fail(watchResetError(PKG, `etcd cancelled the watch of ${service}`, error));
    silence(w);
    watcher = undefined;
    stop();
  });
  if (signal.aborted) stop();
  return channel;
}

/** Cancels an etcd3 watcher without hanging when etcd is unreachable. */
async function detach(w: Watcher, clock: Clock, timeoutMs: number): Promise<void> {
  // Our listeners go first; etcd3's own (added by cancel) must stay so that a stream that comes
  // back later still completes the cancellation.
  silence(w);
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  await Promise.race([
    w.cancel().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, timeoutMs, { unref: true });
    }),
  ]);
  clock.clearTimeout(timer);
}

/** Drops our listeners but keeps an `error` listener: an unhandled `error` event would throw. */
function silence(w: Watcher): void {
  w.removeAllListeners();
  w.on('error', () => {});
}
