import {
  assertDuration,
  assertNonEmptyString,
  assertServiceName,
  type BackoffOptions,
  backendUnavailable,
  type Clock,
  type DiscoveryBackend,
  type DiscoveryCapabilities,
  type DiscoveryEvent,
  fullJitterBackoff,
  type InstanceFilter,
  type InstanceInput,
  invalidArgument,
  matchesFilter,
  normalizeInstance,
  type RegisterOptions,
  raceSignal,
  type ServiceInstance,
  type ServiceSnapshot,
  SwitchyardError,
  sortInstances,
  systemClock,
  throwIfAborted,
  validateFilter,
} from '@switchyard/core';
import { Etcd3, type IOptions } from 'etcd3';
import { deadline, type EtcdDiscoveryContext, PKG } from './context.js';
import { EtcdRegistration } from './etcd-registration.js';
import { InstanceCodec } from './instance-codec.js';
import { requireLeaderCallOptions } from './require-leader.js';
import { ServiceWatch } from './service-watch.js';

export interface EtcdDiscoveryOptions {
  /** An existing client. It is not closed by `close()`. Give it every cluster endpoint. */
  client?: Etcd3;
  /** etcd endpoints (`http://host:2379`), all members of the cluster, when no `client` is given. */
  hosts?: string | string[];
  /** Extra `etcd3` options for the client created from `hosts` (auth, TLS, grpcOptions…). */
  clientOptions?: Omit<IOptions, 'hosts'>;
  /**
   * Ask for leader-required watch and keep-alive streams (`hasleader` metadata) on the client
   * created from `hosts` (default true). For your own client use `requireLeaderCallOptions()`.
   */
  requireLeader?: boolean;
  /** Key prefix; instances live at `<prefix>/<service>/<id>` (default `/switchyard/services`). */
  prefix?: string;
  /** Default registration TTL in ms, rounded up to whole seconds, >= 1000 (default 10 000). */
  ttl?: number;
  /** Deadline of one etcd request in ms (default 5 000). */
  requestTimeout?: number;
  /** Backoff between attempts to re-establish a broken watch (default base 100 ms, max 5 s). */
  backoff?: BackoffOptions;
  clock?: Clock;
}

export interface EtcdDiscovery extends DiscoveryBackend {
  /** Registers on a new lease; the handle exposes its etcd `key` and current `leaseId`. */
  register(instance: InstanceInput, options?: RegisterOptions): Promise<EtcdRegistration>;
  /** The `etcd3` client in use (never hidden). */
  readonly client: Etcd3;
  /** The normalised key prefix (no trailing `/`). */
  readonly prefix: string;
}

const CAPABILITIES: DiscoveryCapabilities = Object.freeze({
  watch: true,
  ttlGranularity: 'seconds',
  healthUpdates: true,
  register: true,
});

/**
 * Service discovery on etcd v3: registrations on leases with keep-alive, `resolve` as one range
 * read, and watches that resume from the last seen revision and relist (reason `resync`) when
 * etcd cancels them, e.g. after a compaction.
 */
