import { sleep } from '@switchyard/core';

/**
 * Runs `tick` every `interval` ms until `signal` aborts or `count` ticks ran. A tick's error ends
 * the loop (the caller reports it); an abort ends it quietly.
 */
export async function liveLoop(
  options: { interval: number; count: number | undefined; signal: AbortSignal },
  tick: (n: number) => Promise<void>,
): Promise<void> {
  for (let n = 1; options.count === undefined || n <= options.count; n++) {
    if (options.signal.aborted) return;
    await tick(n);
    if (options.count !== undefined && n === options.count) return;
    try {
      await sleep(options.interval, { signal: options.signal, pkg: 'cli' });
    } catch {
      return;
    }
  }
}
