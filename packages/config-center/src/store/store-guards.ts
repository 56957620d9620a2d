import {
  assertInteger,
  assertKey,
  assertNonEmptyString,
  assertString,
  type ConfigWriteOptions,
  closedError,
  invalidArgument,
  SwitchyardError,
  throwIfAborted,
} from '@switchyard/core';

/** Argument checks every config store applies before it talks to its server (same as core's memory store). */
export class StoreGuards {
  closed = false;
  constructor(readonly pkg: string) {}

  open(): void {
    if (this.closed) throw closedError(this.pkg, 'config store');
  }

  key(key: unknown): string {
    this.open();
    return assertKey(this.pkg, 'key', key);
  }

  value(value: unknown, maxBytes: number): string {
    const s = assertString(this.pkg, 'value', value);
    if (Buffer.byteLength(s) > maxBytes) {
      throw invalidArgument(this.pkg, 'value', `is over ${maxBytes} bytes`);
    }
    return s;
  }

  write(opts: ConfigWriteOptions): void {
    if (opts.expectedRevision !== undefined)
      assertInteger(this.pkg, 'expectedRevision', opts.expectedRevision, 0);
    if (opts.author !== undefined) assertNonEmptyString(this.pkg, 'author', opts.author, 256);
    if (opts.message !== undefined) assertString(this.pkg, 'message', opts.message);
    throwIfAborted(this.pkg, opts.signal);
  }

  limit(limit: number | undefined, fallback: number): number {
    return assertInteger(this.pkg, 'limit', limit ?? fallback, 1);
  }

  revision(revision: unknown): number {
    return assertInteger(this.pkg, 'revision', revision, 1);
  }

  conflict(key: string, expected: number, actual: number): SwitchyardError {
    return new SwitchyardError(
      'CONFLICT',
      `[${this.pkg}] "${key}" is at revision ${actual}, expected ${expected}`,
      {
        details: { key, expected, actual },
      },
    );
  }

  notFound(key: string, revision: number): SwitchyardError {
    return new SwitchyardError(
      'NOT_FOUND',
      `[${this.pkg}] "${key}" has no value at revision ${revision} in its history`,
      {
        details: { key, revision },
      },
    );
  }
}
