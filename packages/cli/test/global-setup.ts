import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The tests run the built binary (`dist/bin.js`) as a user would: build it, and the packages it
 * imports, first (turbo: a no-op when nothing changed).
 */
export default function setup(): void {
  const root = join(import.meta.dirname, '..', '..', '..');
  execFileSync(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', '--filter=@switchyard/cli...', '--output-logs=errors-only'],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    },
  );
}
