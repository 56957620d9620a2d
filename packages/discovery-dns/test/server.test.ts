import { createSocket } from 'node:dgram';
import { createMemoryDiscovery, type Registration } from '@switchyard/core';
import { type DnsmasqServer, startDnsmasq } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsDiscovery, createDnsResolver, type DnsServer, startDnsServer } from '../src/index.js';
import { dig, eventually, header, short } from './dig.js';

const ZONE = 'sy.test';
let memory: ReturnType<typeof createMemoryDiscovery>;
let server: DnsServer;
let upstream: DnsmasqServer;
let front: DnsmasqServer;
const regs: Registration[] = [];

beforeAll(async () => {
  upstream = await startDnsmasq({ config: ['local=/up.test/', 'host-record=www.up.test,10.7.7.7'] });
  memory = createMemoryDiscovery();
  server = await startDnsServer({
    discovery: memory,
    zone: `${ZONE}.`,
    ttl: 2_000,
    negativeTtl: 3_000,
    upstreams: [`${upstream.host}:${upstream.port}`],
  });
  // dnsmasq in front: the zone is forwarded to our server (how a cluster resolver would use it).
  front = await startDnsmasq({ config: [`server=/${ZONE}/127.0.0.1#${server.port}`] });
  regs.push(
    await memory.register({
      id: 'a1',
      service: 'orders',
      address: '10.0.0.1',
      port: 8080,
      tags: ['http'],
      weight: 5,
      zone: 'z1',
      metadata: { team: 'core' },
    }),
    await memory.register({
      id: 'a2',
      service: 'orders',
      address: '10.0.0.2',
      port: 8081,
      tags: ['http', 'grpc'],
    }),
    await memory.register({ id: 'a3', service: 'orders', address: 'fd00::3', port: 8082, tags: ['grpc'] }),
    await memory.register({
      id: 'Sick.1',
      service: 'orders',
      address: '10.0.0.9',
      port: 8089,
      health: 'critical',
    }),
  );
}, 30_000);

afterAll(async () => {
  for (const r of regs) await r.close();
  await server?.close();
  await memory?.close();
  await front?.stop();
  await upstream?.stop();
});

