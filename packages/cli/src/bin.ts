import { EXIT } from './exit-codes.js';
import { runCli } from './program.js';

try {
  process.exitCode = await runCli(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`error[INTERNAL]: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = EXIT.failure;
}
