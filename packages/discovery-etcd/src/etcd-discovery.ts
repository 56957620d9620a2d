import {
  type Clock,
  type DiscoveryCapabilities,
  type InstanceInput,
  invalidArgument,
  type RegisterOptions,
  systemClock,
} from '@switchyard/core';
import {
  DEFAULT_REQUEST_TIMEOUT,
  DEFAULT_TTL,
  defineDiscoveryBackend,
  exclusiveOptions,
  KEY_PREFIX,
  type KitDiscoveryBackend,
  type ManagedRegistration,
  opt,
  parseOptions,
} from '@switchyard/core/driver';
import { Etcd3, type IOptions } from 'etcd3';
import {
  type CallDeadlines,
  callDeadline,
  type EtcdRecord,
  etcdRegistrationDriver,
} from './etcd-registration-driver.js';
import { PKG, watchService } from './etcd-watch.js';
import { etcdFaultHandling } from './fault-handling.js';
import { InstanceCodec } from './instance-codec.js';
import { requireLeaderCallOptions } from './require-leader.js';

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
  backoff?: { base?: number; max?: number; factor?: number };
  clock?: Clock;
}

export interface EtcdDiscovery extends KitDiscoveryBackend<EtcdRecord> {
  /** Registers on a new lease; `registration.handle` has the etcd `key` and current `leaseId`. */
  register(instance: InstanceInput, options?: RegisterOptions): Promise<ManagedRegistration<EtcdRecord>>;
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

const SCHEMA = {
  client: opt.instance<Etcd3>((v) => v instanceof Etcd3, 'an Etcd3 client'),
  hosts: opt.endpoints(),
  clientOptions: opt.bag<Omit<IOptions, 'hosts'>>(),
  requireLeader: opt.boolean().default(true),
  prefix: opt
    .custom((v, at) => {
      if (typeof v !== 'string' || v.length > 512 || v.includes('\u0000')) {
        throw invalidArgument(at.pkg, at.field, 'must be a key prefix of at most 512 characters without NUL');
      }
      const trimmed = v.replace(/\/+$/, '');
      if (trimmed === '')
        throw invalidArgument(at.pkg, at.field, `must not be empty or only "/", got ${JSON.stringify(v)}`);
      return trimmed;
    })
    .default(KEY_PREFIX.etcd.services),
  ttl: opt.duration({ min: 1000 }).default(DEFAULT_TTL.registration),
  requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
  backoff: opt.backoff({ base: 100, max: 5_000 }),
  clock: opt.clock().default(systemClock),
};

/**
 * Service discovery on etcd v3, on core's driver kit: registrations on leases with keep-alive,
 * `resolve` as one range read, and watches that resume from the last seen revision, relist
 * (reason `resync`) when etcd cancels them (compaction), and replace their view when the store's
 * revision goes backwards (a wiped or restored member).
 */
export function createEtcdDiscovery(options: EtcdDiscoveryOptions): EtcdDiscovery {
  const o = parseOptions(PKG, options, SCHEMA);
  exclusiveOptions(PKG, o, ['client', 'hosts'], { required: true });
  if (o.client && (o.clientOptions || options.requireLeader !== undefined)) {
    throw invalidArgument(
      PKG,
      o.clientOptions ? 'clientOptions' : 'requireLeader',
      'applies only to the client created from hosts',
    );
  }
  const { clock, requestTimeout, prefix } = o;
  const owned = o.client === undefined;
  const client =
    o.client ??
    new Etcd3({
      ...o.clientOptions,
      hosts: o.hosts as string[],
      faultHandling: {
        ...etcdFaultHandling(clock, PKG, requestTimeout),
        ...o.clientOptions?.faultHandling,
      } as IOptions['faultHandling'],
      // HTTP/2 pings find a frozen or unreachable member whose TCP connection stays open, so its
      // streams fail over instead of hanging (etcd accepts pings every 5 s by default).
      grpcOptions: {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 0,
        ...o.clientOptions?.grpcOptions,
      },
      defaultCallOptions: perAttemptDeadlines(
        clock,
        requestTimeout,
        o.requireLeader
          ? requireLeaderCallOptions(o.clientOptions?.defaultCallOptions)
          : o.clientOptions?.defaultCallOptions,
      ),
    });
  const deadlines: CallDeadlines = owned ? () => ({}) : (ms) => callDeadline(clock, ms);
  const codec = new InstanceCodec(prefix);
  const detaching = new Set<Promise<void>>();

  const backend = defineDiscoveryBackend(
    {
      name: 'etcd',
      capabilities: CAPABILITIES,
      registration: etcdRegistrationDriver(client, codec, clock, requestTimeout, deadlines),
      async list(service) {
        const res = await client
          .getAll()
          .prefix(codec.servicePrefix(service))
          .options(deadlines(requestTimeout))
          .exec();
        const instances = res.kvs.flatMap((kv) => codec.decode(kv.key.toString(), kv.value.toString()) ?? []);
        return {
          instances: instances.filter((i) => i.service === service),
          revision: Number(res.header.revision),
        };
      },
      watch: (service, from, signal) =>
        watchService(detaching, client, codec, clock, requestTimeout, service, from, signal),
      async services() {
        const keys = await client.getAll().prefix(codec.rootPrefix).options(deadlines(requestTimeout)).keys();
        return keys.flatMap((key) => codec.parseKey(key)?.service ?? []);
      },
      async close() {
        await Promise.all([...detaching]);
        if (owned) client.close();
      },
    },
    { pkg: PKG, clock, backoff: o.backoff, requestTimeout, ttl: o.ttl, minTtl: 1000 },
  );
  return Object.assign(backend, { client, prefix }) as EtcdDiscovery;
}

/**
 * A call-options factory giving every unary call attempt its own deadline (half of
 * `requestTimeout`): etcd3 resolves it per attempt, so when a member dies with a call in flight
 * the retry on the next member has time left (the kit's own deadline still bounds the whole call).
 * Streams (watches, keep-alives) get no deadline.
 */
function perAttemptDeadlines(
  clock: Clock,
  requestTimeout: number,
  base: IOptions['defaultCallOptions'],
): IOptions['defaultCallOptions'] {
  const perAttempt = Math.max(100, Math.floor(requestTimeout / 2));
  return (context) => {
    const own = (typeof base === 'function' ? base(context) : base) ?? {};
    if (context.isStream) return own;
    return { deadline: new Date(clock.now() + perAttempt), ...own };
  };
}
