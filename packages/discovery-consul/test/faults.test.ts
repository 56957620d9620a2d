import { createServer, type Server } from 'node:http';
import type { DiscoveryEvent } from '@switchyard/core';
import { type ConsulEmulator, startConsulEmulator } from '@switchyard/testkit/emulators/consul';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsulDiscovery } from '../src/index.js';
import { next, uniqueService, until, waitFor } from './target.js';

// These tests need fault hooks (restart, injected 500s, black-holed requests), so they always run on
// the testkit emulator, even when CONSUL_HTTP_ADDR points the contract suite at a real agent.
let consul: ConsulEmulator;

beforeAll(async () => {
  consul = await startConsulEmulator({ minDeregisterCriticalServiceAfter: 0, reapInterval: 100 });
});
afterAll(async () => {
  await consul.close();
});

const fast = () => ({
  host: consul.host,
  port: consul.port,
  ttl: 1500,
  wait: 5000,
  requestTimeout: 1000,
  backoff: { base: 50, max: 200 },
});

function collect(iterable: AsyncIterable<DiscoveryEvent>) {
  const events: DiscoveryEvent[] = [];
  const it = iterable[Symbol.asyncIterator]();
  const done = (async () => {
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      events.push(r.value);
    }
  })();
  return {
    events,
    stop: async () => {
      await it.return?.();
      await done;
    },
  };
}

describe('agent restart', () => {
  it('re-creates registrations (lost → restored) and the watch resyncs with a monotonic revision', async () => {
    await using d = createConsulDiscovery(fast());
    const service = uniqueService('restart');
    const reg = await d.register({ id: 'r1', service, address: '127.0.0.1', port: 1, tags: ['t'] });
    const seen: string[] = [];
    reg.on('registration:lost', () => seen.push('lost'));
    reg.on('registration:restored', () => seen.push('restored'));
    const watch = collect(d.watch(service));
    await waitFor(
      () => watch.events.some((e) => e.snapshot.instances.length === 1),
      3000,
      'initial instance',
    );
    await consul.restart();
    // The agent forgot everything; the next heartbeat (≤ ttl/3) finds its check gone and registers again.
    await waitFor(() => seen.includes('restored'), 3000, 'registration restored');
    expect(seen).toEqual(['lost', 'restored']);
    const health = await (await fetch(`${consul.url}/v1/health/service/${service}?passing`)).json();
    expect(health).toHaveLength(1);
    // The cut blocking query marks the snapshot stale; the relist after it is a resync (the agent is
    // empty at that point), then the re-registration arrives as a change.
    await waitFor(
      () => watch.events.at(-1)?.snapshot.instances.length === 1,
      3000,
      'instance back in the watch',
    );
    expect(watch.events.some((e) => e.reason === 'resync')).toBe(true);
    const revisions = watch.events.map((e) => e.snapshot.revision);
    expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);
    expect(watch.events.some((e) => e.stale)).toBe(true);
    expect(watch.events.at(-1)?.stale).toBe(false);
    await watch.stop();
  });

  it('reports loss after the agent is down longer than the TTL, and restores afterwards', async () => {
    await using d = createConsulDiscovery(fast());
    const service = uniqueService('downtime');
    const reg = await d.register({ id: 'd1', service, address: '127.0.0.1', port: 2 });
    const seen: string[] = [];
    reg.on('registration:lost', () => seen.push('lost'));
    reg.on('registration:restored', () => seen.push('restored'));
    await consul.restart({ downtime: 2000 });
    await waitFor(() => seen.includes('restored'), 4000, 'restored');
    expect(seen).toEqual(['lost', 'restored']);
    expect((await d.resolve(service)).instances.map((i) => i.id)).toEqual(['d1']);
  });
});

describe('watch recovery', () => {
  it('recovers from injected 500s with backoff, marking the snapshot stale meanwhile', async () => {
    await using d = createConsulDiscovery({ ...fast(), wait: 200 });
    await using writer = createConsulDiscovery({ ...fast(), ttl: 30_000 });
    const service = uniqueService('fivehundred');
    await using _a = await writer.register({ id: 'a', service, address: '127.0.0.1', port: 3 });
    const watch = collect(d.watch(service));
    await waitFor(() => watch.events.length >= 1, 3000, 'initial');
    const before = consul.requestCount;
    consul.failNext(6, 500);
    await waitFor(() => watch.events.some((e) => e.stale), 3000, 'stale event');
    await waitFor(() => watch.events.some((e) => e.reason === 'resync' && !e.stale), 5000, 'resync');
    // Six failures cost six requests plus the recovery, not a busy loop.
    expect(consul.requestCount - before).toBeLessThan(20);
    await using _b = await writer.register({ id: 'b', service, address: '127.0.0.1', port: 4 });
    await waitFor(() => watch.events.at(-1)?.snapshot.instances.length === 2, 3000, 'change after recovery');
    await watch.stop();
  });

  it('times out a long poll that never answers and carries on', async () => {
    await using d = createConsulDiscovery({ ...fast(), wait: 300, requestTimeout: 300 });
    await using writer = createConsulDiscovery({ ...fast(), ttl: 30_000 });
    const service = uniqueService('blackhole');
    const it = d.watch(service)[Symbol.asyncIterator]();
    await next(it);
    consul.blackholeNext(1);
    await new Promise((r) => setTimeout(r, 1200));
    await using _r = await writer.register({ id: 'x', service, address: '127.0.0.1', port: 5 });
    const ev = await until(it, (e) => e.snapshot.instances.length === 1, 5000);
    expect(ev.snapshot.instances[0]?.id).toBe('x');
    await it.return?.();
  });

  it('fails fast with BACKEND_UNAVAILABLE when the agent is gone, and never hangs', async () => {
    const dead = await startConsulEmulator();
    const { host, port } = dead;
    await dead.close();
    await using d = createConsulDiscovery({
      host,
      port,
      requestTimeout: 1000,
      backoff: { base: 20, max: 50 },
    });
    await expect(d.resolve('svc')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    await expect(
      d.register({ id: 'a', service: 'svc', address: '127.0.0.1', port: 1 }),
    ).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
    });
    await expect(d.services()).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    // Nothing to serve yet: the stream fails rather than keep its consumer waiting.
    const started = Date.now();
    await expect(d.watch('svc')[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
    });
    expect(Date.now() - started).toBeLessThan(2000);
    await d.close();
  });
});

