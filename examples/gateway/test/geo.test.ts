import { createMemoryDiscovery, type Registration } from '@switchyard/core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoUpstream, startDemoUpstream } from '../src/demo-upstream.js';
import { createGateway, type Gateway } from '../src/gateway.js';
import { createGeoLocator } from '../src/geo/geo-locator.js';
import { createMemoryRouteSource } from '../src/routes/route-source.js';
import { buildMmdb } from './mmdb-writer.js';

// A small database built here: two EU networks in different zones, one US network.
const db = buildMmdb({
  '10.0.0.0/8': { continent: { code: 'EU' }, country: { iso_code: 'DE' } },
  '10.1.0.0/16': { switchyard: { zone: 'eu-1a', region: 'eu-1' } },
  '10.2.0.0/16': { switchyard: { zone: 'eu-1b', region: 'eu-1' } },
  '20.0.0.0/8': { switchyard: { zone: 'us-1a', region: 'us-1' } },
});

describe('GeoLocator (mmdb-lib over a MaxMind-format database)', () => {
  const geo = createGeoLocator({ database: db });
  it('maps IPs to localities, most specific network first', () => {
    expect(geo.locate('10.1.2.3')).toEqual({ zone: 'eu-1a', region: 'eu-1' });
    expect(geo.locate('::ffff:10.2.0.9')).toEqual({ zone: 'eu-1b', region: 'eu-1' });
    expect(geo.locate('10.9.9.9')).toEqual({ zone: 'DE', region: 'EU' });
    expect(geo.locate('20.1.1.1')).toEqual({ zone: 'us-1a', region: 'us-1' });
    expect(geo.locate('30.0.0.1')).toBeUndefined();
    expect(geo.locate('::1')).toBeUndefined();
  });
  it('rejects a file that is not a MaxMind DB with INVALID_ARGUMENT', () => {
    expect(() => createGeoLocator({ database: Buffer.from('nope') })).toThrow(/geo\.database/);
  });
});

describe('locality-aware routing by GeoIP', () => {
  const backend = createMemoryDiscovery();
  const ups: DemoUpstream[] = [];
  const regs = new Map<string, Registration>();
  let gw: Gateway;
  beforeAll(async () => {
    for (const [id, zone, region] of [
      ['eu-a', 'eu-1a', 'eu-1'],
      ['eu-b', 'eu-1b', 'eu-1'],
      ['us-a', 'us-1a', 'us-1'],
    ] as const) {
      const u = await startDemoUpstream({ id, service: 'api' });
      ups.push(u);
      regs.set(
        id,
        await backend.register({ id, service: 'api', address: '127.0.0.1', port: u.port, zone, region }),
      );
    }
    gw = await createGateway({
      routes: createMemoryRouteSource({ routes: [{ name: 'api', service: 'api' }] }),
      discovery: backend,
      port: 0,
      adminPort: 0,
      trustProxy: true,
      geo: createGeoLocator({ database: db }),
    });
    await gw.ready();
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all(ups.map((u) => u.close()));
    for (const r of regs.values()) await r.close();
    await backend.close();
  });
  const from = async (ip: string) => {
    const r = await request(gw.url, { headers: { 'x-forwarded-for': ip } });
    return (await r.body.text()).trim();
  };
  const spread = async (ip: string) => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await from(ip));
    return [...seen].sort();
  };
  const leave = async (id: string, left: number) => {
    await regs.get(id)!.close();
    await expect.poll(() => gw.balancers()[0]!.instances().length).toBe(left);
  };

  it('prefers the client zone, then its region, then any region', async () => {
    expect(await spread('10.1.0.7')).toEqual(['eu-a']);
    expect(await spread('10.2.0.7')).toEqual(['eu-b']);
    expect(await spread('20.0.0.7')).toEqual(['us-a']);
    // Unknown IP: no locality, all instances.
    expect(await spread('30.0.0.1')).toEqual(['eu-a', 'eu-b', 'us-a']);
    // Zone eu-1a leaves: its clients fail over within region eu-1 first…
    await leave('eu-a', 2);
    expect(await spread('10.1.0.7')).toEqual(['eu-b']);
    // …and when the region is empty, to the next region.
    await leave('eu-b', 1);
    expect(await spread('10.1.0.7')).toEqual(['us-a']);
  });
});
