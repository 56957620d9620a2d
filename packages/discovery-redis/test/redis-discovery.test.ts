import { eventually, expectSwitchyardError } from '@switchyard/testkit/conformance';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisDiscovery, type RedisDiscovery } from '../src/index.js';
import { collect } from './helpers.js';
import { startTcpProxy } from './tcp-proxy.js';

let redis: RedisServer;
let raw: Redis;
let n = 0;

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
});
afterAll(async () => {
  raw?.disconnect();
  await redis?.stop();
});

const inst = (id: string, port = 8000) => ({ id, service: 'api', address: '127.0.0.1', port });
function discovery(options: Record<string, unknown> = {}): RedisDiscovery & { p: string } {
  const prefix = `t${++n}:`;
  return Object.assign(createRedisDiscovery({ url: redis.url, prefix, ttl: 3000, ...options }), {
    p: prefix,
  });
}

async function entries(key: string) {
  const list = (await raw.xrange(key, '-', '+')) as [string, string[]][];
  return list.map(([, f]) => Object.fromEntries(f.flatMap((_, i) => (i % 2 ? [] : [[f[i], f[i + 1]]]))));
}

describe('options', () => {
  it('are strict: unknown keys, exclusive client/url, typed values', async () => {
    expect(() => createRedisDiscovery({ url: redis.url, ttll: 5 } as never)).toThrow(/did you mean "ttl"/);
    await expectSwitchyardError(() => createRedisDiscovery({}), 'INVALID_ARGUMENT', 'url');
    await expectSwitchyardError(
      () => createRedisDiscovery({ url: redis.url, client: raw }),
      'INVALID_ARGUMENT',
      'url',
    );
    await expectSwitchyardError(
      () => createRedisDiscovery({ client: raw, redisOptions: {} }),
      'INVALID_ARGUMENT',
      'redisOptions',
    );
    await expectSwitchyardError(
      () => createRedisDiscovery({ client: {} as never }),
      'INVALID_ARGUMENT',
      'client',
    );
    await expectSwitchyardError(() => createRedisDiscovery({ url: 'http://x' }), 'INVALID_ARGUMENT', 'url');
    await expectSwitchyardError(
      () => createRedisDiscovery({ url: redis.url, prefix: 'a{b}' }),
      'INVALID_ARGUMENT',
      'prefix',
    );
    await expectSwitchyardError(
      () => createRedisDiscovery({ url: redis.url, streamMaxLen: 1 }),
      'INVALID_ARGUMENT',
      'streamMaxLen',
    );
    await expectSwitchyardError(
      () => createRedisDiscovery({ url: redis.url, backoff: { bse: 1 } as never }),
      'INVALID_ARGUMENT',
      'backoff.bse',
    );
  });

  it('uses the given client without closing it; its duplicate reader is closed', async () => {
    const client = new Redis(redis.url);
    await client.ping();
    const clients = async () => Number((await raw.info('clients')).match(/connected_clients:(\d+)/)![1]);
    const before = await clients();
    const d = createRedisDiscovery({ client, prefix: `t${++n}:` });
    expect(d.client).toBe(client);
    const w = collect(d, 'api');
    await eventually(() => w.events.length === 1, 2000, 'initial');
    await eventually(async () => (await clients()) === before + 1, 2000, 'one reader connection');
    await w.stop();
    await d.close();
    await eventually(async () => (await clients()) === before, 2000, 'reader connection closed');
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });
});

