import { randomUUID } from 'node:crypto';
import type { ConfigChange, ConfigStore } from '@switchyard/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, expectSwitchyardError } from './expect-error.js';

export interface ConfigStoreConformanceTarget {
  /** Two clients on the same backend. */
  a: ConfigStore;
  b: ConfigStore;
  cleanup?: () => Promise<void>;
  /** Optional: compact history up to the current revision, to test watch replay past compaction. */
  compact?: () => Promise<void>;
}

export interface ConfigStoreConformanceOptions {
  name: string;
  create: () => Promise<ConfigStoreConformanceTarget>;
  /** Bound for a change to reach a watcher (default 2000 ms). */
  propagationBound?: number;
}

/** The config store contract. Call inside a vitest file. */
export function runConfigStoreConformance(options: ConfigStoreConformanceOptions): void {
  const bound = options.propagationBound ?? 2000;

  describe(`config store conformance: ${options.name}`, () => {
    let t: ConfigStoreConformanceTarget;
    let a: ConfigStore;
    let b: ConfigStore;
    let ns: string;
    const k = (name: string) => `${ns}/${name}`;

    beforeEach(async () => {
      ns = `cfg-${randomUUID().slice(0, 8)}`;
      t = await options.create();
      a = t.a;
      b = t.b;
    });
    afterEach(async () => {
      await t.cleanup?.();
    });

    function collect(store: ConfigStore, prefix: string, fromRevision?: number) {
      const changes: ConfigChange[] = [];
      const ac = new AbortController();
      const done = (async () => {
        const opts = fromRevision === undefined ? { signal: ac.signal } : { signal: ac.signal, fromRevision };
        for await (const c of store.watch(prefix, opts)) changes.push(c);
      })();
      return {
        changes,
        stop: async () => {
          ac.abort();
          await done;
        },
      };
    }

    it('every write yields a strictly increasing revision, visible from another client', async () => {
      const e1 = await a.put(k('x'), '1', { author: 'alice', message: 'first' });
      const e2 = await a.put(k('x'), '2');
      const e3 = await a.put(k('y'), '3');
      expect(e2.revision).toBeGreaterThan(e1.revision);
      expect(e3.revision).toBeGreaterThan(e2.revision);
      expect(e1).toMatchObject({ key: k('x'), value: '1', version: 1, author: 'alice', message: 'first' });
      expect(e2.version).toBe(2);
      expect(e2.createRevision).toBe(e1.revision);
      const got = await b.get(k('x'));
      expect(got).toMatchObject({ value: '2', revision: e2.revision, version: 2 });
      expect(await b.get(k('missing'))).toBeUndefined();
    });

    it('compare-and-set by revision rejects stale writes with CONFLICT', async () => {
      const e1 = await a.put(k('cas'), 'v1', { expectedRevision: 0 });
      await expectSwitchyardError(a.put(k('cas'), 'again', { expectedRevision: 0 }), 'CONFLICT');
      const e2 = await b.put(k('cas'), 'v2', { expectedRevision: e1.revision });
      await expectSwitchyardError(a.put(k('cas'), 'stale', { expectedRevision: e1.revision }), 'CONFLICT');
      expect((await a.get(k('cas')))?.value).toBe('v2');
      await expectSwitchyardError(a.delete(k('cas'), { expectedRevision: e1.revision }), 'CONFLICT');
      expect(await a.delete(k('cas'), { expectedRevision: e2.revision })).toBe(true);
      expect(await a.delete(k('cas'))).toBe(false);
      expect(await a.get(k('cas'))).toBeUndefined();
    });

    it('list returns the entries under a prefix, sorted, with the read revision', async () => {
      await a.put(k('app/b'), '2');
      await a.put(k('app/a'), '1');
      const last = await a.put(k('other'), '3');
      const { entries, revision } = await b.list(k('app/'));
      expect(entries.map((e) => e.key)).toEqual([k('app/a'), k('app/b')]);
      expect(revision).toBeGreaterThanOrEqual(last.revision);
    });

    it('history is kept newest first, with authors; a rollback is itself a new revision', async () => {
      const v1 = await a.put(k('h'), 'one', { author: 'alice' });
      await a.put(k('h'), 'two', { author: 'bob' });
      await a.put(k('h'), 'three', { author: 'carol' });
      const history = await b.history(k('h'));
      expect(history.map((h) => h.value)).toEqual(['three', 'two', 'one']);
      expect(history.map((h) => h.author)).toEqual(['carol', 'bob', 'alice']);
      expect((await b.history(k('h'), { limit: 2 })).length).toBe(2);
      const rolled = await b.rollback(k('h'), v1.revision, { author: 'ops' });
      expect(rolled.value).toBe('one');
      expect(rolled.revision).toBeGreaterThan(history[0]!.revision);
      expect(rolled.author).toBe('ops');
      expect((await a.get(k('h')))?.value).toBe('one');
      expect((await a.history(k('h')))[0]!.revision).toBe(rolled.revision);
      await expectSwitchyardError(a.rollback(k('h'), 999_999_999), 'NOT_FOUND');
    });

    it('watch delivers every change under the prefix in order', async () => {
      const w = collect(b, k('w/'));
      await new Promise((r) => setTimeout(r, 100));
      const written: number[] = [];
      for (let i = 0; i < 30; i++) written.push((await a.put(k(`w/${i % 3}`), String(i))).revision);
      await a.put(k('elsewhere'), 'ignored');
      await a.delete(k('w/0'));
      await eventually(() => w.changes.length >= 31, bound, `31 changes (got ${w.changes.length})`);
      await w.stop();
      const revs = w.changes.map((c) => c.revision);
      for (let i = 1; i < revs.length; i++) expect(revs[i]!).toBeGreaterThan(revs[i - 1]!);
      expect(w.changes.slice(0, 30).map((c) => c.entry.value)).toEqual(written.map((_, i) => String(i)));
      expect(w.changes.every((c) => c.key.startsWith(k('w/')))).toBe(true);
      expect(w.changes.at(-1)).toMatchObject({ type: 'delete', key: k('w/0') });
    });

    it('watch from a revision replays what happened after it', async () => {
      const first = await a.put(k('r/a'), '1');
      await a.put(k('r/a'), '2');
      await a.put(k('r/b'), '3');
      const w = collect(b, k('r/'), first.revision);
      await eventually(() => w.changes.length >= 2, bound, 'replayed');
      await a.put(k('r/c'), '4');
      await eventually(() => w.changes.length >= 3, bound, 'live change after replay');
      await w.stop();
      expect(w.changes.map((c) => c.entry.value)).toEqual(['2', '3', '4']);
    });

    it('rejects bad input with INVALID_ARGUMENT naming the field', async () => {
      await expectSwitchyardError(() => a.put('', 'v'), 'INVALID_ARGUMENT', 'key');
      await expectSwitchyardError(() => a.put(k('a'), 1 as unknown as string), 'INVALID_ARGUMENT', 'value');
      await expectSwitchyardError(
        () => a.put(k('a'), 'v', { expectedRevision: -1 }),
        'INVALID_ARGUMENT',
        'expectedRevision',
      );
      await expectSwitchyardError(() => a.get(''), 'INVALID_ARGUMENT', 'key');
      await expectSwitchyardError(() => a.rollback(k('a'), 0), 'INVALID_ARGUMENT', 'revision');
      await expectSwitchyardError(() => a.history(k('a'), { limit: 0 }), 'INVALID_ARGUMENT', 'limit');
    });
  });
}
