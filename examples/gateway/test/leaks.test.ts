import { connect } from 'node:http2';
import { createMemoryDiscovery } from '@switchyard/core';
import { request } from 'undici';
import { expect, it } from 'vitest';
import { startDemoUpstream } from '../src/demo-upstream.js';
import { createGateway } from '../src/gateway.js';
import { createMemoryRouteSource } from '../src/routes/route-source.js';

function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

it('close() leaves no socket, server or timer behind (HTTP/1.1, HTTP/2, sticky, admin)', async () => {
  const backend = createMemoryDiscovery();
  const up = await startDemoUpstream({ id: 'u-1', service: 'svc', discovery: backend });
  // An undici client of our own would hold keep-alive sockets: use one-off connections.
  const before = resources();
  const gw = await createGateway({
    routes: createMemoryRouteSource({ routes: [{ name: 'r', service: 'svc', sticky: { by: 'cookie' } }] }),
    discovery: backend,
    port: 0,
    adminPort: 0,
    http2Port: 0,
  });
  await gw.ready();
  for (let i = 0; i < 5; i++) {
    const r = await request(`${gw.url}/x`, { reset: true });
    await r.body.text();
  }
  await (await request(`${gw.adminUrl}/metrics`, { reset: true })).body.text();
  await new Promise<void>((resolve, reject) => {
    const s = connect(gw.http2Url!);
    const req = s.request({ ':path': '/y' });
    req.resume();
    req.on('end', () => s.close(() => resolve()));
    req.on('error', reject);
  });
  await gw.close();
  await new Promise((r) => setTimeout(r, 50));
  const after = resources();
  for (const kind of ['TCPSocketWrap', 'TCPServerWrap', 'Timeout', 'FSEventWrap'])
    expect(after[kind] ?? 0, kind).toBeLessThanOrEqual(before[kind] ?? 0);
  await up.close();
  await backend.close();
});
