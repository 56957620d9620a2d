import {
  AsyncChannel,
  type Backoff,
  type Clock,
  type ConfigChange,
  type ConfigEntry,
  sleep,
} from '@switchyard/core';
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import type { EtcdCodec, EtcdKv } from './etcd-codec.js';

export interface EtcdConfigWatchOptions {
  client: Etcd3;
  codec: EtcdCodec;
  clock: Clock;
  backoff: Backoff;
  list: (prefix: string) => Promise<{ entries: ConfigEntry[]; revision: number }>;
  revision: () => Promise<number>;
}

/**
 * One watch of a key range, on the history records (written in the same txn as every change, so
 * each event carries the whole change without etcd's costly per-watcher `prevKV` reads): etcd's
 * watch from the last delivered revision + 1; a broken stream
 * resumes from there (etcd replays its log), a watch etcd cancels (start revision compacted)
 * relists and emits every key changed since, then watches on from the listing's revision.
 */
export function watchEtcdConfig(
  o: EtcdConfigWatchOptions,
  prefix: string,
  fromRevision: number | undefined,
  signal: AbortSignal | undefined,
  closing: AbortSignal,
): AsyncIterable<ConfigChange> {
  const stop = new AbortController();
  const channel = new AsyncChannel<ConfigChange>({ onReturn: () => onAbort() });
  const onAbort = () => {
    signal?.removeEventListener('abort', onAbort);
    closing.removeEventListener('abort', onAbort);
    stop.abort();
    channel.close();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  closing.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted || closing.aborted) onAbort();

  const push = (c: ConfigChange, state: { delivered: number }) => {
    if (c.revision <= state.delivered) return;
    state.delivered = c.revision;
    channel.push(c);
  };

  void (async () => {
    const state = { delivered: -1 };
    for (let attempt = 0; !stop.signal.aborted; ) {
      try {
        if (state.delivered < 0) state.delivered = fromRevision ?? (await o.revision());
        const outcome = await runOnce(o, prefix, state, push, stop.signal);
        attempt = outcome === 'healthy' ? 0 : attempt;
        if (outcome === 'reset') {
          const { entries, revision } = await o.list(prefix);
          for (const e of entries) {
            if (e.revision > state.delivered)
              channel.push({ type: 'put', key: e.key, entry: e, revision: e.revision });
          }
          state.delivered = Math.max(state.delivered, revision);
          continue;
        }
        if (outcome === 'stopped') return;
      } catch {
        // fall through to the backoff
      }
      await sleep(o.backoff(attempt++), { clock: o.clock, signal: stop.signal }).catch(() => {});
    }
  })();
  return channel;
}

type Outcome = 'stopped' | 'reset' | 'broken' | 'healthy';

function runOnce(
  o: EtcdConfigWatchOptions,
  prefix: string,
  state: { delivered: number },
  push: (c: ConfigChange, state: { delivered: number }) => void,
  signal: AbortSignal,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let gotData = false;
    let w: Watcher | undefined;
    const finish = (outcome: Outcome) => {
      signal.removeEventListener('abort', onAbort);
      if (w) {
        const watcher = w;
        w = undefined;
        watcher.removeAllListeners();
        watcher.on('error', () => {});
        void watcher.cancel().catch(() => {});
      }
      resolve(outcome === 'broken' && gotData ? 'healthy' : outcome);
    };
    const onAbort = () => finish('stopped');
    signal.addEventListener('abort', onAbort, { once: true });
    // `.watcher()`, not `.create()`: create() settles only on 'connected' or 'error', so a stream
    // that fails before connecting (a restarting member) left us waiting on etcd3's own reconnect
    // backoff (up to 30 s, growing) instead of ours.
    const watcher = o.client
      .watch()
      .prefix(o.codec.historyWatchPrefix(prefix))
      .startRevision(String(state.delivered + 1))
      .watcher();
    w = watcher;
    watcher.on('connected', () => {
      gotData = true;
    });
    watcher.on('data', (res: IWatchResponse) => {
      gotData = true;
      for (const ev of res.events) {
        // A history record is written in the same txn as each change and holds all of it;
        // deletes of history records are trims, not changes.
        if (ev.type !== 'Put') continue;
        const { type, ...entry } = o.codec.history(ev.kv as unknown as EtcdKv);
        if (!entry.key.startsWith(prefix)) continue;
        push({ type, key: entry.key, entry: Object.freeze(entry), revision: entry.revision }, state);
      }
    });
    watcher.on('disconnected', () => finish('broken'));
    watcher.on('error', () => finish('reset'));
  });
}
