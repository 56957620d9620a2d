import { createManualClock, createMemoryDiscovery } from '@switchyard/core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoUpstream, startDemoUpstream } from '../src/demo-upstream.js';
import { createGateway, type Gateway } from '../src/gateway.js';
import { createMemoryRouteSource } from '../src/routes/route-source.js';
import { cookieValue, StickySessions } from '../src/sticky/sticky-sessions.js';

describe('StickySessions', () => {
  it('keeps a key until the session is idle past its timeout, then issues a fresh one', async () => {
    const clock = createManualClock();
    const s = new StickySessions(clock);
    const cfg = { by: 'header', name: 'x-user', sessionTimeout: 1_000 } as const;
    const k1 = s.keyFor('r', cfg, { 'x-user': 'alice' }, undefined)!.key;
    await clock.advance(900);
    expect(s.keyFor('r', cfg, { 'x-user': 'alice' }, undefined)!.key).toBe(k1);
    await clock.advance(900); // idle 900 ms since the last touch: still inside the timeout
    expect(s.keyFor('r', cfg, { 'x-user': 'alice' }, undefined)!.key).toBe(k1);
    await clock.advance(1_001);
    const k2 = s.keyFor('r', cfg, { 'x-user': 'alice' }, undefined)!.key;
    expect(k2).not.toBe(k1);
    expect(s.expired).toBe(1);
    expect(s.keyFor('r', cfg, {}, undefined)).toBeUndefined();
  });

  it('sweeps idle sessions and never reuses a key after a sweep', async () => {
    const clock = createManualClock();
    const s = new StickySessions(clock);
    const cfg = { by: 'ip', sessionTimeout: 100 } as const;
    const first = s.keyFor('r', cfg, {}, '10.0.0.1')!.key;
    await clock.advance(200);
    s.keyFor('r', cfg, {}, '10.0.0.2'); // sweeps 10.0.0.1
    expect(s.size).toBe(1);
    expect(s.keyFor('r', cfg, {}, '10.0.0.1')!.key).not.toBe(first);
  });

  it('issues a cookie when the request has none and reads it back', () => {
    const s = new StickySessions(createManualClock());
    const k = s.keyFor('r', { by: 'cookie' }, { cookie: 'a=1' }, undefined)!;
    expect(k.setCookie).toMatch(/^sy_session=[\w-]+; Path=\/; HttpOnly; SameSite=Lax$/);
    const id = k.setCookie!.split(';', 1)[0]!.split('=')[1]!;
    expect(cookieValue(`a=1; sy_session=${id}; b=2`, 'sy_session')).toBe(id);
    const again = s.keyFor('r', { by: 'cookie' }, { cookie: `a=1; sy_session=${id}` }, undefined)!;
    expect(again.key).toBe(k.key);
    expect(again.setCookie).toBeUndefined();
  });
});

describe('sticky routes end to end', () => {
  const backend = createMemoryDiscovery();
  const upstreams: DemoUpstream[] = [];
  let gw: Gateway;
  const routes = createMemoryRouteSource({
    routes: [
      { name: 'cookie', pathPrefix: '/c', service: 'carts', sticky: { by: 'cookie' } },
      { name: 'header', pathPrefix: '/h', service: 'carts', sticky: { by: 'header', name: 'x-user' } },
      { name: 'ip', pathPrefix: '/i', service: 'carts', sticky: { by: 'ip', sessionTimeout: 250 } },
      { name: 'free', pathPrefix: '/f', service: 'carts' },
    ],
  });
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const r = await request(`${gw.url}${path}`, { headers });
    return { upstream: (await r.body.text()).trim(), cookie: r.headers['set-cookie'] };
  };

  beforeAll(async () => {
    for (const id of ['carts-1', 'carts-2', 'carts-3'])
      upstreams.push(await startDemoUpstream({ id, service: 'carts', discovery: backend }));
    gw = await createGateway({ routes, discovery: backend, port: 0, adminPort: 0 });
    await gw.ready();
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all(upstreams.map((u) => u.close()));
    await backend.close();
  });

  it('a cookie user keeps the upstream; different users spread', async () => {
    const owners = new Set<string>();
    for (let u = 0; u < 12; u++) {
      const first = await get('/c/x');
      const cookie = String(first.cookie).split(';', 1)[0]!;
      for (let i = 0; i < 8; i++) expect((await get('/c/x', { cookie })).upstream).toBe(first.upstream);
      owners.add(first.upstream);
    }
    expect(owners.size).toBeGreaterThan(1);
  });

  it('a header user keeps the upstream, and moves only when it dies', async () => {
    const owner = (await get('/h/x', { 'x-user': 'bob' })).upstream;
    for (let i = 0; i < 10; i++) expect((await get('/h/x', { 'x-user': 'bob' })).upstream).toBe(owner);
    // Without stickiness the same client spreads.
    const spread = new Set<string>();
    for (let i = 0; i < 30; i++) spread.add((await get('/f/x', { 'x-user': 'bob' })).upstream);
    expect(spread.size).toBe(3);
    const victim = upstreams.find((u) => u.id === owner)!;
    await victim.close(); // deregisters: the key re-binds to a live instance and stays there
    const deadline = Date.now() + 2_000;
    let moved = owner;
    while (moved === owner && Date.now() < deadline)
      moved = (await get('/h/x', { 'x-user': 'bob' })).upstream;
    expect(moved).not.toBe(owner);
    for (let i = 0; i < 10; i++) expect((await get('/h/x', { 'x-user': 'bob' })).upstream).toBe(moved);
  });

  it('an IP session forgets its upstream after the idle timeout', async () => {
    const seen = new Set<string>();
    for (let round = 0; round < 14; round++) {
      const owner = (await get('/i/x')).upstream;
      expect((await get('/i/x')).upstream).toBe(owner);
      seen.add(owner);
      await new Promise((r) => setTimeout(r, 300));
    }
    // Each round starts a new session (idle > 250 ms) and is balanced afresh over two live upstreams.
    expect(seen.size).toBe(2);
  });
});