describe('blocking-query client duties (scripted agent)', () => {
  // A scripted /v1/health/service endpoint: answers at once with the index the script dictates, and
  // records the `index` each request carried.
  let server: Server;
  let script: number[] = [];
  let fallback = 1;
  const seen: (string | null)[] = [];
  let port = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push(url.searchParams.get('index'));
      const index = script.length ? (script.shift() as number) : fallback++;
      res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': String(index) });
      res.end('[]');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('resets to a non-blocking query when the index goes backwards and never blocks below 1', async () => {
    seen.length = 0;
    script = [100, 120, 50, 0, 0];
    fallback = 1_000;
    await using d = createConsulDiscovery({
      host: '127.0.0.1',
      port,
      rateLimit: { burst: 100, interval: 1 },
    });
    const it = d.watch('svc')[Symbol.asyncIterator]();
    await next(it);
    await waitFor(() => seen.length >= 7, 3000, 'requests');
    await it.return?.();
    // 1st: no index; then 100, 120; 50 < 120 → reset (no index); 0 → floor 1; 0 again → still 1.
    expect(seen.slice(0, 6)).toEqual([null, '100', '120', null, '1', '1']);
  });

  it('rate-limits a churning loop with the token bucket', async () => {
    seen.length = 0;
    script = [];
    fallback = 1;
    await using d = createConsulDiscovery({
      host: '127.0.0.1',
      port,
      rateLimit: { burst: 2, interval: 200 },
    });
    const it = d.watch('churn')[Symbol.asyncIterator]();
    await next(it);
    await new Promise((r) => setTimeout(r, 1000));
    await it.return?.();
    // burst 2 + one per 200 ms over ~1 s ≈ 7; an unlimited loop would make hundreds of requests.
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen.length).toBeLessThanOrEqual(9);
  });
});

describe('ACL token and datacenter', () => {
  it('sends the token on every call and reads the configured datacenter', async () => {
    await using secured = await startConsulEmulator({ aclToken: 's3cret' });
    const base = { host: secured.host, port: secured.port, ttl: 3000, wait: 1000 };
    await using withToken = createConsulDiscovery({ ...base, token: 's3cret', datacenter: 'dc1' });
    const service = uniqueService('acl');
    await using reg = await withToken.register({ id: 't', service, address: '127.0.0.1', port: 6 });
    await reg.setHealth('warning');
    expect((await withToken.resolve(service, { filter: { health: ['warning'] } })).instances).toHaveLength(1);
    expect(await withToken.services()).toContain(service);
    await using anonymous = createConsulDiscovery({ ...base });
    await expect(anonymous.resolve(service)).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      details: { status: 403 },
    });
    await using elsewhere = createConsulDiscovery({ ...base, token: 's3cret', datacenter: 'dc9' });
    await expect(elsewhere.resolve(service)).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      details: { status: 500 },
    });
  });
});

