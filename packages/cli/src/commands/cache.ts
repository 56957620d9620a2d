/** `MISSING` of @switchyard/cache (a registered symbol: no import of the cache needed to test for it). */
const MISSING = Symbol.for('@switchyard/cache/MISSING');

import { type Command, Option } from 'commander';
import { action } from '../command-runner.js';
import { namespaceOf, openCache } from '../connect/cache-client.js';
import { EXIT, notFoundError, usageError } from '../exit-codes.js';
import { collect } from '../flag-values.js';
import { confirm } from '../output/confirm.js';
import { storeStats } from './cache-stats.js';

interface CacheOptions {
  cache: string;
  namespace?: string;
  bus: boolean;
}

function withCacheOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--cache <name>', "the application cache's name (its bus channel)")
        .default('default')
        .env('SWITCHYARD_CACHE'),
    )
    .option('--namespace <path>', 'namespace path (users or users:admins)')
    .option('--no-bus', "do not tell running processes' L1s (store only)");
}

/** `switchyard cache …`: read, delete and invalidate entries of the shared tier, and its numbers. */
export function cacheCommands(program: Command): void {
  const cache = program.command('cache').description('the shared tier of @switchyard/cache on Redis or etcd');

  withCacheOptions(
    cache.command('get').description('the value of KEY (exit 3 when absent)').argument('<key>'),
  ).action(
    action<CacheOptions>(async ({ options, out, signal }, res, [key]) => {
      const { cache: c } = await openCache(options, { name: options.cache, bus: false }, res);
      const value = await namespaceOf(c, options.namespace).get(key as string, { signal });
      if (value === undefined) throw notFoundError(`no entry for ${JSON.stringify(key)}`);
      const missing = value === MISSING;
      out.result({ key, value: missing ? null : value, missing }, () =>
        missing ? out.color.dim('(negative-cached: MISSING)') : JSON.stringify(value, null, 2),
      );
    }),
  );

  withCacheOptions(
    cache
      .command('del')
      .alias('delete')
      .description('deletes KEYs from every tier and every L1')
      .argument('<keys...>'),
  ).action(
    action<CacheOptions>(async ({ options, out, signal }, res, [keys]) => {
      const list = keys as string[];
      const { cache: c } = await openCache(options, { name: options.cache, bus: options.bus }, res);
      const deleted = await namespaceOf(c, options.namespace).deleteMany(list, { signal });
      out.result({ requested: list.length, deleted }, () => `deleted ${deleted} of ${list.length}`);
      if (deleted === 0) process.exitCode = EXIT.notFound;
    }),
  );

  withCacheOptions(
    cache
      .command('invalidate')
      .alias('delete-by-tag')
      .description('drops (or with --soft, expires) every entry carrying one of the tags')
      .option('--tag <tag>', 'tag (repeatable, at least one)', collect)
      .option('--soft', 'expire instead of delete: served stale within grace while refreshing'),
  ).action(
    action<CacheOptions & { tag?: string[]; soft?: boolean }>(async ({ options, out, signal }, res) => {
      const tags = options.tag ?? [];
      if (tags.length === 0) throw usageError('--tag', 'give at least one --tag');
      const { cache: c } = await openCache(options, { name: options.cache, bus: options.bus }, res);
      const ns = namespaceOf(c, options.namespace);
      if (options.soft) await ns.expireByTag(tags, { signal });
      else await ns.deleteByTag(tags, { signal });
      const mode = options.soft ? 'expired' : 'deleted';
      out.result({ tags, mode }, () => `${mode} entries tagged ${tags.join(', ')}`);
    }),
  );

  withCacheOptions(
    cache
      .command('clear')
      .description('removes every entry of the namespace (or the whole cache)')
      .option('-y, --yes', 'do not ask for confirmation'),
  ).action(
    action<CacheOptions & { yes?: boolean }>(async ({ options, out, signal }, res) => {
      const what = options.namespace ? `namespace ${options.namespace}` : `the whole cache ${options.cache}`;
      await confirm(`Clear ${what}?`, { yes: options.yes === true, signal });
      const { cache: c } = await openCache(options, { name: options.cache, bus: options.bus }, res);
      await namespaceOf(c, options.namespace).clear({ signal });
      out.result({ cleared: options.namespace ?? '' }, () => `cleared ${what}`);
    }),
  );

  cache
    .command('stats')
    .description('keys and bytes of the shared tier, read from the server')
    .action(
      action(async ({ options, out, signal }, res) => {
        const target = await openCache(options, { name: 'default', bus: false }, res);
        const s = await storeStats(target, signal);
        out.result(s, () =>
          out.table(
            ['BACKEND', 'PREFIX', 'KEYS', 'BYTES', 'NO EXPIRY'],
            [[s.backend, s.prefix, s.keys, s.bytes, s.persistent ?? '-']],
          ),
        );
      }),
    );
}
