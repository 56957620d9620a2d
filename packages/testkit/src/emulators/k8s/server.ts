import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { createTestCertificate, type TestCertificate } from './certificate.js';
import { type FaultMatch, Faults } from './faults.js';
import { type KubeconfigOptions, kubeconfigFile, kubeconfigOptions } from './kubeconfig.js';
import { resourceType } from './resources.js';
import { handle, type RouterContext, sendStatus } from './router.js';
import { expired, statusFor } from './status.js';
import { type KubeObject, ObjectStore, objectKey } from './store.js';
import type { WatchStream } from './watch.js';

export interface K8sEmulatorOptions {
  /** Port to listen on (default 0: a free port). */
  port?: number;
  /** Loopback address (default 127.0.0.1). */
  host?: string;
  /** Serve HTTPS: with this key and certificate (PEM), or with a throw-away self-signed one (`true`). */
  tls?: TestCertificate | true;
  /** Require `Authorization: Bearer <token>` on every API request (401 `Status` otherwise). */
  token?: string;
  /** Changes kept for watches and exact lists; older ones are compacted (default 10 000). */
  historyLimit?: number;
  /** The first resourceVersion handed out (default 1). */
  firstResourceVersion?: number;
  /** Idle BOOKMARK period for watches with `allowWatchBookmarks=true`, ms (default 60 000; 0 = never). */
  bookmarkInterval?: number;
  /** Continue tokens expire after this long, ms (default 300 000, the apiserver's compaction period). */
  continueTokenTtl?: number;
  /** A request for a future resourceVersion waits this long before 504 ResourceVersionTooLarge, ms (default 3 000). */
  tooLargeWait?: number;
  /** A watch from a future version: `error` (wait `tooLargeWait`, then an ERROR event) or `hang` (wait for it). */
  futureWatch?: 'error' | 'hang';
  /** A watch from a compacted version: `event` (200 + ERROR Expired, kube-apiserver) or `status` (HTTP 410). */
  expiredWatch?: 'event' | 'status';
  /** Server-side timeout of watches that give no `timeoutSeconds`, ms (default: random in 30–60 min). */
  defaultWatchTimeout?: number;
  /** Observes every request (tests use it to check what a client sends). */
  onRequest?: (request: K8sEmulatorRequest) => void;
}

export interface K8sEmulatorRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  watch: boolean;
}

export interface K8sEmulator extends AsyncDisposable {
  /** `http(s)://host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The CA certificate (PEM) a client must trust, with `tls`. */
  readonly ca: string | undefined;
  readonly token: string | undefined;
  /** The newest resourceVersion. */
  readonly resourceVersion: number;
  /** Open watch streams. */
  readonly openWatches: number;
  /** Requests answered so far, by kind. */
  readonly requests: { readonly list: number; readonly watch: number; readonly other: number };
  /** Options for client-node's `KubeConfig.loadFromOptions` (cluster, user with the token, context). */
  kubeconfig(options?: { namespace?: string }): KubeconfigOptions;
  /** A kubeconfig file's text (JSON, which is YAML) for `KUBECONFIG`. */
  kubeconfigFile(options?: { namespace?: string }): string;
  /** Creates or replaces an object (its `kind` picks the resource); returns it as stored. */
  apply(object: KubeObject): KubeObject;
  /** Deletes an object; false if there was none. */
  remove(kind: string, namespace: string, name: string): boolean;
  get(kind: string, namespace: string, name: string): KubeObject | undefined;
  /** Current objects of a kind (all namespaces, or one). */
  list(kind: string, namespace?: string): KubeObject[];
  /** Compacts the history up to `resourceVersion` (default: all): older versions get 410 Gone. */
  compact(resourceVersion?: number): void;
  /** Sends an ERROR `Expired` (410) event on every open watch and ends them (a mid-stream compaction). */
  expireWatches(): void;
  /** Cuts every open watch connection (TCP reset). */
  dropWatches(): void;
  /** From now on every watch stream is cut after `n` object events (`undefined` to stop). */
  dropWatchesEvery(n: number | undefined): void;
  /** Watch streams go silent (no events, no bookmarks, no FIN) until the returned function is called. */
  stallWatches(): () => void;
  /** The next `n` matching requests fail with `status` (a `Status` body; `Retry-After` for 429/5xx). */
  failNext(n: number, options?: { status?: number; retryAfter?: number; match?: FaultMatch }): void;
  /** The next `n` matching requests are accepted and never answered. */
  blackholeNext(n: number, options?: { match?: FaultMatch }): void;
  /** Delay of every list response (each page), ms. */
  setListDelay(ms: number): void;
  /**
   * An apiserver restart: every connection is cut and the watch cache starts afresh at the current
   * version (older versions are expired). `history: 'new'` also renumbers every object from
   * `firstResourceVersion` (default 1), like an etcd restored from a backup; `downtime` keeps the
   * port closed for that long.
   */
  restart(options?: {
    downtime?: number;
    history?: 'keep' | 'new';
    firstResourceVersion?: number;
  }): Promise<void>;
  close(): Promise<void>;
}

