import { channel, subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { DiagnosticsPayloads } from './diagnostics-payloads.js';

/**
 * Observability without lock-in: Switchyard publishes its events on `node:diagnostics_channel`
 * under `switchyard:<noun>:<verb>` (for example `switchyard:lease:lost`,
 * `switchyard:registration:restored`, `switchyard:discovery:stale`). Subscribe with
 * `subscribeDiagnostic(name, fn)` (typed by `DiagnosticsPayloads`) or
 * `diagnostics_channel.subscribe(name, fn)`; nothing is computed when nobody listens. Every payload
 * carries `source`: the package that published it (`core`, `lock-redis`, `discovery-etcd`, …).
 */
export const DIAGNOSTICS_PREFIX = 'switchyard:';

/** Every channel name Switchyard publishes on, for discovery by tooling. */
export const DIAGNOSTICS_CHANNELS = [
  'switchyard:lease:acquired',
  'switchyard:lease:released',
  'switchyard:lease:lost',
  'switchyard:registration:lost',
  'switchyard:registration:restored',
  'switchyard:discovery:stale',
  'switchyard:discovery:recovered',
  'switchyard:discovery:resync',
  'switchyard:discovery:panic',
  'switchyard:discovery:error',
  'switchyard:discovery:regression',
  'switchyard:discovery:watch-error',
  // @switchyard/loadbalancer (payloads carry `service`)
  'switchyard:balancer:instances-changed',
  'switchyard:balancer:breaker-changed',
  'switchyard:balancer:ejected',
  'switchyard:balancer:returned',
  'switchyard:balancer:watch-error',
  'switchyard:balancer:budget-exhausted',
] as const satisfies readonly (keyof DiagnosticsPayloads)[];

/**
 * Publishes `message` on `switchyard:<event>` if anyone subscribed. With `source`, the published
 * payload is `{ ...message, ...extra, source }` (built only when somebody listens).
 */
export function publishDiagnostic(
  event: string,
  message: unknown,
  source?: string,
  extra?: Readonly<Record<string, unknown>>,
): void {
  const ch = channel(DIAGNOSTICS_PREFIX + event);
  if (!ch.hasSubscribers) return;
  const tagged = source !== undefined && typeof message === 'object' && message !== null;
  ch.publish(tagged ? { ...message, ...extra, source } : message);
}

/**
 * Subscribes to one Switchyard diagnostics channel with a listener typed by `DiagnosticsPayloads`
 * (node's own `subscribe` types the message as `unknown`). Returns the unsubscribe function.
 */
export function subscribeDiagnostic<N extends keyof DiagnosticsPayloads>(
  name: N,
  listener: (payload: DiagnosticsPayloads[N], name: N) => void,
): () => void {
  const fn = listener as unknown as (message: unknown, name: string | symbol) => void;
  subscribe(name, fn);
  return () => {
    unsubscribe(name, fn);
  };
}
