import type { DiscoveryBackend } from '../../contracts/discovery.js';
import type { TrafficRulesSource } from '../../contracts/traffic-rules.js';
import { invalidArgument } from '../../errors.js';
import { opt, parseOptions } from '../../options/option-schema.js';
import type { Backoff } from '../../primitives/backoff.js';
import { type Clock, systemClock } from '../../primitives/clock.js';
import type { DiscoveryClientOptions } from './types.js';

export const CLIENT_PKG = 'core';

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
  onListenerError: ((error: unknown, event: string) => void) | undefined;
}

const SCHEMA = {
  backend: opt
    .instance<DiscoveryBackend>((v) => {
      const b = v as Partial<DiscoveryBackend> | null;
      return (
        typeof b === 'object' &&
        b !== null &&
        typeof b.watch === 'function' &&
        typeof b.resolve === 'function' &&
        typeof b.register === 'function'
      );
    }, 'a DiscoveryBackend (register, resolve, watch)')
    .required(),
  rules: opt.instance<TrafficRulesSource>((v) => {
    const r = v as Partial<TrafficRulesSource> | null;
    return (
      typeof r === 'object' &&
      r !== null &&
      typeof r.current === 'function' &&
      typeof r.subscribe === 'function'
    );
  }, 'a TrafficRulesSource (current, subscribe)'),
  panicThreshold: opt.number(0, 1).default(0.5),
  resyncInterval: opt.duration({ allowZero: true }).default(15_000),
  staleAfter: opt.duration({ allowZero: true }),
  syncTimeout: opt.duration().default(10_000),
  requestTimeout: opt.duration().default(10_000),
  backoff: opt.backoff({ base: 100, max: 30_000 }),
  clock: opt.clock().default(systemClock),
  onListenerError: opt.func<(error: unknown, event: string) => void>(),
};

/** Validates client options (INVALID_ARGUMENT naming the field, unknown keys included) and fills defaults. */
export function resolveClientOptions(options: DiscoveryClientOptions): ResolvedClientOptions {
  const pkg = CLIENT_PKG;
  const o = parseOptions(pkg, options, SCHEMA);
  const { resyncInterval } = o;
  const staleAfter = o.staleAfter ?? (resyncInterval === 0 ? 0 : 3 * resyncInterval);
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
  return { ...o, staleAfter };
}
