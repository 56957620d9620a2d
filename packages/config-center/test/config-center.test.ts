import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigStore, createMemoryConfigStore, MemoryConfigState } from '@switchyard/core';
import { type EtcdCluster, type RedisServer, startEtcd, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type ConfigUpdate,
  createConfigAdmin,
  createConfigCenter,
  createEtcdConfigStore,
  createRedisConfigStore,
  MASK,
} from '../src/index.js';

let redis: RedisServer;
let etcd: EtcdCluster;
beforeAll(async () => {
  [redis, etcd] = await Promise.all([startRedis(), startEtcd()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), etcd?.stop()]);
});

const memoryState = new MemoryConfigState();
const backends: [string, () => ConfigStore][] = [
  ['memory', () => createMemoryConfigStore({ state: memoryState })],
  ['redis', () => createRedisConfigStore({ url: redis.url })],
  ['etcd', () => createEtcdConfigStore({ hosts: etcd.endpoints })],
];

const schema = z.object({
  timeout: z.number().int().positive(),
  retries: z.number().int().min(0).default(3),
  mode: z.enum(['fast', 'safe']),
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(backends)('config center on %s', (_name, makeStore) => {
  it('publish → typed live value; history, diff, rollback as a new release; audit', async () => {
    const app = `app${randomUUID().slice(0, 6)}`;
    const ref = { env: 'prod', namespace: 'http' };
    await using store = makeStore();
    const admin = createConfigAdmin({ store, app, namespaces: { http: { schema } } });
    const r1 = await admin.publish(
      ref,
      { timeout: 100, mode: 'fast' },
      { author: 'alice', message: 'first' },
    );
    await using center = createConfigCenter({ store: makeStore(), app, env: 'prod' });
    const ns = await center.namespace('http', { schema });
    expect(ns.value).toEqual({ timeout: 100, retries: 3, mode: 'fast' });
    expect(ns.get('timeout')).toBe(100);
    expect(ns.provenance).toMatchObject({
      revision: r1.revision,
      releaseId: r1.id,
      author: 'alice',
      source: 'store',
    });

    const updates: ConfigUpdate<z.infer<typeof schema>>[] = [];
    ns.subscribe((u) => updates.push(u));
    const r2 = await admin.publish(
      ref,
      { timeout: 250, mode: 'safe' },
      { author: 'bob', expectedRevision: r1.revision },
    );
    await until(() => ns.get('timeout') === 250);
    expect(updates.at(-1)).toMatchObject({
      version: 2,
      initial: false,
      diff: { changed: { timeout: { from: 100, to: 250 } } },
    });

    // two operators cannot overwrite each other
    await expect(
      admin.publish(ref, { timeout: 1, mode: 'fast' }, { author: 'carol', expectedRevision: r1.revision }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    // dry run: the diff and the verdict, nothing written
    const dry = await admin.preview(ref, { timeout: 0, mode: 'fast' });
    expect(dry).toMatchObject({
      valid: false,
      baseRevision: r2.revision,
      diff: { changed: { timeout: { from: 250, to: 0 } } },
    });
    expect(dry.issues[0]).toMatch(/^timeout:/);
    expect((await admin.preview(ref, { timeout: 300, mode: 'safe' })).valid).toBe(true);
    // validated before apply: nothing reaches the store
    await expect(
      admin.publish(ref, { timeout: -5, mode: 'fast' }, { author: 'carol' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'items.timeout' });

    expect(await admin.diff(ref, r1.revision, r2.revision)).toEqual({
      added: {},
      removed: {},
      changed: { timeout: { from: 100, to: 250 }, mode: { from: 'fast', to: 'safe' } },
    });
    const rolled = await admin.rollback(ref, r1.revision, { author: 'ops' });
    expect(rolled.revision).toBeGreaterThan(r2.revision);
    expect(rolled.rollbackOf).toBe(r1.revision);
    await until(() => ns.get('timeout') === 100);
    expect(ns.provenance.author).toBe('ops');
    expect((await admin.history(ref)).map((h) => h.author)).toEqual(['ops', 'bob', 'alice']);
    const audit = await admin.audit({ namespace: 'http' });
    expect(audit.map((a) => a.action)).toEqual(['rollback', 'publish', 'publish']);
    expect(updates.map((u) => u.version)).toEqual([2, 3]);
  });

  it('gray release by percentage: ~10 % of 1 000 instances, stable; promote and abort converge', async () => {
    const app = `gray${randomUUID().slice(0, 6)}`;
    const ref = { env: 'prod', namespace: 'feat' };
    await using store = makeStore();
    const admin = createConfigAdmin({ store, app });
    await admin.publish(ref, { color: 'blue' }, { author: 'alice' });
    await admin.startGray(ref, { color: 'green' }, { percentage: 10 }, { author: 'alice' });
    const centers = Array.from({ length: 20 }, (_, i) =>
      createConfigCenter({ store, app, env: 'prod', instance: { id: `pod-${i}` } }),
    );
    try {
      const spaces = await Promise.all(centers.map((c) => c.namespace('feat')));
      const { matchesGray } = await import('../src/index.js');
      const ids = Array.from({ length: 1000 }, (_, i) => `instance-${i}`);
      const chosen = ids.filter((id) => matchesGray({ percentage: 10 }, 'feat', { id }));
      expect(chosen.length).toBeGreaterThanOrEqual(90);
      expect(chosen.length).toBeLessThanOrEqual(110);
      for (let i = 0; i < 20; i++) {
        const expected = matchesGray({ percentage: 10 }, 'feat', { id: `pod-${i}` }) ? 'green' : 'blue';
        expect(spaces[i]!.get('color')).toBe(expected);
        if (expected === 'green') expect(spaces[i]!.provenance.gray).toEqual({ percentage: 10 });
      }
      await admin.promoteGray(ref, { author: 'alice' });
      await until(() => spaces.every((s) => s.get('color') === 'green'));
      await admin.startGray(ref, { color: 'red' }, { instances: ['pod-3'] }, { author: 'bob' });
      await until(() => spaces[3]!.get('color') === 'red');
      await admin.abortGray(ref, { author: 'bob' });
      await until(() => spaces.every((s) => s.get('color') === 'green'));
      expect((await admin.audit({ namespace: 'feat' })).map((a) => a.action)).toEqual([
        'gray:abort',
        'gray:start',
        'gray:promote',
        'gray:start',
        'publish',
      ]);
    } finally {
      await Promise.all(centers.map((c) => c.close()));
    }
  });

  it('gray() shows the running gray release masked; namespaces() lists them per env and cluster', async () => {
    const app = `app${randomUUID().slice(0, 6)}`;
    await using store = makeStore();
    const keyring = { keys: { k1: randomBytes(32) }, primary: 'k1' };
    const admin = createConfigAdmin({ store, app, keyring, namespaces: { db: { secrets: ['pw'] } } });
    await admin.publish({ env: 'prod', namespace: 'db' }, { pw: 's3cret', pool: 5 }, { author: 'a' });
    await admin.publish({ env: 'prod', namespace: 'http', cluster: 'eu' }, { t: 1 }, { author: 'a' });
    await admin.publish({ env: 'test', namespace: 'db' }, { pw: 'x' }, { author: 'a' });
    expect(await admin.gray({ env: 'prod', namespace: 'db' })).toBeUndefined();
    const g = await admin.startGray(
      { env: 'prod', namespace: 'db' },
      { pw: 'new', pool: 9 },
      { percentage: 25, labels: { zone: 'a' } },
      { author: 'bob', message: 'try' },
    );
    const gray = await admin.gray({ env: 'prod', namespace: 'db' });
    expect(gray).toMatchObject({
      revision: g.revision,
      author: 'bob',
      message: 'try',
      items: { pw: MASK, pool: 9 },
    });
    expect(gray?.rule).toEqual({ percentage: 25, labels: { zone: 'a' } });
    const all = await admin.namespaces();
    expect(all.map((n) => `${n.env}/${n.cluster}/${n.namespace}:${n.gray}`)).toEqual([
      'prod/default/db:true',
      'prod/eu/http:false',
      'test/default/db:false',
    ]);
    expect(all[0]!.revision).toBe((await admin.get({ env: 'prod', namespace: 'db' }))!.revision);
    expect((await admin.namespaces({ env: 'test' })).map((n) => n.namespace)).toEqual(['db']);
    await admin.abortGray({ env: 'prod', namespace: 'db' }, { author: 'bob' });
    expect(await admin.gray({ env: 'prod', namespace: 'db' })).toBeUndefined();
    await expect(admin.namespaces({ env: 'no/pe' })).rejects.toMatchObject({ field: 'env' });
  });

  it('a large namespace is stored compressed and read back whole', async () => {
    const app = `gz${randomUUID().slice(0, 6)}`;
    const ref = { env: 'prod', namespace: 'big' };
    await using store = makeStore();
    const admin = createConfigAdmin({ store, app });
    const items = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`flag.${i}`, i % 3 === 0]));
    const r1 = await admin.publish(ref, items, { author: 'alice' });
    const raw = (await store.get(`${app}/prod/default/big`))!.value;
    expect(raw).toContain('"itemsGz":');
    expect(raw.length).toBeLessThan(JSON.stringify(items).length / 3);
    await using center = createConfigCenter({ store, app, env: 'prod' });
    const ns = await center.namespace('big');
    expect(ns.value).toEqual(items);
    const r2 = await admin.publish(ref, { ...items, 'flag.7': true }, { author: 'bob' });
    await until(() => ns.get('flag.7') === true);
    expect(await admin.diff(ref, r1.revision, r2.revision)).toEqual({
      added: {},
      removed: {},
      changed: { 'flag.7': { from: false, to: true } },
    });
  });

  it('secrets are ciphertext in the store; rotation keeps old values readable; re-encrypt', async () => {
    const app = `sec${randomUUID().slice(0, 6)}`;
    const ref = { env: 'prod', namespace: 'db' };
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    await using store = makeStore();
    const spec = { secrets: ['password'] };
    const admin = createConfigAdmin({
      store,
      app,
      namespaces: { db: spec },
      keyring: { keys: { k1 }, primary: 'k1' },
    });
    const r1 = await admin.publish(ref, { host: 'db1', password: 's3cret!' }, { author: 'alice' });
    expect(r1.items.password).toBe(MASK);
    const raw = await store.get(`${app}/prod/default/db`);
    expect(raw?.value).not.toContain('s3cret!');
    expect(raw?.value).toContain('"$secret":"v1:k1:');
    // rotation: k2 becomes primary, k1 stays readable
    const rotated = { keys: { k1, k2 }, primary: 'k2' };
    await using center = createConfigCenter({
      store,
      app,
      env: 'prod',
      keyring: rotated,
      namespaces: { db: spec },
    });
    const ns = await center.namespace('db');
    expect(ns.get('password')).toBe('s3cret!');
    const admin2 = createConfigAdmin({ store, app, namespaces: { db: spec }, keyring: rotated });
    await admin2.reencrypt(ref, { author: 'ops' });
    expect((await store.get(`${app}/prod/default/db`))?.value).toContain('"$secret":"v1:k2:');
    await until(() => ns.provenance.author === 'ops');
    expect(ns.get('password')).toBe('s3cret!');
    // a client without the key keeps nothing it cannot read
    await using blind = createConfigCenter({ store, app, env: 'prod' });
    await expect(blind.namespace('db')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('config center behaviour (memory store)', () => {
  it('a client keeps the last known good value when a release fails its own schema', async () => {
    const state = new MemoryConfigState();
    const store = createMemoryConfigStore({ state });
    const app = 'lkg';
    const admin = createConfigAdmin({ store, app }); // an admin without the schema
    await admin.publish({ env: 'dev', namespace: 'http' }, { timeout: 10, mode: 'fast' }, { author: 'a' });
    await using center = createConfigCenter({ store, app, env: 'dev' });
    const ns = await center.namespace('http', { schema });
    const rejected: string[][] = [];
    center.on('config:rejected', (e) => rejected.push(e.issues));
    await admin.publish(
      { env: 'dev', namespace: 'http' },
      { timeout: 'soon', mode: 'fast' },
      { author: 'a' },
    );
    await until(() => rejected.length === 1);
    expect(ns.get('timeout')).toBe(10);
    expect(rejected[0]![0]).toMatch(/^timeout:/);
  });

  it('inheritance and cluster overrides; environments are separate and can be diffed', async () => {
    const store = createMemoryConfigStore();
    const admin = createConfigAdmin({ store, app: 'inh' });
    await admin.publish({ env: 'prod', namespace: 'common' }, { region: 'eu', timeout: 5 }, { author: 'a' });
    await admin.publish({ env: 'prod', namespace: 'svc' }, { timeout: 9 }, { author: 'a' });
    await admin.publish({ env: 'prod', namespace: 'svc', cluster: 'bj' }, { timeout: 20 }, { author: 'a' });
    await admin.publish({ env: 'test', namespace: 'svc' }, { timeout: 1, debug: true }, { author: 'a' });
    await using eu = createConfigCenter({ store, app: 'inh', env: 'prod' });
    await using bj = createConfigCenter({ store, app: 'inh', env: 'prod', cluster: 'bj' });
    expect((await eu.namespace('svc', { inherits: 'common' })).value).toEqual({ region: 'eu', timeout: 9 });
    const b = await bj.namespace('svc', { inherits: 'common' });
    expect(b.value).toEqual({ region: 'eu', timeout: 20 });
    expect(b.provenance.cluster).toBe('bj');
    expect(await admin.diffEnvironments('svc', 'test', 'prod')).toEqual({
      added: {},
      removed: { debug: true },
      changed: { timeout: { from: 1, to: 9 } },
    });
  });

  it('namespace lock and approval: one editor at a time, a second identity approves', async () => {
    const store = createMemoryConfigStore();
    const admin = createConfigAdmin({ store, app: 'lock' });
    const ref = { env: 'prod', namespace: 'n' };
    await admin.lock(ref, { holder: 'alice', ttl: 60_000 });
    await expect(admin.publish(ref, { a: 1 }, { author: 'bob' })).rejects.toMatchObject({
      code: 'CONFLICT',
      field: 'lock',
    });
    await expect(admin.lock(ref, { holder: 'bob' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await admin.publish(ref, { a: 1 }, { author: 'alice', lockHolder: 'alice' });
    await admin.unlock(ref, { holder: 'alice' });
    await admin.propose(ref, { a: 2 }, { author: 'bob' });
    await expect(admin.approve(ref, { author: 'bob' })).rejects.toMatchObject({
      code: 'CONFLICT',
      field: 'author',
    });
    const approved = await admin.approve(ref, { author: 'carol' });
    expect(approved.items).toEqual({ a: 2 });
    expect((await admin.audit({ namespace: 'n' })).map((a) => `${a.action}:${a.actor}`)).toEqual([
      'approve:carol',
      'propose:bob',
      'unlock:alice',
      'publish:alice',
      'lock:alice',
    ]);
  });

  it('auto-rollback: a failing health check after a change restores the previous release, audited', async () => {
    const store = createMemoryConfigStore();
    const admin = createConfigAdmin({ store, app: 'auto' });
    const ref = { env: 'prod', namespace: 'n' };
    await admin.publish(ref, { pool: 10 }, { author: 'alice' });
    await using center = createConfigCenter({ store, app: 'auto', env: 'prod' });
    const ns = await center.namespace('n', {
      health: { check: (v) => (v.pool as number) < 100, window: 2000, interval: 20 },
    });
    const fired: unknown[] = [];
    center.on('config:auto-rollback', (e) => fired.push(e));
    await admin.publish(ref, { pool: 500 }, { author: 'bob' });
    await until(() => fired.length === 1 && ns.get('pool') === 10);
    const audit = await admin.audit({ action: 'auto-rollback' });
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({ reason: 'health check returned false' });
    expect((await admin.history(ref))[0]!.author).toMatch(/^auto-rollback:/);
  });

  it('watch(): initial value first, then changes in order, debounced', async () => {
    const store = createMemoryConfigStore();
    const admin = createConfigAdmin({ store, app: 'deb' });
    const ref = { env: 'prod', namespace: 'n' };
    await admin.publish(ref, { v: 0 }, { author: 'a' });
    await using center = createConfigCenter({ store, app: 'deb', env: 'prod', debounce: 50 });
    const ns = await center.namespace('n');
    const seen: number[] = [];
    const ac = new AbortController();
    const done = (async () => {
      for await (const u of ns.watch({ signal: ac.signal })) seen.push(u.value.v as number);
    })();
    for (let i = 1; i <= 5; i++) await admin.publish(ref, { v: i }, { author: 'a' });
    await until(() => seen.at(-1) === 5);
    ac.abort();
    await done;
    expect(seen[0]).toBe(0);
    expect(seen.length).toBeLessThan(6); // five quick releases coalesced
  });

  it('close ends every watch() iterator and leaves nothing running', async () => {
    const store = createMemoryConfigStore();
    await createConfigAdmin({ store, app: 'cls' }).publish(
      { env: 'prod', namespace: 'n' },
      { v: 1 },
      { author: 'a' },
    );
    const center = createConfigCenter({ store, app: 'cls', env: 'prod' });
    const ns = await center.namespace('n');
    const seen: number[] = [];
    const done = (async () => {
      for await (const u of ns.watch()) seen.push(u.value.v as number);
    })();
    await until(() => seen.length === 1);
    await center.close();
    await done; // would hang if close left the iterator open
    expect(seen).toEqual([1]);
    await expect(center.namespace('m')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('rejects bad input naming the field', async () => {
    const store = createMemoryConfigStore();
    expect(() => createConfigCenter({ store, app: 'bad app', env: 'x' })).toThrow(
      expect.objectContaining({ field: 'app' }),
    );
    const admin = createConfigAdmin({ store, app: 'ok' });
    await expect(admin.publish({ env: 'prod', namespace: 'n/x' }, {}, { author: 'a' })).rejects.toMatchObject(
      { field: 'ref.namespace' },
    );
    await expect(
      admin.publish({ env: 'prod', namespace: 'n' }, [] as never, { author: 'a' }),
    ).rejects.toMatchObject({ field: 'items' });
    await expect(admin.publish({ env: 'prod', namespace: 'n' }, {}, { author: '' })).rejects.toMatchObject({
      field: 'author',
    });
    await expect(
      admin.startGray({ env: 'prod', namespace: 'n' }, {}, { percentage: 140 }, { author: 'a' }),
    ).rejects.toMatchObject({ field: 'rule.percentage' });
  });
});

describe('outages after start', () => {
  it('a Redis pause: cached values keep serving, store:unavailable then store:restored, changes resume', async () => {
    const app = `out${randomUUID().slice(0, 6)}`;
    const store = createRedisConfigStore({ url: redis.url, requestTimeout: 300 });
    const admin = createConfigAdmin({ store, app });
    await admin.publish({ env: 'prod', namespace: 'n' }, { a: 1 }, { author: 'alice' });
    await using center = createConfigCenter({
      store,
      app,
      env: 'prod',
      resyncInterval: 100,
      backoff: { base: 50, max: 200 },
    });
    const ns = await center.namespace('n');
    const events: string[] = [];
    center.on('store:unavailable', () => events.push('unavailable'));
    center.on('store:restored', () => events.push('restored'));
    redis.process.pause();
    try {
      await until(() => events.includes('unavailable'), 5000);
      expect(ns.get('a')).toBe(1);
    } finally {
      redis.process.resume();
    }
    await until(() => events.includes('restored'), 5000);
    await admin.publish({ env: 'prod', namespace: 'n' }, { a: 2 }, { author: 'alice' });
    await until(() => ns.get('a') === 2);
    await store.close();
  });
});

describe('store down at start without a snapshot', () => {
  it('opening a namespace fails fast with BACKEND_UNAVAILABLE, and works once the store is back', async () => {
    const app = `late${randomUUID().slice(0, 6)}`;
    const store = createRedisConfigStore({ url: redis.url, requestTimeout: 300 });
    await createConfigAdmin({ store, app }).publish(
      { env: 'prod', namespace: 'n' },
      { a: 1 },
      { author: 'alice' },
    );
    await using center = createConfigCenter({ store, app, env: 'prod', backoff: { base: 50, max: 200 } });
    redis.process.pause();
    try {
      await expect(center.namespace('n')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    } finally {
      redis.process.resume();
    }
    let ns: Awaited<ReturnType<typeof center.namespace>> | undefined;
    const end = Date.now() + 5000;
    while (!ns && Date.now() < end) {
      ns = await center.namespace('n').catch(() => undefined);
      if (!ns) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ns?.get('a')).toBe(1);
    await store.close();
  });
});

describe('snapshot fallback', () => {
  it('the store is down at start and a snapshot exists: the app gets its config and an event', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-snap-'));
    const app = `snap${randomUUID().slice(0, 6)}`;
    const redis2 = await startRedis();
    try {
      const store = createRedisConfigStore({ url: redis2.url });
      await createConfigAdmin({ store, app }).publish(
        { env: 'prod', namespace: 'n' },
        { a: 1 },
        { author: 'alice' },
      );
      {
        await using c = createConfigCenter({ store, app, env: 'prod', snapshotDir: dir });
        await c.namespace('n');
        await new Promise((r) => setTimeout(r, 100)); // the snapshot is written after apply
      }
      await store.close();
      await redis2.stop();
      const down = createRedisConfigStore({ url: redis2.url, requestTimeout: 300 });
      await using c2 = createConfigCenter({ store: down, app, env: 'prod', snapshotDir: dir });
      const loaded: unknown[] = [];
      c2.on('snapshot:loaded', (e) => loaded.push(e));
      const ns = await c2.namespace('n');
      expect(ns.value).toEqual({ a: 1 });
      expect(ns.provenance).toMatchObject({ source: 'snapshot', author: 'alice' });
      expect(loaded).toHaveLength(1);
      await down.close();
    } finally {
      await redis2.stop();
    }
  });
});
