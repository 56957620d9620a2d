import { type ErrorCode, isSwitchyardError } from '@switchyard/core';
import { expect } from 'vitest';

/** Asserts that `action` rejects (or throws) a Switchyard error with `code` (and `field` for INVALID_ARGUMENT). */
export async function expectSwitchyardError(
  action: Promise<unknown> | (() => unknown),
  code: ErrorCode,
  field?: string,
): Promise<void> {
  let error: unknown;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (e) {
    error = e;
  }
  expect(error, `expected a SwitchyardError ${code}${field ? ` naming ${field}` : ''}`).toBeDefined();
  expect(isSwitchyardError(error), `expected a SwitchyardError, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  if (field !== undefined) {
    expect((error as { field?: string }).field).toBe(field);
    expect((error as Error).message).toContain(field);
  }
}

/** Count of open TCP sockets and servers in this process (for "close leaves no sockets" checks). */
export function activeSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap')
    .length;
}

export interface TimerTracker {
  /** Timers created since tracking started that have neither fired nor been cleared (ref'd or not). */
  live(): number;
  /** Where the live timers were created (first stack frames), for failure messages. */
  describeLive(): string;
  restore(): void;
}

/**
 * Tracks every timer created through the global timer functions, unref'd ones included
 * (`process.getActiveResourcesInfo()` does not list unref'd timers, so it cannot find their leaks).
 */
export function trackTimers(): TimerTracker {
  const g = globalThis as unknown as Record<string, (...args: unknown[]) => unknown>;
  const original = {
    setTimeout: g.setTimeout!,
    clearTimeout: g.clearTimeout!,
    setInterval: g.setInterval!,
    clearInterval: g.clearInterval!,
  };
  const live = new Map<unknown, string>();
  const where = () => (new Error().stack ?? '').split('\n').slice(3, 6).join(' <- ');
  g.setTimeout = (fn: unknown, ms?: unknown, ...args: unknown[]) => {
    const handle: unknown = original.setTimeout(
      (...a: unknown[]) => {
        live.delete(handle);
        (fn as (...x: unknown[]) => void)(...a);
      },
      ms,
      ...args,
    );
    live.set(handle, where());
    return handle;
  };
  g.clearTimeout = (handle: unknown) => {
    live.delete(handle);
    return original.clearTimeout(handle);
  };
  g.setInterval = (fn: unknown, ms?: unknown, ...args: unknown[]) => {
    const handle = original.setInterval(fn, ms, ...args);
    live.set(handle, where());
    return handle;
  };
  g.clearInterval = (handle: unknown) => {
    live.delete(handle);
    return original.clearInterval(handle);
  };
  return {
    live: () => live.size,
    describeLive: () => [...live.values()].join('\n'),
    restore: () => Object.assign(g, original),
  };
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true or `timeoutMs` passes. */
export async function eventually(
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  message: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `not true within ${timeoutMs} ms: ${typeof message === 'function' ? message() : message}`,
      );
    }
    await delay(20);
  }
}

/** Resolves with `promise`'s outcome, or with `'timeout'` after `ms`; clears its own timer either way. */
export async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
