import {
  type ConsulEmulator,
  type ConsulEmulatorOptions,
  startConsulEmulator,
} from '@switchyard/testkit/emulators/consul';

/** Where the suite talks to: a real agent when CONSUL_HTTP_ADDR is set, else the testkit emulator. */
export interface ConsulTarget {
  host: string;
  port: number;
  /** `http://host:port`. */
  url: string;
  /** Present only on the emulator (fault hooks). */
  emulator: ConsulEmulator | undefined;
  close(): Promise<void>;
}

export async function startTarget(options: ConsulEmulatorOptions = {}): Promise<ConsulTarget> {
  const addr = process.env.CONSUL_HTTP_ADDR;
  if (addr) {
    const url = new URL(addr.includes('://') ? addr : `http://${addr}`);
    return {
      host: url.hostname,
      port: Number(url.port || 8500),
      url: `${url.protocol}//${url.host}`,
      emulator: undefined,
      close: async () => {},
    };
  }
  const emulator = await startConsulEmulator({
    minDeregisterCriticalServiceAfter: 0,
    reapInterval: 100,
    ...options,
  });
  return {
    host: emulator.host,
    port: emulator.port,
    url: emulator.url,
    emulator,
    close: () => emulator.close(),
  };
}

/** Polls `fn` until it returns a truthy value or `timeout` ms pass. */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  timeout = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Next value of an async iterator within `timeout` ms. */
export async function next<T>(it: AsyncIterator<T>, timeout = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await Promise.race([
      it.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no event within ${timeout} ms`)), timeout);
      }),
    ]);
    if (r.done) throw new Error('iterator ended');
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

/** Consumes events until `pred` matches (or times out). */
export async function until<T>(it: AsyncIterator<T>, pred: (v: T) => boolean, timeout = 5000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await next(it, Math.max(1, deadline - Date.now()));
    if (pred(v)) return v;
  }
}

let seq = 0;
/** A service name unique to this run (a real agent keeps state between runs). */
export function uniqueService(prefix = 'svc'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${++seq}`;
}
