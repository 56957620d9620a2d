import type { Command } from 'commander';
import type { GlobalOptions } from './connect/global-options.js';
import { CliError, EXIT, exitCodeOf } from './exit-codes.js';
import { errorJson, toJson } from './output/json.js';
import { Output } from './output/output.js';

/** What a command's body gets: its options merged with the global ones, output, and a signal. */
export interface CommandContext<O> {
  readonly options: O & GlobalOptions;
  readonly out: Output;
  /** Aborted on SIGINT / SIGTERM: long-running commands stop and clean up. */
  readonly signal: AbortSignal;
}

/** Resources a command opened, closed whatever happens (so the process exits with no open sockets). */
export class Resources {
  readonly #items: { close(): Promise<unknown> | unknown }[] = [];
  add<T extends { close(): Promise<unknown> | unknown }>(item: T): T {
    this.#items.push(item);
    return item;
  }
  async closeAll(): Promise<void> {
    await Promise.allSettled(this.#items.reverse().map(async (i) => i.close()));
  }
}

/**
 * Wraps a command body: builds the output from `--json`/`--no-color`, turns SIGINT/SIGTERM into an
 * abort, prints a failure as `error[CODE]: message` (or `{"error":{…}}` on stderr with `--json`),
 * and sets the exit status (see `EXIT`). Never calls `process.exit` while sockets may be flushing.
 */
export function action<O>(
  body: (ctx: CommandContext<O>, resources: Resources, args: readonly unknown[]) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const positional = args.slice(0, -2);
    const options = command.optsWithGlobals() as O & GlobalOptions;
    const out = new Output({
      json: options.json === true,
      ...(options.color === false ? { color: false } : {}),
    });
    const controller = new AbortController();
    let interrupted = false;
    const onSignal = () => {
      interrupted = true;
      controller.abort(new Error('interrupted'));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const resources = new Resources();
    try {
      await body({ options, out, signal: controller.signal }, resources, positional);
    } catch (error) {
      if (interrupted) {
        process.exitCode = EXIT.interrupted;
      } else {
        reportError(out, error);
        process.exitCode = exitCodeOf(error);
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await resources.closeAll();
    }
  };
}

export function reportError(out: Output, error: unknown): void {
  const e = errorJson(error);
  if (out.json) {
    out.note(toJson({ error: e }));
    return;
  }
  const c = out.color;
  const label = error instanceof CliError && error.code === 'USAGE' ? 'usage' : e.code;
  out.note(`${c.red(`error[${label}]`)}: ${e.message}`);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message && !e.message.includes(cause.message)) {
    out.note(c.dim(`  cause: ${cause.message}`));
  }
}
