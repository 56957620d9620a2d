import { randomUUID } from 'node:crypto';
import type { DiscoveryEvent } from '@switchyard/core';
import { eventually, expectSwitchyardError } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdDiscovery, type EtcdDiscovery } from '../src/index.js';

let etcd: EtcdCluster;
let raw: Etcd3;

beforeAll(async () => {
  etcd = await startEtcd({ members: 1 });
  raw = new Etcd3({ hosts: etcd.endpoints });
});
afterAll(async () => {
  raw?.close();
  await etcd?.stop();
});

const svc = () => `svc-${randomUUID().slice(0, 8)}`;

function discovery(extra: Partial<Parameters<typeof createEtcdDiscovery>[0]> = {}): EtcdDiscovery {
  return createEtcdDiscovery({ hosts: etcd.endpoints, prefix: '/t/layout', ttl: 2000, ...extra });
}

describe('storage layout', () => {
  it('stores the instance as JSON under <prefix>/<service>/<id> on a lease with the TTL in seconds', async () => {
    await using d = discovery({ ttl: 3000 });
    const service = svc();
    await using reg = await d.register({
      id: 'i-1',
      service,
      address: '10.0.0.1',
      port: 8080,
      tags: ['v2'],
      metadata: { team: 'core' },
      zone: 'z1',
    });
    const key = `/t/layout/${service}/i-1`;
    expect(reg.handle!.key).toBe(key);
    const value = JSON.parse((await raw.get(key).string()) ?? 'null');
    expect(value).toEqual({
      id: 'i-1',
      service,
      address: '10.0.0.1',
      port: 8080,
      tags: ['v2'],
      metadata: { team: 'core' },
      weight: 1,
      zone: 'z1',
      health: 'passing',
    });
    const res = await raw.get(key).exec();
    expect(res.kvs[0]!.lease).toBe(reg.handle!.leaseId);
    const ttl = await raw.leaseClient.leaseTimeToLive({ ID: reg.handle!.leaseId });
    expect(Number(ttl.grantedTTL)).toBe(3);
  });

  it('a trailing slash in the prefix is ignored; services() lists only services with instances', async () => {
    const prefix = `/t/svcs-${randomUUID().slice(0, 6)}/`;
    await using d = discovery({ prefix });
    expect(d.prefix).toBe(prefix.slice(0, -1));
    expect(await d.services()).toEqual([]);
    const r1 = await d.register({ id: 'a', service: 'alpha', address: 'alpha.local', port: 1 });
    await using _r2 = await d.register({ id: 'b', service: 'beta', address: '::1', port: 65535 });
    await raw.put(`${prefix}not-a-service-key`).value('x');
    expect(await d.services()).toEqual(['alpha', 'beta']);
    await r1.close();
    expect(await d.services()).toEqual(['beta']);
  });

  it('ignores foreign or malformed values under the prefix instead of failing reads and watches', async () => {
    await using d = discovery();
    const service = svc();
    await raw.put(`/t/layout/${service}/junk`).value('{not json');
    await raw.put(`/t/layout/${service}/bad-port`).value(JSON.stringify({ address: 'x', port: 0 }));
    await using _r = await d.register({ id: 'ok', service, address: '127.0.0.1', port: 80 });
    expect((await d.resolve(service)).instances.map((i) => i.id)).toEqual(['ok']);
    const events: DiscoveryEvent[] = [];
    const ac = new AbortController();
    const loop = (async () => {
      for await (const e of d.watch(service, { signal: ac.signal })) events.push(e);
    })();
    await eventually(() => events.length === 1, 2000, 'initial');
    expect(events[0]!.snapshot.instances.map((i) => i.id)).toEqual(['ok']);
    ac.abort();
    await loop;
  });
});

