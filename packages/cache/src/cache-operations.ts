import { type CacheEngine, DEAD, FRESH } from './cache-engine.js';
import { makeEntry, normaliseTags, type StoredEntry, storeTtl } from './entry.js';
import { MISSING } from './missing.js';
import type { Scope } from './scope.js';
import { recordKey, TAG_RECORD_TTL, TagRegistry } from './tag-registry.js';

/** A write with its defaults applied. */
export interface WriteCall {
  ttl: number;
  grace: number;
  tags: readonly string[];
}

const full = (scope: Scope, key: string) => (scope.prefix === '' ? key : scope.prefix + key);

/** A fresh L1 entry for `key` (the access counted), synchronously; `undefined` otherwise. */
export function freshInL1(engine: CacheEngine, scope: Scope, key: string): StoredEntry | undefined {
  const e = engine.l1?.get(full(scope, key));
  if (e === undefined || engine.classify(e, engine.clock.now(), scope.prefix) !== FRESH) return undefined;
  scope.counters.hits[0]!++;
  return e;
}

/**
 * The entry for `key` (fresh, or stale when `allowStale`), or `undefined`. Store errors are thrown
 * when nothing answered. `afterL1`: `freshInL1` already looked (and counted the access).
 */
export async function find(
  engine: CacheEngine,
  scope: Scope,
  key: string,
  allowStale: boolean,
  afterL1 = false,
): Promise<StoredEntry | undefined> {
  const fullKey = full(scope, key);
  const c = scope.counters;
  let stale: StoredEntry | undefined;
  const e = afterL1 ? engine.l1?.peek(fullKey) : engine.l1?.get(fullKey);
  if (e !== undefined) {
    const state = engine.classify(e, engine.clock.now(), scope.prefix);
    if (state === FRESH) {
      c.hits[0]!++;
      return e;
    }
    if (state !== DEAD && allowStale && e.suspect === undefined) stale = e;
  }
  if (engine.tiers.length > 0) {
    const r = await engine.readStores(scope, fullKey);
    if (r.fresh) {
      c.hits[engine.l1Offset + r.tier]!++;
      return r.fresh;
    }
    if (allowStale && r.stale && !stale) stale = r.stale;
    if (stale) {
      c.staleServed++;
      return stale;
    }
    c.misses++;
    if (r.error !== undefined) throw r.error;
    return undefined;
  }
  if (stale) c.staleServed++;
  else c.misses++;
  return stale;
}

export function entryOf(
  engine: CacheEngine,
  value: unknown,
  w: WriteCall,
): { entry: StoredEntry; payload: string } {
  const payload = engine.codec.payload(value);
  const now = engine.clock.now();
  const entry = makeEntry(
    value,
    { ttl: engine.jittered(w.ttl), grace: w.grace },
    now,
    now,
    0,
    normaliseTags(w.tags),
    payload.length,
  );
  return { entry, payload };
}

export async function set(
  engine: CacheEngine,
  scope: Scope,
  key: string,
  value: unknown,
  w: WriteCall,
  signal: AbortSignal | undefined,
): Promise<void> {
  const fullKey = full(scope, key);
  engine.loads.supersede(fullKey);
  scope.counters.sets++;
  const { entry, payload } = entryOf(engine, value, w);
  await engine.write(scope, fullKey, entry, payload, true, signal);
}

export async function getMany(
  engine: CacheEngine,
  scope: Scope,
  keys: readonly string[],
  allowStale: boolean,
): Promise<(StoredEntry | undefined)[]> {
  const out = new Array<StoredEntry | undefined>(keys.length);
  const fallback = new Array<StoredEntry | undefined>(keys.length);
  const c = scope.counters;
  let remaining: number[] = [];
  let now = engine.clock.now();
  keys.forEach((k, i) => {
    const e = engine.l1?.get(full(scope, k));
    const state = e === undefined ? DEAD : engine.classify(e, now, scope.prefix);
    if (state === FRESH) {
      c.hits[0]!++;
      out[i] = e;
    } else {
      if (state !== DEAD && e!.suspect === undefined) fallback[i] = e;
      remaining.push(i);
    }
  });
  let error: unknown;
  for (let t = 0; t < engine.tiers.length && remaining.length > 0; t++) {
    const tier = engine.tiers[t]!;
    let texts: (string | undefined)[];
    try {
      texts = await tier.call('getMany', (s) => s.getMany(remaining.map((i) => full(scope, keys[i]!))));
    } catch (e) {
      error ??= e;
      continue;
    }
    const next: number[] = [];
    now = engine.clock.now();
    for (let j = 0; j < remaining.length; j++) {
      const i = remaining[j]!;
      const text = texts[j];
      const e = text === undefined ? undefined : engine.codec.decode(text);
      if (e && e.tags.length > 0)
        await engine.tags.load(tier, e, scope.prefix, engine.coherence !== undefined).catch(() => {});
      const state = e === undefined ? DEAD : engine.classify(e, now, scope.prefix);
      if (state === FRESH) {
        c.hits[engine.l1Offset + t]!++;
        out[i] = e;
        engine.l1Put(full(scope, keys[i]!), e!, now);
      } else {
        if (state !== DEAD) fallback[i] ??= e;
        next.push(i);
      }
    }
    remaining = next;
  }
  for (const i of remaining) {
    if (allowStale && fallback[i]) {
      c.staleServed++;
      out[i] = fallback[i];
    } else c.misses++;
  }
  if (error !== undefined && remaining.some((i) => out[i] === undefined)) throw error;
  return out;
}

