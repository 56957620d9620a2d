import { createMemoryDiscovery, MemoryDiscoveryStore } from '@switchyard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, createConsoleServer } from '../src/index.js';

describe('console server', () => {
  const store = new MemoryDiscoveryStore();
  const discovery = createMemoryDiscovery({ store });
  let server: ConsoleServer;
  beforeAll(async () => {
    server = await createConsoleServer({ discovery, port: 0, host: '127.0.0.1', token: 'secret-token' });
  });
  afterAll(async () => {
    await server.close();
    await discovery.close();
  });
  const auth = { authorization: 'Bearer secret-token' };

  it('rejects unknown and bad options naming the field', async () => {
    await expect(createConsoleServer({ port: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'port',
    });
    await expect(createConsoleServer({ port: 0, bogus: 1 } as never)).rejects.toMatchObject({
      field: 'bogus',
    });
  });

  it('serves the page without auth and no secrets in it', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Switchyard console');
    expect(html).not.toContain('secret-token');
  });

  it('requires the bearer token on the API', async () => {
    expect((await fetch(`${server.url}/api/services`)).status).toBe(401);
  });

  it('lists services with counts and a service instances', async () => {
    await discovery.register({
      service: 'api',
      id: 'a1',
      address: '10.0.0.1',
      port: 80,
      zone: 'z1',
      tags: ['x'],
    });
    await discovery.register({ service: 'api', id: 'a2', address: '10.0.0.2', port: 80 });
    const body = (await (await fetch(`${server.url}/api/services`, { headers: auth })).json()) as {
      services: unknown[];
    };
    expect(body.services).toEqual([{ name: 'api', instances: 2, healthy: 2 }]);
    const snap = (await (await fetch(`${server.url}/api/services/api`, { headers: auth })).json()) as {
      instances: { id: string; zone?: string }[];
    };
    expect(snap.instances.map((i: { id: string }) => i.id).sort()).toEqual(['a1', 'a2']);
    expect(snap.instances.find((i) => i.id === 'a1')?.zone).toBe('z1');
  });

  it('streams live updates over SSE', async () => {
    const ac = new AbortController();
    const res = await fetch(`${server.url}/api/services/web/events`, { headers: auth, signal: ac.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const dec = new TextDecoder();
    let buf = '';
    const next = async (): Promise<{ instances: { id: string }[] }> => {
      while (!buf.includes('\n\n')) buf += dec.decode((await reader.read()).value);
      const i = buf.indexOf('\n\n');
      const msg = buf.slice(0, i);
      buf = buf.slice(i + 2);
      return JSON.parse(msg.replace(/^data: /, ''));
    };
    expect((await next()).instances).toEqual([]);
    await discovery.register({ service: 'web', id: 'w1', address: '10.0.0.3', port: 80 });
    expect((await next()).instances.map((i) => i.id)).toEqual(['w1']);
    ac.abort();
  });

  it('read-only refuses mutations with 403 and audits them', async () => {
    const res = await fetch(`${server.url}/api/locks/x/release`, { method: 'POST', headers: auth });
    expect(res.status).toBe(403);
    const audit = (await (await fetch(`${server.url}/api/audit`, { headers: auth })).json()) as {
      entries: unknown[];
    };
    expect(audit.entries.at(-1)).toMatchObject({ outcome: 'refused' });
  });
});
