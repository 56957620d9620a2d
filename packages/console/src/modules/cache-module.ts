import type { Cache, CacheNamespace, CacheStats, NamespaceStats } from '@switchyard/cache';
import type { ConsoleModule, ConsoleRequest, ConsoleRoute } from '../console-module.js';
import { badRequest } from '../http/http-error.js';

/** How often the live stream re-reads the cache's counters, ms. */
export const CACHE_REFRESH_MS = 2_000;

/** One namespace's counters with the ratios the page shows. */
export interface NamespaceView extends NamespaceStats {
  readonly path: string;
  /** Hits of each tier over the lookups that reached it (`null`: none reached it). */
  readonly tierHitRatio: readonly (number | null)[];
  /** All hits over all lookups (`null`: no lookup yet). */
  readonly hitRatio: number | null;
  /**
   * Misses that started no load of their own: callers that joined a load already in flight (stampede
   * coalescing), counting plain `get` misses too, which never load.
   */
  readonly missesWithoutLoad: number;
  /** Mean load time, ms (`null`: no load yet). */
  readonly meanLoadMs: number | null;
}

export interface CacheView extends Omit<CacheStats, 'namespaces' | 'l1' | 'bus'> {
  /** The L1's size (`null`: no L1). */
  readonly l1: NonNullable<CacheStats['l1']> | null;
  /** The invalidation bus (`null`: none configured). */
  readonly bus: NonNullable<CacheStats['bus']> | null;
  readonly name: string;
  /** Tier labels in lookup order (`L1`, then each store's name): the index of `hits`. */
  readonly tierNames: readonly string[];
  readonly namespaces: readonly NamespaceView[];
  readonly at: string;
}

const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 10_000) / 10_000);

export function cacheView(cache: Cache): CacheView {
  const s = cache.stats();
  const tierNames = [...(s.l1 ? ['L1'] : []), ...s.tiers.map((t) => t.name)];
  const namespaces = Object.entries(s.namespaces)
    .map(([path, n]): NamespaceView => {
      const hits = n.hits.reduce((a, b) => a + b, 0);
      return {
        path,
        ...n,
        tierHitRatio: n.hits.map((h, i) => ratio(h, n.hits.slice(i).reduce((a, b) => a + b, 0) + n.misses)),
        hitRatio: ratio(hits, hits + n.misses),
        missesWithoutLoad: Math.max(0, n.misses - n.loads),
        meanLoadMs: n.loads === 0 ? null : Math.round((n.loadTimeMs / n.loads) * 100) / 100,
      };
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    name: cache.name,
    tierNames,
    l1: s.l1 ?? null,
    tiers: s.tiers,
    bus: s.bus ?? null,
    namespaces,
    at: new Date().toISOString(),
  };
}

const TEXT = { test: (v: string) => v.length >= 1 && v.length <= 512 && !hasControl(v) };

/** Any C0 control character or DEL. */
function hasControl(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 32 || c === 127) return true;
  }
  return false;
}

function namespacePath(req: ConsoleRequest): string {
  const ns = req.body['namespace'] ?? '';
  if (typeof ns !== 'string' || (ns !== '' && (!TEXT.test(ns) || ns.split(':').some((p) => p === '')))) {
    throw badRequest('namespace', "must be a namespace path ('' for the root, users, users:admins)");
  }
  return ns;
}

function namespaceOf(cache: Cache, path: string): CacheNamespace {
  let ns: CacheNamespace = cache;
  for (const part of path.split(':').filter(Boolean)) ns = ns.namespace(part);
  return ns;
}

function tagsOf(req: ConsoleRequest): string[] {
  const raw = req.body['tags'];
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || list.length === 0 || list.length > 100) {
    throw badRequest('tags', 'must be 1 to 100 tags');
  }
  for (const t of list)
    if (typeof t !== 'string' || !TEXT.test(t))
      throw badRequest('tags', 'must be non-empty strings of at most 512 characters');
  return [...new Set(list as string[])];
}

function keyOf(req: ConsoleRequest): string {
  const key = req.body['key'];
  if (typeof key !== 'string' || !TEXT.test(key)) {
    throw badRequest('key', 'must be a non-empty string of at most 512 characters');
  }
  return key;
}

