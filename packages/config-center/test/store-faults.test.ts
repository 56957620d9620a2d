import type { ConfigChange, ConfigStore } from '@switchyard/core';
import { type EtcdCluster, type RedisServer, startEtcd, startRedis } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdConfigStore, createRedisConfigStore } from '../src/index.js';

let redis: RedisServer;
let etcd: EtcdCluster;
beforeAll(async () => {
  [redis, etcd] = await Promise.all([startRedis(), startEtcd()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), etcd?.stop()]);
});

function collect(store: ConfigStore, prefix: string, fromRevision?: number) {
  const changes: ConfigChange[] = [];
  const ac = new AbortController();
  const done = (async () => {
    for await (const c of store.watch(prefix, {
      signal: ac.signal,
      ...(fromRevision === undefined ? {} : { fromRevision }),
    }))
      changes.push(c);
  })();
  return {
    changes,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('key names', () => {
  it('non-ASCII keys (Chinese, emoji) are listed and watched on Redis and etcd', async () => {
    await using r = createRedisConfigStore({ url: redis.url, prefix: 'utf8:' });
    await using e = createEtcdConfigStore({ hosts: etcd.endpoints, prefix: '/utf8' });
    for (const store of [r, e]) {
      const w = collect(store, '配置/');
      await new Promise((res) => setTimeout(res, 150));
      await store.put('配置/超时', '1');
      await store.put('配置/🚀', '2');
      await store.put('配置/a', '3');
      const { entries } = await store.list('配置/');
      expect(entries.map((x) => x.key).sort()).toEqual(['配置/a', '配置/超时', '配置/🚀'].sort());
      await until(() => w.changes.length >= 3);
      await w.stop();
    }
  });
});

describe('redis store faults', () => {
  it('a watch from a revision trimmed out of the stream relists the current values', async () => {
    await using store = createRedisConfigStore({ url: redis.url, prefix: 'trim:' });
    const first = await store.put('t/a', '1');
    await store.put('t/a', '2');
    await store.put('t/b', '3');
    await redis.command('XTRIM trim:log MAXLEN 0');
    const w = collect(store, 't/', first.revision);
    await until(() => w.changes.length >= 2);
    await store.put('t/c', '4');
    await until(() => w.changes.length >= 3);
    await w.stop();
    expect(w.changes.map((c) => `${c.key}=${c.entry.value}`)).toEqual(['t/a=2', 't/b=3', 't/c=4']);
  });

  it('a Redis restart that loses every key: the watch relists and keeps delivering', async () => {
    await using store = createRedisConfigStore({
      url: redis.url,
      prefix: 'restart:',
      backoff: { base: 20, max: 200 },
    });
    await store.put('r/a', 'before');
    const w = collect(store, 'r/');
    await new Promise((r) => setTimeout(r, 100));
    await store.put('r/a', 'live');
    await until(() => w.changes.length >= 1);
    await redis.process.restart();
    // the first writes after the restart get revisions below those already seen
    await until(() => {
      void store.put('r/b', 'after').catch(() => {});
      return w.changes.some((c) => c.entry.value === 'after');
    }, 10_000);
    await w.stop();
    expect(w.changes[0]?.entry.value).toBe('live');
  });

  it('a Redis outage rejects calls with BACKEND_UNAVAILABLE, never hangs', async () => {
    const store = createRedisConfigStore({ url: redis.url, prefix: 'down:', requestTimeout: 300 });
    await store.put('d/a', '1');
    redis.process.pause();
    try {
      await expect(store.get('d/a')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    } finally {
      redis.process.resume();
    }
    await store.close();
  });
});

describe('etcd store faults', () => {
  it('a watch from a compacted revision relists, then follows live changes', async () => {
    await using store = createEtcdConfigStore({ hosts: etcd.endpoints });
    const raw = new Etcd3({ hosts: etcd.endpoints });
    const first = await store.put('c/a', '1');
    await store.put('c/a', '2');
    const last = await store.put('c/b', '3');
    await raw.kv.compact({ revision: String(last.revision), physical: true });
    const w = collect(store, 'c/', first.revision);
    await until(() => w.changes.length >= 2);
    await store.put('c/c', '4');
    await until(() => w.changes.length >= 3);
    await w.stop();
    raw.close();
    expect(w.changes.map((c) => `${c.key}=${c.entry.value}`)).toEqual(['c/a=2', 'c/b=3', 'c/c=4']);
    // our own history survives etcd's compaction
    expect((await store.history('c/a')).map((h) => h.value)).toEqual(['2', '1']);
  });

  it('an etcd restart: the watch resumes from its revision and misses nothing', async () => {
    await using store = createEtcdConfigStore({ hosts: etcd.endpoints, backoff: { base: 20, max: 300 } });
    const w = collect(store, 'k/');
    await new Promise((r) => setTimeout(r, 200));
    await store.put('k/a', '1');
    await until(() => w.changes.length >= 1);
    await etcd.members[0]!.process.restart();
    await etcd.waitHealthy();
    for (let i = 2; i <= 5; i++) {
      // right after the restart etcd3's breaker may still refuse a call: a typed BACKEND_UNAVAILABLE, retried here
      for (let tries = 0; ; tries++) {
        try {
          await store.put('k/a', String(i));
          break;
        } catch (e) {
          expect(e).toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
          if (tries > 50) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    await until(() => w.changes.length >= 5, 15_000);
    await w.stop();
    expect(w.changes.map((c) => c.entry.value)).toEqual(['1', '2', '3', '4', '5']);
  }, 30_000);
});