describe('registration', () => {
  it('setHealth (maintenance included) rewrites the value on the same lease without re-registering', async () => {
    await using d = discovery();
    const service = svc();
    await using reg = await d.register({
      id: 'm',
      service,
      address: '127.0.0.1',
      port: 80,
    });
    const lease = reg.handle!.leaseId;
    const created = (await raw.get(reg.handle!.key).exec()).kvs[0]!.create_revision;
    await reg.setHealth('maintenance');
    const kv = (await raw.get(reg.handle!.key).exec()).kvs[0]!;
    expect(JSON.parse(kv.value.toString()).health).toBe('maintenance');
    expect(kv.lease).toBe(lease);
    expect(kv.create_revision).toBe(created);
    expect(reg.instance.health).toBe('maintenance');
    expect((await d.resolve(service)).instances).toEqual([]);
    expect((await d.resolve(service, { filter: { health: ['maintenance'] } })).instances).toHaveLength(1);
    await expectSwitchyardError(() => reg.setHealth('sleepy' as never), 'INVALID_ARGUMENT', 'health');
  });

  it('close() deletes the key and revokes the lease; operations after close fail with CLOSED', async () => {
    const d = discovery();
    const service = svc();
    const reg = await d.register({ id: 'c', service, address: '127.0.0.1', port: 80 });
    const lease = reg.handle!.leaseId;
    await reg.close();
    expect(await raw.get(reg.handle!.key).string()).toBeNull();
    const ttl = await raw.leaseClient.leaseTimeToLive({ ID: lease });
    expect(Number(ttl.TTL)).toBe(-1);
    await expectSwitchyardError(() => reg.setHealth('passing'), 'CLOSED');
    await d.close();
    await expectSwitchyardError(() => d.resolve(service), 'CLOSED');
    await expectSwitchyardError(
      () => d.register({ id: 'x', service, address: '127.0.0.1', port: 1 }),
      'CLOSED',
    );
  });

  it('an aborted signal rejects register with ABORTED and leaves nothing behind', async () => {
    await using d = discovery();
    const service = svc();
    await expectSwitchyardError(
      () => d.register({ id: 'a', service, address: '127.0.0.1', port: 80 }, { signal: AbortSignal.abort() }),
      'ABORTED',
    );
    await expectSwitchyardError(() => d.resolve(service, { signal: AbortSignal.abort() }), 'ABORTED');
    expect((await d.resolve(service)).instances).toEqual([]);
  });
});

describe('watch', () => {
  it('batches of changes arrive as change events whose diffs replay to the final state', async () => {
    await using d = discovery();
    const service = svc();
    const events: DiscoveryEvent[] = [];
    const ac = new AbortController();
    const loop = (async () => {
      for await (const e of d.watch(service, { signal: ac.signal, filter: { tags: ['blue'] } }))
        events.push(e);
    })();
    await eventually(() => events.length === 1, 2000, 'initial');
    expect(events[0]!.reason).toBe('initial');
    const regs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        d.register({
          id: `i${i}`,
          service,
          address: '127.0.0.1',
          port: 1000 + i,
          tags: i % 2 ? ['blue'] : [],
        }),
      ),
    );
    await eventually(() => events.at(-1)?.snapshot.instances.length === 10, 3000, '10 blue instances');
    await Promise.all(regs.slice(0, 10).map((r) => r.close()));
    await eventually(() => events.at(-1)?.snapshot.instances.length === 5, 3000, '5 blue instances left');
    const state = new Map<string, unknown>();
    for (const e of events) {
      for (const i of e.diff.added) state.set(i.id, i);
      for (const i of e.diff.updated) state.set(i.id, i);
      for (const i of e.diff.removed) state.delete(i.id);
      if (e !== events[0]) expect(e.reason).toBe('change');
    }
    expect([...state.keys()].sort()).toEqual(events.at(-1)!.snapshot.instances.map((i) => i.id));
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.snapshot.revision).toBeGreaterThan(events[i - 1]!.snapshot.revision);
    ac.abort();
    await loop;
    await Promise.all(regs.map((r) => r.close()));
  });

  it('fails the stream with BACKEND_UNAVAILABLE when etcd is unreachable at the start', async () => {
    await using d = createEtcdDiscovery({ hosts: 'http://127.0.0.1:1', requestTimeout: 300 });
    const it = d.watch('svc')[Symbol.asyncIterator]();
    await expectSwitchyardError(() => it.next(), 'BACKEND_UNAVAILABLE');
    await expectSwitchyardError(() => d.resolve('svc'), 'BACKEND_UNAVAILABLE');
    await expectSwitchyardError(
      () => d.register({ id: 'a', service: 'svc', address: '127.0.0.1', port: 1 }),
      'BACKEND_UNAVAILABLE',
    );
  });
});

