import { publishDiagnostic } from './diagnostics.js';

/**
 * A tiny typed event emitter. `on` returns an unsubscribe function. A throwing listener never
 * breaks the emitter or the host process: the error goes to `onListenerError` (default: a process warning).
 */
export type Unsubscribe = () => void;

/** Where a throwing event listener's error goes (default: a process warning `SWITCHYARD_LISTENER_ERROR`). */
export type ListenerErrorHandler = (error: unknown, event: string) => void;

export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  readonly #listeners = new Map<keyof Events, Set<(payload: never) => void>>();
  readonly #onListenerError: (error: unknown, event: keyof Events) => void;
  readonly #diagnostics: boolean;
  readonly #source: string | undefined;
  readonly #extra: Readonly<Record<string, unknown>> | undefined;

  /**
   * With `diagnostics: true`, every event is also published on `node:diagnostics_channel` as
   * `switchyard:<event>` (see `DIAGNOSTICS_CHANNELS`), tagged with `source` (the publishing
   * package) and the `diagnosticsFields` (e.g. `{ backend }`).
   */
  constructor(
    options: {
      onListenerError?: (error: unknown, event: keyof Events) => void;
      diagnostics?: boolean;
      source?: string;
      diagnosticsFields?: Readonly<Record<string, unknown>>;
    } = {},
  ) {
    this.#diagnostics = options.diagnostics ?? false;
    this.#source = options.source;
    this.#extra = options.diagnosticsFields;
    this.#onListenerError =
      options.onListenerError ??
      ((error, event) =>
        process.emitWarning(
          `listener for "${String(event)}" threw: ${error instanceof Error ? error.message : String(error)}`,
          {
            code: 'SWITCHYARD_LISTENER_ERROR',
          },
        ));
  }

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): Unsubscribe {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    const fn = listener as (payload: never) => void;
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }

  once<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): Unsubscribe {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    if (this.#diagnostics) publishDiagnostic(String(event), payload, this.#source, this.#extra);
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as (p: Events[K]) => void)(payload);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  removeAll(): void {
    this.#listeners.clear();
  }
}
