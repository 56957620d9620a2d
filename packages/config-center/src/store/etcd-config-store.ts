import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  assertInteger,
  assertString,
  type Clock,
  type ConfigEntry,
  type ConfigStore,
  type ConfigWriteOptions,
  systemClock,
} from '@switchyard/core';
import {
  ConfigStoreGuards,
  callBackend,
  DEFAULT_REQUEST_TIMEOUT,
  exclusiveOptions,
  KEY_PREFIX,
  opt,
  parseOptions,
  poolFaultHandling,
} from '@switchyard/core/driver';
import { Etcd3, type IOptions, isRecoverableError } from 'etcd3';
import { EtcdCodec, type EtcdKv } from './etcd-codec.js';
import { watchEtcdConfig } from './etcd-config-watch.js';

const PKG = 'config-center/etcd';
const WRITE_RETRIES = 16;

export interface EtcdConfigStoreOptions {
  /** Your etcd3 client (never closed by us). Exclusive with `hosts`. */
  client?: Etcd3;
  /** Endpoints of a client we create and close, e.g. `http://127.0.0.1:2379`. */
  hosts?: string | string[];
  /** Extra `etcd3` options for the client created from `hosts`. */
  clientOptions?: Omit<IOptions, 'hosts'>;
  /** Key prefix (default `/switchyard/config`). */
  prefix?: string;
  /** Deadline of one etcd call, ms (default 5000). */
  requestTimeout?: number;
  /** History records kept per key (default 100). */
  historyLimit?: number;
  /** Largest value in bytes (default 1 MiB; etcd's request limit is 1.5 MiB). */
  maxValueBytes?: number;
  /** Delays between watch restarts (default base 100 ms, max 5 s, full jitter). */
  backoff?: { base?: number; max?: number; factor?: number };
  clock?: Clock;
}

const SCHEMA = {
  client: opt.instance<Etcd3>((v) => v instanceof Etcd3, 'an Etcd3 client'),
  hosts: opt.endpoints(),
  clientOptions: opt.bag<Omit<IOptions, 'hosts'>>(),
  prefix: opt.string({ maxLength: 256 }).default(KEY_PREFIX.etcd.config),
  requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
  historyLimit: opt.integer(1, 100_000).default(100),
  maxValueBytes: opt.integer(1, 1536 * 1024).default(1024 * 1024),
  backoff: opt.backoff({ base: 100, max: 5_000 }),
  clock: opt.clock().default(systemClock),
};

/**
 * A `ConfigStore` on etcd v3: the revision is etcd's mod revision, every write is a transaction
 * guarded by the key's mod revision (compare-and-set, and a retried read-modify-write otherwise)
 * that also writes the history record (our own keys: etcd compacts its MVCC history), and watches
 * resume from the last revision or relist after a compaction.
 */
