import { once } from 'node:events';
import type { InstanceFilter, InstanceHealth, ServiceInstance } from '@switchyard/core';
import { sleep } from '@switchyard/core';
import type { Command } from 'commander';
import { action } from '../command-runner.js';
import { openDiscovery } from '../connect/discovery-client.js';
import { notFoundError, usageError } from '../exit-codes.js';
import { collect, integerFlag, keyValueFlags } from '../flag-values.js';
import type { Output } from '../output/output.js';

const HEALTH: readonly InstanceHealth[] = ['passing', 'warning', 'critical', 'maintenance'];

interface FilterOptions {
  tag?: string[];
  zone?: string;
  region?: string;
  health?: string;
}

function filterOf(o: FilterOptions): InstanceFilter | undefined {
  const filter: InstanceFilter = {};
  if (o.tag?.length) filter.tags = o.tag;
  if (o.zone !== undefined) filter.zone = o.zone;
  if (o.region !== undefined) filter.region = o.region;
  if (o.health !== undefined) {
    const list = o.health === 'all' ? HEALTH : o.health.split(',').map((h) => h.trim());
    for (const h of list) {
      if (!(HEALTH as readonly string[]).includes(h)) {
        throw usageError('--health', `unknown health ${JSON.stringify(h)} (${HEALTH.join(', ')} or all)`);
      }
    }
    filter.health = list as InstanceHealth[];
  }
  return Object.keys(filter).length > 0 ? filter : undefined;
}

function withFilterOptions(cmd: Command): Command {
  return cmd
    .option('--tag <tag>', 'only instances with this tag (repeatable)', collect)
    .option('--zone <zone>', 'only instances in this zone')
    .option('--region <region>', 'only instances in this region')
    .option(
      '--health <list>',
      'health states to include, comma-separated, or "all" (default: the backend\'s healthy set)',
    );
}

const HEALTH_COLOR = {
  passing: 'green',
  warning: 'yellow',
  critical: 'red',
  maintenance: 'dim',
} as const satisfies Record<InstanceHealth, 'green' | 'yellow' | 'red' | 'dim'>;

function instanceTable(out: Output, instances: readonly ServiceInstance[]): string {
  return out.table(
    ['ID', 'ADDRESS', 'PORT', 'HEALTH', 'ZONE', 'WEIGHT', 'TAGS'],
    [...instances]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((i) => [
        i.id,
        i.address,
        i.port,
        out.color[HEALTH_COLOR[i.health]](i.health),
        i.zone ?? '',
        i.weight,
        i.tags.join(','),
      ]),
  );
}

