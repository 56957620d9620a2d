import type { DiscoveryBackend } from '../../contracts/discovery.js';
import type { TrafficRulesSource } from '../../contracts/traffic-rules.js';
import { invalidArgument } from '../../errors.js';
import { type Backoff, fullJitterBackoff } from '../../primitives/backoff.js';
import { type Clock, systemClock } from '../../primitives/clock.js';
import { assertDuration, assertNumberInRange } from '../../validation.js';
import type { DiscoveryClientOptions } from './types.js';

export const CLIENT_PKG = 'core/discovery-client';

export interface ResolvedClientOptions {
  backend: DiscoveryBackend;
  rules: TrafficRulesSource | undefined;
  panicThreshold: number;
  resyncInterval: number;
  staleAfter: number;
  syncTimeout: number;
  requestTimeout: number;
  backoff: Backoff;
  clock: Clock;
}

/** Validates client options (INVALID_ARGUMENT naming the field) and fills defaults. */
export function resolveClientOptions(options: DiscoveryClientOptions): ResolvedClientOptions {
  const pkg = CLIENT_PKG;
  if (typeof options !== 'object' || options === null)
    throw invalidArgument(pkg, 'options', 'must be an object');
  const { backend, rules } = options;
  if (
    typeof backend !== 'object' ||
    backend === null ||
    typeof backend.watch !== 'function' ||
    typeof backend.resolve !== 'function' ||
    typeof backend.register !== 'function'
  ) {
    throw invalidArgument(pkg, 'backend', 'must be a DiscoveryBackend (register, resolve, watch)');
  }
  if (
    rules !== undefined &&
    (typeof rules !== 'object' ||
      rules === null ||
      typeof rules.current !== 'function' ||
      typeof rules.subscribe !== 'function')
  ) {
    throw invalidArgument(pkg, 'rules', 'must be a TrafficRulesSource (current, subscribe)');
  }
  const clock = options.clock ?? systemClock;
  if (typeof clock?.setTimeout !== 'function' || typeof clock.monotonic !== 'function') {
    throw invalidArgument(pkg, 'clock', 'must be a Clock');
  }
  const panicThreshold = assertNumberInRange(pkg, 'panicThreshold', options.panicThreshold ?? 0.5, 0, 1);
  const resyncInterval = assertDuration(pkg, 'resyncInterval', options.resyncInterval ?? 60_000, {
    allowZero: true,
  });
  const staleAfter = assertDuration(
    pkg,
    'staleAfter',
    options.staleAfter ?? (resyncInterval === 0 ? 0 : 3 * resyncInterval),
    { allowZero: true },
  );
  if (staleAfter !== 0 && resyncInterval === 0) {
    throw invalidArgument(pkg, 'staleAfter', 'needs resyncInterval > 0 (a quiet watch is not a dead one)');
  }
  if (staleAfter !== 0 && staleAfter <= resyncInterval) {
    throw invalidArgument(
      pkg,
      'staleAfter',
      `must exceed resyncInterval (${resyncInterval} ms), got ${staleAfter}`,
    );
  }
  const syncTimeout = assertDuration(pkg, 'syncTimeout', options.syncTimeout ?? 10_000);
  const requestTimeout = assertDuration(pkg, 'requestTimeout', options.requestTimeout ?? 10_000);
  if (options.backoff !== undefined && (typeof options.backoff !== 'object' || options.backoff === null)) {
    throw invalidArgument(pkg, 'backoff', 'must be an object');
  }
  let backoff: Backoff;
  try {
    backoff = fullJitterBackoff(options.backoff);
  } catch (error) {
    const field = (error as { field?: string }).field ?? 'backoff';
    throw invalidArgument(pkg, field, 'is invalid', error);
  }
  return {
    backend,
    rules,
    panicThreshold,
    resyncInterval,
    staleAfter,
    syncTimeout,
    requestTimeout,
    backoff,
    clock,
  };
}
