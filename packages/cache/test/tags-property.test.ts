import { createManualClock, createMemoryCacheStore } from '@switchyard/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCache } from '../src/index.js';

const ops = fc.array(
  fc.oneof(
    fc.record({
      t: fc.constant('set' as const),
      key: fc.nat(5),
      tags: fc.uniqueArray(fc.nat(3), { maxLength: 3 }),
    }),
    fc.record({ t: fc.constant('delete' as const), tag: fc.nat(3) }),
    fc.record({ t: fc.constant('expire' as const), tag: fc.nat(3) }),
    fc.record({ t: fc.constant('read' as const), key: fc.nat(5) }),
  ),
  { maxLength: 40 },
);

describe('tag logic (properties)', () => {
  it('fresh iff no tag was deleted or expired since the write; stale-visible iff none was deleted', async () => {
    await fc.assert(
      fc.asyncProperty(ops, async (list) => {
        const clock = createManualClock();
        const store = createMemoryCacheStore({ clock });
        const cache = createCache({ clock, l2: store, ttl: 600_000, grace: 600_000, ttlJitter: 0 });
        // A second process without L1 and without a bus: reads the tag records from the store.
        const peer = createCache({ clock, l1: false, l2: store, ttl: 600_000 });
        const model = new Map<string, { value: string; tags: string[]; at: number }>();
        const deleted = new Map<string, number>();
        const expired = new Map<string, number>();
        let n = 0;
        for (const op of list) {
          await clock.advance(1);
          const now = clock.now();
          if (op.t === 'set') {
            const key = `k${op.key}`;
            const value = `v${n++}`;
            const tags = op.tags.map((t) => `t${t}`);
            await cache.set(key, value, { tags });
            model.set(key, { value, tags, at: now });
          } else if (op.t === 'delete') {
            await cache.deleteByTag(`t${op.tag}`);
            deleted.set(`t${op.tag}`, now);
          } else if (op.t === 'expire') {
            await cache.expireByTag(`t${op.tag}`);
            expired.set(`t${op.tag}`, now);
          } else {
            const key = `k${op.key}`;
            const m = model.get(key);
            const gone = !m || m.tags.some((t) => (deleted.get(t) ?? -1) >= m.at);
            const stale = !gone && m!.tags.some((t) => (expired.get(t) ?? -1) >= m!.at);
            const fresh = gone || stale ? undefined : m!.value;
            expect(await cache.get(key)).toBe(fresh);
            expect(await cache.has(key)).toBe(fresh !== undefined);
            expect(await cache.get(key, { allowStale: true })).toBe(gone ? undefined : m!.value);
            expect(await peer.get(key)).toBe(fresh);
          }
        }
        await cache.close();
        await peer.close();
      }),
      { numRuns: 150 },
    );
  });
});
