/**
 * An async-iterable, single-consumer queue: producers `push`, the consumer iterates with `for await`.
 * Ending the loop early (break/return) runs `onReturn` so the producer can stop its watch.
 * Values are never dropped: the queue is unbounded unless `coalesce` is set, in which case only the
 * newest value is kept (for snapshot streams where intermediate states may be skipped).
 */
export class AsyncChannel<T> implements AsyncIterable<T> {
  readonly #queue: T[] = [];
  readonly #waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  #closed = false;
  #error: unknown = undefined;
  #hasError = false;
  readonly #onReturn: (() => void) | undefined;
  readonly #coalesce: boolean;

  constructor(options: { onReturn?: () => void; coalesce?: boolean } = {}) {
    this.#onReturn = options.onReturn;
    this.#coalesce = options.coalesce ?? false;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get size(): number {
    return this.#queue.length;
  }

  push(value: T): boolean {
    if (this.#closed) return false;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve({ value, done: false });
    else if (this.#coalesce) this.#queue.splice(0, this.#queue.length, value);
    else this.#queue.push(value);
    return true;
  }

  /** Ends the stream after the queued values have been consumed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.resolve({ value: undefined, done: true });
  }

  /** Ends the stream with an error, thrown to the consumer after the queued values. */
  fail(error: unknown): void {
    if (this.#closed) return;
    this.#error = error;
    this.#hasError = true;
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) w.reject(error);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#queue.length > 0) return Promise.resolve({ value: this.#queue.shift() as T, done: false });
    if (this.#closed) {
      if (this.#hasError) {
        this.#hasError = false;
        return Promise.reject(this.#error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        const wasOpen = !this.#closed;
        this.#queue.length = 0;
        this.close();
        if (wasOpen) this.#onReturn?.();
        return { value: undefined, done: true };
      },
    };
  }
}
