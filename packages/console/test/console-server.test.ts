import { createMemoryDiscovery, createMemoryRulesSource, MemoryDiscoveryStore } from '@switchyard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, createConsoleServer } from '../src/index.js';
import { consoleClient, readEvents } from './console-client.js';

const TOKEN = 'a-console-token-of-some-length';

describe('console server: options, page, auth', () => {
  it('rejects unknown and bad options naming the field', async () => {
    await expect(createConsoleServer({ port: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'port',
    });
    await expect(createConsoleServer({ bogus: 1 } as never)).rejects.toMatchObject({ field: 'bogus' });
    await expect(createConsoleServer({ token: 'short' })).rejects.toMatchObject({ field: 'token' });
    await expect(createConsoleServer({ token: false, host: '0.0.0.0' })).rejects.toMatchObject({
      field: 'token',
    });
    await expect(createConsoleServer({ rules: createMemoryRulesSource() })).rejects.toMatchObject({
      field: 'rules',
    });
    await expect(createConsoleServer({ discovery: {} as never })).rejects.toMatchObject({
      field: 'discovery',
    });
  });

  it('generates a login token when none is given; the page never contains it', async () => {
    await using server = await createConsoleServer({});
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    const html = await (await fetch(`${server.url}/`)).text();
    expect(html).toContain('Switchyard');
    expect(html).not.toContain(server.token);
    const res = await fetch(`${server.url}/`);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await fetch(`${server.url}/api/audit`)).status).toBe(401);
    expect(await (await fetch(`${server.url}/api/session`)).json()).toMatchObject({
      authenticated: false,
      authRequired: true,
      readOnly: true,
    });
  });

  it('serves only its own files: no traversal, no unknown types', async () => {
    await using server = await createConsoleServer({ token: false });
    for (const path of ['/app.js', '/style.css', '/pages/services.js']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    }
    for (const path of [
      '/../package.json',
      '/%2e%2e/package.json',
      '/pages/../../src/index.ts',
      '/.env',
      '/x.ts',
    ]) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(404);
    }
  });

  it('logs in with the token (HttpOnly SameSite cookie), refuses a wrong one, logs out', async () => {
    await using server = await createConsoleServer({ token: TOKEN });
    const c = consoleClient(server.url);
    expect((await c.post('/api/login', { token: 'wrong-token-wrong-token' })).status).toBe(401);
    const ok = await c.post('/api/login', { token: TOKEN });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await c.get('/api/audit')).status).toBe(200);
    await c.post('/api/logout', {});
    expect((await c.get('/api/audit')).status).toBe(401);
    // The bearer header works without a session (scripts, curl).
    expect(
      (await fetch(`${server.url}/api/audit`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(200);
  });

  it('refuses writes from another origin or without the console header (CSRF)', async () => {
    await using server = await createConsoleServer({ token: TOKEN });
    const cross = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: {
        origin: 'http://evil.example',
        'x-switchyard-console': '1',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ token: TOKEN }),
    });
    expect(cross.status).toBe(403);
    const noHeader = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      body: JSON.stringify({ token: TOKEN }),
    });
    expect(noHeader.status).toBe(403);
  });
});

