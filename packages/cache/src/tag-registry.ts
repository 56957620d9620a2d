import type { StoredEntry } from './entry.js';
import type { StoreTier } from './store-tier.js';

/** Key of a tag's invalidation record, inside its namespace (so a namespace clear drops it too). */
export const TAG_MARK = '\u0001tag:';
/** Tag records live 30 days in the stores. */
export const TAG_RECORD_TTL = 30 * 24 * 3600 * 1000;

export interface TagRecord {
  deletedAt: number;
  expiredAt: number;
}

export const TAG_OK = 0;
export const TAG_EXPIRED = 1;
export const TAG_DELETED = 2;

/**
 * Tag invalidation is lazy (FusionCache, bentocache): `deleteByTag(t)` stores "t deleted at T"
 * and an entry tagged `t` and created at or before T is gone; `expireByTag` stores "expired at T"
 * and such an entry is stale (served within its grace while it refreshes). Records are kept in every
 * store and here; the bus carries updates to the other processes.
 */
export class TagRegistry {
  readonly #records = new Map<string, TagRecord>();

  static id(prefix: string, tag: string): string {
    return prefix + TAG_MARK + tag;
  }

  /** TAG_OK, TAG_EXPIRED or TAG_DELETED for an entry of the namespace `prefix`. */
  check(e: StoredEntry, prefix: string): number {
    let state = TAG_OK;
    for (const tag of e.tags) {
      const r = this.#records.get(prefix + TAG_MARK + tag);
      if (r === undefined) continue;
      if (e.createdAt <= r.deletedAt) return TAG_DELETED;
      if (e.createdAt <= r.expiredAt) state = TAG_EXPIRED;
    }
    return state;
  }

  has(id: string): boolean {
    return this.#records.has(id);
  }

  get(id: string): TagRecord | undefined {
    return this.#records.get(id);
  }

  /** Merges a record (times only move forward). Returns the merged record. */
  merge(id: string, deletedAt: number, expiredAt: number): TagRecord {
    const r = this.#records.get(id);
    const merged = {
      deletedAt: Math.max(r?.deletedAt ?? 0, deletedAt),
      expiredAt: Math.max(r?.expiredAt ?? 0, expiredAt),
    };
    this.#records.set(id, merged);
    return merged;
  }

  /** Forgets the records of a namespace (they are read again from the stores when needed). */
  forgetPrefix(prefix: string): void {
    if (prefix === '') {
      this.#records.clear();
      return;
    }
    for (const id of [...this.#records.keys()]) if (id.startsWith(prefix)) this.#records.delete(id);
  }

  /** Reads the records of `e`'s tags from `tier` (all of them, or only unknown ones). */
  async load(tier: StoreTier, e: StoredEntry, prefix: string, onlyUnknown: boolean): Promise<void> {
    const ids = e.tags
      .map((t) => prefix + TAG_MARK + t)
      .filter((id) => !onlyUnknown || !this.#records.has(id));
    if (ids.length === 0) return;
    const texts = await tier.call('tag records', (s) =>
      s.getMany(ids.flatMap((id) => [recordKey(id, 'delete'), recordKey(id, 'expire')])),
    );
    ids.forEach((id, i) =>
      this.merge(id, Number(texts[2 * i] ?? 0) || 0, Number(texts[2 * i + 1] ?? 0) || 0),
    );
  }
}

/**
 * Store key of one half of a tag record: the delete time and the expire time are kept apart, so
 * two processes invalidating the same tag in different modes never overwrite each other's time.
 */
export const recordKey = (id: string, mode: 'delete' | 'expire'): string =>
  `${id}:${mode === 'delete' ? 'd' : 'x'}`;