export function createEtcdDiscovery(options: EtcdDiscoveryOptions): EtcdDiscovery {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument(PKG, 'options', 'must be an object');
  const { client: given, hosts } = options;
  if (given !== undefined && hosts !== undefined)
    throw invalidArgument(PKG, 'hosts', 'must not be set together with client');
  if (given !== undefined && !(given instanceof Etcd3))
    throw invalidArgument(PKG, 'client', 'must be an Etcd3 instance');
  if (given === undefined) {
    if (hosts === undefined) throw invalidArgument(PKG, 'hosts', 'or client is required');
    const list = typeof hosts === 'string' ? [hosts] : hosts;
    if (!Array.isArray(list) || list.length === 0)
      throw invalidArgument(PKG, 'hosts', 'must be a non-empty string or array of strings');
    list.forEach((h, i) => assertNonEmptyString(PKG, `hosts[${i}]`, h));
  }
  const prefix = normalizePrefix(options.prefix ?? '/switchyard/services');
  const defaultTtl = assertTtl('ttl', options.ttl ?? 10_000);
  const requestTimeout = assertDuration(PKG, 'requestTimeout', options.requestTimeout ?? 5_000);
  const clock = options.clock ?? systemClock;
  const backoff = fullJitterBackoff({ base: 100, max: 5_000, ...options.backoff });
  const owned = given === undefined;
  const client =
    given ??
    new Etcd3({
      ...options.clientOptions,
      hosts: hosts as string | string[],
      // HTTP/2 pings find a frozen or unreachable member whose TCP connection stays open, so its
      // streams fail over instead of hanging (etcd accepts pings every 5 s by default).
      grpcOptions: {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 0,
        ...options.clientOptions?.grpcOptions,
      },
      defaultCallOptions:
        options.requireLeader === false
          ? options.clientOptions?.defaultCallOptions
          : requireLeaderCallOptions(options.clientOptions?.defaultCallOptions),
    });

  const ctx: EtcdDiscoveryContext = {
    client,
    codec: new InstanceCodec(prefix),
    clock,
    requestTimeout,
    backoff,
  };
  const registrations = new Set<EtcdRegistration>();
  const watches = new Set<ServiceWatch>();
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new SwitchyardError('CLOSED', `[${PKG}] client is closed`);
  }

  async function rangeRead<T>(what: string, signal: AbortSignal | undefined, run: () => Promise<T>) {
    throwIfAborted(PKG, signal, what);
    try {
      return await raceSignal(run(), signal, PKG, what);
    } catch (error) {
      throw backendUnavailable(PKG, what, error);
    }
  }

  const backend: EtcdDiscovery = {
    name: 'etcd',
    capabilities: CAPABILITIES,
    client,
    prefix,

    async register(input: InstanceInput, opts: RegisterOptions = {}) {
      assertOpen();
      const instance = normalizeInstance(PKG, input);
      const ttl = opts.ttl === undefined ? defaultTtl : assertTtl('ttl', opts.ttl);
      throwIfAborted(PKG, opts.signal, 'register');
      const reg = await EtcdRegistration.create(ctx, instance, ttl, opts.signal, (r) =>
        registrations.delete(r),
      );
      registrations.add(reg);
      if (closed) await reg.close();
      return reg;
    },

    async resolve(service, opts = {}): Promise<ServiceSnapshot> {
      assertOpen();
      assertServiceName(PKG, 'service', service);
      validateFilter(PKG, opts.filter);
      const res = await rangeRead(`resolve(${service})`, opts.signal, () =>
        client.getAll().prefix(ctx.codec.servicePrefix(service)).options(deadline(requestTimeout)).exec(),
      );
      const instances: ServiceInstance[] = [];
      for (const kv of res.kvs) {
        const inst = ctx.codec.decode(kv.key.toString(), kv.value.toString());
        if (inst && inst.service === service && matchesFilter(inst, opts.filter)) instances.push(inst);
      }
      return { service, instances: sortInstances(instances), revision: Number(res.header.revision) };
    },

    watch(service, opts: { filter?: InstanceFilter; signal?: AbortSignal } = {}) {
      assertOpen();
      assertServiceName(PKG, 'service', service);
      validateFilter(PKG, opts.filter);
      const signal = opts.signal;
      const onAbort = () => void watch.stop();
      const watch = new ServiceWatch(ctx, service, opts.filter, (w) => {
        watches.delete(w);
        signal?.removeEventListener('abort', onAbort);
      });
      watches.add(watch);
      if (signal?.aborted) {
        void watch.stop();
        return watch.channel as AsyncIterable<DiscoveryEvent>;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      watch.start();
      return watch.channel as AsyncIterable<DiscoveryEvent>;
    },

    async services(opts = {}) {
      assertOpen();
      const keys = await rangeRead('services', opts.signal, () =>
        client.getAll().prefix(ctx.codec.rootPrefix).options(deadline(requestTimeout)).keys(),
      );
      const names = new Set<string>();
      for (const key of keys) {
        const parsed = ctx.codec.parseKey(key);
        if (parsed) names.add(parsed.service);
      }
      return [...names].sort();
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...watches].map((w) => w.stop()));
      await Promise.all([...registrations].map((r) => r.close()));
      if (owned) client.close();
    },

    async [Symbol.asyncDispose]() {
      await backend.close();
    },
  };
  return backend;
}

function assertTtl(field: string, value: unknown): number {
  return assertDuration(PKG, field, value, { min: 1000 });
}

function normalizePrefix(value: unknown): string {
  const s = assertNonEmptyString(PKG, 'prefix', value);
  if (s.includes('\u0000')) throw invalidArgument(PKG, 'prefix', 'must not contain NUL characters');
  const trimmed = s.replace(/\/+$/, '');
  if (trimmed.length === 0) throw invalidArgument(PKG, 'prefix', 'must not be only "/"');
  return trimmed;
}