describe('console server: services page API', () => {
  const store = new MemoryDiscoveryStore();
  const discovery = createMemoryDiscovery({ store });
  const rules = createMemoryRulesSource();
  let server: ConsoleServer;
  let readOnly: ConsoleServer;
  beforeAll(async () => {
    server = await createConsoleServer({ discovery, rules, token: TOKEN, readOnly: false });
    readOnly = await createConsoleServer({ discovery, rules, token: TOKEN });
    await discovery.register({ service: 'api', id: 'a1', address: '10.0.0.1', port: 80, zone: 'z1' });
    await discovery.register({ service: 'api', id: 'a2', address: '10.0.0.2', port: 80, zone: 'z2' });
    await discovery.register({ service: 'web', id: 'w1', address: '10.0.0.3', port: 80, health: 'critical' });
  });
  afterAll(async () => {
    await server.close();
    await readOnly.close();
    await discovery.close();
  });

  it('lists services with counts, paged and filtered; a service with pull-out state', async () => {
    const c = await consoleClient(server.url).login(TOKEN);
    const body = await (await c.get('/api/services')).json();
    expect(body).toMatchObject({ total: 2, offset: 0, limit: 100 });
    expect(body.services).toEqual([
      { name: 'api', instances: 2, passing: 2, pulledOut: 0, zones: ['z1', 'z2'] },
      { name: 'web', instances: 1, passing: 0, pulledOut: 0, zones: [] },
    ]);
    const paged = await (await c.get('/api/services?offset=1&limit=1')).json();
    expect(paged.services.map((s: { name: string }) => s.name)).toEqual(['web']);
    expect((await (await c.get('/api/services?q=we')).json()).total).toBe(1);
    const bad = await c.get('/api/services?limit=0');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'INVALID_ARGUMENT', field: 'limit' });
    const api = await (await c.get('/api/services/api')).json();
    expect(api.instances.map((i: { id: string; pulledOut: boolean }) => [i.id, i.pulledOut])).toEqual([
      ['a1', false],
      ['a2', false],
    ]);
    expect((await c.get('/api/nope')).status).toBe(404);
    expect((await c.post('/api/services', {})).status).toBe(405);
  });

  it('a pull-out needs a confirmation bound to the request; it is audited; replays are refused', async () => {
    const c = await consoleClient(server.url).login(TOKEN);
    const path = '/api/services/api/instances/a1/pull-out';
    const first = await c.post(path, {});
    expect(first.status).toBe(409);
    const { confirmation } = await first.json();
    expect(confirmation.summary).toBe('pull out instance a1 of api');
    expect(confirmation.details.impact).toEqual([
      { service: 'api', inRotationBefore: 2, inRotationAfter: 1 },
    ]);
    expect(rules.current().pulledInstances ?? []).toEqual([]);
    // The token is bound to this mutation: another path with it is refused (and burns it).
    const other = await c.post('/api/services/api/instances/a2/pull-out', { confirm: confirmation.token });
    expect(other.status).toBe(409);
    expect((await other.json()).error).toBe('CONFIRMATION_INVALID');
    const again = await (await c.post(path, {})).json();
    const done = await c.post(path, { confirm: again.confirmation.token, reason: 'bad disk' });
    expect(done.status).toBe(200);
    expect(rules.current().pulledInstances).toEqual([{ service: 'api', id: 'a1' }]);
    const replay = await c.post(path, { confirm: again.confirmation.token });
    expect((await replay.json()).error).toBe('CONFIRMATION_INVALID');
    const snap = await (await c.get('/api/services/api')).json();
    expect(snap.instances.find((i: { id: string }) => i.id === 'a1')).toMatchObject({
      pulledOut: true,
      pulledBy: 'instance',
    });
    const audit = server.audit.entries();
    expect(audit.at(-1)).toMatchObject({ outcome: 'refused', detail: expect.stringMatching(/invalid/) });
    expect(audit.find((e) => e.outcome === 'ok')).toMatchObject({
      actor: 'session',
      action: 'POST /api/services/:service/instances/:id/pull-out',
      target: 'pull out instance a1 of api',
      reason: 'bad disk',
    });
    // Pull it back in (and warn when a zone pull-out would empty the service).
    const back = await (await c.post('/api/services/api/instances/a1/pull-in', {})).json();
    await c.post('/api/services/api/instances/a1/pull-in', { confirm: back.confirmation.token });
    expect(rules.current().pulledInstances).toEqual([]);
    const zone = await (await c.post('/api/zones/z1/pull-out', { service: 'api' })).json();
    expect(zone.confirmation.summary).toBe('pull out zone z1 for api');
    const badZone = await c.post('/api/zones/z1/pull-out', { service: 7 });
    expect(await badZone.json()).toMatchObject({ error: 'INVALID_ARGUMENT', field: 'service' });
  });

  it('read-only: every mutation is 403 and audited as refused, reads still work', async () => {
    const c = await consoleClient(readOnly.url).login(TOKEN);
    const res = await c.post('/api/services/api/instances/a2/pull-out', {});
    expect(res.status).toBe(403);
    expect((await res.json()).error).toBe('READ_ONLY');
    expect(readOnly.audit.entries().at(-1)).toMatchObject({
      outcome: 'refused',
      target: 'pull out instance a2 of api',
    });
    expect((await c.get('/api/services')).status).toBe(200);
  });

  it('streams a service live: registrations and pull-outs appear as events', async () => {
    const c = await consoleClient(server.url).login(TOKEN);
    const events = readEvents(await c.get('/api/services/api/events'));
    expect((await events.next()).instances).toHaveLength(2);
    await discovery.register({ service: 'api', id: 'a3', address: '10.0.0.9', port: 80 });
    expect(
      (await events.until((e) => e.instances.length === 3)).instances.map((i: { id: string }) => i.id),
    ).toContain('a3');
    rules.set({ pulledInstances: [{ service: 'api', id: 'a3' }] });
    const pulled = await events.until((e) =>
      e.instances.some((i: { id: string; pulledOut: boolean }) => i.id === 'a3' && i.pulledOut),
    );
    expect(pulled.service).toBe('api');
    rules.set({});
    await events.close();
  });

  it('pages streaming one service share one discovery watch; a late one gets the latest state at once', async () => {
    let watches = 0;
    const counting = {
      resolve: discovery.resolve.bind(discovery),
      services: discovery.services.bind(discovery),
      watch: (...args: Parameters<typeof discovery.watch>) => {
        watches++;
        return discovery.watch(...args);
      },
    } as unknown as typeof discovery;
    await using own = await createConsoleServer({ discovery: counting, token: TOKEN });
    const c = await consoleClient(own.url).login(TOKEN);
    const first = readEvents(await c.get('/api/services/api/events'));
    await first.next();
    const others = await Promise.all(
      [1, 2, 3].map(async () => readEvents(await c.get('/api/services/api/events'))),
    );
    for (const o of others) expect((await o.next()).service).toBe('api');
    expect(watches).toBe(1);
    const reg = await discovery.register({ service: 'api', id: 'shared-1', address: '10.0.0.7', port: 80 });
    for (const e of [first, ...others]) {
      await e.until((ev) => ev.instances.some((i: { id: string }) => i.id === 'shared-1'));
    }
    for (const e of [first, ...others]) await e.close();
    await reg.close();
    // Every page gone: the watch stops; the next page starts a fresh one.
    await new Promise((r) => setTimeout(r, 50));
    const again = readEvents(await c.get('/api/services/api/events'));
    await again.next();
    expect(watches).toBe(2);
    await again.close();
  });

  it('an asynchronous rules source is awaited: its failure is the reply and a failed audit entry', async () => {
    let current = {};
    const slow = {
      current: () => current,
      async set(next: object) {
        await new Promise((r) => setTimeout(r, 20));
        if (JSON.stringify(next).includes('a2')) throw new Error('config store refused the rules');
        current = next;
      },
    };
    await using own = await createConsoleServer({ discovery, rules: slow, token: TOKEN, readOnly: false });
    const c = await consoleClient(own.url).login(TOKEN);
    const confirmAndRun = async (path: string) => {
      const { confirmation } = await (await c.post(path, {})).json();
      return c.post(path, { confirm: confirmation.token });
    };
    expect((await confirmAndRun('/api/services/api/instances/a1/pull-out')).status).toBe(200);
    expect(current).toEqual({ pulledInstances: [{ service: 'api', id: 'a1' }] });
    const refused = await confirmAndRun('/api/services/api/instances/a2/pull-out');
    expect(refused.status).toBe(500);
    expect((await refused.json()).message).toBe('config store refused the rules');
    expect(own.audit.entries().at(-1)).toMatchObject({
      outcome: 'failed',
      detail: 'config store refused the rules',
    });
  });

  it('close() ends open streams and stops listening', async () => {
    const own = await createConsoleServer({ discovery, token: TOKEN });
    const c = await consoleClient(own.url).login(TOKEN);
    const events = readEvents(await c.get('/api/services/api/events'));
    await events.next();
    await own.close();
    await expect(events.done).resolves.toBeUndefined();
    await expect(fetch(`${own.url}/`)).rejects.toThrow();
  });
});