export async function setMany(
  engine: CacheEngine,
  scope: Scope,
  entries: readonly { key: string; value: unknown; write: WriteCall }[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const now = engine.clock.now();
  const rows: { key: string; value: string; ttl?: number }[] = [];
  const keys: string[] = [];
  for (const item of entries) {
    const fullKey = full(scope, item.key);
    engine.loads.supersede(fullKey);
    const { entry, payload } = entryOf(engine, item.value, item.write);
    engine.l1Put(fullKey, entry, now);
    keys.push(fullKey);
    const ttl = storeTtl(entry, now);
    if (ttl !== undefined && ttl < 1) continue;
    rows.push({
      key: fullKey,
      value: engine.codec.encode(entry, payload),
      ...(ttl === undefined ? {} : { ttl: Math.ceil(ttl) }),
    });
  }
  scope.counters.sets += entries.length;
  try {
    if (rows.length > 0)
      await engine.eachStore('setMany', (t) => t.store.setMany(rows, signal ? { signal } : {}));
  } finally {
    engine.coherence?.invalidate(scope.prefix, keys);
    if (engine.events.wants('cache:written'))
      engine.events.emit('cache:written', { cache: engine.name, namespace: scope.path, keys });
  }
}

export async function deleteMany(
  engine: CacheEngine,
  scope: Scope,
  keys: readonly string[],
  signal: AbortSignal | undefined,
): Promise<number> {
  const fullKeys = keys.map((k) => full(scope, k));
  let local = 0;
  for (const k of fullKeys) {
    engine.loads.supersede(k);
    const e = engine.l1?.peek(k);
    if (e !== undefined && e.value !== MISSING && engine.l1!.delete(k)) local++;
    else engine.l1?.delete(k);
  }
  scope.counters.deletes += keys.length;
  try {
    const counts = await engine.eachStore('deleteMany', (t) =>
      t.store.deleteMany(fullKeys, signal ? { signal } : {}),
    );
    return Math.max(local, ...counts);
  } finally {
    engine.coherence?.invalidate(scope.prefix, fullKeys);
    if (engine.events.wants('cache:deleted')) {
      engine.events.emit('cache:deleted', { cache: engine.name, namespace: scope.path, keys: fullKeys });
    }
  }
}

/** Removes the namespace from every tier (its sub-namespaces and tag records included). */
export async function clear(
  engine: CacheEngine,
  scope: Scope,
  signal: AbortSignal | undefined,
): Promise<void> {
  engine.dropPrefix(scope.prefix);
  try {
    await engine.eachStore('clear', (t) =>
      t.store.clear(scope.prefix === '' ? undefined : scope.prefix, signal ? { signal } : {}),
    );
  } finally {
    engine.coherence?.clear(scope.prefix);
  }
  if (engine.events.wants('cache:cleared'))
    engine.events.emit('cache:cleared', { cache: engine.name, namespace: scope.path });
}

/** `deleteByTag` (`mode: 'delete'`) and `expireByTag` (`'expire'`). */
export async function invalidateTags(
  engine: CacheEngine,
  scope: Scope,
  tags: readonly string[],
  mode: 'delete' | 'expire',
  signal: AbortSignal | undefined,
): Promise<void> {
  const now = engine.clock.now();
  const records: [string, number, number][] = [];
  for (const tag of new Set(tags)) {
    const id = TagRegistry.id(scope.prefix, tag);
    const r = engine.tags.merge(id, mode === 'delete' ? now : 0, mode === 'expire' ? now : 0);
    records.push([id, r.deletedAt, r.expiredAt]);
  }
  try {
    await engine.eachStore('tag records', (t) =>
      t.store.setMany(
        records.map(([id]) => ({ key: recordKey(id, mode), value: String(now), ttl: TAG_RECORD_TTL })),
        signal ? { signal } : {},
      ),
    );
  } finally {
    engine.coherence?.tags(scope.prefix, records);
  }
  if (engine.events.wants('cache:tags'))
    engine.events.emit('cache:tags', { cache: engine.name, namespace: scope.path, tags, mode });
}
