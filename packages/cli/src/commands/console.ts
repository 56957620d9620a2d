import { once } from 'node:events';
import type { ConsoleServerOptions } from '@switchyard/console';
import { type Command, Option } from 'commander';
import { action, type Resources } from '../command-runner.js';
import { openDiscovery } from '../connect/discovery-client.js';
import type { GlobalOptions } from '../connect/global-options.js';
import { usageError } from '../exit-codes.js';
import { integerFlag } from '../flag-values.js';
import { openAdmin } from './config.js';

interface ConsoleFlags {
  port: string;
  host: string;
  readWrite?: boolean;
  token?: string;
  configApp?: string;
}

/**
 * The backends the console's pages drive, opened with the same flags (and the same factories) as
 * the other commands, so the console sees exactly what `switchyard discovery …` sees.
 */
async function openBackends(
  o: GlobalOptions & ConsoleFlags,
  res: Resources,
): Promise<{ backend: string; options: Partial<ConsoleServerOptions> }> {
  const { discovery, backend } = await openDiscovery(o);
  res.add(discovery);
  const options: Partial<ConsoleServerOptions> = { discovery };
  if (o.configApp !== undefined) {
    // The Config page: releases of that application in the config center on the same Redis / etcd.
    if (backend !== 'redis' && backend !== 'etcd') {
      throw usageError('--config-app', `needs the config center's store: --redis or --etcd (not ${backend})`);
    }
    // --prefix is the discovery records' prefix: the config store keeps its own default.
    const { prefix: _discoveryPrefix, ...connection } = o;
    options.config = await openAdmin({ ...connection, app: o.configApp, backend }, res);
  }
  if (backend === 'memory') {
    // The demo: registry and rules both live in this process, so pull-outs mean something here.
    // On a shared backend a process-local rules source would mislead: pull-outs stay off.
    const { createMemoryRulesSource } = await import('@switchyard/core');
    options.rules = createMemoryRulesSource();
  }
  return { backend, options };
}

/** `switchyard console`: the operator web console over the same connections as the other commands. */
export function consoleCommand(program: Command): void {
  program
    .command('console')
    .description('serves the operator web console (services, live instances, audited actions) until Ctrl-C')
    .option('--port <port>', 'TCP port (0: a free one)', '7420')
    .option('--host <host>', 'interface to bind (loopback by default; others need the token)', '127.0.0.1')
    .option('--read-write', 'allow guarded actions (confirmation + audit); read-only by default')
    .addOption(
      new Option(
        '--config-app <app>',
        'adds the Config page: releases of this application in @switchyard/config-center (Redis or etcd)',
      ),
    )
    .addOption(
      new Option('--token <token>', 'login token, 16+ characters (default: a fresh one, printed once)').env(
        'SWITCHYARD_CONSOLE_TOKEN',
      ),
    )
    .action(
      action<ConsoleFlags>(async ({ options, out, signal }, res) => {
        const port = integerFlag('--port', options.port, 0, 65_535) as number;
        if (!options.host.trim()) throw usageError('--host', 'must not be empty');
        if (options.token !== undefined && (options.token.length < 16 || /\s/.test(options.token))) {
          throw usageError('--token', 'must be at least 16 characters without spaces');
        }
        const { backend, options: pages } = await openBackends(options, res);
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
