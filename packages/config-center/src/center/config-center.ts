import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import {
  type Backoff,
  type Clock,
  type ConfigEntry,
  type ConfigStore,
  closedError,
  Emitter,
  fullJitterBackoff,
  invalidArgument,
  isSwitchyardError,
  type ListenerErrorHandler,
  sleep,
  systemClock,
  type Unsubscribe,
} from '@switchyard/core';
import { AuditLog } from './audit-log.js';
import { autoRollback } from './auto-rollback.js';
import type { InstanceIdentity } from './gray-rule.js';
import { type HealthCheck, LiveNamespace } from './live-namespace.js';
import { type NamespaceSpec, type ResolvedNamespace, resolveNamespace } from './namespace-resolver.js';
import { assertName, DEFAULT_CLUSTER, ReleaseLayout } from './release-layout.js';
import { type Keyring, SecretBox } from './secret-box.js';
import { readSnapshot, writeSnapshot } from './snapshot-file.js';
import type { InferOutput, StandardSchemaV1 } from './standard-schema.js';

const PKG = 'config-center';

export interface ConfigCenterOptions {
  store: ConfigStore;
  app: string;
  env: string;
  /** This process's cluster (data centre); releases of the cluster override the default one. */
  cluster?: string;
  /** Who this process is, for gray rules (default id: `<hostname>-<pid>`). */
  instance?: InstanceIdentity;
  /** Specs of namespaces opened by name (the same ones the admin validates with). */
  namespaces?: Record<string, NamespaceSpec>;
  /** Keys to open secret values with. */
  keyring?: Keyring;
  /** Directory for last-good snapshots: a process can start with the store down. */
  snapshotDir?: string;
  /** Coalesce changes arriving within this many ms into one update (default 0: none). */
  debounce?: number;
  /**
   * A jittered relist behind the push path, ms (default 30 000; 0 = off): applies whatever a watch
   * missed and reports outages as `store:unavailable` / `store:restored`.
   */
  resyncInterval?: number;
  /** Poll interval for stores without push watch, ms (default 5 000, jittered). */
  pollInterval?: number;
  /** Delays between store retries (default base 200 ms, max 10 s, full jitter). */
  backoff?: { base?: number; max?: number; factor?: number };
  clock?: Clock;
  onListenerError?: ListenerErrorHandler;
}

export interface ConfigCenterEvents {
  'config:applied': { namespace: string; version: number; revision: number; source: 'store' | 'snapshot' };
  'config:rejected': { namespace: string; revision: number; issues: string[] };
  'config:auto-rollback': { namespace: string; revision: number; reason: string; gray: boolean };
  'snapshot:loaded': { namespace: string; writtenAt: number; cause: unknown };
  'store:unavailable': { error: unknown };
  'store:restored': { revision: number };
}

export type NamespaceOptions<S extends StandardSchemaV1 | undefined> = NamespaceSpec<S> & {
  health?: HealthCheck<S extends StandardSchemaV1 ? InferOutput<S> : Record<string, unknown>>;
};

export interface ConfigCenter extends AsyncDisposable {
  readonly app: string;
  readonly env: string;
  readonly instance: InstanceIdentity;
  /** Opens a namespace: its first value (from the store, or the snapshot when the store is down), then live. */
  namespace<S extends StandardSchemaV1 | undefined = undefined>(
    name: string,
    options?: NamespaceOptions<S>,
  ): Promise<LiveNamespace<S extends StandardSchemaV1 ? InferOutput<S> : Record<string, unknown>>>;
  on<K extends keyof ConfigCenterEvents>(event: K, fn: (e: ConfigCenterEvents[K]) => void): Unsubscribe;
  close(): Promise<void>;
}

