import { createServer, type Server } from 'node:http';
import type { DiscoveryEvent } from '@switchyard/core';
import { type ConsulEmulator, startConsulEmulator } from '@switchyard/testkit/emulators/consul';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsulDiscovery } from '../src/index.js';
import { uniqueService, waitFor } from './target.js';

// How a real agent behaves where our first emulator did not (issue #9, "behave like a real agent"):
// each test failed against the driver before the port onto the kit. Fault hooks: emulator only.

function collect(iterable: AsyncIterable<DiscoveryEvent>) {
  const events: DiscoveryEvent[] = [];
  const it = iterable[Symbol.asyncIterator]();
  const done = (async () => {
    for (;;) {
      const r = await it.next().catch(() => ({ done: true as const, value: undefined }));
      if (r.done) return;
      events.push(r.value);
    }
  })();
  return {
    events,
    ids: () => (events.at(-1)?.snapshot.instances ?? []).map((i) => i.id),
    stop: async () => {
      await it.return?.();
      await done;
    },
  };
}

const at = (e: ConsulEmulator, n = 0) => ({ host: e.agents[n]!.host, port: e.agents[n]!.port });
const fast = { ttl: 1500, wait: 2000, requestTimeout: 1000, backoff: { base: 50, max: 200 } };

let dc: ConsulEmulator;
beforeAll(async () => {
  dc = await startConsulEmulator({ nodes: 2 });
});
afterAll(async () => {
  await dc.close();
});

describe('an agent older than 1.11', () => {
  it('answers a heartbeat for a forgotten check with 500 Unknown check: the registration is restored', async () => {
    await using legacy = await startConsulEmulator({ version: '1.10.12' });
    await using d = createConsulDiscovery({ ...at(legacy), ...fast });
    const service = uniqueService('legacy');
    const reg = await d.register({ id: 'l1', service, address: '127.0.0.1', port: 1 });
    const seen: string[] = [];
    reg.on('registration:lost', () => seen.push('lost'));
    reg.on('registration:restored', () => seen.push('restored'));
    await legacy.restart();
    await waitFor(() => seen.includes('restored'), 4000, 'restored after a 500 Unknown check');
    expect(seen).toEqual(['lost', 'restored']);
    expect((await d.resolve(service)).instances.map((i) => i.id)).toEqual(['l1']);
    expect(reg.registrations).toBe(2);
  });
});

describe('a restarted process', () => {
  it('is passing as soon as register resolves, though the agent kept its old check critical', async () => {
    const service = uniqueService('reborn');
    const serviceId = `${service}:r1`;
    // The crashed incarnation's registration: still on the agent, its TTL check critical.
    await fetch(`${dc.url}/v1/agent/service/register`, {
      method: 'PUT',
      body: JSON.stringify({
        ID: serviceId,
        Name: service,
        Port: 1,
        Check: { CheckID: `service:${serviceId}:ttl`, TTL: '30s', Status: 'critical' },
      }),
    });
    await using d = createConsulDiscovery({ ...at(dc), ttl: 30_000 }); // first heartbeat 10 s away
    await using _reg = await d.register({ id: 'r1', service, address: '127.0.0.1', port: 1 });
    expect((await d.resolve(service)).instances.map((i) => [i.id, i.health])).toEqual([['r1', 'passing']]);
  });
});

describe('services are unique per node', () => {
  it('the same id on two agents is two instances, named <id>@<node>, in resolve and in a consistent watch', async () => {
    const service = uniqueService('twin');
    await using a = createConsulDiscovery({ ...at(dc, 0), ...fast });
    await using b = createConsulDiscovery({ ...at(dc, 1), ...fast });
    await using observer = createConsulDiscovery({ ...at(dc, 0), ...fast });
    await using _ra = await a.register({ id: 'i1', service, address: '127.0.0.1', port: 1 });
    const rb = await b.register({ id: 'i1', service, address: '127.0.0.1', port: 2 });
    await using _rc = await b.register({ id: 'i2', service, address: '127.0.0.1', port: 3 });
    const [n0, n1] = dc.agents.map((x) => x.node);
    const expected = [`i1@${n0}`, `i1@${n1}`, 'i2'];
    expect((await observer.resolve(service)).instances.map((i) => i.id)).toEqual(expected);
    const w = collect(observer.watch(service));
    await waitFor(() => w.events.length > 0, 3000, 'initial');
    expect(w.events[0]!.diff.added.map((i) => i.id)).toEqual(expected);
    expect(w.ids()).toEqual(expected);
    // Once the id is on one node only, it is the plain id again.
    await rb.close();
    await waitFor(() => w.ids().join() === 'i1,i2', 3000, 'i1 on one node only');
    const state = new Map<string, unknown>();
    for (const e of w.events) {
      for (const i of [...e.diff.added, ...e.diff.updated]) state.set(i.id, i);
      for (const i of e.diff.removed) state.delete(i.id);
    }
    expect([...state.keys()].sort()).toEqual(['i1', 'i2']);
    await w.stop();
  });
});

