import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '..', 'dist', 'bin.js');

export interface BinaryResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (one document), or NDJSON lines with `lines`. */
  json<T = unknown>(): T;
  lines<T = unknown>(): T[];
}

/** Runs `switchyard ...args` as a subprocess; env vars of the test process are cleared of SWITCHYARD_*. */
export function runBinary(
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    timeout?: number;
    /** Called with the process' stdout so far on every chunk, and a way to signal it. */
    onStdout?: (stdout: string, kill: (s?: NodeJS.Signals) => void) => void;
  } = {},
): Promise<BinaryResult> {
  const env: Record<string, string> = { NO_COLOR: '1' };
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('SWITCHYARD_') && k !== 'FORCE_COLOR') env[k] = v;
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      options.onStdout?.(stdout, (s) => child.kill(s ?? 'SIGINT'));
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `switchyard ${args.join(' ')} did not exit within ${options.timeout ?? 20_000} ms\n${stdout}\n${stderr}`,
        ),
      );
    }, options.timeout ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        json: <T>() => {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(
              `switchyard ${args.join(' ')} (exit ${code}) printed no JSON:\n${stdout}\n${stderr}`,
            );
          }
        },
        lines: <T>() =>
          stdout
            .split('\n')
            .filter((l) => l.trim())
            .map((l) => JSON.parse(l) as T),
      });
    });
  });
}
