import { createInterface } from 'node:readline/promises';
import { declinedError } from '../exit-codes.js';

/**
 * Asks `question [y/N]` on the terminal. Without a terminal (a script, CI) nothing is asked and
 * the command is declined: destructive commands there need `--yes`.
 */
export async function confirm(
  question: string,
  options: { yes: boolean; signal: AbortSignal },
): Promise<void> {
  if (options.yes) return;
  if (!process.stdin.isTTY)
    throw declinedError(`${question} — not confirmed (no terminal to ask on): pass --yes`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `, { signal: options.signal });
    if (!/^y(es)?$/i.test(answer.trim())) throw declinedError(`${question} — declined`);
  } finally {
    rl.close();
  }
}
