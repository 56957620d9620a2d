import { randomUUID } from 'node:crypto';
import { createDiscoveryClient, type DiscoveryEvent, type Registration } from '@switchyard/core';
import { eventually } from '@switchyard/testkit/conformance';
import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdDiscovery, type EtcdDiscovery } from '../src/index.js';
import { startTcpProxy } from './tcp-proxy.js';

const TTL = 3000;
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

function discovery(prefix: string, hosts = etcd.endpoints): EtcdDiscovery {
  return createEtcdDiscovery({ hosts, prefix, ttl: TTL, requestTimeout: 1000, backoff: { max: 1000 } });
}

function collect(d: EtcdDiscovery, service: string) {
  const events: DiscoveryEvent[] = [];
  const ac = new AbortController();
  const done = (async () => {
    for await (const e of d.watch(service, {
      signal: ac.signal,
      filter: { health: ['passing', 'critical'] },
    }))
      events.push(e);
  })();
  return {
    events,
    ids: () => (events.at(-1)?.snapshot.instances ?? []).map((i) => `${i.id}:${i.health}`).join(),
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

function track(reg: Registration) {
  const log: string[] = [];
  reg.on('registration:lost', () => log.push('lost'));
  reg.on('registration:restored', () => log.push('restored'));
  return log;
}

describe('fault: single etcd member', () => {
  it('a restarted member (same data dir): registrations and watches continue within one TTL', async () => {
    const prefix = `/f/restart-${randomUUID().slice(0, 6)}`;
    await using a = discovery(prefix);
    await using b = discovery(prefix);
    const service = 'api';
    await using r1 = await a.register({ id: 'i1', service, address: '127.0.0.1', port: 1 });
    const w = collect(b, service);
    await eventually(() => w.ids() === 'i1:passing', 2000, 'initial');

    await etcd.members[0]!.process.kill();
    await new Promise((r) => setTimeout(r, 500));
    await etcd.members[0]!.process.start();
    await etcd.waitHealthy();
    const back = Date.now();
    await eventually(
      async () => (await b.resolve(service).catch(() => undefined))?.instances.length === 1,
      TTL,
      'i1 resolvable within one TTL of the restart',
    );
    await using _r2 = await a.register({ id: 'i2', service, address: '127.0.0.1', port: 2 });
    await eventually(() => w.ids() === 'i1:passing,i2:passing', TTL, 'watch resumed after restart');
    // Keep-alives work again: i1 is still there after more than a TTL.
    await new Promise((r) => setTimeout(r, TTL + 500));
    expect((await b.resolve(service)).instances.map((i) => i.id)).toEqual(['i1', 'i2']);
    expect(Date.now() - back).toBeGreaterThan(TTL);
    expect(r1.instance.id).toBe('i1');
    await w.stop();
  });

  it('a wiped server (leases revoked): lost then restored, back within one TTL, watch sees it', async () => {
    const prefix = `/f/revoke-${randomUUID().slice(0, 6)}`;
    await using a = discovery(prefix);
    await using b = discovery(prefix);
    const service = 'api';
    await using reg = await a.register({ id: 'i1', service, address: '127.0.0.1', port: 1 });
    const log = track(reg);
    const w = collect(b, service);
    await eventually(() => w.ids() === 'i1:passing', 2000, 'initial');

    const { leases } = await raw.leaseClient.leaseLeases();
    await Promise.all(leases.map((l) => raw.leaseClient.leaseRevoke({ ID: l.ID })));
    const wiped = Date.now();
    await eventually(() => log.join() === 'lost,restored', TTL, 'lost then restored');
    await eventually(
      async () => (await b.resolve(service)).instances.length === 1,
      TTL - (Date.now() - wiped),
      'instance back within one TTL',
    );
    // The watch saw the removal and the re-registration.
    await eventually(() => w.ids() === 'i1:passing', 2000, 'watch sees i1 again');
    expect(w.events.some((e) => e.diff.removed.some((i) => i.id === 'i1'))).toBe(true);
    await w.stop();
  });

  it('a wiped server (keys deleted, leases alive): lost then restored within one TTL', async () => {
    const prefix = `/f/delete-${randomUUID().slice(0, 6)}`;
    await using a = discovery(prefix);
    const service = 'api';
    await using reg = await a.register({ id: 'i1', service, address: '127.0.0.1', port: 1 });
    await reg.setHealth('critical');
    const log = track(reg);
    await raw.delete().prefix(`${prefix}/`);
    const wiped = Date.now();
    await eventually(() => log.join() === 'lost,restored', TTL, 'lost then restored');
    const snap = await a.resolve(service, { filter: { health: ['critical'] } });
    expect(snap.instances.map((i) => `${i.id}:${i.health}`)).toEqual(['i1:critical']);
    expect(Date.now() - wiped).toBeLessThan(TTL);
  });

  it('compaction while a watch is disconnected: the watch relists, emits resync with the missed diff', async () => {
    const prefix = `/f/compact-${randomUUID().slice(0, 6)}`;
    const proxy = await startTcpProxy(etcd.endpoints[0]!);
    await using writer = discovery(prefix);
    await using watcher = discovery(prefix, [proxy.endpoint]);
    const service = 'api';
    const r1 = await writer.register({ id: 'i1', service, address: '127.0.0.1', port: 1 });
    await using r3 = await writer.register({ id: 'i3', service, address: '127.0.0.1', port: 3 });
    const w = collect(watcher, service);
    await eventually(() => w.ids() === 'i1:passing,i3:passing', 2000, 'initial');
    const before = w.events.length;

    proxy.block();
    await new Promise((r) => setTimeout(r, 200));
    await r1.close();
    await using _r2 = await writer.register({ id: 'i2', service, address: '127.0.0.1', port: 2 });
    await r3.setHealth('critical');
    const put = await raw.put('/f/bump').value(String(Date.now())).exec();
    await raw.kv.compact({ revision: put.header.revision, physical: true });
    proxy.unblock();

    await eventually(() => w.ids() === 'i2:passing,i3:critical', 10_000, 'state after the gap');
    const resync = w.events.slice(before).find((e) => e.reason === 'resync');
    expect(resync, 'a resync event').toBeDefined();
    expect(resync!.diff.added.map((i) => i.id)).toEqual(['i2']);
    expect(resync!.diff.removed.map((i) => i.id)).toEqual(['i1']);
    expect(resync!.diff.updated.map((i) => `${i.id}:${i.health}`)).toEqual(['i3:critical']);
    for (let i = 1; i < w.events.length; i++)
      expect(w.events[i]!.snapshot.revision).toBeGreaterThanOrEqual(w.events[i - 1]!.snapshot.revision);

    // The watch continues normally after the resync.
    await r3.setHealth('passing');
    await eventually(() => w.ids() === 'i2:passing,i3:passing', 2000, 'change after resync');
    expect(w.events.at(-1)!.reason).toBe('change');
    await w.stop();
    await proxy.close();
  });

  it('a wiped store (data dir deleted, revisions restart): watchers drop the ghosts, registrations come back', async () => {
    const prefix = `/f/wipe-${randomUUID().slice(0, 6)}`;
    await using a = discovery(prefix);
    await using b = discovery(prefix);
    const c = createDiscoveryClient({ backend: b, resyncInterval: 1000, staleAfter: 5000 });
    const service = 'api';
    // Drive the revision well past what the new store will reach, so resuming from it would wait forever.
    for (let i = 0; i < 40; i++) await raw.put(`/f/bump-${i}`).value('x').exec();
    await using reg = await a.register({ id: 'keep', service, address: '127.0.0.1', port: 1 });
    // A record no registrant will re-create after the wipe (a process that died meanwhile).
    await raw
      .put(`${prefix}/${service}/ghost`)
      .value(
        JSON.stringify({
          address: '127.0.0.1',
          port: 2,
          tags: [],
          metadata: {},
          weight: 1,
          health: 'passing',
        }),
      )
      .exec();
    const log = track(reg);
    const w2 = collect(b, service);
    await eventually(() => w2.ids() === 'ghost:passing,keep:passing', 3000, 'watcher synced');
    await eventually(async () => (await c.resolve(service)).instances.length === 2, 3000, 'client synced');

    raw.close();
    await etcd.wipe();
    raw = new Etcd3({ hosts: etcd.endpoints });
    await eventually(() => log.includes('restored'), TTL * 3, 'registration re-created on the new store');
    await eventually(() => w2.ids() === 'keep:passing', TTL * 3, 'watcher dropped the ghost');
    expect(w2.events.some((e) => e.reason === 'resync' && e.diff.removed.some((i) => i.id === 'ghost'))).toBe(
      true,
    );
    await eventually(
      async () => (await c.resolve(service)).instances.map((i) => i.id).join() === 'keep',
      TTL * 3,
      'the discovery client converged too',
    );
    await w2.stop();
    await c.close();
  });

  it('a disconnected watch resumes from the last seen revision without a relist', async () => {
    const prefix = `/f/resume-${randomUUID().slice(0, 6)}`;
    const proxy = await startTcpProxy(etcd.endpoints[0]!);
    await using writer = discovery(prefix);
    await using watcher = discovery(prefix, [proxy.endpoint]);
    const service = 'api';
    const w = collect(watcher, service);
    await eventually(() => w.events.length === 1, 2000, 'initial');
    proxy.block();
    await new Promise((r) => setTimeout(r, 200));
    const regs: Registration[] = [];
    for (let i = 0; i < 5; i++)
      regs.push(await writer.register({ id: `i${i}`, service, address: '127.0.0.1', port: 10 + i }));
    await regs[0]!.close();
    proxy.unblock();
    await eventually(() => w.ids() === 'i1:passing,i2:passing,i3:passing,i4:passing', 10_000, 'caught up');
    // Replayed from the revision log: every change event, no resync.
    expect(w.events.map((e) => e.reason)).not.toContain('resync');
    const added = w.events.flatMap((e) => (e.reason === 'change' ? e.diff.added.map((i) => i.id) : []));
    expect(added.sort()).toEqual(['i1', 'i2', 'i3', 'i4']);
    await w.stop();
    await Promise.all(regs.map((r) => r.close()));
    await proxy.close();
  });
});
