import { type TracingChannel, tracingChannel } from 'node:diagnostics_channel';

const channels = new Map<string, TracingChannel<object, object>>();

/**
 * Runs `fn` inside the `node:diagnostics_channel` tracing channel `name` (subscribers see
 * `tracing:<name>:start|end|asyncStart|asyncEnd|error` with `context`), so an APM can time
 * acquire, release, resolve and register without a dependency. Free when nobody subscribes.
 * Names: `switchyard:lock:acquire`, `switchyard:lock:release`, `switchyard:discovery:resolve`,
 * `switchyard:discovery:register`.
 */
export function traced<T>(name: string, context: object, fn: () => Promise<T>): Promise<T> {
  let ch = channels.get(name);
  if (!ch) {
    ch = tracingChannel(name);
    channels.set(name, ch);
  }
  if (!ch.hasSubscribers) return fn();
  return ch.tracePromise(fn, context);
}

/** Every tracing channel Switchyard publishes. */
export const TRACING_CHANNELS = [
  'switchyard:lock:acquire',
  'switchyard:lock:release',
  'switchyard:discovery:resolve',
  'switchyard:discovery:register',
] as const;
