import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Faults } from './faults.js';
import { awaitVersion, type ListContext, objectFilter } from './list.js';
import { type ListOptions, parseVersion } from './list-options.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { expired, type Status, type StatusError } from './status.js';
import type { KubeObject, StoreEvent } from './store.js';

export interface WatchContext extends ListContext {
  faults: Faults;
  /** Idle bookmark period for watches that asked for bookmarks, ms (the apiserver: about a minute). */
  bookmarkInterval: number;
  /** A watch from a future version: wait `tooLargeWait` then fail (`error`), or wait forever (`hang`). */
  futureWatch: 'error' | 'hang';
  /** A watch from a compacted version: 200 + an `ERROR` event (`event`, what kube-apiserver does) or HTTP 410 (`status`). */
  expiredWatch: 'event' | 'status';
  /** Server-side timeout of a watch without `timeoutSeconds`, ms. */
  defaultWatchTimeout: () => number;
  /** A watcher whose socket buffer holds more than this many bytes is closed (the cacher drops slow watchers). */
  maxWatchBuffer: number;
  watchers: Set<WatchStream>;
  onEvent(listener: (event: StoreEvent) => void): () => void;
}

type Line = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: unknown };

/** One open watch response: a chunked stream of newline-delimited JSON events. */
export class WatchStream {
  readonly #res: ServerResponse;
  readonly #ctx: WatchContext;
  readonly #pending: string[] = [];
  #ending = false;
  #closed = false;
  #objectEvents = 0;
  readonly #cleanup: (() => void)[] = [];

