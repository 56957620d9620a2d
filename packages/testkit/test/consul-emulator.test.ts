import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsulEmulator, parseDuration, startConsulEmulator } from '../src/emulators/consul/index.js';

let consul: ConsulEmulator;

beforeAll(async () => {
  consul = await startConsulEmulator({
    minDeregisterCriticalServiceAfter: 0,
    reapInterval: 50,
    minSessionTtl: 100,
    sessionTtlMultiplier: 1,
    random: () => 0, // first probes at once (the stagger has its own test)
  });
});
afterAll(async () => {
  await consul.close();
});

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${consul.url}/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return {
    status: res.status,
    index: Number(res.headers.get('x-consul-index') ?? 0),
    text,
    json: json as any,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('duration parsing', () => {
  it('parses Go durations', () => {
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1000000')).toBe(1);
    expect(parseDuration('abc')).toBeUndefined();
  });
});

describe('agent services and checks', () => {
  it('registers the API docs example and returns it from /health/service in Consul shape', async () => {
    // From api-docs/agent/service.mdx "Sample Payload" (trimmed to the fields the emulator models).
    const reg = await api('PUT', '/agent/service/register', {
      ID: 'redis1',
      Name: 'redis',
      Tags: ['primary', 'v1'],
      Address: '127.0.0.1',
      Port: 8000,
      Meta: { redis_version: '4.0' },
      EnableTagOverride: false,
      Check: { DeregisterCriticalServiceAfter: '90m', TTL: '15s' },
      Weights: { Passing: 10, Warning: 1 },
    });
    expect(reg.status).toBe(200);
    const health = await api('GET', '/health/service/redis');
    expect(health.status).toBe(200);
    expect(health.index).toBeGreaterThan(0);
    expect(health.json).toHaveLength(1);
    const [entry] = health.json;
    expect(entry.Node).toMatchObject({
      Node: 'switchyard-emulator',
      Address: '127.0.0.1',
      Datacenter: 'dc1',
    });
    expect(entry.Service).toMatchObject({
      ID: 'redis1',
      Service: 'redis',
      Tags: ['primary', 'v1'],
      Address: '127.0.0.1',
      Port: 8000,
      Meta: { redis_version: '4.0' },
      Weights: { Passing: 10, Warning: 1 },
    });
    const ids = entry.Checks.map((c: any) => c.CheckID);
    expect(ids).toEqual(['serfHealth', 'service:redis1']);
    // A TTL check with no initial Status starts critical.
    expect(entry.Checks[1]).toMatchObject({
      Status: 'critical',
      ServiceID: 'redis1',
      ServiceName: 'redis',
      Type: 'ttl',
    });
    expect((await api('GET', '/health/service/redis?passing')).json).toEqual([]);
  });

  it('moves a TTL check through pass/warn/fail/update and filters by passing and tag', async () => {
    expect((await api('PUT', '/agent/check/pass/service:redis1?note=ok')).status).toBe(200);
    let h = await api('GET', '/health/service/redis?passing=true');
    expect(h.json).toHaveLength(1);
    expect(h.json[0].Checks[1]).toMatchObject({ Status: 'passing', Output: 'ok' });
    expect((await api('GET', '/health/service/redis?tag=primary&tag=v1')).json).toHaveLength(1);
    expect((await api('GET', '/health/service/redis?tag=secondary')).json).toHaveLength(0);
    await api('PUT', '/agent/check/warn/service:redis1');
    h = await api('GET', '/health/service/redis?passing');
    expect(h.json).toHaveLength(0);
    await api('PUT', '/agent/check/update/service:redis1', { Status: 'passing', Output: 'fine' });
    h = await api('GET', '/health/service/redis');
    expect(h.json[0].Checks[1]).toMatchObject({ Status: 'passing', Output: 'fine' });
    const bad = await api('PUT', '/agent/check/update/service:redis1', { Status: 'bogus' });
    expect(bad.status).toBe(400);
    const unknown = await api('PUT', '/agent/check/pass/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('Unknown check ID');
  });

  it('expires a TTL check to critical with "TTL expired"', async () => {
    await api('PUT', '/agent/service/register', {
      Name: 'ttl-svc',
      Port: 1,
      Check: { TTL: '150ms', Status: 'passing' },
    });
    expect((await api('GET', '/health/service/ttl-svc?passing')).json).toHaveLength(1);
    await sleep(300);
    const h = await api('GET', '/health/service/ttl-svc');
    expect(h.json[0].Checks[1].Status).toBe('critical');
    expect(h.json[0].Checks[1].Output).toContain('TTL expired');
  });

  it('reaps a service whose check stays critical past DeregisterCriticalServiceAfter', async () => {
    await api('PUT', '/agent/service/register', {
      Name: 'reaped',
      ID: 'reaped-1',
      Port: 2,
      Check: { TTL: '10s', DeregisterCriticalServiceAfter: '100ms' },
    });
    expect((await api('GET', '/health/service/reaped')).json).toHaveLength(1);
    await sleep(400);
    expect((await api('GET', '/health/service/reaped')).json).toHaveLength(0);
    expect((await api('GET', '/agent/services')).json['reaped-1']).toBeUndefined();
  });

  it('enables and disables maintenance mode with the _service_maintenance check', async () => {
    expect((await api('PUT', '/agent/service/maintenance/redis1?enable=true&reason=upgrade')).status).toBe(
      200,
    );
    const h = await api('GET', '/health/service/redis');
    const maint = h.json[0].Checks.find((c: any) => c.CheckID === '_service_maintenance:redis1');
    expect(maint).toMatchObject({ Status: 'critical', Notes: 'upgrade', Name: 'Service Maintenance Mode' });
    await api('PUT', '/agent/service/maintenance/redis1?enable=false');
    const after = await api('GET', '/health/service/redis');
    expect(after.json[0].Checks.some((c: any) => c.CheckID.startsWith('_service_maintenance'))).toBe(false);
    expect((await api('PUT', '/agent/service/maintenance/redis1')).status).toBe(400);
    expect((await api('PUT', '/agent/service/maintenance/ghost?enable=true')).status).toBe(404);
  });

  it('numbers multiple checks service:<id>:N and probes HTTP and TCP', async () => {
    const { createServer } = await import('node:http');
    const target = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const port = (target.address() as { port: number }).port;
    try {
      await api('PUT', '/agent/service/register', {
        Name: 'web',
        ID: 'web-1',
        Port: port,
        Checks: [
          // Consul raises an interval below 1 s to 1 s (checks.MinInterval).
          { HTTP: `http://127.0.0.1:${port}/health`, Interval: '100ms' },
          { TCP: `127.0.0.1:${port}`, Interval: '1s' },
        ],
      });
      await sleep(200);
      const h = await api('GET', '/health/service/web');
      const checks = h.json[0].Checks.filter((c: any) => c.ServiceID === 'web-1');
      expect(checks.map((c: any) => c.CheckID)).toEqual(['service:web-1:1', 'service:web-1:2']);
      expect(checks.map((c: any) => c.Status)).toEqual(['passing', 'passing']);
    } finally {
      target.closeAllConnections();
      await new Promise((r) => target.close(r));
    }
    const statuses = async () =>
      (await api('GET', '/health/service/web')).json[0].Checks.filter(
        (c: any) => c.ServiceID === 'web-1',
      ).map((c: any) => c.Status);
    await sleep(700);
    // Still passing 700 ms later: the next probe is a whole (raised) interval after the first.
    expect(await statuses()).toEqual(['passing', 'passing']);
    await sleep(600);
    expect(await statuses()).toEqual(['critical', 'critical']);
    await api('PUT', '/agent/service/deregister/web-1');
  });

  it('lists services in the catalog (with the built-in consul service) and deregisters', async () => {
    const cat = await api('GET', '/catalog/services');
    expect(cat.json).toMatchObject({ consul: [], redis: ['primary', 'v1'] });
    expect((await api('GET', '/agent/services')).json.redis1).toMatchObject({
      ID: 'redis1',
      Service: 'redis',
    });
    expect((await api('PUT', '/agent/service/deregister/redis1')).status).toBe(200);
    const missing = await api('PUT', '/agent/service/deregister/redis1');
    expect(missing.status).toBe(404);
    expect((await api('GET', '/health/service/redis')).json).toEqual([]);
  });

  it('rejects a bad registration', async () => {
    expect((await api('PUT', '/agent/service/register', { Port: 1 })).status).toBe(400);
    expect((await api('PUT', '/agent/service/register', { Name: 'x', Weights: { Passing: 0 } })).status).toBe(
      400,
    );
    expect((await api('PUT', '/agent/service/register', '{not json')).status).toBe(400);
  });
});

describe('blocking queries', () => {
  it('answers at once without index, blocks with index until a change', async () => {
    const first = await api('GET', '/health/service/blocky');
    expect(first.index).toBeGreaterThan(0);
    const started = Date.now();
    const pending = api('GET', `/health/service/blocky?index=${first.index}&wait=5s`);
    await sleep(100);
    await api('PUT', '/agent/service/register', { Name: 'blocky', Port: 3 });
    const second = await pending;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(second.index).toBeGreaterThan(first.index);
    expect(second.json).toHaveLength(1);
  });

  it('returns the same index after wait (+ up to wait/16) when nothing changed', async () => {
    const first = await api('GET', '/health/service/blocky');
    const started = Date.now();
    const second = await api('GET', `/health/service/blocky?index=${first.index}&wait=200ms`);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(195);
    expect(took).toBeLessThan(1000);
    expect(second.index).toBe(first.index);
  });

  it('does not wake a watcher of one service for a write to another service', async () => {
    const first = await api('GET', '/health/service/blocky');
    const pending = api('GET', `/health/service/blocky?index=${first.index}&wait=300ms`);
    await api('PUT', '/agent/service/register', { Name: 'other', Port: 4 });
    expect((await pending).index).toBe(first.index);
  });

  it('wakes a catalog/services query for a new service but not for a check status change', async () => {
    await api('PUT', '/agent/service/register', {
      Name: 'flappy',
      ID: 'flappy-1',
      Port: 9,
      Check: { TTL: '10s' },
    });
    const cat = await api('GET', '/catalog/services');
    const quiet = api('GET', `/catalog/services?index=${cat.index}&wait=300ms`);
    await api('PUT', '/agent/check/pass/service:flappy-1');
    expect((await quiet).index).toBe(cat.index);
    const woken = api('GET', `/catalog/services?index=${cat.index}&wait=5s`);
    await api('PUT', '/agent/service/register', { Name: 'brand-new', Port: 10 });
    const r = await woken;
    expect(r.index).toBeGreaterThan(cat.index);
    expect(r.json['brand-new']).toEqual([]);
  });

  it('does not move the index for an output-only check update (Consul defers those syncs)', async () => {
    await api('PUT', '/agent/check/pass/service:flappy-1?note=first');
    const h = await api('GET', '/health/service/flappy');
    await api('PUT', '/agent/check/pass/service:flappy-1?note=second');
    const again = await api('GET', '/health/service/flappy');
    expect(again.index).toBe(h.index);
    expect(again.json[0].Checks[1].Output).toBe('second');
  });

  it('reports requests to the onRequest hook', async () => {
    const seen: string[] = [];
    await using e = await startConsulEmulator({
      onRequest: (r) => seen.push(`${r.method} ${r.path} ${r.query.get('index') ?? '-'}`),
    });
    await fetch(`${e.url}/v1/health/service/x?index=0`);
    expect(seen).toEqual(['GET /v1/health/service/x 0']);
  });

  it('rejects a malformed wait', async () => {
    expect((await api('GET', '/health/service/blocky?index=1&wait=soon')).status).toBe(400);
  });
});

describe('KV', () => {
  it('puts, gets (base64), reads raw, lists keys and deletes', async () => {
    expect((await api('PUT', '/kv/app/config/a', 'hello')).json).toBe(true);
    await api('PUT', '/kv/app/config/b?flags=42', 'world');
    await api('PUT', '/kv/app/other', 'x');
    const a = await api('GET', '/kv/app/config/a');
    expect(a.json[0]).toMatchObject({
      Key: 'app/config/a',
      Flags: 0,
      LockIndex: 0,
      Value: Buffer.from('hello').toString('base64'),
    });
    expect(a.index).toBe(a.json[0].ModifyIndex);
    expect((await api('GET', '/kv/app/config/a?raw')).text).toBe('hello');
    const rec = await api('GET', '/kv/app/config/?recurse');
    expect(rec.json.map((e: any) => e.Key)).toEqual(['app/config/a', 'app/config/b']);
    expect(rec.json[1].Flags).toBe(42);
    expect((await api('GET', '/kv/app/?keys&separator=/')).json).toEqual(['app/config/', 'app/other']);
    expect((await api('GET', '/kv/missing')).status).toBe(404);
    expect((await api('DELETE', '/kv/app/config/?recurse')).json).toBe(true);
    expect((await api('GET', '/kv/app/config/?recurse')).status).toBe(404);
  });

  it('honours cas on put and delete', async () => {
    expect((await api('PUT', '/kv/cas/k?cas=0', 'v1')).json).toBe(true);
    expect((await api('PUT', '/kv/cas/k?cas=0', 'v2')).json).toBe(false);
    const cur = (await api('GET', '/kv/cas/k')).json[0];
    expect((await api('PUT', `/kv/cas/k?cas=${cur.ModifyIndex + 100}`, 'v3')).json).toBe(false);
    expect((await api('PUT', `/kv/cas/k?cas=${cur.ModifyIndex}`, 'v3')).json).toBe(true);
    expect((await api('DELETE', `/kv/cas/k?cas=${cur.ModifyIndex}`)).json).toBe(false);
    const now = (await api('GET', '/kv/cas/k')).json[0];
    expect((await api('DELETE', `/kv/cas/k?cas=${now.ModifyIndex}`)).json).toBe(true);
  });

  it('blocks on a key until it changes', async () => {
    await api('PUT', '/kv/watch/me', '1');
    const first = await api('GET', '/kv/watch/me');
    const pending = api('GET', `/kv/watch/me?index=${first.index}&wait=5s`);
    await sleep(50);
    await api('PUT', '/kv/watch/me', '2');
    const second = await pending;
    expect(second.index).toBeGreaterThan(first.index);
    expect(Buffer.from(second.json[0].Value, 'base64').toString()).toBe('2');
  });
});

describe('sessions and locks', () => {
  it('creates, reads, renews and destroys a session (docs payload shape)', async () => {
    const created = await api('PUT', '/session/create', {
      LockDelay: '15s',
      Name: 'my-service-lock',
      Behavior: 'release',
      TTL: '30s',
    });
    expect(created.json.ID).toMatch(/^[0-9a-f-]{36}$/);
    const info = await api('GET', `/session/info/${created.json.ID}`);
    expect(info.json[0]).toMatchObject({
      ID: created.json.ID,
      Name: 'my-service-lock',
      Behavior: 'release',
      TTL: '30s',
      LockDelay: 15_000_000_000,
      NodeChecks: ['serfHealth'],
    });
    expect((await api('PUT', `/session/renew/${created.json.ID}`)).json[0].ID).toBe(created.json.ID);
    expect((await api('PUT', `/session/destroy/${created.json.ID}`)).json).toBe(true);
    expect((await api('GET', `/session/info/${created.json.ID}`)).json).toEqual([]);
    expect((await api('PUT', `/session/renew/${created.json.ID}`)).status).toBe(404);
    expect((await api('PUT', '/session/create', { TTL: '1ms' })).status).toBe(400);
  });

  it('acquires and releases a key with a session; lock-delay blocks re-acquire after invalidation', async () => {
    const s1 = (await api('PUT', '/session/create', { LockDelay: '300ms' })).json.ID;
    const s2 = (await api('PUT', '/session/create', { LockDelay: '0s' })).json.ID;
    expect((await api('PUT', `/kv/locks/a?acquire=${s1}`, 'owner1')).json).toBe(true);
    const held = (await api('GET', '/kv/locks/a')).json[0];
    expect(held).toMatchObject({ Session: s1, LockIndex: 1 });
    expect((await api('PUT', `/kv/locks/a?acquire=${s2}`, 'owner2')).json).toBe(false);
    expect((await api('PUT', `/kv/locks/a?release=${s2}`)).json).toBe(false);
    expect((await api('PUT', `/kv/locks/a?release=${s1}`)).json).toBe(true);
    expect((await api('GET', '/kv/locks/a')).json[0].Session).toBeUndefined();
    expect((await api('PUT', `/kv/locks/a?acquire=${s1}`)).json).toBe(true);
    await api('PUT', `/session/destroy/${s1}`);
    expect((await api('GET', '/kv/locks/a')).json[0].Session).toBeUndefined();
    expect((await api('PUT', `/kv/locks/a?acquire=${s2}`)).json).toBe(false); // lock-delay
    await sleep(350);
    const got = await api('PUT', `/kv/locks/a?acquire=${s2}`);
    expect(got.json).toBe(true);
    expect((await api('GET', '/kv/locks/a')).json[0].LockIndex).toBe(3);
    expect((await api('PUT', '/kv/locks/b?acquire=not-a-session')).status).toBe(500);
  });

  it('invalidates a session at TTL expiry; the delete behaviour removes held keys', async () => {
    const s = (await api('PUT', '/session/create', { TTL: '150ms', Behavior: 'delete', LockDelay: '0s' }))
      .json.ID;
    expect((await api('PUT', `/kv/eph/key?acquire=${s}`, 'x')).json).toBe(true);
    await sleep(350);
    expect((await api('GET', `/session/info/${s}`)).json).toEqual([]);
    expect((await api('GET', '/kv/eph/key')).status).toBe(404);
  });
});

describe('faults, ACL and datacenter', () => {
  it('injects failures and black holes', async () => {
    consul.failNext(2, 503);
    expect((await api('GET', '/catalog/services')).status).toBe(503);
    expect((await api('GET', '/catalog/services')).status).toBe(503);
    expect((await api('GET', '/catalog/services')).status).toBe(200);
    consul.blackholeNext(1);
    await expect(
      fetch(`${consul.url}/v1/catalog/services`, { signal: AbortSignal.timeout(200) }),
    ).rejects.toThrow();
  });

  it('restart forgets state, cuts blocking queries and moves the index backwards', async () => {
    await api('PUT', '/agent/service/register', { Name: 'survivor', Port: 5 });
    const before = await api('GET', '/health/service/survivor');
    const pending = api('GET', `/health/service/survivor?index=${before.index}&wait=10s`).then(
      () => 'answered',
      () => 'cut',
    );
    await sleep(50);
    await consul.restart();
    expect(await pending).toBe('cut');
    const after = await api('GET', '/health/service/survivor');
    expect(after.json).toEqual([]);
    expect(after.index).toBeGreaterThan(0);
    expect(after.index).toBeLessThan(before.index);
  });

  it('after a restart a blocking query on the old, higher index waits out `wait` and returns the lower index', async () => {
    await api('PUT', '/agent/service/register', { Name: 'backwards', Port: 6 });
    const high = (await api('GET', '/health/service/backwards')).index;
    await consul.restart();
    await sleep(20); // let the client notice its keep-alive sockets were cut
    const started = Date.now();
    const r = await api('GET', `/health/service/backwards?index=${high}&wait=300ms`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(r.index).toBeLessThan(high);
  });

  it('restart with downtime refuses connections meanwhile', async () => {
    const restarting = consul.restart({ downtime: 200 });
    await sleep(50);
    await expect(fetch(`${consul.url}/v1/catalog/services`)).rejects.toThrow();
    await restarting;
    expect((await api('GET', '/catalog/services')).status).toBe(200);
  });

  it('rejects an unknown datacenter', async () => {
    const r = await api('GET', '/health/service/x?dc=mars');
    expect(r.status).toBe(500);
    expect(r.text).toBe('No path to datacenter');
  });

  it('enforces an ACL token when configured', async () => {
    await using secured = await startConsulEmulator({ aclToken: 'secret' });
    const anon = await fetch(`${secured.url}/v1/catalog/services`);
    expect(anon.status).toBe(403);
    const wrong = await fetch(`${secured.url}/v1/catalog/services`, {
      headers: { 'X-Consul-Token': 'nope' },
    });
    expect(await wrong.text()).toBe('ACL not found');
    const ok = await fetch(`${secured.url}/v1/catalog/services`, { headers: { 'X-Consul-Token': 'secret' } });
    expect(ok.status).toBe(200);
  });
});