export function createEtcdConfigStore(options: EtcdConfigStoreOptions): ConfigStore {
  const o = parseOptions(PKG, options, SCHEMA);
  exclusiveOptions(PKG, o, ['client', 'hosts'], { required: true });
  const owned = o.client === undefined;
  const { clock, requestTimeout, historyLimit } = o;
  // Our own client: core's pooled host breakers (a restarted member is tried again after 500 ms,
  // etcd3's default skips it for 5 s) and paced retries within `requestTimeout`.
  const client =
    o.client ??
    new Etcd3({
      ...o.clientOptions,
      hosts: o.hosts as string[],
      faultHandling: {
        ...poolFaultHandling({
          pkg: PKG,
          clock,
          requestTimeout,
          isRecoverable: (error) => error instanceof Error && isRecoverableError(error),
        }),
        ...o.clientOptions?.faultHandling,
      } as IOptions['faultHandling'],
    });
  const codec = new EtcdCodec(o.prefix.replace(/\/+$/, ''));
  const guards = new ConfigStoreGuards(PKG);
  const closing = new AbortController();
  setMaxListeners(0, closing.signal); // one listener per open watch
  const call = <T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>) =>
    callBackend(what, { pkg: PKG, clock, timeout: requestTimeout, signal }, fn);

  async function write(
    kind: 'put' | 'delete',
    key: string,
    value: string,
    opts: ConfigWriteOptions,
  ): Promise<ConfigEntry | undefined> {
    const dataKey = codec.dataKey(key);
    for (let attempt = 0; attempt < WRITE_RETRIES; attempt++) {
      // A create (`expectedRevision: 0`) needs no read: the txn's compare is the existence check.
      const cur =
        kind === 'put' && opts.expectedRevision === 0
          ? undefined
          : ((await call(`read ${key}`, opts.signal, () => client.get(dataKey).exec())).kvs[0] as
              | EtcdKv
              | undefined);
      const actual = cur ? Number(cur.mod_revision) : 0;
      if (opts.expectedRevision !== undefined && opts.expectedRevision !== actual) {
        throw guards.conflict(key, opts.expectedRevision, actual);
      }
      if (kind === 'delete' && !cur) return undefined;
      const prev = cur ? codec.entry(cur) : undefined;
      const now = clock.now();
      const v = kind === 'delete' ? prev!.value : value;
      const base = {
        key,
        value: v,
        createRevision: prev ? prev.createRevision : 0,
        version: prev ? (kind === 'put' ? prev.version + 1 : prev.version) : 1,
        author: opts.author,
        message: opts.message,
        updatedAt: now,
      };
      const historyKey = `${codec.historyPrefix(key)}${randomUUID()}`;
      const ops = [
        kind === 'put'
          ? client.put(dataKey).value(codec.envelope(v, opts.author, opts.message, now))
          : client.delete().key(dataKey),
        client.put(historyKey).value(codec.historyRecord(kind, base)),
      ];
      const res = await call(`${kind} ${key}`, opts.signal, () =>
        client
          .if(dataKey, 'Mod', '==', actual)
          .then(...ops)
          .commit(),
      );
      if (!res.succeeded) {
        if (opts.expectedRevision !== undefined) {
          const now = (await call(`read ${key}`, opts.signal, () => client.get(dataKey).exec())).kvs[0];
          throw guards.conflict(key, opts.expectedRevision, now ? Number(now.mod_revision) : 0);
        }
        continue;
      }
      const revision = Number(res.header.revision);
      void trimHistory(key).catch(() => {});
      return Object.freeze({
        ...base,
        revision,
        createRevision: base.createRevision || revision,
      });
    }
    throw guards.conflict(key, opts.expectedRevision ?? 0, -1);
  }

  async function trimHistory(key: string): Promise<void> {
    const hp = codec.historyPrefix(key);
    const count = await client.getAll().prefix(hp).count();
    if (count <= historyLimit) return;
    const oldest = await client
      .getAll()
      .prefix(hp)
      .sort('Mod', 'Ascend')
      .limit(count - historyLimit)
      .keys();
    await Promise.all(oldest.map((k) => client.delete().key(k).exec()));
  }

  async function list(p: string, signal?: AbortSignal) {
    const res = await call(`list ${p}`, signal, () => client.getAll().prefix(codec.dataPrefix(p)).exec());
    const entries = (res.kvs as unknown as EtcdKv[]).map((kv) => codec.entry(kv));
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { entries, revision: Number(res.header.revision) };
  }

  const store: ConfigStore = {
    name: 'etcd',
    capabilities: Object.freeze({ watch: true, historyLimit }),
    async get(key, opts = {}) {
      guards.key(key);
      const res = await call(`get ${key}`, opts.signal, () => client.get(codec.dataKey(key)).exec());
      const kv = res.kvs[0] as EtcdKv | undefined;
      return kv ? codec.entry(kv) : undefined;
    },
    async list(p, opts = {}) {
      guards.open();
      assertString(PKG, 'prefix', p);
      return list(p, opts.signal);
    },
    async put(key, value, opts = {}) {
      guards.key(key);
      guards.value(value, o.maxValueBytes);
      guards.write(opts);
      return (await write('put', key, value, opts))!;
    },
    async delete(key, opts = {}) {
      guards.key(key);
      guards.write(opts);
      return (await write('delete', key, '', opts)) !== undefined;
    },
    async history(key, opts = {}) {
      guards.key(key);
      const limit = guards.limit(opts.limit, historyLimit);
      const res = await call(`history ${key}`, opts.signal, () =>
        client.getAll().prefix(codec.historyPrefix(key)).sort('Mod', 'Descend').limit(limit).exec(),
      );
      return (res.kvs as unknown as EtcdKv[]).map((kv) => codec.history(kv));
    },
    async rollback(key, revision, opts = {}) {
      guards.key(key);
      guards.revision(revision);
      guards.write(opts);
      const records = await store.history(key, { limit: historyLimit, signal: opts.signal });
      const record = records.find((r) => r.revision === revision && r.type === 'put');
      if (!record) throw guards.notFound(key, revision);
      return (await write('put', key, record.value, {
        ...opts,
        expectedRevision: undefined,
        message: opts.message ?? `rollback to revision ${revision}`,
      }))!;
    },
    watch(p, opts = {}) {
      guards.open();
      assertString(PKG, 'prefix', p);
      if (opts.fromRevision !== undefined) assertInteger(PKG, 'fromRevision', opts.fromRevision, 0);
      return watchEtcdConfig(
        {
          client,
          codec,
          clock,
          backoff: o.backoff,
          list: (q) => list(q),
          revision: async () => (await list(`${p}\u0000none`)).revision,
        },
        p,
        opts.fromRevision,
        opts.signal,
        closing.signal,
      );
    },
    async close() {
      if (guards.closed) return;
      guards.closed = true;
      closing.abort();
      if (owned) client.close();
    },
    async [Symbol.asyncDispose]() {
      await store.close();
    },
  };
  return store;
}
