/**
 * The gateway's per-request decision cost, in process: route match + sticky session lookup +
 * balancer pick + report (breakers and outlier ejection on), 10 instances, 1 000 users.
 * `pnpm exec tsx --conditions=switchyard-source bench/pick-path.bench.ts`
 */
import { createMemoryDiscovery, systemClock } from '@switchyard/core';
import { createBalancer, leastRequestPicker, ringHashPicker } from '@switchyard/loadbalancer';
import { parseRoutes } from '../src/routes/route-config.js';
import { Router } from '../src/routes/router.js';
import { StickySessions } from '../src/sticky/sticky-sessions.js';

const discovery = createMemoryDiscovery();
for (let i = 0; i < 10; i++)
  await discovery.register({ id: `i-${i}`, service: 'svc', address: '127.0.0.1', port: 10_000 + i });
const router = new Router(
  parseRoutes({
    routes: [
      { name: 'a', pathPrefix: '/a', service: 'svc' },
      { name: 'b', host: 'api.test', pathPrefix: '/b', service: 'svc' },
      { name: 'svc', pathPrefix: '/svc', service: 'svc', sticky: { by: 'header', name: 'x-user' } },
    ],
  }),
);
const sticky = new StickySessions(systemClock);
const N = 300_000;
const users = Array.from({ length: 1_000 }, (_, i) => ({ 'x-user': `user-${i}` }));

async function run(name: string, picker: ReturnType<typeof leastRequestPicker>, withSticky: boolean) {
  const b = createBalancer({ discovery, service: 'svc', picker, sticky: withSticky });
  await b.ready();
  const route = router.match('api.test', '/svc/x')!;
  let best = Number.POSITIVE_INFINITY;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const r = router.match('api.test', '/svc/x') ?? route;
      const key = withSticky
        ? sticky.keyFor(r.name, r.sticky!, users[i % 1000]!, undefined)?.key
        : `user-${i % 1000}`;
      const h = b.pick(key === undefined ? undefined : { key });
      h.report(true, 1);
    }
    best = Math.min(best, ((performance.now() - t0) * 1e6) / N);
  }
  await b.close();
  return `| ${name} | ${best.toFixed(0)} |`;
}

const rows = [
  await run('route + least-request pick + report', leastRequestPicker(), false),
  await run('route + sticky session + least-request pick + report', leastRequestPicker(), true),
  await run('route + ring-hash pick (key) + report', ringHashPicker(), false),
];
await discovery.close();
process.stdout.write(
  `${['| path (10 instances, 1 000 users) | ns/request (best of 3) |', '|---|---:|', ...rows].join('\n')}\n`,
);