/** The client side: namespaces of one app and environment, kept live from one store watch. */
export function createConfigCenter(options: ConfigCenterOptions): ConfigCenter {
  const { store } = options;
  if (!store || typeof store.watch !== 'function')
    throw invalidArgument(PKG, 'store', 'must be a ConfigStore');
  const app = assertName('app', options.app);
  const env = assertName('env', options.env);
  const cluster = options.cluster === undefined ? DEFAULT_CLUSTER : assertName('cluster', options.cluster);
  const instance: InstanceIdentity = options.instance ?? { id: `${hostname()}-${process.pid}` };
  if (typeof instance.id !== 'string' || instance.id === '')
    throw invalidArgument(PKG, 'instance.id', 'must be a non-empty string');
  const clock = options.clock ?? systemClock;
  const box = options.keyring ? new SecretBox(options.keyring) : undefined;
  const debounce = options.debounce ?? 0;
  if (!Number.isInteger(debounce) || debounce < 0)
    throw invalidArgument(PKG, 'debounce', 'must be an integer ≥ 0');
  const backoff: Backoff = fullJitterBackoff({ base: 200, max: 10_000, ...options.backoff });
  const layout = new ReleaseLayout(app);
  const audit = new AuditLog(store, layout, clock);
  const events = new Emitter<ConfigCenterEvents>({
    ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
  });
  const listenerError = (e: unknown) =>
    (options.onListenerError ?? ((err) => process.emitWarning(`[${PKG}] listener threw: ${String(err)}`)))(
      e,
      'subscribe',
    );
  const prefix = layout.envPrefix(env);
  const docs = new Map<string, ConfigEntry>();
  const live = new Map<
    string,
    { ns: LiveNamespace<unknown>; spec: NamespaceSpec; timer?: ReturnType<Clock['setTimeout']> }
  >();
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  let revision = 0;
  /** Revision of the newest listing applied: watch changes at or below it are already in `docs`. */
  let listedRevision = 0;
  const resyncInterval = options.resyncInterval ?? 30_000;
  if (!Number.isInteger(resyncInterval) || resyncInterval < 0) {
    throw invalidArgument(PKG, 'resyncInterval', 'must be an integer ≥ 0 (ms; 0 turns the poll off)');
  }
  let resync: Promise<void> | undefined;
  let synced = false;
  let closed = false;
  let loop: Promise<void> | undefined;
  let firstSync: Promise<void> | undefined;

  const resolver = (name: string, spec: NamespaceSpec) => (): ResolvedNamespace =>
    resolveNamespace({
      layout,
      env,
      cluster,
      namespace: name,
      spec,
      instance,
      box,
      lookup: (k) => docs.get(k),
    });

  function schedule(name: string): void {
    const l = live.get(name);
    if (!l) return;
    if (debounce === 0) {
      // Resolved now, not when the queue gets to it: every release is applied, none coalesced.
      let resolved: ResolvedNamespace | undefined;
      let failure: unknown;
      try {
        resolved = resolver(name, l.spec)();
      } catch (error) {
        failure = error;
      }
      void l.ns.offer(() => {
        if (!resolved) throw failure;
        return resolved;
      }, 'store');
      return;
    }
    if (l.timer) return;
    l.timer = clock.setTimeout(
      () => {
        l.timer = undefined;
        void l.ns.offer(resolver(name, l.spec), 'store');
      },
      debounce,
      { unref: true },
    );
  }

  function touched(key: string): void {
    for (const [name, l] of live) if (l.ns.keys.has(key)) schedule(name);
  }

  async function sync(): Promise<void> {
    const listing = await store.list(prefix, { signal: stop.signal });
    const before = new Set(docs.keys());
    docs.clear();
    for (const e of listing.entries) docs.set(e.key, e);
    revision = listing.revision;
    listedRevision = listing.revision;
    for (const k of new Set([...before, ...docs.keys()])) touched(k);
    for (const name of live.keys()) schedule(name);
  }

  /**
   * The poll behind the push path: a jittered relist every `resyncInterval` that applies anything
   * the watch has not (yet) delivered and reports outages (`store:unavailable` / `store:restored`).
   */
  async function resyncLoop(): Promise<void> {
    let down = false;
    let attempt = 0;
    while (!closed && resyncInterval > 0) {
      const wait = down ? backoff(attempt++) : Math.round(resyncInterval * (0.8 + Math.random() * 0.4));
      await sleep(wait, { clock, signal: stop.signal }).catch(() => {});
      if (closed) return;
      try {
        const listing = await store.list(prefix, { signal: stop.signal });
        if (listing.revision < listedRevision) {
          // The store lost data (a restart without persistence): its listing is the truth now.
          const before = [...docs.keys()];
          docs.clear();
          for (const k of before) touched(k);
        }
        const seen = new Set<string>();
        for (const e of listing.entries) {
          seen.add(e.key);
          const cur = docs.get(e.key);
          if (!cur || cur.revision < e.revision || listing.revision < listedRevision) {
            docs.set(e.key, e);
            touched(e.key);
          }
        }
        for (const [k, e] of [...docs]) {
          if (!seen.has(k) && e.revision <= listing.revision) {
            docs.delete(k);
            touched(k);
          }
        }
        listedRevision = listing.revision;
        if (down) events.emit('store:restored', { revision: listing.revision });
        down = false;
        attempt = 0;
      } catch (error) {
        if (closed) return;
        if (!down) events.emit('store:unavailable', { error });
        down = true;
      }
    }
  }

  async function run(resolveFirst: () => void, rejectFirst: (e: unknown) => void): Promise<void> {
    let attempt = 0;
    let first = true;
    while (!closed) {
      try {
        if (!synced) {
          await sync();
          if (!first) events.emit('store:restored', { revision });
          synced = true;
          if (first) resolveFirst();
          else firstSync = Promise.resolve(); // namespaces opened from now on need not wait or fail
          first = false;
          attempt = 0;
        }
        if (store.capabilities.watch) {
          for await (const c of store.watch(prefix, { fromRevision: revision, signal: stop.signal })) {
            revision = c.revision;
            if (c.revision <= listedRevision) continue; // already applied by a resync listing
            if (c.type === 'put') docs.set(c.key, c.entry);
            else docs.delete(c.key);
            touched(c.key);
          }
          if (closed) return;
        } else {
          await sleep(Math.round((options.pollInterval ?? 5_000) * (0.8 + Math.random() * 0.4)), {
            clock,
            signal: stop.signal,
          });
        }
        synced = false;
      } catch (error) {
        if (closed) return;
        if (isSwitchyardError(error) && error.code === 'CLOSED') return;
        synced = false;
        events.emit('store:unavailable', { error });
        if (first) {
          first = false;
          rejectFirst(error);
        }
      }
      await sleep(backoff(attempt++), { clock, signal: stop.signal }).catch(() => {});
    }
  }

  function start(): Promise<void> {
    firstSync ??= new Promise<void>((resolve, reject) => {
      loop = run(resolve, reject);
      resync = resyncLoop();
    });
    return firstSync;
  }

  const center: ConfigCenter = {
    app,
    env,
    instance,
    async namespace(name, nsOptions) {
      if (closed) throw closedError(PKG, 'config center');
      assertName('namespace', name);
      if (live.has(name)) throw invalidArgument(PKG, 'namespace', `${name} is already open on this center`);
      const spec: NamespaceSpec & { health?: HealthCheck<unknown> } = {
        ...options.namespaces?.[name],
        ...nsOptions,
      } as never;
      if (spec.inherits !== undefined) assertName('inherits', spec.inherits);
      const ns = new LiveNamespace<unknown>(name, {
        clock,
        schema: spec.schema,
        health: spec.health,
        rejected: (issues, rev) => events.emit('config:rejected', { namespace: name, revision: rev, issues }),
        applied: (u, resolved) => {
          events.emit('config:applied', {
            namespace: name,
            version: u.version,
            revision: u.provenance.revision,
            source: u.provenance.source,
          });
          if (options.snapshotDir && u.provenance.source === 'store') {
            const entries = resolved.keys.flatMap((k) => docs.get(k) ?? []);
            void writeSnapshot(options.snapshotDir, {
              app,
              env,
              namespace: name,
              writtenAt: clock.now(),
              entries,
            }).catch(() => {});
          }
        },
        unhealthy: async (resolved, reason) => {
          const done = await autoRollback(
            { store, layout, audit, clock, env, instance },
            name,
            resolved,
            reason,
          );
          if (done) events.emit('config:auto-rollback', { namespace: name, ...done, reason });
        },
        listenerError,
      });
      live.set(name, { ns, spec });
      try {
        await start();
        if (!(await ns.offer(resolver(name, spec), 'store'))) {
          throw invalidArgument(
            PKG,
            'namespace',
            `${name}: the released config fails its schema and no good value is known`,
          );
        }
      } catch (cause) {
        const snap = options.snapshotDir
          ? await readSnapshot(options.snapshotDir, app, env, name)
          : undefined;
        if (!snap || (isSwitchyardError(cause) && cause.code === 'INVALID_ARGUMENT' && synced)) {
          live.delete(name);
          throw cause;
        }
        const snapDocs = new Map(snap.entries.map((e) => [e.key, e]));
        const ok = await ns.offer(
          () =>
            resolveNamespace({
              layout,
              env,
              cluster,
              namespace: name,
              spec,
              instance,
              box,
              lookup: (k) => docs.get(k) ?? snapDocs.get(k),
            }),
          'snapshot',
        );
        if (!ok) {
          live.delete(name);
          throw cause;
        }
        events.emit('snapshot:loaded', { namespace: name, writtenAt: snap.writtenAt, cause });
        if (synced) schedule(name);
      }
      return ns as never;
    },
    on: (event, fn) => events.on(event, fn),
    async close() {
      if (closed) return;
      closed = true;
      stop.abort();
      for (const l of live.values()) {
        clock.clearTimeout(l.timer);
        l.ns.close();
      }
      live.clear();
      await Promise.all([loop, resync]);
    },
    async [Symbol.asyncDispose]() {
      await center.close();
    },
  };
  return center;
}
