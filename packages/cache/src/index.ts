export { type BloomFilter, type BloomFilterOptions, createBloomFilter } from './bloom-filter.js';
export type { BusListener, BusTransport } from './bus/bus-transport.js';
export { createMemoryBus, MemoryBusHub, MemoryBusTransport } from './bus/memory-bus.js';
export type { CacheDiagnosticsPayloads, CacheEventMap, CacheEventName } from './cache-events.js';
export { createCache } from './create-cache.js';
export { createL1Tier, type L1Tier } from './l1/l1-tier.js';
export { MISSING, type Missing } from './missing.js';
export { jsonSerializer, type Serializer } from './serializer.js';
export type {
  Cache,
  CacheNamespace,
  CacheStats,
  CompressionOptions,
  CreateCacheOptions,
  GetOptions,
  GetOrSetOptions,
  KeyPrefilter,
  L1Options,
  Loader,
  LoaderContext,
  NamespaceStats,
  SetManyEntry,
  StampedeLockOptions,
  WarmOptions,
  WarmResult,
  WriteOptions,
} from './types.js';
