import type { LockInfo } from '@switchyard/core';
import { type Command, Option } from 'commander';
import { action } from '../command-runner.js';
import { LOCK_KINDS, type LockKind, openLock } from '../connect/lock-client.js';
import { EXIT, notFoundError, usageError } from '../exit-codes.js';
import { integerFlag } from '../flag-values.js';
import { liveLoop } from '../live-loop.js';
import { confirm } from '../output/confirm.js';
import { formatMs } from '../output/format-ms.js';
import type { Output } from '../output/output.js';
import { Progress } from '../output/progress.js';

interface KindOption {
  kind: LockKind;
}

const kindOption = () =>
  new Option('--kind <kind>', 'lock kind whose key space to read').choices(LOCK_KINDS).default('mutex');

function lockTable(out: Output, locks: readonly LockInfo[]): string {
  return out.table(
    ['KEY', 'OWNER', 'TOKEN', 'TTL LEFT', 'WAITERS'],
    locks.map((l) => [
      l.key,
      l.owner,
      l.token,
      formatMs(l.ttlLeft),
      l.waiters > 0 ? out.color.yellow(String(l.waiters)) : 0,
    ]),
  );
}

function byPrefix(locks: readonly LockInfo[], prefix: string | undefined): LockInfo[] {
  const found = prefix === undefined ? [...locks] : locks.filter((l) => l.key.startsWith(prefix));
  return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The group of a key for `locks stats`: its first `:`- or `/`-separated segment. */
function groupOf(key: string): string {
  const m = /^[^:/]*/.exec(key);
  return m?.[0] || key;
}

export interface LockSpaceStats {
  held: number;
  waiting: number;
  contended: number;
  /** Smallest TTL left of a held lock, ms (`null` when none or unknown). */
  soonestExpiry: number | null;
  groups: Record<string, { held: number; waiting: number }>;
}

export function lockSpaceStats(locks: readonly LockInfo[]): LockSpaceStats {
  const groups: LockSpaceStats['groups'] = {};
  let soonest: number | null = null;
  for (const l of locks) {
    const name = groupOf(l.key);
    const g = groups[name] ?? { held: 0, waiting: 0 };
    groups[name] = g;
    g.held++;
    g.waiting += l.waiters;
    if (l.ttlLeft >= 0 && (soonest === null || l.ttlLeft < soonest)) soonest = l.ttlLeft;
  }
  return {
    held: locks.length,
    waiting: locks.reduce((n, l) => n + l.waiters, 0),
    contended: locks.filter((l) => l.waiters > 0).length,
    soonestExpiry: soonest,
    groups,
  };
}

/** `switchyard locks …`: list, inspect, force-release, stats and watch the lock space. */
export function locksCommands(program: Command): void {
  const locks = program.command('locks').description('distributed locks on Redis, etcd (or memory)');

  locks
    .command('ls')
    .alias('list')
    .description('held locks, optionally only keys starting with PREFIX')
    .argument('[prefix]', 'key prefix to filter on')
    .option('--limit <n>', 'at most this many (default: all)')
    .addOption(kindOption())
    .action(
      action<KindOption & { limit?: string }>(async ({ options, out, signal }, res, [prefix]) => {
        const limit = integerFlag('--limit', options.limit, 1);
        const { lock } = await openLock(options, options.kind);
        res.add(lock);
        let found = byPrefix(await lock.list({ signal }), prefix as string | undefined);
        if (limit !== undefined) found = found.slice(0, limit);
        out.result(found, () => lockTable(out, found));
      }),
    );

  locks
    .command('inspect')
    .description('the holder of KEY (exit 3 when the lock is free)')
    .argument('<key>')
    .addOption(kindOption())
    .action(
      action<KindOption>(async ({ options, out, signal }, res, [key]) => {
        const { lock } = await openLock(options, options.kind);
        res.add(lock);
        const info = await lock.inspect(key as string, { signal });
        if (!info) throw notFoundError(`lock ${JSON.stringify(key)} is free`);
        out.result(info, () =>
          [
            `${out.color.bold('key')}      ${info.key}`,
            `${out.color.bold('owner')}    ${info.owner}`,
            `${out.color.bold('token')}    ${info.token}`,
            `${out.color.bold('ttl left')} ${formatMs(info.ttlLeft)}`,
            `${out.color.bold('waiters')}  ${info.waiters}`,
          ].join('\n'),
        );
      }),
    );

  locks
    .command('release')
    .alias('force-release')
    .description(
      "frees KEYs (or every held key starting with --match) whoever holds them; the holder's lease fires lease:lost (needs --force)",
    )
    .argument('[keys...]')
    .option('--match <prefix>', 'bulk: every held lock whose key starts with this prefix')
    .option('--force', 'required: this takes the lock from its holder')
    .option('-y, --yes', 'do not ask for confirmation')
    .addOption(kindOption())
    .action(
      action<KindOption & { force?: boolean; yes?: boolean; match?: string }>(
        async ({ options, out, signal }, res, [keys]) => {
          const given = (keys as string[] | undefined) ?? [];
          if (given.length === 0 && options.match === undefined) {
            throw usageError(
              'keys',
              'give the keys to release, or --match PREFIX for every held key under it',
            );
          }
          if (!options.force) {
            throw usageError('--force', 'a forced release takes the lock from a live holder: pass --force');
          }
          const { lock } = await openLock(options, options.kind);
          res.add(lock);
          const matched =
            options.match === undefined
              ? []
              : byPrefix(await lock.list({ signal }), options.match).map((l) => l.key);
          const list = [...new Set([...given, ...matched])];
          if (list.length === 0) throw notFoundError(`no held lock matches ${JSON.stringify(options.match)}`);
          const what = list.length === 1 ? `lock ${JSON.stringify(list[0])}` : `${list.length} locks`;
          await confirm(`Force-release ${what}?`, { yes: options.yes === true, signal });
          const results: { key: string; released: boolean }[] = [];
          const progress = new Progress(out, list.length);
          for (const key of list) {
            progress.step(key);
            results.push({ key, released: await lock.forceRelease(key, { signal }) });
          }
          progress.done();
          out.result(results, () =>
            results
              .map((r) =>
                r.released
                  ? `${out.color.green('released')} ${r.key}`
                  : `${out.color.dim('was free')} ${r.key}`,
              )
              .join('\n'),
          );
          if (results.some((r) => !r.released)) process.exitCode = EXIT.notFound;
        },
      ),
    );

  locks
    .command('stats')
    .description('the lock space now: held, waiting, contended, per key group')
    .argument('[prefix]', 'key prefix to filter on')
    .addOption(kindOption())
    .action(
      action<KindOption>(async ({ options, out, signal }, res, [prefix]) => {
        const { lock, backend } = await openLock(options, options.kind);
        res.add(lock);
        const stats = lockSpaceStats(byPrefix(await lock.list({ signal }), prefix as string | undefined));
        out.result({ backend, ...stats }, () =>
          [
            `held ${stats.held}   waiting ${stats.waiting}   contended ${stats.contended}   soonest expiry ${
              stats.soonestExpiry === null ? '-' : formatMs(stats.soonestExpiry)
            }`,
            out.table(
              ['GROUP', 'HELD', 'WAITING'],
              Object.entries(stats.groups).map(([g, s]) => [g, s.held, s.waiting]),
            ),
          ].join('\n'),
        );
      }),
    );

  locks
    .command('watch')
    .description('live table of held locks (NDJSON with --json)')
    .argument('[prefix]', 'key prefix to filter on')
    .option('--interval <ms>', 'refresh period', '1000')
    .option('--count <n>', 'stop after n refreshes')
    .addOption(kindOption())
    .action(
      action<KindOption & { interval: string; count?: string }>(
        async ({ options, out, signal }, res, [prefix]) => {
          const interval = integerFlag('--interval', options.interval, 50) ?? 1000;
          const count = integerFlag('--count', options.count, 1);
          const { lock } = await openLock(options, options.kind);
          res.add(lock);
          await liveLoop({ interval, count, signal }, async () => {
            const found = byPrefix(await lock.list({ signal }), prefix as string | undefined);
            out.clearScreen();
            out.result({ at: new Date().toISOString(), locks: found }, () =>
              [
                out.color.dim(`${new Date().toISOString()}  ${found.length} held`),
                lockTable(out, found),
              ].join('\n'),
            );
          });
        },
      ),
    );
}
