import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createMemoryDiscovery } from '@switchyard/core';
import { type DemoUpstream, startDemoUpstream } from './demo-upstream.js';
import { createGateway } from './gateway.js';
import { createGeoLocator } from './geo/geo-locator.js';
import { createJsonFileRouteSource } from './routes/json-file-route-source.js';

/**
 * `pnpm gateway`: the gateway on the embedded in-memory discovery with demo upstreams for every
 * routed service, routes from routes.json (edit it while it runs: routes reload live).
 * `--no-demo` skips the demo upstreams; `--redis redis://…` uses Redis discovery instead;
 * `--http2-port N` adds the h2c listener; `--geo file.mmdb` turns on GeoIP locality.
 */
const argv = process.argv.slice(2);
const { values } = parseArgs({
  // `pnpm gateway -- --port 8081` forwards the `--` too.
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    routes: { type: 'string', default: resolve(import.meta.dirname, '../routes.json') },
    port: { type: 'string', default: '8080' },
    'admin-port': { type: 'string', default: '9901' },
    'http2-port': { type: 'string' },
    geo: { type: 'string' },
    redis: { type: 'string' },
    'no-demo': { type: 'boolean', default: false },
  },
});

const log = (line: string) => process.stdout.write(`${line}\n`);
const backend = values.redis
  ? (await import('@switchyard/discovery-redis')).createRedisDiscovery({ url: values.redis })
  : createMemoryDiscovery();
const routes = createJsonFileRouteSource({
  path: values.routes,
  onError: (e) =>
    log(`routes: reload refused (${e instanceof Error ? e.message : String(e)}); previous table kept`),
});
routes.subscribe((t) => log(`routes: reloaded, ${t.routes.length} route(s)`));
const upstreams: DemoUpstream[] = [];
if (!values['no-demo']) {
  const services = [...new Set(routes.current().routes.map((r) => r.service))];
  for (const service of services)
    for (const n of [1, 2])
      upstreams.push(await startDemoUpstream({ id: `${service}-${n}`, service, discovery: backend }));
}
const gateway = await createGateway({
  routes,
  discovery: backend,
  port: Number(values.port),
  adminPort: Number(values['admin-port']),
  ...(values['http2-port'] ? { http2Port: Number(values['http2-port']) } : {}),
  ...(values.geo ? { geo: createGeoLocator({ database: values.geo }) } : {}),
});
log(`gateway listening on ${gateway.url} (admin ${gateway.adminUrl}: /healthz /readyz /metrics)`);
if (gateway.http2Url) log(`  HTTP/2 (h2c, gRPC) on ${gateway.http2Url}`);
for (const r of routes.current().routes)
  log(`  ${r.host ?? '*'}${r.pathPrefix} -> ${r.service}${r.sticky ? ` (sticky by ${r.sticky.by})` : ''}`);
log(`try: curl ${gateway.url}/orders/1`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  log('draining…');
  await gateway.close();
  await routes.close();
  await Promise.all(upstreams.map((u) => u.close()));
  await backend.close();
  log('stopped');
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
