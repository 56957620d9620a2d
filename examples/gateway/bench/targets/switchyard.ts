import { createMemoryDiscovery } from '@switchyard/core';
import { createGateway } from '../../src/gateway.js';
import { createMemoryRouteSource } from '../../src/routes/route-source.js';
import { serveTarget } from './child.js';

serveTarget(async (upstream) => {
  const url = new URL(upstream);
  const discovery = createMemoryDiscovery();
  await discovery.register({ id: 'up-1', service: 'up', address: url.hostname, port: Number(url.port) });
  const routes = createMemoryRouteSource({ routes: [{ name: 'all', service: 'up' }] });
  const gw = await createGateway({ routes, discovery, port: 0, adminPort: 0 });
  await gw.ready();
  return { port: Number(new URL(gw.url).port) };
});
