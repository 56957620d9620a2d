import type { Command } from 'commander';
import { action } from '../command-runner.js';
import { chooseBackend } from '../connect/backend-choice.js';
import { redisOptions, redisUrl, requestTimeout } from '../connect/connection-settings.js';
import type { GlobalOptions } from '../connect/global-options.js';
import { EXIT } from '../exit-codes.js';
import { formatMs } from '../output/format-ms.js';

async function openRouteStore(o: GlobalOptions) {
  chooseBackend(o, ['redis'] as const, 'routes');
  // Loaded on first use, like every backend.
  const { createRedisRouteStore } = await import('@switchyard/stateful-route');
  return createRedisRouteStore({
    url: redisUrl(o),
    redisOptions: redisOptions(o),
    requestTimeout: requestTimeout(o),
    ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
  });
}

/** `switchyard routes …`: the user↔pod links and pods of @switchyard/stateful-route (read-only). */
export function routesCommands(program: Command): void {
  const routes = program
    .command('routes')
    .description('sticky user-to-pod routing (@switchyard/stateful-route) on Redis');

  routes
    .command('services')
    .description('services that have (had) pods')
    .action(
      action(async ({ options, out, signal }, res) => {
        const store = res.add(await openRouteStore(options));
        const names = (await store.services(signal)).sort();
        out.result(names, () => (names.length ? names.join('\n') : out.color.dim('(no services)')));
      }),
    );

  routes
    .command('pods')
    .description("a service's pods: state, load, capacity, lease left")
    .argument('<service>')
    .action(
      action(async ({ options, out, signal }, res, [service]) => {
        const store = res.add(await openRouteStore(options));
        const { now, pods } = await store.listPods(service as string, signal);
        const rows = pods.map((p) => ({ ...p, leaseLeft: Math.max(0, p.deadline - now) }));
        out.result(rows, () =>
          out.table(
            ['POD', 'EPOCH', 'STATE', 'LOAD', 'CAPACITY', 'LEASE LEFT'],
            rows.map((p) => [p.pod, p.epoch, p.state, p.load, p.capacity, formatMs(p.leaseLeft)]),
          ),
        );
      }),
    );

  routes
    .command('get')
    .description('the pod each UID is linked to (exit 3 when one has no link)')
    .argument('<uids...>')
    .requiredOption('--service <service>', 'the routed service')
    .option('--route-namespace <ns>', 'routing namespace of the links', 'default')
    .action(
      action<{ service: string; routeNamespace: string }>(async ({ options, out, signal }, res, [uids]) => {
        const list = uids as string[];
        const store = res.add(await openRouteStore(options));
        const links = await store.getLinks(options.routeNamespace, options.service, list, signal);
        const rows = list.map((uid, i) => {
          const l = links[i];
          return l
            ? { uid, pod: l.pod, epoch: l.epoch, valid: l.valid, released: l.till !== 0 }
            : { uid, pod: null };
        });
        out.result(rows, () =>
          out.table(
            ['UID', 'POD', 'EPOCH', 'VALID', 'RELEASED'],
            rows.map((r) =>
              'epoch' in r
                ? [r.uid, r.pod, r.epoch, r.valid, r.released]
                : [r.uid, out.color.dim('(none)'), '', '', ''],
            ),
          ),
        );
        if (rows.some((r) => r.pod === null)) process.exitCode = EXIT.notFound;
      }),
    );
}
