import type { ConfigAdmin, NamespaceRef } from '@switchyard/config-center';
import { type Command, Option } from 'commander';
import { action, type Resources } from '../command-runner.js';
import { chooseBackend } from '../connect/backend-choice.js';
import { etcdClientOptions, etcdHosts, redisUrl, requestTimeout } from '../connect/connection-settings.js';
import type { GlobalOptions } from '../connect/global-options.js';
import { notFoundError, usageError } from '../exit-codes.js';
import { integerFlag } from '../flag-values.js';
import { confirm } from '../output/confirm.js';
import type { Output } from '../output/output.js';

interface RefOptions {
  app: string;
  env: string;
  cluster?: string;
  author: string;
  message?: string;
}

/** A `ConfigAdmin` of `o.app` on the Redis or etcd the global flags name (also the console's Config page). */
export async function openAdmin(o: GlobalOptions & { app: string }, res: Resources): Promise<ConfigAdmin> {
  const backend = chooseBackend(o, ['redis', 'etcd'] as const, 'config');
  const cc = await import('@switchyard/config-center');
  const prefix = o.prefix !== undefined ? { prefix: o.prefix } : {};
  const store =
    backend === 'redis'
      ? cc.createRedisConfigStore({ url: redisUrl(o), requestTimeout: requestTimeout(o), ...prefix })
      : cc.createEtcdConfigStore({ hosts: etcdHosts(o), clientOptions: etcdClientOptions(o), ...prefix });
  res.add(store);
  return cc.createConfigAdmin({ store, app: o.app });
}

const refOf = (o: RefOptions, namespace: string): NamespaceRef => ({
  env: o.env,
  namespace,
  ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
});

function withRefOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--app <app>', 'application id').env('SWITCHYARD_APP').makeOptionMandatory())
    .addOption(new Option('--env <env>', 'environment').default('default').env('SWITCHYARD_ENV'))
    .option('--cluster <cluster>', 'cluster (default: default)')
    .addOption(
      new Option('--author <name>', 'recorded on writes').default(process.env.USER ?? 'switchyard-cli'),
    )
    .option('--message <text>', 'release message (writes)');
}

/** A `key=value` item; the value is JSON when it parses as JSON, else the string. */
function itemOf(pair: string): [string, unknown] {
  const i = pair.indexOf('=');
  if (i <= 0) throw usageError('items', `expected key=value (got ${JSON.stringify(pair)})`);
  const raw = pair.slice(i + 1);
  try {
    return [pair.slice(0, i), JSON.parse(raw)];
  } catch {
    return [pair.slice(0, i), raw];
  }
}

function diffText(
  out: Output,
  d: {
    added: Record<string, unknown>;
    removed: Record<string, unknown>;
    changed: Record<string, { from: unknown; to: unknown }>;
  },
): string {
  const c = out.color;
  const lines = [
    ...Object.entries(d.added).map(([k, v]) => c.green(`+ ${k} = ${JSON.stringify(v)}`)),
    ...Object.entries(d.removed).map(([k, v]) => c.red(`- ${k} = ${JSON.stringify(v)}`)),
    ...Object.entries(d.changed).map(([k, v]) =>
      c.yellow(`~ ${k}: ${JSON.stringify(v.from)} -> ${JSON.stringify(v.to)}`),
    ),
  ];
  return lines.length ? lines.join('\n') : c.dim('(no difference)');
}

/** `switchyard config …`: releases of @switchyard/config-center on Redis or etcd. */
export function configCommands(program: Command): void {
  const config = program
    .command('config')
    .description('the configuration center (@switchyard/config-center) on Redis or etcd');

  withRefOptions(
    config
      .command('get')
      .description("a namespace's current release (exit 3 when none)")
      .argument('<namespace>'),
  ).action(
    action<RefOptions>(async ({ options, out, signal }, res, [ns]) => {
      const admin = await openAdmin(options, res);
      const release = await admin.get(refOf(options, ns as string), { signal });
      if (!release) throw notFoundError(`no release of ${JSON.stringify(ns)} in ${options.env}`);
      out.result(
        release,
        () =>
          `${out.color.dim(`revision ${release.revision} by ${release.author ?? '?'}`)}\n${JSON.stringify(release.items, null, 2)}`,
      );
    }),
  );

  withRefOptions(
    config
      .command('put')
      .description('publishes a release with KEY=VALUE items merged over the current ones')
      .argument('<namespace>')
      .argument('<items...>'),
  ).action(
    action<RefOptions>(async ({ options, out, signal }, res, [ns, pairs]) => {
      const admin = await openAdmin(options, res);
      const ref = refOf(options, ns as string);
      const current = await admin.get(ref, { signal });
      const items = { ...(current?.items ?? {}), ...Object.fromEntries((pairs as string[]).map(itemOf)) };
      const release = await admin.publish(ref, items, {
        author: options.author,
        ...(options.message !== undefined ? { message: options.message } : {}),
        expectedRevision: current?.revision ?? 0,
        signal,
      });
      out.result(release, () => `${out.color.green('published')} revision ${release.revision}`);
    }),
  );

  withRefOptions(
    config
      .command('history')
      .description('releases, newest first')
      .argument('<namespace>')
      .option('--limit <n>', 'at most n'),
  ).action(
    action<RefOptions & { limit?: string }>(async ({ options, out, signal }, res, [ns]) => {
      const limit = integerFlag('--limit', options.limit, 1);
      const admin = await openAdmin(options, res);
      const list = await admin.history(refOf(options, ns as string), { signal, ...(limit ? { limit } : {}) });
      out.result(list, () =>
        out.table(
          ['REVISION', 'AUTHOR', 'TIME', 'MESSAGE'],
          list.map((r) => [
            r.revision,
            r.author,
            new Date(r.time).toISOString(),
            r.message ?? (r.rollbackOf ? `rollback of ${r.rollbackOf}` : ''),
          ]),
        ),
      );
    }),
  );

  withRefOptions(
    config
      .command('diff')
      .description('items changed between two revisions (coloured)')
      .argument('<namespace>')
      .argument('<from>')
      .argument('<to>'),
  ).action(
    action<RefOptions>(async ({ options, out, signal }, res, [ns, from, to]) => {
      const a = integerFlag('from', from as string, 0) as number;
      const b = integerFlag('to', to as string, 0) as number;
      const admin = await openAdmin(options, res);
      const d = await admin.diff(refOf(options, ns as string), a, b, { signal });
      out.result(d, () => diffText(out, d));
    }),
  );

  withRefOptions(
    config
      .command('rollback')
      .description('publishes REVISION again as a new release')
      .argument('<namespace>')
      .argument('<revision>')
      .option('-y, --yes', 'do not ask for confirmation'),
  ).action(
    action<RefOptions & { yes?: boolean }>(async ({ options, out, signal }, res, [ns, rev]) => {
      const revision = integerFlag('revision', rev as string, 1) as number;
      await confirm(`Roll ${ns} back to revision ${revision}?`, { yes: options.yes === true, signal });
      const admin = await openAdmin(options, res);
      const release = await admin.rollback(refOf(options, ns as string), revision, {
        author: options.author,
        ...(options.message !== undefined ? { message: options.message } : {}),
        signal,
      });
      out.result(
        release,
        () => `${out.color.green('rolled back')}: revision ${release.revision} = revision ${revision}`,
      );
    }),
  );
}
