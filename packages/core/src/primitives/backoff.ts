import { invalidArgument } from '../errors.js';
import { assertDuration, assertNumberInRange } from '../validation.js';

export interface BackoffOptions {
  /** First delay in ms (default 100). */
  base?: number;
  /** Cap in ms (default 30 000). */
  max?: number;
  /** Growth factor per attempt (default 2). */
  factor?: number;
  /** Random source in [0, 1) (default `Math.random`); inject for deterministic tests. */
  random?: () => number;
}

export type Backoff = (attempt: number) => number;

/**
 * Exponential backoff with full jitter (AWS architecture blog): delay = random(0, min(max, base × factor^attempt)).
 * `attempt` starts at 0.
 */
export function fullJitterBackoff(
  options: BackoffOptions = {},
  at: { pkg: string; field: string } = { pkg: 'core', field: 'backoff' },
): Backoff {
  const base = assertDuration(at.pkg, `${at.field}.base`, options.base ?? 100);
  const max = assertDuration(at.pkg, `${at.field}.max`, options.max ?? 30_000);
  const factor = assertNumberInRange(at.pkg, `${at.field}.factor`, options.factor ?? 2, 1, 100);
  if (options.random !== undefined && typeof options.random !== 'function') {
    throw invalidArgument(at.pkg, `${at.field}.random`, 'must be a function returning a number in [0, 1)');
  }
  const random = clampedRandom(options.random ?? Math.random);
  return (attempt) => {
    const ceiling = Math.min(max, base * factor ** Math.max(0, attempt));
    return Math.floor(random() * ceiling);
  };
}

/** Spreads `ms` uniformly over ±`ratio` (default ±10 %): for TTL jitter and fallback polls. */
export function jitter(ms: number, ratio = 0.1, random: () => number = Math.random): number {
  return Math.max(0, ms * (1 - ratio + 2 * ratio * random()));
}

/** Wraps an injected random source so that a broken one (NaN, 1, negative) cannot poison delays. */
export function clampedRandom(random: () => number): () => number {
  if (random === Math.random) return random;
  return () => {
    const r = random();
    return r >= 0 && r < 1 ? r : r >= 1 ? 0.999_999_999 : 0;
  };
}
