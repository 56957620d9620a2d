import { Command, CommanderError } from 'commander';
import { cacheCommands } from './commands/cache.js';
import { completionCommand } from './commands/completion.js';
import { configCommands } from './commands/config.js';
import { consoleCommand } from './commands/console.js';
import { discoveryCommands } from './commands/discovery.js';
import { dnsCommands } from './commands/dns.js';
import { locksCommands } from './commands/locks.js';
import { routesCommands } from './commands/routes.js';
import { globalOptions } from './connect/global-options.js';
import { EXIT } from './exit-codes.js';

/** The version printed by `--version` (replaced at build time is not needed: read from package.json). */
export const CLI_VERSION = '0.0.0';

/**
 * The `switchyard` program: one module per command group (`commands/<group>.ts`), each adding its
 * subcommands to the root. A new group plugs in the same way.
 */
export function createProgram(): Command {
  const program = new Command('switchyard')
    .description('Inspect and operate Switchyard locks, discovery and caches on live backends.')
    .version(CLI_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions(false);
  for (const option of globalOptions()) program.addOption(option);
  locksCommands(program);
  discoveryCommands(program);
  cacheCommands(program);
  dnsCommands(program);
  routesCommands(program);
  configCommands(program);
  consoleCommand(program);
  completionCommand(program);
  // Options are global: let them appear after the subcommand too (`switchyard locks ls --json`).
  for (const cmd of allCommands(program)) {
    if (cmd === program) continue;
    for (const option of globalOptions()) {
      if (!cmd.options.some((o) => o.long === option.long)) cmd.addOption(option.hideHelp());
    }
  }
  program.exitOverride();
  for (const cmd of allCommands(program)) cmd.exitOverride();
  return program;
}

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

/** Runs the program on `argv` and resolves with the exit status (commander's usage errors → 2). */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  if (argv.includes('--json')) {
    // bad usage reported as JSON on stderr too, so a script parsing --json output sees one shape
    for (const cmd of allCommands(program)) {
      cmd.configureOutput({
        writeErr: (text) => {
          const message =
            text
              .replace(/^error: /, '')
              .split('\n')[0]
              ?.trim() ?? text;
          if (message) process.stderr.write(`${JSON.stringify({ error: { code: 'USAGE', message } })}\n`);
        },
      });
      cmd.showHelpAfterError(false);
    }
  }
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version "errors" are successes; anything else is bad usage, already printed.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw error;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
}