describe('data model', () => {
  it('one record, one deadline and one stream entry per change, all under the service hash tag', async () => {
    await using d = discovery({ ttl: 600 });
    const k = (s: string) => `${d.p}{api}:${s}`;
    const reg = await d.register({ ...inst('i1'), tags: ['v1'], metadata: { team: 'core' }, zone: 'z1' });
    const [value] = (await raw.hvals(k('inst'))) as [string];
    const [token, json] = [value.slice(0, value.indexOf('|')), value.slice(value.indexOf('|') + 1)];
    expect(token).toBe(reg.handle!.token);
    expect(JSON.parse(json)).toEqual({
      address: '127.0.0.1',
      port: 8000,
      tags: ['v1'],
      metadata: { team: 'core' },
      weight: 1,
      zone: 'z1',
      health: 'passing',
    });
    const [sec, usec] = await raw.time();
    const now = Number(sec) * 1000 + Number(usec) / 1000;
    const deadline = Number(await raw.zscore(k('exp'), 'i1'));
    expect(deadline).toBeGreaterThan(now);
    expect(deadline).toBeLessThanOrEqual(now + 600);
    const epoch = await raw.hget(k('meta'), 'epoch');
    expect(epoch).toBe(reg.handle!.epoch);

    // Heartbeats extend the deadline and write nothing else.
    await new Promise((r) => setTimeout(r, 700));
    expect(Number(await raw.zscore(k('exp'), 'i1'))).toBeGreaterThan(deadline);
    expect(await raw.hget(k('meta'), 'rev')).toBe('1');

    await reg.setHealth('critical');
    await reg.close();
    expect(await entries(k('log'))).toEqual([
      { r: '1', e: epoch, k: 'p', i: 'i1', v: json },
      { r: '2', e: epoch, k: 'p', i: 'i1', v: json.replace('passing', 'critical') },
      { r: '3', e: epoch, k: 'd', i: 'i1' },
    ]);
    expect(await raw.exists(k('inst'), k('exp'))).toBe(0);
    // An empty service keeps its epoch and log for an hour, then they go.
    expect(await raw.pttl(k('meta'))).toBeGreaterThan(3_000_000);
    expect(await raw.pttl(k('log'))).toBeGreaterThan(3_000_000);
  });

  it('an expired instance is gone for readers at once, and the sweeper streams its removal', async () => {
    const proxy = await startTcpProxy(redis.port);
    const dying = createRedisDiscovery({ url: proxy.url, prefix: `t${++n}:`, ttl: 300, requestTimeout: 200 });
    await using d = createRedisDiscovery({ url: redis.url, prefix: dying.prefix, sweepInterval: 100 });
    await dying.register(inst('i1'));
    await using _r2 = await d.register(inst('i2', 8002));
    const w = collect(d, 'api');
    await eventually(() => w.ids().join() === 'i1,i2', 2000, 'both');
    proxy.block(); // i1's heartbeats stop
    await eventually(async () => (await d.resolve('api')).instances.length === 1, 2000, 'expired on read');
    await eventually(() => w.ids().join() === 'i2', 1000, 'watcher sees the expiry');
    expect(w.events.at(-1)!.reason).toBe('change');
    expect(w.count('removed').get('i1')).toBe(1);
    const log = await entries(`${d.prefix}{api}:log`);
    expect(log.at(-1)).toMatchObject({ k: 'd', i: 'i1' });
    await w.stop();
    await expect(dying.close()).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    await proxy.close();
  });

  it('a record is only extended, updated or removed by the registration that wrote it', async () => {
    await using a = discovery();
    await using b = createRedisDiscovery({ url: redis.url, prefix: a.p });
    const old = await a.register(inst('i1', 1));
    // The process restarts and registers the same id before the old one is gone.
    await using fresh = await b.register(inst('i1', 2));
    await old.close(); // a late deregistration of the old incarnation
    expect((await b.resolve('api')).instances.map((i) => i.port)).toEqual([2]);
    expect(fresh.live).toBe(true);
  });

  it('services() lists services with a live instance', async () => {
    await using d = discovery({ ttl: 200 });
    await using _a = await d.register({ ...inst('i1'), service: 'alpha' });
    await using _b = await d.register({ ...inst('i1'), service: 'beta' });
    const gone = await d.register({ ...inst('i1'), service: 'gamma' });
    await gone.close();
    expect(await d.services()).toEqual(['alpha', 'beta']);
  });

  it('one reader connection per client, however many services it watches', async () => {
    await using d = discovery();
    const before = Number((await raw.info('clients')).match(/connected_clients:(\d+)/)![1]);
    const watches = Array.from({ length: 20 }, (_, i) => collect(d, `svc-${i}`));
    await eventually(() => watches.every((w) => w.events.length === 1), 3000, 'all initial');
    const regs = await Promise.all(watches.map((_, i) => d.register({ ...inst('x'), service: `svc-${i}` })));
    await eventually(() => watches.every((w) => w.ids().join() === 'x'), 3000, 'all see x');
    const after = Number((await raw.info('clients')).match(/connected_clients:(\d+)/)![1]);
    expect(after - before).toBeLessThanOrEqual(2); // the command connection and the reader
    expect(d.activeWatches).toBe(20);
    await Promise.all(regs.map((r) => r.close()));
    await Promise.all(watches.map((w) => w.stop()));
  });
});
