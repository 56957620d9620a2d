/**
 * The negative-cache result: a loader returns `MISSING` to say "this key has no value" (the row
 * does not exist). It is cached with its own short TTL (`negativeTtl`) and `getOrSet` returns
 * `MISSING` again from the cache, so repeated lookups of absent keys stop reaching the source
 * (cache penetration). It is distinct from `undefined`, which is a value like any other.
 */
export const MISSING: unique symbol = Symbol.for('@switchyard/cache/MISSING');
export type Missing = typeof MISSING;