/** `switchyard discovery …`: services, resolve, watch and test registrations. */
export function discoveryCommands(program: Command): void {
  const discovery = program
    .command('discovery')
    .description('service discovery on etcd, Consul, Redis, Kubernetes (or memory)');

  discovery
    .command('services')
    .description('names of the registered services')
    .action(
      action(async ({ options, out, signal }, res) => {
        const { discovery: d } = await openDiscovery(options);
        res.add(d);
        const names = (await d.services({ signal })).sort();
        out.result(names, () => (names.length ? names.join('\n') : out.color.dim('(no services)')));
      }),
    );

  withFilterOptions(
    discovery
      .command('ls')
      .alias('resolve')
      .description(
        'instances of SERVICE (exit 3 when none match); without SERVICE: every service and its count',
      )
      .argument('[service]'),
  ).action(
    action<FilterOptions>(async ({ options, out, signal }, res, [service]) => {
      const { discovery: d } = await openDiscovery(options);
      res.add(d);
      const filter = filterOf(options);
      const opts = filter ? { filter, signal } : { signal };
      if (service === undefined) {
        const names = (await d.services({ signal })).sort();
        const rows = await Promise.all(
          names.map(async (name) => ({
            service: name,
            instances: (await d.resolve(name, opts)).instances.length,
          })),
        );
        out.result(rows, () =>
          out.table(
            ['SERVICE', 'INSTANCES'],
            rows.map((r) => [r.service, r.instances]),
          ),
        );
        return;
      }
      const snapshot = await d.resolve(service as string, opts);
      if (snapshot.instances.length === 0) {
        if (options.json) out.result(snapshot, () => '');
        throw notFoundError(`no instance of ${JSON.stringify(service)} matches`);
      }
      out.result(snapshot, () => instanceTable(out, snapshot.instances));
    }),
  );

  withFilterOptions(
    discovery
      .command('watch')
      .description("live table of SERVICE's instances (NDJSON of every change with --json)")
      .argument('<service>')
      .option('--count <n>', 'stop after n snapshots (the first is the current state)'),
  ).action(
    action<FilterOptions & { count?: string }>(async ({ options, out, signal }, res, [service]) => {
      const count = integerFlag('--count', options.count, 1);
      const { discovery: d } = await openDiscovery(options);
      res.add(d);
      const filter = filterOf(options);
      let n = 0;
      for await (const event of d.watch(service as string, filter ? { filter, signal } : { signal })) {
        const { snapshot, diff } = event;
        out.clearScreen();
        out.result(
          {
            service: snapshot.service,
            revision: snapshot.revision,
            reason: event.reason,
            stale: event.stale,
            instances: snapshot.instances,
            diff: {
              added: diff.added.map((i) => i.id),
              removed: diff.removed.map((i) => i.id),
              updated: diff.updated.map((i) => i.id),
            },
          },
          () => {
            const c = out.color;
            const changes = [
              ...diff.added.map((i) => c.green(`+${i.id}`)),
              ...diff.removed.map((i) => c.red(`-${i.id}`)),
              ...diff.updated.map((i) => c.yellow(`~${i.id}`)),
            ].join(' ');
            const head = `${snapshot.service} rev ${snapshot.revision} (${event.reason}${event.stale ? ', STALE' : ''}) ${changes}`;
            return `${c.dim(head)}\n${instanceTable(out, snapshot.instances)}`;
          },
        );
        if (count !== undefined && ++n >= count) break;
      }
    }),
  );

  discovery
    .command('register')
    .description('registers an instance and keeps it alive until interrupted (or --for ms), then deregisters')
    .argument('<service>')
    .requiredOption('--port <port>', 'port of the instance')
    .option('--address <address>', 'address of the instance', '127.0.0.1')
    .option('--id <id>', 'instance id (default: <service>-<address>-<port>)')
    .option('--tag <tag>', 'tag (repeatable)', collect)
    .option('--meta <key=value>', 'metadata (repeatable)', collect)
    .option('--weight <n>', 'weight')
    .option('--zone <zone>', 'zone')
    .option('--region <region>', 'region')
    .option('--ttl <ms>', "registration TTL (default: the backend's)")
    .option('--for <ms>', 'deregister after this long instead of waiting for Ctrl-C')
    .action(
      action<{
        port: string;
        address: string;
        id?: string;
        tag?: string[];
        meta?: string[];
        weight?: string;
        zone?: string;
        region?: string;
        ttl?: string;
        for?: string;
      }>(async ({ options, out, signal }, res, [service]) => {
        const port = integerFlag('--port', options.port, 1, 65_535) as number;
        const weight = integerFlag('--weight', options.weight, 0);
        const ttl = integerFlag('--ttl', options.ttl, 1);
        const holdFor = integerFlag('--for', options.for, 0);
        const metadata = keyValueFlags('--meta', options.meta);
        const { discovery: d } = await openDiscovery(options);
        res.add(d);
        const registration = await d.register(
          {
            id: options.id ?? `${service as string}-${options.address}-${port}`,
            service: service as string,
            address: options.address,
            port,
            tags: options.tag ?? [],
            metadata,
            ...(weight !== undefined ? { weight } : {}),
            ...(options.zone !== undefined ? { zone: options.zone } : {}),
            ...(options.region !== undefined ? { region: options.region } : {}),
          },
          ttl !== undefined ? { ttl, signal } : { signal },
        );
        registration.on('registration:lost', ({ cause }) =>
          out.note(out.color.red(`registration lost: ${(cause as Error)?.message ?? String(cause)}`)),
        );
        registration.on('registration:restored', () => out.note(out.color.green('registration restored')));
        out.result(
          { registered: registration.instance },
          () =>
            `${out.color.green('registered')} ${registration.instance.service}/${registration.instance.id} at ${registration.instance.address}:${registration.instance.port}${holdFor === undefined ? ' (Ctrl-C to deregister)' : ''}`,
        );
        try {
          if (holdFor !== undefined) await sleep(holdFor, { signal, pkg: 'cli' });
          else if (!signal.aborted) await once(signal, 'abort');
        } catch {
          // interrupted: deregister below
        }
        await registration.close();
        out.result(
          { deregistered: registration.instance.id },
          () => `deregistered ${registration.instance.id}`,
        );
      }),
    );
}
