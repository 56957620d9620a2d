import { channel } from 'node:diagnostics_channel';

/**
 * Observability without lock-in: Switchyard publishes its events on `node:diagnostics_channel`
 * under `switchyard:<noun>:<verb>` (for example `switchyard:lease:lost`,
 * `switchyard:registration:restored`, `switchyard:discovery:stale`). Subscribe with
 * `diagnostics_channel.subscribe(name, fn)`; nothing is computed when nobody listens.
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
  // @switchyard/loadbalancer (payloads carry `service`)
  'switchyard:instances:changed',
  'switchyard:breaker:changed',
  'switchyard:endpoint:ejected',
  'switchyard:endpoint:returned',
  'switchyard:watch:error',
] as const;

/** Publishes `message` on `switchyard:<event>` if anyone subscribed. */
export function publishDiagnostic(event: string, message: unknown): void {
  const ch = channel(DIAGNOSTICS_PREFIX + event);
  if (ch.hasSubscribers) ch.publish(message);
}