/** Starts an in-process emulator of the kube-apiserver list/watch API (EndpointSlices, Services). */
export async function startK8sEmulator(options: K8sEmulatorOptions = {}): Promise<K8sEmulator> {
  const host = options.host ?? '127.0.0.1';
  const tls = options.tls === true ? createTestCertificate() : options.tls;
  const store = new ObjectStore({
    historyLimit: options.historyLimit ?? 10_000,
    firstVersion: options.firstResourceVersion ?? 1,
  });
  const faults = new Faults();
  const watchers = new Set<WatchStream>();
  const versionWaiters = new Set<() => void>();
  store.onEvent(() => {
    for (const w of [...versionWaiters]) w();
  });
  const ctx: RouterContext = {
    store,
    faults,
    watchers,
    token: options.token,
    version: { major: '1', minor: '34', gitVersion: 'v1.34.0-switchyard-emulator' },
    continueTokenTtl: options.continueTokenTtl ?? 300_000,
    tooLargeWait: options.tooLargeWait ?? 3_000,
    bookmarkInterval: options.bookmarkInterval ?? 60_000,
    futureWatch: options.futureWatch ?? 'error',
    expiredWatch: options.expiredWatch ?? 'event',
    maxWatchBuffer: 64 * 1024 * 1024,
    defaultWatchTimeout: () => options.defaultWatchTimeout ?? 1_800_000 * (1 + Math.random()),
    onEvent: (listener) => store.onEvent(listener),
    waitForVersion: (rv, ms) =>
      new Promise<boolean>((resolve) => {
        const check = () => {
          if (store.resourceVersion < rv) return;
          done(true);
        };
        const done = (ok: boolean) => {
          clearTimeout(timer);
          versionWaiters.delete(check);
          resolve(ok);
        };
        const timer = setTimeout(() => done(false), ms);
        versionWaiters.add(check);
      }),
  };
  const requests = { list: 0, watch: 0, other: 0 };
  const sockets = new Set<Socket>();
  const held = new Set<ServerResponse>();

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const watch = ['1', 'true'].includes(url.searchParams.get('watch') ?? '');
    const info = { method: req.method ?? 'GET', path: url.pathname, watch };
    if (watch) requests.watch++;
    else if (info.method === 'GET' && /\/(endpointslices|services)$/.test(url.pathname)) requests.list++;
    else requests.other++;
    options.onRequest?.({ ...info, query: url.searchParams, headers: req.headers });
    if (faults.takeBlackhole(info)) {
      held.add(res);
      res.on('close', () => held.delete(res));
      req.resume();
      return;
    }
    const failure = faults.takeFailure(info);
    if (failure) {
      req.resume();
      sendStatus(res, statusFor(failure.status, failure.retryAfter));
      return;
    }
    void handle(ctx, req, res);
  };
  const server: Server = tls
    ? (createHttpsServer({ key: tls.key, cert: tls.cert }, onRequest) as unknown as Server)
    : createServer(onRequest);
  server.keepAliveTimeout = 5_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  const port = await listen(options.port ?? 0);
  const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const cutConnections = () => {
    for (const w of [...watchers]) w.drop();
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  const typeOf = (kind: string) => {
    const t = resourceType(kind);
    if (!t) throw new Error(`the emulator serves EndpointSlice and Service, not ${kind}`);
    return t;
  };
  let closed = false;

  const emulator: K8sEmulator = {
    url,
    host,
    port,
    ca: tls?.cert,
    token: options.token,
    get resourceVersion() {
      return store.resourceVersion;
    },
    get openWatches() {
      return watchers.size;
    },
    get requests() {
      return { ...requests };
    },
    kubeconfig: (o = {}) =>
      kubeconfigOptions({ url, ca: tls?.cert, token: options.token, namespace: o.namespace }),
    kubeconfigFile: (o = {}) =>
      kubeconfigFile({ url, ca: tls?.cert, token: options.token, namespace: o.namespace }),
    apply(object) {
      const type = typeOf(String(object.kind));
      const namespace = object.metadata.namespace ?? 'default';
      const obj = { ...object, metadata: { ...object.metadata, namespace } };
      const causes = type.validate(obj);
      if (causes.length > 0)
        throw new Error(`invalid ${type.kind}: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}`);
      const exists = store.get(type.plural, objectKey(namespace, obj.metadata.name)) !== undefined;
      return store.write(type.plural, exists ? 'MODIFIED' : 'ADDED', obj).object;
    },
    remove(kind, namespace, name) {
      const type = typeOf(kind);
      const obj = store.get(type.plural, objectKey(namespace, name));
      if (!obj) return false;
      store.write(type.plural, 'DELETED', obj);
      return true;
    },
    get: (kind, namespace, name) => store.get(typeOf(kind).plural, objectKey(namespace, name)),
    list: (kind, namespace) =>
      store
        .current(typeOf(kind).plural)
        .filter((o) => namespace === undefined || o.metadata.namespace === namespace),
    compact: (rv) => store.compact(rv),
    expireWatches() {
      for (const w of [...watchers]) {
        w.fail(expired(`too old resource version: ${store.compactedVersion} (${store.resourceVersion})`));
      }
    },
    dropWatches() {
      for (const w of [...watchers]) w.drop();
    },
    dropWatchesEvery(n) {
      faults.dropEvery = n;
    },
    stallWatches() {
      faults.stalled = true;
      return () => {
        faults.stalled = false;
        for (const w of [...watchers]) w.flush();
      };
    },
    failNext(n, o = {}) {
      faults.fail(n, o.status ?? 500, o.retryAfter, o.match ?? {});
    },
    blackholeNext(n, o = {}) {
      faults.blackhole(n, o.match ?? {});
    },
    setListDelay(ms) {
      faults.listDelay = ms;
    },
    async restart(o = {}) {
      faults.reset();
      for (const res of held) res.destroy();
      if (o.downtime && o.downtime > 0) {
        const closing = new Promise<void>((resolve) => server.close(() => resolve()));
        cutConnections();
        await closing;
        await new Promise((r) => setTimeout(r, o.downtime));
        await listen(port);
      } else cutConnections();
      if (o.history === 'new') store.renumber(o.firstResourceVersion ?? 1);
      else store.compact();
    },
    async close() {
      if (closed) return;
      closed = true;
      faults.reset();
      for (const res of held) res.destroy();
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      cutConnections();
      if (server.listening) await closing;
    },
    async [Symbol.asyncDispose]() {
      await emulator.close();
    },
  };
  return emulator;
}