  constructor(ctx: WatchContext, res: ServerResponse) {
    this.#ctx = ctx;
    this.#res = res;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    res.on('close', () => this.#dispose());
    ctx.watchers.add(this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  onDispose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#cleanup.push(fn);
  }

  send(line: Line): void {
    if (this.#closed || this.#ending) return;
    this.#pending.push(`${JSON.stringify(line)}\n`);
    if (line.type !== 'BOOKMARK' && line.type !== 'ERROR') this.#objectEvents++;
    this.flush();
    const every = this.#ctx.faults.dropEvery;
    if (
      every !== undefined &&
      line.type !== 'BOOKMARK' &&
      this.#objectEvents >= every &&
      !this.#ctx.faults.stalled
    ) {
      // Let the event reach the socket first, then cut the connection without a FIN.
      this.#ending = true;
      this.#res.write('', () => this.drop());
    }
  }

  /** Writes what is queued unless the stream is stalled; closes a watcher that cannot keep up. */
  flush(): void {
    if (this.#closed || this.#ctx.faults.stalled) return;
    for (const chunk of this.#pending.splice(0)) this.#res.write(chunk);
    if (this.#res.writableLength > this.#ctx.maxWatchBuffer) this.end();
    else if (this.#ending) this.#res.end();
  }

  /** Sends an `ERROR` event carrying `status` and ends the stream (what a mid-stream 410 looks like). */
  fail(error: StatusError | Status): void {
    const status = 'status' in error && typeof error.status === 'object' ? error.status : (error as Status);
    this.send({ type: 'ERROR', object: status });
    this.end();
  }

  /** Ends the response cleanly (the server-side timeout). */
  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    this.flush();
  }

  /** Cuts the connection (TCP RST): the client sees an error, not a clean end. */
  drop(): void {
    if (this.#closed) return;
    const socket = this.#res.socket;
    try {
      // A TCP reset where the socket is plain TCP; a TLS socket can only be destroyed.
      socket?.resetAndDestroy();
    } catch {
      socket?.destroy();
    }
    this.#dispose();
  }

  #dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ctx.watchers.delete(this);
    for (const fn of this.#cleanup.splice(0)) fn();
  }
}

function bookmark(type: ResourceType, rv: number, annotations?: Record<string, string>): Line {
  return {
    type: 'BOOKMARK',
    object: {
      kind: type.kind,
      apiVersion: apiVersionOf(type),
      metadata: { resourceVersion: String(rv), ...(annotations ? { annotations } : {}) },
    },
  };
}

const withKind = (type: ResourceType, o: KubeObject) => ({
  kind: type.kind,
  apiVersion: apiVersionOf(type),
  ...o,
});

/**
 * What a watcher of `matches` sees for a store event (the cacher's `convertToWatchEvent`): an
 * object entering the selection is ADDED, one leaving it is DELETED (its previous content, at the
 * event's version), one inside it is MODIFIED.
 */
export function convertEvent(
  type: ResourceType,
  ev: StoreEvent,
  matches: (o: KubeObject) => boolean,
): Line | undefined {
  if (ev.resource !== type.plural) return undefined;
  const old = ev.prev !== undefined && matches(ev.prev);
  if (ev.type === 'DELETED') return old ? { type: 'DELETED', object: withKind(type, ev.object) } : undefined;
  const cur = matches(ev.object);
  if (cur) return { type: old ? 'MODIFIED' : 'ADDED', object: withKind(type, ev.object) };
  if (old) {
    const prev = ev.prev!;
    return {
      type: 'DELETED',
      object: withKind(type, { ...prev, metadata: { ...prev.metadata, resourceVersion: String(ev.rv) } }),
    };
  }
  return undefined;
}

/**
 * Serves `?watch=1` with the three start modes of api-concepts "Semantics for watch": no version
 * or "0" = synthetic ADDED for the current state then changes; a version = changes after it
 * (expired below the compaction point); `sendInitialEvents=true` = synthetic ADDED, then a
 * BOOKMARK annotated `k8s.io/initial-events-end`. Bookmarks, `timeoutSeconds` and selector exits
 * (DELETED) behave like kube-apiserver's watch cache.
 */
export async function serveWatch(
  ctx: WatchContext,
  type: ResourceType,
  namespace: string | undefined,
  o: ListOptions,
  _req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { store } = ctx;
  const matches = objectFilter(type, namespace, o);
  const requested =
    o.resourceVersion === undefined || o.resourceVersion === '0'
      ? undefined
      : parseVersion(o.resourceVersion);
  let failure: StatusError | undefined;
  if (requested !== undefined && requested > store.resourceVersion) {
    if (o.sendInitialEvents || ctx.futureWatch === 'error') {
      try {
        await awaitVersion(ctx, requested);
      } catch (e) {
        failure = e as StatusError;
      }
    }
  }
  if (!failure && requested !== undefined && !o.sendInitialEvents && requested < store.compactedVersion) {
    failure = expired(`too old resource version: ${requested} (${store.compactedVersion + 1})`);
    if (ctx.expiredWatch === 'status') throw failure;
  }
  const stream = new WatchStream(ctx, res);
  if (failure) {
    stream.fail(failure);
    return;
  }
  // From here to the subscription nothing awaits: no change can slip between the replay and live events.
  let startRv: number;
  if (o.sendInitialEvents || requested === undefined) {
    startRv = store.resourceVersion;
    for (const obj of store.current(type.plural))
      if (matches(obj)) stream.send({ type: 'ADDED', object: withKind(type, obj) });
    if (o.sendInitialEvents) stream.send(bookmark(type, startRv, { 'k8s.io/initial-events-end': 'true' }));
  } else {
    startRv = requested;
    for (const ev of store.since(Math.min(requested, store.resourceVersion)) ?? []) {
      const line = ev.rv > requested ? convertEvent(type, ev, matches) : undefined;
      if (line) stream.send(line);
    }
  }
  stream.onDispose(
    ctx.onEvent((ev) => {
      if (ev.rv <= startRv) return;
      const line = convertEvent(type, ev, matches);
      if (line) stream.send(line);
    }),
  );
  const timeoutMs = o.timeoutSeconds !== undefined ? o.timeoutSeconds * 1000 : ctx.defaultWatchTimeout();
  const timeout = setTimeout(() => {
    if (o.allowWatchBookmarks && store.resourceVersion >= startRv)
      stream.send(bookmark(type, store.resourceVersion));
    stream.end();
  }, timeoutMs);
  stream.onDispose(() => clearTimeout(timeout));
  if (o.allowWatchBookmarks && ctx.bookmarkInterval > 0) {
    const ticker = setInterval(() => {
      // A bookmark never claims a version the watcher asked to start after but has not reached.
      if (store.resourceVersion >= startRv) stream.send(bookmark(type, store.resourceVersion));
    }, ctx.bookmarkInterval);
    stream.onDispose(() => clearInterval(ticker));
  }
}
