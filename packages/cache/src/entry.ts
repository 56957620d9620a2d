import { MISSING } from './missing.js';

/**
 * One cached entry, as every tier understands it. Times are wall-clock ms (entries cross
 * processes). `freshUntil` is the logical expiry (ttl), `staleUntil` the end of the grace period
 * (the store's physical TTL); `createdAt` is when the value was read from the source (the start of
 * its load), compared with tag and namespace invalidation times.
 */
export interface StoredEntry {
  /** The value, or `MISSING` for a negative entry. */
  readonly value: unknown;
  readonly createdAt: number;
  readonly freshUntil: number;
  readonly staleUntil: number;
  /** Time the loader took, ms (XFetch's δ). */
  readonly delta: number;
  /** Sorted, unique. */
  readonly tags: readonly string[];
  /** `tags` joined by `,`: compared with the tags a `getOrSet` asks for. */
  readonly tagsKey: string;
  /** Length of the serialised payload (the L1 weight), characters. */
  readonly size: number;
  /**
   * L1 only: demoted because invalidations may have been missed (a bus gap or reconnect). Never
   * served as fresh nor as stale-while-revalidate; only when the source fails (stale-on-error).
   */
  readonly suspect?: true;
}

export const NO_TAGS: readonly string[] = Object.freeze([]);

export function normaliseTags(tags: readonly string[] | undefined): readonly string[] {
  if (tags === undefined || tags.length === 0) return NO_TAGS;
  if (tags.length === 1) return tags;
  return [...new Set(tags)].sort();
}

export interface EntryTimes {
  ttl: number;
  grace: number;
}

/** Builds an entry written now; `ttl`/`grace` may be `Infinity`. */
export function makeEntry(
  value: unknown,
  times: EntryTimes,
  now: number,
  createdAt: number,
  delta: number,
  tags: readonly string[],
  size: number,
): StoredEntry {
  const freshUntil = now + times.ttl;
  return {
    value,
    createdAt,
    freshUntil,
    staleUntil: freshUntil + times.grace,
    delta,
    tags,
    tagsKey: tags.length === 0 ? '' : tags.join(','),
    size,
  };
}

export const isNegative = (e: StoredEntry): boolean => e.value === MISSING;

/** Remaining physical lifetime of `e` for a store, ms; `undefined` = no expiry; `<= 0` = already gone. */
export function storeTtl(e: StoredEntry, now: number): number | undefined {
  return Number.isFinite(e.staleUntil) ? e.staleUntil - now : undefined;
}
