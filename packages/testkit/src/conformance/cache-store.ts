import { randomUUID } from 'node:crypto';
import type { CacheStore } from '@switchyard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { delay, eventually, expectSwitchyardError } from './expect-error.js';

export interface CacheStoreConformanceTarget {
  store: CacheStore;
  /** A second client on the same backend, for shared stores (Redis, etcd). */
  peer?: CacheStore;
  cleanup?: () => Promise<void>;
}

export interface CacheStoreConformanceOptions {
  name: string;
  create: () => Promise<CacheStoreConformanceTarget>;
  ttlGranularity?: 'milliseconds' | 'seconds';
  /** TTL used by the expiry tests (default 200 ms, or 1500 ms for 'seconds'). */
  shortTtl?: number;
}

/** The cache store contract. Call inside a vitest file. */
export function runCacheStoreConformance(options: CacheStoreConformanceOptions): void {
  const shortTtl = options.shortTtl ?? (options.ttlGranularity === 'seconds' ? 1500 : 200);

  describe(`cache store conformance: ${options.name}`, () => {
    let t: CacheStoreConformanceTarget;
    let s: CacheStore;
    let ns: string;
    const k = (name: string) => `${ns}:${name}`;

    beforeEach(async () => {
      ns = `c-${randomUUID().slice(0, 8)}`;
      t = await options.create();
      s = t.store;
    });
    afterEach(async () => {
      await t.cleanup?.();
    });

    it('set, get, has and delete', async () => {
      expect(await s.get(k('a'))).toBeUndefined();
      expect(await s.has(k('a'))).toBe(false);
      await s.set(k('a'), 'one');
      expect(await s.get(k('a'))).toBe('one');
      expect(await s.has(k('a'))).toBe(true);
      await s.set(k('a'), 'two');
      expect(await s.get(k('a'))).toBe('two');
      expect(await s.delete(k('a'))).toBe(true);
      expect(await s.delete(k('a'))).toBe(false);
      expect(await s.get(k('a'))).toBeUndefined();
    });

    it('stores empty strings and unicode exactly', async () => {
      await s.set(k('empty'), '');
      expect(await s.get(k('empty'))).toBe('');
      const text = 'ünïcødé ✓ 日本語 \n\t"quoted"';
      await s.set(k('u'), text);
      expect(await s.get(k('u'))).toBe(text);
    });

    it('entries expire after their TTL; entries without TTL do not', async () => {
      await s.set(k('short'), 'x', { ttl: shortTtl });
      await s.set(k('forever'), 'y');
      expect(await s.get(k('short'))).toBe('x');
      await eventually(async () => (await s.get(k('short'))) === undefined, shortTtl * 4 + 1000, 'expired');
      expect(await s.has(k('short'))).toBe(false);
      expect(await s.get(k('forever'))).toBe('y');
    });

    it('batch forms keep order and report missing keys as undefined', async () => {
      await s.setMany([
        { key: k('1'), value: 'a' },
        { key: k('2'), value: 'b', ttl: 60_000 },
      ]);
      expect(await s.getMany([k('2'), k('missing'), k('1')])).toEqual(['b', undefined, 'a']);
      expect(await s.getMany([])).toEqual([]);
      expect(await s.deleteMany([k('1'), k('missing')])).toBe(1);
      expect(await s.getMany([k('1'), k('2')])).toEqual([undefined, 'b']);
    });

    it('clear(prefix) removes only keys under the prefix', async () => {
      await s.set(k('p:1'), '1');
      await s.set(k('p:2'), '2');
      await s.set(k('q:1'), '3');
      await s.clear(k('p:'));
      expect(await s.getMany([k('p:1'), k('p:2'), k('q:1')])).toEqual([undefined, undefined, '3']);
    });

    it('clear() without a prefix removes every key of the store', async () => {
      await s.setMany([
        { key: k('x'), value: '1' },
        { key: k('y:z'), value: '2', ttl: 60_000 },
      ]);
      await s.clear();
      expect(await s.getMany([k('x'), k('y:z')])).toEqual([undefined, undefined]);
    });

    it('a clear prefix is literal: glob characters are not patterns', async () => {
      await s.setMany([
        { key: k('a*1'), value: '1' },
        { key: k('ab'), value: '2' },
        { key: k('a?'), value: '3' },
        { key: k('[a]'), value: '4' },
      ]);
      await s.clear(k('a*'));
      expect(await s.getMany([k('a*1'), k('ab'), k('a?'), k('[a]')])).toEqual([undefined, '2', '3', '4']);
      await s.clear(k('['));
      expect(await s.get(k('[a]'))).toBeUndefined();
    });

    it('a key repeated in one setMany keeps the last value', async () => {
      await s.setMany([
        { key: k('dup'), value: 'first' },
        { key: k('other'), value: 'o' },
        { key: k('dup'), value: 'last', ttl: 60_000 },
      ]);
      expect(await s.get(k('dup'))).toBe('last');
      expect(await s.deleteMany([k('dup'), k('dup'), k('other')])).toBe(2);
    });

    it('large batches (1 000 keys, mixed TTLs) round-trip in order', async () => {
      const entries = Array.from({ length: 1000 }, (_, i) => ({
        key: k(`big:${i}`),
        value: `v${i}`,
        ...(i % 2 ? { ttl: 60_000 } : {}),
      }));
      await s.setMany(entries);
      const keys = entries.map((e) => e.key).reverse();
      expect(await s.getMany(keys)).toEqual(entries.map((e) => e.value).reverse());
      await s.clear(k('big:'));
      expect((await s.getMany(keys)).every((v) => v === undefined)).toBe(true);
    });

    it('batch entries expire after their own TTL', async () => {
      await s.setMany([
        { key: k('bs'), value: 's', ttl: shortTtl },
        { key: k('bl'), value: 'l', ttl: 600_000 },
      ]);
      await eventually(async () => (await s.get(k('bs'))) === undefined, shortTtl * 4 + 1000, 'expired');
      expect(await s.get(k('bl'))).toBe('l');
    });

    it('a shared store is visible from a second client', async () => {
      if (!t.peer) {
        expect(s.capabilities.shared).toBe(false);
        return;
      }
      expect(s.capabilities.shared).toBe(true);
      await s.set(k('shared'), 'v');
      expect(await t.peer.get(k('shared'))).toBe('v');
      await t.peer.delete(k('shared'));
      expect(await s.get(k('shared'))).toBeUndefined();
    });

    it('honours an aborted signal with ABORTED', async () => {
      const ac = new AbortController();
      ac.abort();
      await expectSwitchyardError(s.get(k('a'), { signal: ac.signal }), 'ABORTED');
      await expectSwitchyardError(s.set(k('a'), 'v', { signal: ac.signal }), 'ABORTED');
    });

    it('rejects bad input with INVALID_ARGUMENT naming the field', async () => {
      await expectSwitchyardError(() => s.get(''), 'INVALID_ARGUMENT', 'key');
      await expectSwitchyardError(() => s.set('', 'v'), 'INVALID_ARGUMENT', 'key');
      await expectSwitchyardError(() => s.set(k('a'), 42 as unknown as string), 'INVALID_ARGUMENT', 'value');
      await expectSwitchyardError(() => s.set(k('a'), 'v', { ttl: 0 }), 'INVALID_ARGUMENT', 'ttl');
      await expectSwitchyardError(() => s.set(k('a'), 'v', { ttl: -1 }), 'INVALID_ARGUMENT', 'ttl');
      await expectSwitchyardError(() => s.getMany([k('a'), '']), 'INVALID_ARGUMENT', 'keys[1]');
      await expectSwitchyardError(
        () => s.setMany([{ key: k('a'), value: 'v', ttl: -3 }]),
        'INVALID_ARGUMENT',
        'entries[0].ttl',
      );
      await delay(0);
    });
  });
}
