import type { ConfigWriteOptions } from '../../contracts/config-store.js';
import { closedError, invalidArgument, SwitchyardError } from '../../errors.js';
import { throwIfAborted } from '../../primitives/abort.js';
import { assertInteger, assertKey, assertNonEmptyString, assertString } from '../../validation.js';

/**
 * The argument checks every config store makes before it talks to its server, with the same
 * fields and messages as the memory store: `key`, `value` (with a byte limit), `expectedRevision`,
 * `author`, `message`, `limit`, `revision`; and the `CONFLICT` / `NOT_FOUND` errors of the contract.
 */
export class ConfigStoreGuards {
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
