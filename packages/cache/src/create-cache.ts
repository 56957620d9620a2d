import { type CacheStore, type DistributedLock, invalidArgument, systemClock } from '@switchyard/core';
import { KEY_PREFIX, opt, parseOptions } from '@switchyard/core/driver';
import type { BusTransport } from './bus/bus-transport.js';
import { isBusTransport } from './bus/bus-transport.js';
import { Coherence } from './bus/coherence.js';
import { CacheEngine } from './cache-engine.js';
import { CacheView } from './cache-view.js';
import { PayloadCompression } from './compression.js';
import { EntryCodec } from './entry-codec.js';
import { isL1Tier, L1_SCHEMA, L1Tier } from './l1/l1-tier.js';
import { LoadCoordinator } from './load-coordinator.js';
import { graceOption, ttlOption } from './options.js';
import { isSerializer, jsonSerializer, type Serializer } from './serializer.js';
import { StoreTier } from './store-tier.js';
import type { Cache, CacheStats, CreateCacheOptions, KeyPrefilter, NamespaceStats } from './types.js';

const PKG = 'cache';

const isStore = (v: unknown) =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as CacheStore).getMany === 'function' &&
  'capabilities' in v;
const isLock = (v: unknown) =>
  typeof v === 'object' && v !== null && typeof (v as DistributedLock).acquire === 'function';

const SCHEMA = {
  name: opt
    .string({ maxLength: 128, pattern: /^[A-Za-z0-9_.-]+$/, hint: 'letters, digits, "_", "." or "-"' })
    .default('default'),
  l1: opt.custom((v, at) => (v === false ? false : parseOptions(at.pkg, v, L1_SCHEMA, at.field))),
  l2: opt.instance<CacheStore>(isStore, 'a CacheStore'),
  tiers: opt.array(
    opt.instance<CacheStore | L1Tier>((v) => isStore(v) || isL1Tier(v), 'a CacheStore or an L1Tier'),
    { min: 1, max: 8 },
  ),
  ttl: ttlOption().default(60_000),
  grace: graceOption().default(0),
  ttlJitter: opt.number(0, 0.5).default(0.1),
  negativeTtl: opt.duration().default(5_000),
  softTimeout: opt.duration({ allowZero: true }).default(0),
  hardTimeout: opt.wait().default(Number.POSITIVE_INFINITY),
  earlyRefresh: opt.number(0, 100).default(1),
  loaderBackoff: opt.backoff({ base: 1_000, max: 30_000, factor: 2 }),
  breakerDuration: opt.duration({ allowZero: true }).default(2_000),
  fallbackToLoader: opt.boolean().default(true),
  serializer: opt
    .instance<Serializer>(isSerializer, 'a serializer { serialize, deserialize }')
    .default(jsonSerializer),
  compression: opt.custom((v, at) =>
    v === false
      ? (false as const)
      : parseOptions(
          at.pkg,
          v,
          {
            algorithm: opt.oneOf(['brotli', 'gzip', 'zstd'] as const).required(),
            threshold: opt.integer(0).default(1024),
          },
          at.field,
        ),
  ),
  lock: opt.object({
    lock: opt.instance<DistributedLock>(isLock, 'a DistributedLock').required(),
    wait: opt.wait().default(3_000),
    ttl: opt.duration({ min: 100 }).default(15_000),
  }),
  prefilter: opt.instance<KeyPrefilter>(
    (v) => typeof v === 'object' && v !== null && typeof (v as KeyPrefilter).has === 'function',
    'an object with has(key) (a Bloom filter)',
  ),
  bus: opt.instance<BusTransport>(
    isBusTransport,
    'a bus transport (createRedisBus, createEtcdBus, createMemoryBus…)',
  ),
  heartbeatInterval: opt.duration({ min: 10 }).default(1_000),
  hashTagNamespaces: opt.boolean().default(false),
  maxKeyLength: opt.integer(16, 1024).default(1024),
  clock: opt.clock().default(systemClock),
};