describe('bad input', () => {
  it('rejects bad options naming the field', async () => {
    expect(() => createEtcdDiscovery({})).toThrowError(/hosts/);
    await expectSwitchyardError(() => createEtcdDiscovery({}), 'INVALID_ARGUMENT', 'hosts');
    await expectSwitchyardError(() => createEtcdDiscovery({ hosts: [] }), 'INVALID_ARGUMENT', 'hosts');
    await expectSwitchyardError(() => createEtcdDiscovery({ hosts: [''] }), 'INVALID_ARGUMENT', 'hosts[0]');
    await expectSwitchyardError(
      () => createEtcdDiscovery({ client: raw, hosts: etcd.endpoints }),
      'INVALID_ARGUMENT',
      'hosts',
    );
    await expectSwitchyardError(
      () => createEtcdDiscovery({ client: {} as Etcd3 }),
      'INVALID_ARGUMENT',
      'client',
    );
    await expectSwitchyardError(() => discovery({ prefix: '' }), 'INVALID_ARGUMENT', 'prefix');
    await expectSwitchyardError(() => discovery({ prefix: '///' }), 'INVALID_ARGUMENT', 'prefix');
    await expectSwitchyardError(() => discovery({ ttl: 999 }), 'INVALID_ARGUMENT', 'ttl');
    await expectSwitchyardError(() => discovery({ ttl: Number.NaN }), 'INVALID_ARGUMENT', 'ttl');
    await expectSwitchyardError(() => discovery({ requestTimeout: 0 }), 'INVALID_ARGUMENT', 'requestTimeout');
  });

  it('rejects bad instances, TTLs, services and filters naming the field', async () => {
    await using d = discovery();
    const ok = { id: 'i1', service: 'svc', address: '127.0.0.1', port: 80 };
    const cases: [Record<string, unknown>, string][] = [
      [{ service: 'has space' }, 'instance.service'],
      [{ service: 'a/b' }, 'instance.service'],
      [{ service: 'x'.repeat(300) }, 'instance.service'],
      [{ id: 'has/slash' }, 'instance.id'],
      [{ id: '' }, 'instance.id'],
      [{ id: 42 }, 'instance.id'],
      [{ port: 0 }, 'instance.port'],
      [{ port: 65536 }, 'instance.port'],
      [{ port: '80' }, 'instance.port'],
      [{ address: 'bad address' }, 'instance.address'],
      [{ address: '' }, 'instance.address'],
      [{ tags: 'a' }, 'instance.tags'],
      [{ metadata: { a: 1 } }, 'instance.metadata.a'],
      [{ health: 'ok' }, 'instance.health'],
    ];
    for (const [patch, field] of cases)
      await expectSwitchyardError(() => d.register({ ...ok, ...patch } as never), 'INVALID_ARGUMENT', field);
    for (const ttl of [0, -5, 500, Number.POSITIVE_INFINITY])
      await expectSwitchyardError(() => d.register(ok, { ttl }), 'INVALID_ARGUMENT', 'ttl');
    await expectSwitchyardError(() => d.resolve('a/b'), 'INVALID_ARGUMENT', 'service');
    await expectSwitchyardError(() => d.watch(''), 'INVALID_ARGUMENT', 'service');
    await expectSwitchyardError(
      () => d.resolve('svc', { filter: { health: ['bad' as never] } }),
      'INVALID_ARGUMENT',
      'filter.health[0]',
    );
    expect(await d.services()).not.toContain('svc');
  });
});
