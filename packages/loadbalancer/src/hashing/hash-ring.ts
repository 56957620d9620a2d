import type { ServiceInstance } from '@switchyard/core';
import { invalidArgument } from '@switchyard/core';
import { endpointKeyOf, PKG, type PreparedSet } from '../weights/prepared-set.js';
import { hashString } from './murmur3.js';

/**
 * A sorted ring of virtual-node points: `hashes[i]` is owned by instance `owners[i]`. `index[b]` is
 * the first point whose top `32 − shift` bits are >= b, so a lookup binary-searches only its bucket.
 */
export interface HashRing {
  readonly hashes: Uint32Array;
  readonly owners: Int32Array;
  readonly index: Uint32Array;
  readonly shift: number;
}

export interface HashRingOptions {
  /** Virtual nodes per unit of weight (the smallest positive weight is one unit). Default 160. */
  vnodes?: number;
  /** Upper bound on ring points; weights scale down to fit. Default 1 048 576. */
  maxPoints?: number;
  /** Metadata key holding a stable endpoint key (default `hash_key`); the instance id otherwise. */
  hashKeyMetadata?: string;
}

export function validateRingOptions(field: string, options: HashRingOptions): Required<HashRingOptions> {
  const vnodes = options.vnodes ?? 160;
  if (!Number.isInteger(vnodes) || vnodes < 1 || vnodes > 65536)
    throw invalidArgument(PKG, `${field}.vnodes`, `must be an integer in 1..65536, got ${String(vnodes)}`);
  const maxPoints = options.maxPoints ?? 1 << 20;
  if (!Number.isInteger(maxPoints) || maxPoints < 1 || maxPoints > 1 << 24)
    throw invalidArgument(
      PKG,
      `${field}.maxPoints`,
      `must be an integer in 1..16777216, got ${String(maxPoints)}`,
    );
  const hashKeyMetadata = options.hashKeyMetadata ?? 'hash_key';
  if (typeof hashKeyMetadata !== 'string' || hashKeyMetadata === '')
    throw invalidArgument(PKG, `${field}.hashKeyMetadata`, 'must be a non-empty string');
  return { vnodes, maxPoints, hashKeyMetadata };
}

/**
 * Points per instance, Envoy-style: weights are normalised by the largest one (so no ratio between
 * finite weights overflows or wraps), then `vnodes` points per smallest weight unit, or fewer so the
 * ring stays within `maxPoints` (+ one point per instance). Every positive weight keeps at least one
 * point, so its share is within about 1 / maxPoints of its weight share.
 */
export function pointCounts(weights: Float64Array, options: Required<HashRingOptions>): Float64Array {
  const n = weights.length;
  const counts = new Float64Array(n);
  let maxW = 0;
  for (const w of weights) if (w > maxW) maxW = w;
  if (maxW === 0) return counts;
  let minR = 1;
  let sumR = 0;
  for (const w of weights) {
    const r = w / maxW;
    if (r > 0 && r < minR) minR = r;
    sumR += r;
  }
  const unit = Math.min(options.vnodes / minR, options.maxPoints / sumR);
  for (let i = 0; i < n; i++) {
    const w = weights[i] as number;
    counts[i] = w > 0 ? Math.max(1, Math.round((w / maxW) * unit)) : 0;
  }
  return counts;
}

/**
 * Ketama-style ring: instance with weight w gets about vnodes × w / minWeight points (`pointCounts`) hashed from
 * `<endpointKey>_<n>`. Ties are broken by endpoint key, so the ring depends only on the set of
 * (key, weight) pairs, never on array order or the process.
 */
export function buildHashRing<T extends ServiceInstance>(
  set: PreparedSet<T>,
  options: Required<HashRingOptions>,
): HashRing {
  const n = set.instances.length;
  if (n > 1 << 20) throw invalidArgument(PKG, 'instances', 'must hold at most 1048576 instances for a ring');
  const counts = pointCounts(set.weights, options);
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return withIndex(new Uint32Array(0), new Int32Array(0));
  const keys = set.instances.map((inst) => endpointKeyOf(inst, options.hashKeyMetadata));
  const order = keys.map((_, i) => i).sort((a, b) => ((keys[a] as string) < (keys[b] as string) ? -1 : 1));
  const rankToIndex = Int32Array.from(order);
  const packed = new Float64Array(total);
  let p = 0;
  for (let rank = 0; rank < n; rank++) {
    const i = rankToIndex[rank] as number;
    const key = keys[i] as string;
    const c = counts[i] as number;
    for (let v = 0; v < c; v++) packed[p++] = hashString(`${key}_${v}`) * 1048576 + rank;
  }
  packed.sort();
  const hashes = new Uint32Array(total);
  const owners = new Int32Array(total);
  for (let k = 0; k < total; k++) {
    const x = packed[k] as number;
    const h = Math.floor(x / 1048576);
    hashes[k] = h;
    owners[k] = rankToIndex[x - h * 1048576] as number;
  }
  return withIndex(hashes, owners);
}

/** Adds the bucket index: about one bucket per point (between 2^8 and 2^20 buckets). */
function withIndex(hashes: Uint32Array, owners: Int32Array): HashRing {
  const bits = Math.min(20, Math.max(8, Math.ceil(Math.log2(Math.max(1, hashes.length)))));
  const shift = 32 - bits;
  const buckets = 1 << bits;
  const index = new Uint32Array(buckets + 1);
  let p = 0;
  for (let b = 0; b <= buckets; b++) {
    while (p < hashes.length && (hashes[p] as number) >>> shift < b) p++;
    index[b] = p;
  }
  return { hashes, owners, index, shift };
}

/** Index of the first ring point >= h (wrapping to 0): binary search within h's bucket. */
export function ringIndex(ring: HashRing, h: number): number {
  const { hashes, index } = ring;
  const b = h >>> ring.shift;
  let lo = index[b] as number;
  let hi = index[b + 1] as number;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((hashes[mid] as number) < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === hashes.length ? 0 : lo;
}
