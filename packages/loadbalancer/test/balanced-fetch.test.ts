import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createMemoryDiscovery,
  type DiscoveryBackend,
  isSwitchyardError,
  type Registration,
} from '@switchyard/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Balancer, createBalancedFetch, createBalancer, roundRobinPicker } from '../src/index.js';

type Mode = 'ok' | '503' | 'hang' | 'slow';

interface Backend {
  id: string;
  server: Server;
  port: number;
  mode: Mode;
  hits: number;
  registration?: Registration;
}

async function startBackend(id: string): Promise<Backend> {
  const backend = { id, mode: 'ok' as Mode, hits: 0 } as Backend;
  backend.server = createServer((req, res) => {
    backend.hits++;
    if (backend.mode === 'hang') return;
    const send = () => {
      res.statusCode = backend.mode === '503' ? 503 : 200;
      res.end(`${id} ${req.method} ${req.url}`);
    };
    if (backend.mode === 'slow') setTimeout(send, 1500);
    else send();
  });
  await new Promise<void>((r) => backend.server.listen(0, '127.0.0.1', r));
  backend.port = (backend.server.address() as AddressInfo).port;
  return backend;
}

describe('createBalancedFetch against real HTTP servers on loopback', () => {
  let discovery: DiscoveryBackend;
  const backends: Backend[] = [];

  beforeAll(async () => {
    discovery = createMemoryDiscovery({ ttl: 60_000 });
    for (const id of ['a', 'b', 'c']) {
      const b = await startBackend(id);
      b.registration = await discovery.register({ id, service: 'api', address: '127.0.0.1', port: b.port });
      backends.push(b);
    }
  });

  afterAll(async () => {
    await discovery.close();
    for (const b of backends) {
      b.server.closeAllConnections();
      await new Promise((r) => b.server.close(r));
    }
  });

  afterEach(() => {
    for (const b of backends) {
      b.mode = 'ok';
      b.hits = 0;
    }
  });

  const balancer = (extra: Partial<Parameters<typeof createBalancer>[0]> = {}): Balancer =>
    createBalancer({ discovery, service: 'api', picker: roundRobinPicker(), ...extra });

  it('sends http://<service>/path to the picked instances', async () => {
    await using lb = balancer();
    const fetch = createBalancedFetch({ balancers: lb });
    const bodies = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => (await fetch(`http://api/items/${i}?x=1`)).text()),
    );
    expect(bodies.every((b) => / GET \/items\/\d\?x=1$/.test(b))).toBe(true);
    expect(new Set(bodies.map((b) => b.split(' ')[0]))).toEqual(new Set(['a', 'b', 'c']));
  });

  it('retries a 503 on another instance and ejects/opens the failing one', async () => {
    (backends[0] as Backend).mode = '503';
    await using lb = balancer({ breaker: { consecutiveFailures: 2, openDuration: 60_000 } });
    const fetch = createBalancedFetch({ balancers: [lb] });
    for (let i = 0; i < 12; i++) {
      const res = await fetch('http://api/x');
      expect(res.status).toBe(200);
      expect(await res.text()).not.toMatch(/^a /);
    }
    expect((backends[0] as Backend).hits).toBe(2);
    expect(lb.stats().find((s) => s.id === 'a')?.breaker).toBe('open');
  });

  it('retries connection failures (registered but dead instance)', async () => {
    const dead = await startBackend('dead');
    await new Promise((r) => dead.server.close(r));
    const reg = await discovery.register({
      id: 'dead',
      service: 'api',
      address: '127.0.0.1',
      port: dead.port,
    });
    try {
      await using lb = balancer();
      const fetch = createBalancedFetch({ balancers: { api: lb } });
      for (let i = 0; i < 8; i++) expect((await fetch('http://api/y')).status).toBe(200);
      expect(lb.stats().find((s) => s.id === 'dead')?.failures).toBeGreaterThan(0);
    } finally {
      await reg.close();
    }
  });

  it('applies the per-try timeout, then retries elsewhere', async () => {
    (backends[1] as Backend).mode = 'hang';
    await using lb = balancer();
    const fetch = createBalancedFetch({ balancers: lb, perTryTimeout: 150 });
    const started = performance.now();
    for (let i = 0; i < 3; i++) expect((await fetch('http://api/z')).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(2000);
    expect((backends[1] as Backend).hits).toBeGreaterThan(0);
  });

  it('fails with TIMEOUT when the overall deadline passes and with ABORTED on the caller signal', async () => {
    for (const b of backends) b.mode = 'hang';
    await using lb = balancer({ breaker: false, outlierDetection: false });
    const fetch = createBalancedFetch({ balancers: lb, perTryTimeout: 5_000, timeout: 200 });
    await expect(fetch('http://api/t')).rejects.toSatisfy((e) => isSwitchyardError(e, 'TIMEOUT'));
    const ac = new AbortController();
    const p = fetch('http://api/t', { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toSatisfy((e) => isSwitchyardError(e, 'ABORTED'));
  });

  it('stops retrying when the retry budget is exhausted and never retries POST', async () => {
    for (const b of backends) b.mode = '503';
    await using lb = balancer({
      breaker: false,
      outlierDetection: false,
      retryBudget: { ratio: 0, minRetriesPerSecond: 0.1, window: 10_000 },
    });
    const fetch = createBalancedFetch({ balancers: lb, retries: 5 });
    expect((await fetch('http://api/b')).status).toBe(503);
    const hitsAfterFirst = backends.reduce((a, b) => a + b.hits, 0);
    expect(hitsAfterFirst).toBe(2);
    expect((await fetch('http://api/b')).status).toBe(503);
    expect(backends.reduce((a, b) => a + b.hits, 0)).toBe(3);
    for (const b of backends) b.hits = 0;
    expect((await fetch('http://api/p', { method: 'POST', body: 'x' })).status).toBe(503);
    expect(backends.reduce((a, b) => a + b.hits, 0)).toBe(1);
  });

  it('returns a readable 503 (body unread) when the retry budget refuses the retry, and says so', async () => {
    for (const b of backends) b.mode = '503';
    await using lb = balancer({
      breaker: false,
      outlierDetection: false,
      retryBudget: { ratio: 0, minRetriesPerSecond: 0.1, window: 10_000 },
    });
    const refused: string[] = [];
    lb.on('balancer:budget-exhausted', (e) => refused.push(`${e.service}:${e.kind}`));
    const fetch = createBalancedFetch({ balancers: lb, retries: 5 });
    await (await fetch('http://api/first')).text(); // spends the one retry token
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`http://api/r${i}`);
      expect(res.status).toBe(503);
      // Was `TypeError: Body is unusable`: the body had been cancelled before the budget said no.
      expect(await res.text()).toMatch(new RegExp(`^[abc] GET /r${i}$`));
    }
    expect(refused.length).toBeGreaterThanOrEqual(20);
    expect(new Set(refused)).toEqual(new Set(['api:retry']));
  });

  it('rejects a signal that is not an AbortSignal and a null key with INVALID_ARGUMENT', async () => {
    await using lb = balancer();
    const fetch = createBalancedFetch({ balancers: lb });
    await expect(fetch('http://api/x', { signal: {} as AbortSignal })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'signal',
    });
    await expect(fetch('http://api/x', { key: null as unknown as string })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'context.key',
    });
  });

  it('hedges a slow request to another instance', async () => {
    (backends[0] as Backend).mode = 'slow';
    await using lb = balancer({ breaker: false, outlierDetection: false });
    const fetch = createBalancedFetch({ balancers: lb, hedge: { delay: 30 } });
    const started = performance.now();
    const bodies = await Promise.all(
      Array.from({ length: 3 }, async () => (await fetch('http://api/h')).text()),
    );
    expect(performance.now() - started).toBeLessThan(1000);
    expect(bodies.some((b) => b.startsWith('a '))).toBe(false);
  });

  it('passes other hosts through and reports NO_AVAILABLE_INSTANCE for an empty service', async () => {
    await using lb = balancer();
    await using empty = createBalancer({ discovery, service: 'nobody' });
    const fetch = createBalancedFetch({ balancers: [lb, empty] });
    const direct = await fetch(`http://127.0.0.1:${(backends[2] as Backend).port}/direct`);
    expect(await direct.text()).toBe('c GET /direct');
    await expect(fetch('http://nobody/')).rejects.toSatisfy((e) =>
      isSwitchyardError(e, 'NO_AVAILABLE_INSTANCE'),
    );
  });

  it('gives up waiting for a first snapshot after readyTimeout', async () => {
    const never = {
      watch: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => {}) }) }),
    };
    await using lb = createBalancer({ discovery: never, service: 'pending' });
    const fetch = createBalancedFetch({ balancers: lb, readyTimeout: 50 });
    const started = performance.now();
    await expect(fetch('http://pending/')).rejects.toSatisfy((e) => isSwitchyardError(e, 'TIMEOUT'));
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('validates options', () => {
    expect(() => createBalancedFetch({ balancers: [] })).toThrow(/balancers/);
    expect(() => createBalancedFetch({ balancers: {} as never, retries: -1 })).toThrow();
  });
});