describe('DNS server queried by dig', () => {
  it('A and AAAA of a service: healthy instances only, authoritative, with the configured TTL', async () => {
    expect((await short(server.port, `orders.${ZONE}`)).sort()).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(await short(server.port, `orders.${ZONE}`, 'AAAA')).toEqual(['fd00::3']);
    const out = await dig(server.port, [`orders.${ZONE}`, 'A', '+noall', '+answer', '+comments']);
    expect(header(out).flags).toContain('aa');
    expect(out).toMatch(/orders\.sy\.test\.\s+2\s+IN\s+A\s+10\.0\.0\.1/);
  });

  it('SRV with the targets in the additional section, over UDP and TCP; tag form _tag._tcp', async () => {
    for (const transport of ['+notcp', '+tcp']) {
      const out = await dig(server.port, [
        `orders.${ZONE}`,
        'SRV',
        '+noall',
        '+answer',
        '+additional',
        transport,
      ]);
      expect(out).toMatch(/SRV\s+10 5 8080 a1\.orders\.sy\.test\./);
      expect(out).toMatch(/a1\.orders\.sy\.test\.\s+2\s+IN\s+A\s+10\.0\.0\.1/);
      expect(out).toMatch(/a3\.orders\.sy\.test\.\s+2\s+IN\s+AAAA\s+fd00::3/);
      expect(out).not.toMatch(/8089/);
    }
    expect((await short(server.port, `_grpc._tcp.orders.${ZONE}`, 'SRV')).sort()).toEqual([
      '10 1 8081 a2.orders.sy.test.',
      '10 1 8082 a3.orders.sy.test.',
    ]);
  });

  it('per-instance names (any health) with TXT metadata, and DNS-SD browsing', async () => {
    const txt = await short(server.port, `a1.orders.${ZONE}`, 'TXT');
    expect(txt.join(' ')).toContain('"meta.team=core"');
    expect(txt.join(' ')).toContain('"zone=z1"');
    const ptr = await short(server.port, `_instances.orders.${ZONE}`, 'PTR');
    expect(ptr).toHaveLength(4);
    const sick = ptr.find((p) => p.startsWith('sick-1-')) as string;
    expect(await short(server.port, sick, 'A')).toEqual(['10.0.0.9']);
    expect(await short(server.port, `_services._dns-sd._udp.${ZONE}`, 'PTR')).toEqual([`orders.${ZONE}.`]);
  });

  it('NXDOMAIN and NODATA carry the SOA with the negative TTL (RFC 2308); ANY is refused', async () => {
    const nx = await dig(server.port, [`nope.${ZONE}`, 'A', '+noall', '+comments', '+authority']);
    expect(header(nx).status).toBe('NXDOMAIN');
    expect(nx).toMatch(
      /sy\.test\.\s+3\s+IN\s+SOA\s+ns\.sy\.test\. hostmaster\.sy\.test\. \d+ 3600 600 86400 3/,
    );
    const nodata = await dig(server.port, [`orders.${ZONE}`, 'TXT', '+noall', '+comments', '+authority']);
    expect(header(nodata).status).toBe('NOERROR');
    expect(nodata).toMatch(/SOA/);
    expect(header(await dig(server.port, [`orders.${ZONE}`, 'ANY'])).status).toBe('NOTIMP');
    expect(header(await dig(server.port, [`orders.${ZONE}`, 'A', '-c', 'CH'])).status).toBe('REFUSED');
  });

  it('service names are matched case-insensitively and keep their own spelling', async () => {
    await using _r = await memory.register({ id: 'c1', service: 'Billing', address: '10.6.0.1', port: 1 });
    expect(await short(server.port, `billing.${ZONE}`)).toEqual(['10.6.0.1']);
    expect(await short(server.port, `BILLING.${ZONE}`)).toEqual(['10.6.0.1']);
    expect(await short(server.port, `_services._dns-sd._udp.${ZONE}`, 'PTR')).toContain(`Billing.${ZONE}.`);
    await using d = createDnsDiscovery({
      nameservers: [`127.0.0.1:${server.port}`],
      mode: 'dns-sd',
      zone: ZONE,
    });
    expect(await d.services()).toContain('Billing');
    expect((await d.resolve('Billing')).instances.map((i) => i.id)).toEqual(['c1']);
  });

  it('strict options: INVALID_ARGUMENT naming the field', async () => {
    const bad = async (o: Record<string, unknown>, field: string) =>
      expect(startDnsServer({ discovery: memory, zone: 'x.test', ...o } as never)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        field,
      });
    await bad({ ttl: 20_000 }, 'ttl');
    await bad({ zone: 'bad zone' }, 'zone');
    await bad({ upstreams: ['nope'] }, 'upstreams[0]');
    await bad({ order: 'sorted' }, 'order');
    await bad({ rateLimit: { burst: 3 } }, 'rateLimit.perSecond');
    await bad({ host: 'localhost' }, 'host');
    await expect(startDnsServer({ discovery: memory, zone: 'x.test', tll: 1 } as never)).rejects.toThrow(
      /tll/,
    );
    await expect(startDnsServer({ discovery: {} as never, zone: 'x.test' })).rejects.toMatchObject({
      field: 'discovery',
    });
  });

  it('fixed order answers the same order every time', async () => {
    await using fixed = await startDnsServer({ discovery: memory, zone: 'fixed.test', order: 'fixed' });
    const firsts = new Set<string>();
    for (let i = 0; i < 4; i++) firsts.add((await short(fixed.port, 'orders.fixed.test'))[0] as string);
    expect(firsts.size).toBe(1);
  });

  it('rotates the order of answers between queries', async () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 4; i++) firsts.add((await short(server.port, `orders.${ZONE}`))[0] as string);
    expect(firsts.size).toBe(2);
  });

  it('truncates when the answer does not fit the client buffer; dig retries over TCP and gets all', async () => {
    const many: Registration[] = [];
    for (let i = 0; i < 60; i++) {
      many.push(
        await memory.register({
          id: `instance-with-a-long-id-${i}`,
          service: 'big',
          address: `10.2.0.${i + 1}`,
          port: 9000 + i,
        }),
      );
    }
    try {
      const udp = await dig(server.port, [
        `big.${ZONE}`,
        'SRV',
        '+bufsize=512',
        '+ignore',
        '+noall',
        '+comments',
      ]);
      expect(header(udp).flags).toContain('tc');
      expect(await short(server.port, `big.${ZONE}`, 'SRV', ['+bufsize=512'])).toHaveLength(60);
      // 60 A records fit in 1232 octets thanks to name compression.
      const a = await dig(server.port, [
        `big.${ZONE}`,
        'A',
        '+bufsize=1232',
        '+ignore',
        '+noall',
        '+comments',
        '+answer',
      ]);
      expect(header(a).flags).not.toContain('tc');
      expect(a.match(/IN\s+A\s+10\.2\./g)).toHaveLength(60);
      expect(server.stats.truncated).toBeGreaterThan(0);
    } finally {
      for (const r of many) await r.close();
    }
  });

  it('follows the registry live: register, health change and deregister show at once', async () => {
    const r = await memory.register({ id: 'live', service: 'live', address: '10.3.0.1', port: 7000 });
    await eventually(async () => (await short(server.port, `live.${ZONE}`)).join() === '10.3.0.1');
    await r.setHealth('critical');
    await eventually(
      async () =>
        header(await dig(server.port, [`live.${ZONE}`, 'A'])).status === 'NOERROR' &&
        (await short(server.port, `live.${ZONE}`)).length === 0,
    );
    await r.close();
    await eventually(async () => header(await dig(server.port, [`live.${ZONE}`, 'A'])).status === 'NXDOMAIN');
  });

  it('forwards other names upstream (dnsmasq), caches them, and is reachable through dnsmasq', async () => {
    const out = await dig(server.port, ['www.up.test', 'A', '+noall', '+answer', '+comments']);
    expect(header(out).flags).toContain('ra');
    expect(out).toMatch(/10\.7\.7\.7/);
    await dig(server.port, ['www.up.test', 'A']);
    expect(server.stats.forwarded).toBe(1);
    expect(header(await dig(server.port, ['nothing.up.test', 'A'])).status).toBe('NXDOMAIN');
    expect((await short(front.port, `orders.${ZONE}`)).sort()).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('a dead first upstream is skipped after three failures', async () => {
    const dead = createSocket('udp4');
    await new Promise<void>((r) => dead.bind(0, '127.0.0.1', () => r()));
    await using s = await startDnsServer({
      discovery: memory,
      zone: 'fwd.test',
      upstreams: [`127.0.0.1:${dead.address().port}`, `${upstream.host}:${upstream.port}`],
      upstreamTimeout: 400,
    });
    await using r = createDnsResolver({ nameservers: [`127.0.0.1:${s.port}`], queryTimeout: 2_000 });
    try {
      for (let i = 0; i < 3; i++) expect((await r.query(`n${i}.up.test`, 'A')).status).toBe('NXDOMAIN');
      const t0 = performance.now();
      expect((await r.query('www.up.test', 'A')).records[0]?.address).toBe('10.7.7.7');
      // Straight to the live upstream: well under the dead one's 400 ms timeout.
      expect(performance.now() - t0).toBeLessThan(300);
    } finally {
      dead.close();
    }
  });

  it('TTL 0: nothing is cached by the resolver and a watch re-resolves every minRefresh', async () => {
    await using zero = await startDnsServer({ discovery: memory, zone: 'zero.test', ttl: 0, negativeTtl: 0 });
    const out = await dig(zero.port, ['orders.zero.test', 'A', '+noall', '+answer']);
    expect(out).toMatch(/orders\.zero\.test\.\s+0\s+IN\s+A/);
    await using d = createDnsDiscovery({
      nameservers: [`127.0.0.1:${zero.port}`],
      mode: 'dns-sd',
      zone: 'zero.test',
      minRefresh: 200,
    });
    const seen: number[] = [];
    const ac = new AbortController();
    const loop = (async () => {
      for await (const e of d.watch('zero', { signal: ac.signal })) seen.push(e.snapshot.instances.length);
    })();
    await eventually(() => seen.length === 1);
    const t0 = Date.now();
    const r = await memory.register({ id: 'z1', service: 'zero', address: '10.4.0.1', port: 1 });
    await eventually(() => seen.at(-1) === 1, 2_000);
    expect(Date.now() - t0).toBeLessThan(1_000);
    await r.close();
    await eventually(() => seen.at(-1) === 0, 2_000);
    ac.abort();
    await loop;
  });

  it('end to end: memory registry → our server → the resolver half sees every field', async () => {
    await using d = createDnsDiscovery({
      nameservers: [`127.0.0.1:${server.port}`],
      mode: 'dns-sd',
      zone: ZONE,
    });
    const all = await d.resolve('orders', { filter: { health: ['passing', 'critical'] } });
    expect(all.instances.map((i) => `${i.id}:${i.health}`)).toEqual([
      'Sick.1:critical',
      'a1:passing',
      'a2:passing',
      'a3:passing',
    ]);
    expect(all.instances[1]).toMatchObject({
      address: '10.0.0.1',
      port: 8080,
      weight: 5,
      zone: 'z1',
      tags: ['http'],
      metadata: { team: 'core' },
    });
    expect(await d.services()).toEqual(['orders']);
    await using srv = createDnsDiscovery({
      nameservers: [`127.0.0.1:${server.port}`],
      name: `{service}.${ZONE}`,
    });
    expect((await srv.resolve('orders')).instances.map((i) => i.id)).toEqual([
      '10.0.0.1:8080',
      '10.0.0.2:8081',
      '[fd00::3]:8082',
    ]);
  });
});
