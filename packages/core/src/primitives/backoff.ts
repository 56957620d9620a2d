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
export function fullJitterBackoff(options: BackoffOptions = {}): Backoff {
  const base = assertDuration('core', 'backoff.base', options.base ?? 100);
  const max = assertDuration('core', 'backoff.max', options.max ?? 30_000);
  const factor = assertNumberInRange('core', 'backoff.factor', options.factor ?? 2, 1, 100);
  const random = options.random ?? Math.random;
  return (attempt) => {
    const ceiling = Math.min(max, base * factor ** Math.max(0, attempt));
    return Math.floor(random() * ceiling);
  };
}

/** Spreads `ms` uniformly over ±`ratio` (default ±10 %): for TTL jitter and fallback polls. */
export function jitter(ms: number, ratio = 0.1, random: () => number = Math.random): number {
  return Math.max(0, ms * (1 - ratio + 2 * ratio * random()));
}