describe('a watch of a service that does not exist', () => {
  it('wakes when any service goes extinct, and stays cheap: one query per wake, no events', async () => {
    let queries = 0;
    await using agent = await startConsulEmulator({
      onRequest: (r) => {
        if (r.path === '/v1/health/service/absent') queries++;
      },
    });
    await using d = createConsulDiscovery({ ...at(agent), ...fast, wait: 10_000 });
    await using writer = createConsulDiscovery({ ...at(agent), ttl: 30_000 });
    const w = collect(d.watch('absent'));
    await waitFor(() => w.events.length === 1, 3000, 'initial');
    const before = queries;
    for (let i = 0; i < 8; i++) {
      const reg = await writer.register({ id: 'x', service: `churn-${i}`, address: '127.0.0.1', port: 1 });
      await reg.close(); // churn-i goes extinct
    }
    await waitFor(() => queries - before >= 8, 3000, 'a wake per extinction');
    await new Promise((r) => setTimeout(r, 200));
    expect(queries - before).toBeLessThanOrEqual(8 + 2);
    expect(w.events).toHaveLength(1);
    expect(d.watchStats('absent')).toMatchObject({ regressions: 0, failures: 0 });
    await w.stop();
  });
});

describe('a non-dev agent restart', () => {
  it('keeps the registration (no loss, no re-registration) and the watch carries on', async () => {
    await using agent = await startConsulEmulator({ persistent: true });
    await using d = createConsulDiscovery({ ...at(agent), ...fast, ttl: 3000 });
    const service = uniqueService('persist');
    const reg = await d.register({ id: 'p1', service, address: '127.0.0.1', port: 1 });
    const seen: string[] = [];
    reg.on('registration:lost', () => seen.push('lost'));
    const w = collect(d.watch(service));
    await waitFor(() => w.ids().join() === 'p1', 3000, 'initial');
    await agent.restart({ downtime: 500 });
    await using _r2 = await d.register({ id: 'p2', service, address: '127.0.0.1', port: 2 });
    await waitFor(() => w.ids().join() === 'p1,p2', 5000, 'p2 seen after the restart');
    expect(seen).toEqual([]);
    expect(reg.registrations).toBe(1);
    expect(w.events.at(-1)?.stale).toBe(false);
    await w.stop();
  });
});

describe('http_max_conns_per_client', () => {
  it('a process watching more services than its query slots takes turns and is never refused', async () => {
    await using agent = await startConsulEmulator({ maxConnsPerClient: 8 });
    const services = Array.from({ length: 10 }, () => uniqueService('many'));
    await using d = createConsulDiscovery({ ...at(agent), ...fast, wait: 1000, maxBlockingQueries: 3 });
    await using writer = createConsulDiscovery({ ...at(agent), ttl: 30_000 });
    const watches = services.map((s) => collect(d.watch(s)));
    await waitFor(() => watches.every((w) => w.events.length > 0), 5000, 'every initial snapshot');
    const regs = [];
    for (const s of services)
      regs.push(await writer.register({ id: 'm', service: s, address: '127.0.0.1', port: 1 }));
    await waitFor(
      () => watches.every((w) => w.ids().join() === 'm'),
      10_000,
      'every watch sees its instance',
    );
    expect(agent.rejectedConnections).toBe(0);
    expect(watches.every((w) => w.events.every((e) => !e.stale))).toBe(true);
    await Promise.all(watches.map((w) => w.stop()));
    await Promise.all(regs.map((r) => r.close()));
  });

  it('without the cap, the same watches hit the agent’s limit', async () => {
    await using agent = await startConsulEmulator({ maxConnsPerClient: 8 });
    await using d = createConsulDiscovery({ ...at(agent), ...fast, wait: 1000, maxBlockingQueries: 50 });
    const watches = Array.from({ length: 10 }, () => collect(d.watch(uniqueService('over'))));
    await waitFor(() => agent.rejectedConnections > 0, 3000, 'a refused connection');
    await Promise.all(watches.map((w) => w.stop()));
  });
});

describe('an HTTP check', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('keeps a new instance invisible until the first probe, after a stagger; `status` sets the state before it', async () => {
    await using agent = await startConsulEmulator({ random: () => 0.9 });
    await using d = createConsulDiscovery({ ...at(agent), ...fast });
    const service = uniqueService('probe');
    const check = { http: `http://127.0.0.1:${port}/health`, interval: 1000 };
    await using _a = await d.register({ id: 'a', service, address: '127.0.0.1', port }, { checks: [check] });
    await using _b = await d.register(
      { id: 'b', service, address: '127.0.0.1', port },
      { checks: [{ ...check, status: 'passing' }] },
    );
    expect((await d.resolve(service)).instances.map((i) => i.id)).toEqual(['b']);
    await waitFor(async () => (await d.resolve(service)).instances.length === 2, 3000, 'a probed');
  });
});
