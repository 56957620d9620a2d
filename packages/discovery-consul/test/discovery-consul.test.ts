import { createServer, type Server } from 'node:http';
import { type DiscoveryEvent, isSwitchyardError } from '@switchyard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsulDiscovery, createConsulDiscovery } from '../src/index.js';
import { type ConsulTarget, next, startTarget, uniqueService, until, waitFor } from './target.js';

let target: ConsulTarget;
let discovery: ConsulDiscovery;

beforeAll(async () => {
  target = await startTarget();
  discovery = createConsulDiscovery({ host: target.host, port: target.port, ttl: 3000, wait: 2000 });
});
afterAll(async () => {
  await discovery?.close();
  await target?.close();
});

async function agentHealth(service: string): Promise<any[]> {
  const res = await fetch(`${target.url}/v1/health/service/${service}`);
  return (await res.json()) as any[];
}

describe('registration', () => {
  it('registers with tags, meta, weights, zone/region in Meta and a passing TTL check', async () => {
    const service = uniqueService('reg');
    await using reg = await discovery.register({
      id: 'a1',
      service,
      address: '10.0.0.7',
      port: 8080,
      tags: ['blue', 'v2'],
      metadata: { version: '2.1' },
      weight: 5,
      zone: 'z1',
      region: 'r1',
    });
    expect(reg.handle?.serviceId).toBe(`${service}:a1`);
    const [entry] = await agentHealth(service);
    expect(entry.Service).toMatchObject({
      ID: `${service}:a1`,
      Service: service,
      Address: '10.0.0.7',
      Port: 8080,
      Tags: ['blue', 'v2'],
      Meta: { version: '2.1', zone: 'z1', region: 'r1' },
      Weights: { Passing: 5, Warning: 5 },
    });
    const ttl = entry.Checks.find((c: any) => c.CheckID === reg.handle?.checkId);
    expect(ttl.Status).toBe('passing');
    const snap = await discovery.resolve(service);
    expect(snap.revision).toBeGreaterThan(0);
    expect(snap.instances).toEqual([
      {
        id: 'a1',
        service,
        address: '10.0.0.7',
        port: 8080,
        tags: ['blue', 'v2'],
        metadata: { version: '2.1' },
        weight: 5,
        zone: 'z1',
        region: 'r1',
        health: 'passing',
      },
    ]);
  });

  it('round-trips fractional and zero weights through Meta', async () => {
    const service = uniqueService('weight');
    await using a = await discovery.register({
      id: 'half',
      service,
      address: '127.0.0.1',
      port: 1,
      weight: 0.5,
    });
    await using b = await discovery.register({
      id: 'zero',
      service,
      address: '127.0.0.1',
      port: 2,
      weight: 0,
    });
    const snap = await discovery.resolve(service);
    expect(snap.instances.map((i) => [i.id, i.weight])).toEqual([
      ['half', 0.5],
      ['zero', 0],
    ]);
    expect(a.instance.weight + b.instance.weight).toBe(0.5);
  });

  it('keeps the instance passing past its TTL by heartbeating at ttl/3', async () => {
    const service = uniqueService('hb');
    await using _reg = await discovery.register(
      { id: 'x', service, address: '127.0.0.1', port: 3 },
      { ttl: 1000 },
    );
    await new Promise((r) => setTimeout(r, 2200));
    expect((await discovery.resolve(service)).instances.map((i) => i.health)).toEqual(['passing']);
  });

  it('maps setHealth to the TTL check and to maintenance mode', async () => {
    const service = uniqueService('health');
    await using reg = await discovery.register({ id: 'h', service, address: '127.0.0.1', port: 4 });
    const all = { filter: { health: ['passing', 'warning', 'critical', 'maintenance'] as const } };
    await reg.setHealth('warning');
    expect((await discovery.resolve(service, all)).instances[0]?.health).toBe('warning');
    expect((await discovery.resolve(service)).instances).toEqual([]);
    await reg.setHealth('maintenance');
    const [entry] = await agentHealth(service);
    expect(entry.Checks.some((c: any) => c.CheckID === `_service_maintenance:${reg.handle?.serviceId}`)).toBe(
      true,
    );
    expect((await discovery.resolve(service, all)).instances[0]?.health).toBe('maintenance');
    await reg.setHealth('critical');
    expect((await discovery.resolve(service, all)).instances[0]?.health).toBe('critical');
    await reg.setHealth('passing');
    expect((await discovery.resolve(service)).instances[0]?.health).toBe('passing');
  });

  it('starts an instance in maintenance when registered so', async () => {
    const service = uniqueService('maint');
    await using _reg = await discovery.register({
      id: 'm',
      service,
      address: '127.0.0.1',
      port: 5,
      health: 'maintenance',
    });
    const snap = await discovery.resolve(service, { filter: { health: ['maintenance'] } });
    expect(snap.instances.map((i) => i.id)).toEqual(['m']);
  });

  it('adds HTTP and TCP checks the agent runs', async () => {
    let status = 200;
    const server: Server = createServer((_req, res) => {
      res.statusCode = status;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const service = uniqueService('probe');
      await using _reg = await discovery.register(
        { id: 'p', service, address: '127.0.0.1', port },
        {
          checks: [
            { http: `http://127.0.0.1:${port}/health`, interval: 1000 },
            { tcp: `127.0.0.1:${port}`, interval: 1000 },
          ],
        },
      );
      await waitFor(
        async () => (await discovery.resolve(service)).instances.length === 1,
        8000,
        'checks passing',
      );
      status = 500;
      await waitFor(
        async () =>
          (await discovery.resolve(service, { filter: { health: ['critical'] } })).instances.length === 1,
        8000,
        'http check critical',
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('deregisters on close (idempotent) and lists services', async () => {
    const service = uniqueService('close');
    const reg = await discovery.register({ id: 'c', service, address: '127.0.0.1', port: 6 });
    expect(await discovery.services()).toContain(service);
    await reg.close();
    await reg.close();
    expect(await agentHealth(service)).toEqual([]);
    expect(await discovery.services()).not.toContain(service);
    await expect(reg.setHealth('warning')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('watch', () => {
  it('yields initial, then diffs for add, health change and remove, with a growing revision', async () => {
    const service = uniqueService('watch');
    const it = discovery.watch(service)[Symbol.asyncIterator]();
    const initial = await next(it);
    expect(initial.reason).toBe('initial');
    expect(initial.snapshot.instances).toEqual([]);
    const reg = await discovery.register({ id: 'w1', service, address: '127.0.0.1', port: 7 });
    const added = await until(it, (e) => e.diff.added.length > 0);
    expect(added.reason).toBe('change');
    expect(added.diff.added.map((i) => i.id)).toEqual(['w1']);
    expect(added.snapshot.revision).toBeGreaterThan(initial.snapshot.revision);
    await reg.setHealth('warning');
    const gone = await until(it, (e) => e.diff.removed.length > 0);
    expect(gone.snapshot.instances).toEqual([]);
    expect(gone.snapshot.revision).toBeGreaterThan(added.snapshot.revision);
    await reg.close();
    await it.return?.();
  });

  it('applies filters per watcher and shares one blocking query per service', async () => {
    const service = uniqueService('coalesce');
    const before = discovery.activeWatches;
    const blue = discovery.watch(service, { filter: { tags: ['blue'] } })[Symbol.asyncIterator]();
    const z2 = discovery
      .watch(service, { filter: { zone: 'z2', health: ['passing', 'warning'] } })
      [Symbol.asyncIterator]();
    const any = discovery.watch(service)[Symbol.asyncIterator]();
    expect(discovery.activeWatches).toBe(before + 1);
    await Promise.all([next(blue), next(z2), next(any)]);
    await using _a = await discovery.register({
      id: 'a',
      service,
      address: '127.0.0.1',
      port: 8,
      tags: ['blue'],
      zone: 'z1',
    });
    await using b = await discovery.register({
      id: 'b',
      service,
      address: '127.0.0.1',
      port: 9,
      tags: ['green'],
      zone: 'z2',
    });
    const blueEv = await until(blue, (e) => e.snapshot.instances.length === 1);
    expect(blueEv.snapshot.instances.map((i) => i.id)).toEqual(['a']);
    const z2Ev = await until(z2, (e) => e.snapshot.instances.length === 1);
    expect(z2Ev.snapshot.instances.map((i) => i.id)).toEqual(['b']);
    await until(any, (e) => e.snapshot.instances.length === 2);
    // resolve() (one query, filtered locally) agrees with the watch.
    const cached = await discovery.resolve(service, { filter: { tags: ['green'] } });
    expect(cached.instances.map((i) => i.id)).toEqual(['b']);
    await b.setHealth('warning');
    const upd = await until(z2, (e) => e.diff.updated.length > 0);
    expect(upd.diff.updated[0]?.health).toBe('warning');
    await blue.return?.();
    await z2.return?.();
    expect(discovery.activeWatches).toBe(before + 1);
    await any.return?.();
    await waitFor(() => discovery.activeWatches === before, 2000, 'watch loop to stop');
  });

  it('ends the stream when the signal aborts', async () => {
    const ac = new AbortController();
    const it = discovery.watch(uniqueService('abort'), { signal: ac.signal })[Symbol.asyncIterator]();
    await next(it);
    ac.abort();
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('supports for await with break', async () => {
    const service = uniqueService('forawait');
    await using _r = await discovery.register({ id: 'f', service, address: '127.0.0.1', port: 10 });
    const seen: DiscoveryEvent[] = [];
    for await (const ev of discovery.watch(service)) {
      seen.push(ev);
      if (ev.snapshot.instances.length === 1) break;
    }
    expect(seen.at(-1)?.snapshot.instances[0]?.id).toBe('f');
  });
});

describe('bad input and lifecycle', () => {
  const inst = { id: 'i', service: 'svc', address: '127.0.0.1', port: 80 };
  const cases: [string, () => Promise<unknown> | unknown, string][] = [
    ['port 0', () => discovery.register({ ...inst, port: 0 }), 'instance.port'],
    ['port 70000', () => discovery.register({ ...inst, port: 70_000 }), 'instance.port'],
    ['service name', () => discovery.register({ ...inst, service: 'bad name' }), 'instance.service'],
    ['empty id', () => discovery.register({ ...inst, id: '' }), 'instance.id'],
    ['address', () => discovery.register({ ...inst, address: 'not an address!' }), 'instance.address'],
    ['ttl', () => discovery.register(inst, { ttl: 500 }), 'ttl'],
    ['negative weight', () => discovery.register({ ...inst, weight: -1 }), 'instance.weight'],
    [
      'reserved meta key',
      () => discovery.register({ ...inst, metadata: { zone: 'x' } }),
      'instance.metadata.zone',
    ],
    [
      'bad meta key',
      () => discovery.register({ ...inst, metadata: { 'bad key': 'x' } }),
      'instance.metadata.bad key',
    ],
    ['check without target', () => discovery.register(inst, { checks: [{ interval: 1000 }] }), 'checks[0]'],
    [
      'check with both targets',
      () => discovery.register(inst, { checks: [{ tcp: '127.0.0.1:1', http: 'http://x/', interval: 1000 }] }),
      'checks[0]',
    ],
    [
      'check interval',
      () => discovery.register(inst, { checks: [{ tcp: '127.0.0.1:1', interval: 0 }] }),
      'checks[0].interval',
    ],
    ['resolve service', () => discovery.resolve('no spaces allowed'), 'service'],
    ['watch service', () => discovery.watch(''), 'service'],
    [
      'filter',
      () => discovery.resolve('svc', { filter: { health: ['sleepy' as never] } }),
      'filter.health[0]',
    ],
    ['option wait', () => createConsulDiscovery({ wait: 700_000 }), 'wait'],
    ['option port', () => createConsulDiscovery({ port: 0 }), 'port'],
    ['option ttl', () => createConsulDiscovery({ ttl: 10 }), 'ttl'],
    ['option rateLimit', () => createConsulDiscovery({ rateLimit: { burst: 0 } }), 'rateLimit.burst'],
    ['option client', () => createConsulDiscovery({ client: {} as never }), 'client'],
    [
      'client with host',
      () => createConsulDiscovery({ client: { health: {} } as never, host: 'x' }),
      'client',
    ],
    ['option tls', () => createConsulDiscovery({ tls: 'yes' as never }), 'tls'],
    ['option host with a space', () => createConsulDiscovery({ host: 'a b' }), 'host'],
    ['option url', () => createConsulDiscovery({ url: 'consul:8500' }), 'url'],
    ['option typo', () => createConsulDiscovery({ tll: 5000 } as never), 'tll'],
    ['option stale', () => createConsulDiscovery({ stale: 'yes' as never }), 'stale'],
    ['option clock', () => createConsulDiscovery({ clock: {} as never }), 'clock'],
    ['option backoff', () => createConsulDiscovery({ backoff: { base: -1 } }), 'backoff.base'],
    ['option metaKeys', () => createConsulDiscovery({ metaKeys: { zone: 'a b' } }), 'metaKeys.zone'],
    [
      'option deregisterCriticalServiceAfter under a minute',
      () => createConsulDiscovery({ deregisterCriticalServiceAfter: 30_000 }),
      'deregisterCriticalServiceAfter',
    ],
    [
      'client with url',
      () => createConsulDiscovery({ client: discovery.client, url: 'http://127.0.0.1:8500' }),
      'url',
    ],
    ['client with port', () => createConsulDiscovery({ client: discovery.client, port: 8500 }), 'port'],
    ['url with host', () => createConsulDiscovery({ url: 'http://127.0.0.1:8500', host: 'x' }), 'host'],
    [
      'check interval under a second',
      () => discovery.register(inst, { checks: [{ tcp: '127.0.0.1:1', interval: 500 }] }),
      'checks[0].interval',
    ],
    [
      'check http url',
      () => discovery.register(inst, { checks: [{ http: 'ftp://x/', interval: 1000 }] }),
      'checks[0].http',
    ],
    [
      'check typo',
      () =>
        discovery.register(inst, { checks: [{ tcp: '127.0.0.1:1', interval: 1000, intreval: 1 } as never] }),
      'checks[0].intreval',
    ],
    [
      'register deregisterCriticalServiceAfter under a minute',
      () => discovery.register(inst, { deregisterCriticalServiceAfter: 1000 }),
      'deregisterCriticalServiceAfter',
    ],
    [
      'consul- meta key',
      () => discovery.register({ ...inst, metadata: { 'consul-x': 'v' } }),
      'instance.metadata.consul-x',
    ],
    ['any address', () => discovery.register({ ...inst, address: '0.0.0.0' }), 'instance.address'],
  ];
  for (const [name, fn, field] of cases) {
    it(`rejects bad ${name} with INVALID_ARGUMENT naming ${field}`, async () => {
      const error = await (async () => fn())().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSwitchyardError(error, 'INVALID_ARGUMENT')).toBe(true);
      expect((error as { field?: string }).field).toBe(field);
      expect((error as Error).message).toMatch(/^\[discovery-consul\] /);
    });
  }

  it('rejects an aborted resolve with ABORTED', async () => {
    await expect(discovery.resolve('svc', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });

  it('close() deregisters everything, ends watches and refuses new work', async () => {
    const d = createConsulDiscovery({ host: target.host, port: target.port, ttl: 3000, wait: 2000 });
    const service = uniqueService('lifecycle');
    await d.register({ id: 'l', service, address: '127.0.0.1', port: 11 });
    const it = d.watch(service)[Symbol.asyncIterator]();
    await next(it);
    await d.close();
    expect(await it.next()).toEqual({ value: undefined, done: true });
    expect(await agentHealth(service)).toEqual([]);
    await expect(d.register({ ...inst, service })).rejects.toMatchObject({ code: 'CLOSED' });
    await d.close();
  });
});
