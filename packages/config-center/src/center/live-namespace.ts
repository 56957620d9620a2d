import { AsyncChannel, type Clock, type TimerHandle, type Unsubscribe } from '@switchyard/core';
import type { Provenance, ResolvedNamespace } from './namespace-resolver.js';
import { diffItems, type ItemsDiff, isEmptyDiff } from './release-diff.js';
import { type StandardSchemaV1, validateWith } from './standard-schema.js';

/** One applied version of a namespace, as subscribers and watchers get it. */
export interface ConfigUpdate<T> {
  value: T;
  /** The value before (undefined for the initial one). */
  previous: T | undefined;
  diff: ItemsDiff;
  provenance: Provenance;
  /** Local version: 1 for the first value, +1 for each applied change (monotonic). */
  version: number;
  /** True for the value the namespace had when the subscription started. */
  initial: boolean;
}

/** A health check run after a live change: a failure within `window` rolls the change back. */
export interface HealthCheck<T> {
  check: (value: T) => boolean | Promise<boolean>;
  /** How long after an applied change the check runs, ms (default 30 000). */
  window?: number;
  /** Between two checks, ms (default window / 10). */
  interval?: number;
}

interface Hooks {
  clock: Clock;
  schema: StandardSchemaV1 | undefined;
  health: HealthCheck<unknown> | undefined;
  rejected: (issues: string[], revision: number) => void;
  applied: (update: ConfigUpdate<unknown>, resolved: ResolvedNamespace) => void;
  unhealthy: (resolved: ResolvedNamespace, reason: string) => Promise<void>;
  listenerError: (error: unknown) => void;
}

/** A namespace kept current by the center's watch: typed reads from memory, updates in order. */
export class LiveNamespace<T = Record<string, unknown>> {
  readonly name: string;
  #value: T | undefined;
  #raw: Record<string, unknown> = {};
  #version = 0;
  #provenance: Provenance | undefined;
  #fingerprint = '';
  #queue: Promise<void> = Promise.resolve();
  #healthTimer: TimerHandle | undefined;
  readonly #subscribers = new Set<(u: ConfigUpdate<T>) => void>();
  readonly #channels = new Set<AsyncChannel<ConfigUpdate<T>>>();
  readonly #hooks: Hooks;
  /** Store keys this namespace depends on. */
  keys: ReadonlySet<string> = new Set();

  constructor(name: string, hooks: Hooks) {
    this.name = name;
    this.#hooks = hooks;
  }

  /** The whole validated value (last known good). */
  get value(): T {
    return this.#value as T;
  }

  get<K extends keyof T>(key: K): T[K] {
    return (this.#value as T)[key];
  }

  get version(): number {
    return this.#version;
  }

  /** Release id, author, time, gray rule and source (store or snapshot) of the value in use. */
  get provenance(): Provenance {
    return this.#provenance!;
  }

  /** Calls `fn` for every applied change; with `initial: true` first with the current value. */
  subscribe(fn: (update: ConfigUpdate<T>) => void, options: { initial?: boolean } = {}): Unsubscribe {
    this.#subscribers.add(fn);
    if (options.initial) this.#call(fn, this.#update(undefined, true));
    return () => this.#subscribers.delete(fn);
  }

  /** Updates as an AsyncIterable: the current value first (unless `initial: false`), then every change. */
  watch(options: { signal?: AbortSignal; initial?: boolean } = {}): AsyncIterable<ConfigUpdate<T>> {
    const channel = new AsyncChannel<ConfigUpdate<T>>({
      onReturn: () => {
        off();
        this.#channels.delete(channel);
      },
    });
    this.#channels.add(channel);
    const off = this.subscribe((u) => channel.push(u), { initial: options.initial ?? true });
    const stop = () => {
      off();
      this.#channels.delete(channel);
      options.signal?.removeEventListener('abort', stop);
      channel.close();
    };
    if (options.signal?.aborted) stop();
    options.signal?.addEventListener('abort', stop, { once: true });
    return channel;
  }

  /** Validates and applies a resolution, in order; an invalid one is rejected and the old value kept. */
  offer(resolve: () => ResolvedNamespace, source: Provenance['source']): Promise<boolean> {
    const run = this.#queue.then(() => this.#apply(resolve, source));
    this.#queue = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** Ends every `watch()` iterator and drops the subscribers (the center calls it on close). */
  close(): void {
    this.#hooks.clock.clearTimeout(this.#healthTimer);
    this.#subscribers.clear();
    for (const c of this.#channels) c.close();
    this.#channels.clear();
  }

  async #apply(resolve: () => ResolvedNamespace, source: Provenance['source']): Promise<boolean> {
    let resolved: ResolvedNamespace;
    try {
      resolved = resolve();
    } catch (error) {
      this.#hooks.rejected([(error as Error).message], 0);
      return false;
    }
    this.keys = new Set(resolved.keys);
    if (resolved.fingerprint === this.#fingerprint && this.#provenance?.source === source) return true;
    const result = await validateWith(this.#hooks.schema, resolved.items);
    if (!result.ok) {
      this.#hooks.rejected(result.issues, resolved.provenance.revision);
      return false;
    }
    const previous = this.#value;
    const previousRaw = this.#raw;
    const first = this.#version === 0;
    this.#fingerprint = resolved.fingerprint;
    this.#value = result.value as T;
    this.#raw = resolved.items;
    this.#provenance = { ...resolved.provenance, source };
    const diff = diffItems(previousRaw, resolved.items);
    if (!first && isEmptyDiff(diff) && source === 'store') {
      return true;
    }
    this.#version++;
    const update = this.#update(previous, first, diff);
    this.#hooks.applied(update as ConfigUpdate<unknown>, resolved);
    if (!first) {
      for (const fn of [...this.#subscribers]) this.#call(fn, update);
      this.#startHealthWindow(resolved);
    }
    return true;
  }

  #update(previous: T | undefined, initial: boolean, diff?: ItemsDiff): ConfigUpdate<T> {
    return {
      value: this.#value as T,
      previous,
      diff: diff ?? diffItems({}, this.#raw),
      provenance: this.#provenance!,
      version: this.#version,
      initial,
    };
  }

  #call(fn: (u: ConfigUpdate<T>) => void, u: ConfigUpdate<T>): void {
    try {
      fn(u);
    } catch (error) {
      this.#hooks.listenerError(error);
    }
  }

  #startHealthWindow(resolved: ResolvedNamespace): void {
    const health = this.#hooks.health;
    if (!health) return;
    const { clock } = this.#hooks;
    clock.clearTimeout(this.#healthTimer);
    const window = health.window ?? 30_000;
    const interval = health.interval ?? Math.max(10, Math.floor(window / 10));
    const until = clock.now() + window;
    const fingerprint = resolved.fingerprint;
    const tick = async () => {
      if (this.#fingerprint !== fingerprint) return;
      let ok: boolean;
      let reason = 'health check returned false';
      try {
        ok = await health.check(this.#value);
      } catch (error) {
        ok = false;
        reason = `health check threw: ${(error as Error)?.message ?? String(error)}`;
      }
      if (this.#fingerprint !== fingerprint) return;
      if (!ok) {
        await this.#hooks.unhealthy(resolved, reason).catch(this.#hooks.listenerError);
        return;
      }
      if (clock.now() + interval <= until)
        this.#healthTimer = clock.setTimeout(() => void tick(), interval, { unref: true });
    };
    this.#healthTimer = clock.setTimeout(() => void tick(), interval, { unref: true });
  }
}
