import { setTimeout as sleep } from 'node:timers/promises';
import type { DiscoveryBackend, Registration } from '@switchyard/core';

export interface PropagationOptions {
  /** Client that registers. */
  registrar: Pick<DiscoveryBackend, 'register'>;
  /** Client that watches (another connection, as another process would have). */
  watcher: Pick<DiscoveryBackend, 'watch'>;
  service: string;
  count: number;
  /** Pause between registrations in ms (default 0: back to back). */
  gapMs?: number;
  address?: string;
}

/**
 * Register → watcher-sees-it latency, in ms, for `count` sequential registrations.
 * Registrations are closed before it returns; the clients are the caller's.
 */
export async function measurePropagation(options: PropagationOptions): Promise<number[]> {
  const { registrar, watcher, service, count, gapMs = 0, address = '127.0.0.1' } = options;
  const waiters = new Map<string, () => void>();
  const ac = new AbortController();
  let ready!: () => void;
  const initial = new Promise<void>((r) => {
    ready = r;
  });
  const loop = (async () => {
    for await (const e of watcher.watch(service, { signal: ac.signal })) {
      if (e.reason === 'initial') ready();
      for (const i of e.diff.added) waiters.get(i.id)?.();
    }
  })();
  await initial;
  const regs: Registration[] = [];
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const id = `p${i}`;
      const seen = new Promise<void>((r) => waiters.set(id, r));
      const t0 = performance.now();
      regs.push(await registrar.register({ id, service, address, port: 1 + (i % 65_000) }));
      await seen;
      latencies.push(performance.now() - t0);
      waiters.delete(id);
      if (gapMs > 0) await sleep(gapMs);
    }
  } finally {
    ac.abort();
    await loop;
    await Promise.all(regs.map((r) => r.close()));
  }
  return latencies;
}