function softOf(req: ConsoleRequest): boolean {
  const soft = req.body['soft'] ?? false;
  if (typeof soft !== 'boolean') throw badRequest('soft', 'must be true (expire) or false (delete)');
  return soft;
}

/** Where an invalidation goes: this cache's tiers, and the other processes over the bus if there is one. */
function reach(cache: Cache): { tiers: string[]; others: string } {
  const s = cache.stats();
  const tiers = [...(s.l1 ? ['L1'] : []), ...s.tiers.map((t) => t.name)];
  const others = !s.bus
    ? 'no bus is configured: other processes keep their L1 copies until they expire'
    : s.bus.connected
      ? `other instances are told over the bus (their L1 copies are dropped; staleness bound ${s.bus.stalenessBoundMs} ms)`
      : 'the bus is DISCONNECTED: other instances are told when it reconnects (they flush their L1 then)';
  return { tiers, others };
}

const nsLabel = (path: string) => (path === '' ? 'the root namespace' : `namespace ${path}`);

/** The Cache page: per-namespace counters, live; delete / expire by tag and delete by key. */
export function cacheModule(cache: Cache): ConsoleModule {
  const routes: ConsoleRoute[] = [
    { method: 'GET', pattern: '/api/cache', handle: async () => cacheView(cache) },
    {
      method: 'GET',
      pattern: '/api/cache/live',
      async stream(req, send) {
        while (!req.signal.aborted) {
          send(cacheView(cache));
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, CACHE_REFRESH_MS);
            req.signal.addEventListener('abort', () => {
              clearTimeout(t);
              resolve();
            });
          });
        }
      },
    },
    {
      method: 'POST',
      pattern: '/api/cache/invalidate-tags',
      mutation: {
        target: (req) => `cache ${cache.name} ${nsLabel(namespacePath(req))} tags ${tagsOf(req).join(', ')}`,
        preview(req) {
          const path = namespacePath(req);
          const tags = tagsOf(req);
          const soft = softOf(req);
          const { tiers, others } = reach(cache);
          const what = soft
            ? 'expire (served stale within their grace while refreshing)'
            : 'delete (gone at once, no grace)';
          return {
            summary: `${what} every entry tagged ${tags.join(', ')} in ${nsLabel(path)} (and its sub-namespaces) of cache ${cache.name}, in ${tiers.join(' + ')}; ${others}`,
            details: {
              cache: cache.name,
              namespace: path,
              tags,
              mode: soft ? 'expire' : 'delete',
              tiers,
              others,
            },
          };
        },
      },
      async handle(req) {
        const path = namespacePath(req);
        const tags = tagsOf(req);
        const soft = softOf(req);
        const ns = namespaceOf(cache, path);
        if (soft) await ns.expireByTag(tags, { signal: req.signal });
        else await ns.deleteByTag(tags, { signal: req.signal });
        return { namespace: path, tags, mode: soft ? 'expired' : 'deleted' };
      },
    },
    {
      method: 'POST',
      pattern: '/api/cache/delete-key',
      mutation: {
        target: (req) => `cache ${cache.name} ${nsLabel(namespacePath(req))} key ${keyOf(req)}`,
        async preview(req) {
          const path = namespacePath(req);
          const key = keyOf(req);
          const present = await namespaceOf(cache, path).has(key, { allowStale: true, signal: req.signal });
          const { tiers, others } = reach(cache);
          return {
            summary: `delete key ${key} in ${nsLabel(path)} of cache ${cache.name} from ${tiers.join(' + ')} (${present ? 'it is cached now' : 'it is not cached here now'}); ${others}`,
            details: { cache: cache.name, namespace: path, key, present, tiers, others },
          };
        },
      },
      async handle(req) {
        const path = namespacePath(req);
        const key = keyOf(req);
        const deleted = await namespaceOf(cache, path).delete(key, { signal: req.signal });
        return { namespace: path, key, deleted };
      },
    },
  ];
  return { name: 'cache', title: 'Cache', routes };
}
