import type { AddressInfo } from 'node:net';
import { createMemoryDiscovery, type Registration } from '@switchyard/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createGateway, type Gateway } from '../src/gateway.js';
import { createMemoryRouteSource } from '../src/routes/route-source.js';

const backend = createMemoryDiscovery();
const servers: { wss: WebSocketServer; reg: Registration; id: string }[] = [];
let gw: Gateway;

async function startWsUpstream(id: string) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws, req) => {
    ws.on('message', (m) => ws.send(`${id}:${req.url}:${m.toString()}`));
  });
  const reg = await backend.register({
    id,
    service: 'chat',
    address: '127.0.0.1',
    port: (wss.address() as AddressInfo).port,
  });
  servers.push({ wss, reg, id });
}

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function roundTrip(ws: WebSocket, msg: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (m) => resolve(m.toString()));
    ws.send(msg);
  });
}

beforeAll(async () => {
  await startWsUpstream('chat-1');
  await startWsUpstream('chat-2');
  const routes = createMemoryRouteSource({
    routes: [
      {
        name: 'chat',
        pathPrefix: '/ws',
        stripPrefix: true,
        service: 'chat',
        sticky: { by: 'header', name: 'x-user' },
      },
    ],
  });
  gw = await createGateway({ routes, discovery: backend, port: 0, adminPort: 0 });
  await gw.ready();
});
afterAll(async () => {
  await gw.close();
  for (const s of servers) {
    await s.reg.close();
    for (const c of s.wss.clients) c.terminate();
    await new Promise((r) => s.wss.close(r));
  }
  await backend.close();
});

it('proxies WebSocket upgrades, streams messages both ways, sticky by header', async () => {
  const wsUrl = gw.url.replace('http', 'ws');
  const a = await open(`${wsUrl}/ws/room/1`, { 'x-user': 'ann' });
  const first = await roundTrip(a, 'hello');
  expect(first).toMatch(/^chat-\d:\/room\/1:hello$/);
  const owner = first.split(':')[0];
  for (let i = 0; i < 20; i++) expect(await roundTrip(a, `m${i}`)).toBe(`${owner}:/room/1:m${i}`);
  // A second connection of the same user lands on the same upstream.
  const b = await open(`${wsUrl}/ws/room/2`, { 'x-user': 'ann' });
  expect((await roundTrip(b, 'x')).split(':')[0]).toBe(owner);
  expect(gw.metrics.websockets).toBe(2);
  a.close();
  b.close();
  await expect.poll(() => gw.metrics.websockets).toBe(0);
  // Different users spread over both upstreams.
  const owners = new Set<string>();
  for (let u = 0; u < 12; u++) {
    const c = await open(`${wsUrl}/ws/r`, { 'x-user': `u${u}` });
    owners.add((await roundTrip(c, 'x')).split(':')[0]!);
    c.close();
  }
  expect(owners.size).toBe(2);
});

it('an upgrade with no route is refused with 404', async () => {
  await expect(open(`${gw.url.replace('http', 'ws')}/nope`)).rejects.toThrow(/404/);
});