describe('what goes over the wire (emulator request hook)', () => {
  it('keeps one blocking query per service in flight however many watchers, and sends stale/tag/passing/token/dc', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const queries: URLSearchParams[] = [];
    const tokens = new Set<string>();
    const service = uniqueService('wire');
    await using agent = await startConsulEmulator({
      onRequest: (r) => {
        tokens.add(String(r.headers['x-consul-token'] ?? ''));
        if (r.path !== `/v1/health/service/${service}`) return;
        queries.push(r.query);
        if (!r.query.has('index')) return;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        void r.finished.then(() => inFlight--);
      },
    });
    await using d = createConsulDiscovery({
      host: agent.host,
      port: agent.port,
      stale: true,
      token: 'tok',
      datacenter: 'dc1',
      wait: 300,
      ttl: 3000,
    });
    const watchers = Array.from({ length: 5 }, (_, i) =>
      d.watch(service, { filter: i % 2 ? { tags: ['x'] } : undefined })[Symbol.asyncIterator](),
    );
    await Promise.all(watchers.map((w) => next(w)));
    await using _r = await d.register({ id: 'w', service, address: '127.0.0.1', port: 7, tags: ['x'] });
    await Promise.all(watchers.map((w) => until(w, (e) => e.snapshot.instances.length === 1)));
    await new Promise((r) => setTimeout(r, 700)); // a couple of wait expiries
    expect(maxInFlight).toBe(1);
    expect(d.activeWatches).toBe(1);
    for (const w of watchers) await w.return?.();
    const watchQueries = queries.filter((q) => q.has('index'));
    expect(watchQueries.length).toBeGreaterThanOrEqual(2);
    for (const q of watchQueries) {
      expect(q.has('stale')).toBe(true);
      expect(q.get('dc')).toBe('dc1');
      expect(q.get('wait')).toBe('300ms');
      expect(Number(q.get('index'))).toBeGreaterThanOrEqual(1);
    }
    // resolve() is one full read whatever the filter (filters apply locally, as for a watch).
    queries.length = 0;
    expect((await d.resolve(service, { filter: { tags: ['x'] } })).instances).toHaveLength(1);
    expect((await d.resolve(service, { filter: { tags: ['y'] } })).instances).toHaveLength(0);
    expect(queries).toHaveLength(2);
    for (const q of queries) {
      expect(q.has('tag') || q.has('passing') || q.has('index')).toBe(false);
      expect(q.has('stale')).toBe(true);
    }
    expect([...tokens]).toEqual(['tok']);
  });

  it('aborts a register whose request hangs with ABORTED, without leaving an orphan', async () => {
    await using d = createConsulDiscovery({ host: consul.host, port: consul.port, ttl: 3000 });
    const service = uniqueService('abort-reg');
    consul.blackholeNext(1);
    const started = Date.now();
    await expect(
      d.register({ id: 'a', service, address: '127.0.0.1', port: 8 }, { signal: AbortSignal.timeout(150) }),
    ).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(1000);
    const ac = new AbortController();
    const pending = d.register({ id: 'b', service, address: '127.0.0.1', port: 9 }, { signal: ac.signal });
    ac.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    await waitFor(async () => (await d.resolve(service)).instances.length === 0, 2000, 'no orphan');
  });
});

describe('DeregisterCriticalServiceAfter', () => {
  it('the agent reaps an instance whose heartbeats stop; the handle re-registers it when they resume', async () => {
    // Consul's minimum DeregisterCriticalServiceAfter is a minute: this agent reaps after 200 ms instead.
    await using agent = await startConsulEmulator({ reapInterval: 100, reapCriticalAfter: 200 });
    const at = { host: agent.host, port: agent.port };
    await using d = createConsulDiscovery({ ...fast(), ...at, ttl: 1000 });
    await using observer = createConsulDiscovery({ ...fast(), ...at, wait: 300 });
    const service = uniqueService('reaped');
    const reg = await d.register({ id: 'z', service, address: '127.0.0.1', port: 12 });
    const seen: string[] = [];
    reg.on('registration:lost', () => seen.push('lost'));
    reg.on('registration:restored', () => seen.push('restored'));
    const agentHas = async () =>
      ((await (await fetch(`${agent.url}/v1/health/service/${service}`)).json()) as unknown[]).length;
    expect(await agentHas()).toBe(1);
    agent.failNext(1_000_000, 503, { path: /^\/v1\/agent\/check\// }); // heartbeats stop reaching the check
    // TTL 1 s → critical, then 200 ms later the agent's reaper deregisters the service.
    await waitFor(async () => (await agentHas()) === 0, 6000, 'reaped by the agent');
    agent.failNext(0);
    // Reaped while unreachable: the loss is reported, and the first heartbeat that gets through
    // finds the check gone and registers again.
    await waitFor(() => seen.includes('restored'), 3000, 'restored');
    expect(seen).toEqual(['lost', 'restored']);
    expect(await agentHas()).toBe(1);
    expect((await observer.resolve(service)).instances.map((i) => i.id)).toEqual(['z']);
  });
});

describe('TLS', () => {
  it('talks HTTPS to the agent with the given CA, and refuses an untrusted certificate', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'consul-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
        ],
        { stdio: 'ignore' },
      );
      const key = readFileSync(join(dir, 'key.pem'));
      const cert = readFileSync(join(dir, 'cert.pem'));
      await using secure = await startConsulEmulator({ tls: { key, cert } });
      expect(secure.url.startsWith('https://')).toBe(true);
      await using d = createConsulDiscovery({
        host: secure.host,
        port: secure.port,
        tls: { ca: cert },
        ttl: 3000,
        wait: 1000,
      });
      const service = uniqueService('tls');
      await using _r = await d.register({ id: 's', service, address: '127.0.0.1', port: 13 });
      const it = d.watch(service)[Symbol.asyncIterator]();
      expect((await next(it)).snapshot.instances.map((i) => i.id)).toEqual(['s']);
      await it.return?.();
      await using untrusted = createConsulDiscovery({ host: secure.host, port: secure.port, secure: true });
      await expect(untrusted.resolve(service)).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
