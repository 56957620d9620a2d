import { abortedError } from '@switchyard/core';
import type { CacheEngine } from './cache-engine.js';
import * as ops from './cache-operations.js';
import type { Scope } from './scope.js';
import type { WarmResult } from './types.js';

/** Loads `keys` into every tier, `concurrency` at a time, emitting `cache:warm` progress. */
export async function warm<T>(
  engine: CacheEngine,
  scope: Scope,
  keys: readonly string[],
  loader: (key: string) => T | Promise<T>,
  o: { concurrency: number; force: boolean; signal: AbortSignal | undefined; write: ops.WriteCall },
): Promise<WarmResult> {
  const result: WarmResult = { loaded: 0, skipped: 0, failed: 0, errors: [] };
  let next = 0;
  let done = 0;
  const progress = () => {
    done++;
    if (engine.events.wants('cache:warm')) {
      engine.events.emit('cache:warm', {
        cache: engine.name,
        namespace: scope.path,
        done,
        total: keys.length,
        failed: result.failed,
      });
    }
  };
  const worker = async () => {
    while (next < keys.length) {
      if (o.signal?.aborted) throw abortedError('cache', o.signal, 'warm');
      if (engine.closed) return;
      const key = keys[next++]!;
      try {
        if (!o.force && (await ops.find(engine, scope, key, false).catch(() => undefined)) !== undefined) {
          result.skipped++;
        } else {
          const value = await loader(key);
          await ops.set(engine, scope, key, value, o.write, o.signal);
          result.loaded++;
        }
      } catch (error) {
        result.failed++;
        result.errors.push({ key, error });
      }
      progress();
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, keys.length) }, worker));
  return result;
}
