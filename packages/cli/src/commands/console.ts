import { once } from 'node:events';
import { type Command, Option } from 'commander';
import { action } from '../command-runner.js';
import { CONSOLE_PAGES, type ConsolePageFlags, openConsoleBackends } from '../connect/console-backends.js';
import { usageError } from '../exit-codes.js';
import { integerFlag } from '../flag-values.js';

interface ConsoleFlags extends ConsolePageFlags {
  port: string;
  host: string;
  readWrite?: boolean;
  token?: string;
}

/** `switchyard console`: the operator web console over the same connections as the other commands. */
export function consoleCommand(program: Command): void {
  program
    .command('console')
    .description(
      'serves the operator web console (services, locks, routes, config, cache; audited actions) until Ctrl-C',
    )
    .option('--port <port>', 'TCP port (0: a free one)', '7420')
    .option('--host <host>', 'interface to bind (loopback by default; others need the token)', '127.0.0.1')
    .option('--read-write', 'allow guarded actions (confirmation + audit); read-only by default')
    .addOption(
      new Option('--token <token>', 'login token, 16+ characters (default: a fresh one, printed once)').env(
        'SWITCHYARD_CONSOLE_TOKEN',
      ),
    )
    .option(
      '--pages <list>',
      `pages, comma-separated: ${CONSOLE_PAGES.join(', ')} (default: every one this backend and these flags allow)`,
    )
    .addOption(new Option('--app <app>', 'config page: the application id').env('SWITCHYARD_APP'))
    .option('--cache <name>', "cache page: the application's cache name (its invalidation bus)")
    .action(
      action<ConsoleFlags>(async ({ options, out, signal }, res) => {
        const port = integerFlag('--port', options.port, 0, 65_535) as number;
        if (!options.host.trim()) throw usageError('--host', 'must not be empty');
        if (options.token !== undefined && (options.token.length < 16 || /\s/.test(options.token))) {
          throw usageError('--token', 'must be at least 16 characters without spaces');
        }
        const { backend, options: pages } = await openConsoleBackends(options, res);
        const { createConsoleServer } = await import('@switchyard/console');
        const server = await createConsoleServer({
          ...pages,
          port,
          host: options.host,
          readOnly: options.readWrite !== true,
          ...(options.token !== undefined ? { token: options.token } : {}),
        });
        res.add(server);
        const login = server.token ? `${server.url}/#token=${encodeURIComponent(server.token)}` : server.url;
        out.result(
          {
            console: {
              url: server.url,
              login,
              backend,
              pages: server.pages,
              readOnly: options.readWrite !== true,
            },
          },
          () =>
            [
              `${out.color.green('console')} on ${server.url} over ${backend} (${server.pages.join(', ')}; ${
                options.readWrite ? 'read-write' : 'read-only'
              }; Ctrl-C to stop)`,
              `log in: ${login}`,
              out.color.dim('  the link holds the login token: do not share it'),
            ].join('\n'),
        );
        if (!signal.aborted) await once(signal, 'abort');
        await server.close();
        out.result({ stopped: true }, () => 'stopped');
      }),
    );
}