/**
 * A cache over any tiers: by default an in-process W-TinyLFU L1, plus `l2` (any `CacheStore`:
 * memory, Redis, etcd) or a full `tiers` list. One code path for every store; see the README for
 * the read and write paths, the protections and the bus.
 */
export function createCache(options: CreateCacheOptions = {}): Cache {
  const o = parseOptions(PKG, options, SCHEMA);
  if (o.tiers && (o.l2 !== undefined || o.l1 !== undefined)) {
    throw invalidArgument(PKG, o.l2 !== undefined ? 'l2' : 'l1', 'must not be given together with tiers');
  }
  let l1: L1Tier | undefined;
  let stores: CacheStore[];
  if (o.tiers) {
    const l1s = o.tiers.filter(isL1Tier);
    if (l1s.length > 1 || (l1s.length === 1 && !isL1Tier(o.tiers[0]))) {
      throw invalidArgument(PKG, 'tiers', 'may hold one L1Tier, and only as the first tier');
    }
    l1 = l1s[0];
    stores = o.tiers.filter((t): t is CacheStore => !isL1Tier(t));
  } else {
    l1 = o.l1 === false ? undefined : new L1Tier(o.l1 ?? {});
    stores = o.l2 ? [o.l2] : [];
  }
  if (!l1 && stores.length === 0) {
    throw invalidArgument(PKG, 'l1', 'is false and no l2 or tiers were given: nothing to cache in');
  }
  const engine = new CacheEngine({
    name: o.name,
    clock: o.clock,
    l1,
    tiers: stores.map((s) => new StoreTier(s, o.clock, o.breakerDuration)),
    codec: new EntryCodec(o.serializer, new PayloadCompression(PKG, o.compression ?? false)),
    ttlJitter: o.ttlJitter,
    backoff: o.loaderBackoff,
    fallbackToLoader: o.fallbackToLoader,
    lock: o.lock,
    prefilter: o.prefilter,
  });
  engine.loads = new LoadCoordinator(engine);
  if (o.bus)
    engine.coherence = new Coherence(
      engine,
      o.bus,
      `${KEY_PREFIX.redis.cache}bus:${o.name}`,
      o.heartbeatInterval,
    );
  return new RootCache(engine, {
    ttl: o.ttl,
    grace: o.grace,
    negativeTtl: o.negativeTtl,
    softTimeout: o.softTimeout,
    hardTimeout: o.hardTimeout,
    earlyRefresh: o.earlyRefresh,
    maxKeyLength: o.maxKeyLength,
    hashTag: o.hashTagNamespaces,
  });
}

class RootCache extends CacheView implements Cache {
  #closing: Promise<void> | undefined;

  constructor(engine: CacheEngine, defaults: ConstructorParameters<typeof CacheView>[2]) {
    super(engine, '', defaults);
  }

  get name(): string {
    return this.engine.name;
  }

  stats(): CacheStats {
    const e = this.engine;
    const namespaces: Record<string, NamespaceStats> = {};
    for (const s of e.scopes()) namespaces[s.path] = s.counters.snapshot();
    const c = e.coherence;
    return {
      namespaces,
      l1: e.l1 ? { entries: e.l1.size, bytes: e.l1.bytes, evictions: e.l1.evictions } : undefined,
      tiers: e.tiers.map((t) => ({ name: t.name, open: t.open, failures: t.failures })),
      bus: c
        ? {
            connected: c.isConnected,
            trusted: c.trusted,
            gaps: c.gaps,
            flushes: c.flushes,
            received: c.received,
            published: c.published,
            stalenessBoundMs: c.stalenessBound,
          }
        : undefined,
    };
  }

  /**
   * Closes the cache and its bus transport (started by this cache). The stores are yours (several
   * caches may share one): close them yourself. Loads in flight see their signal fire.
   */
  close(): Promise<void> {
    this.#closing ??= this.engine.close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
