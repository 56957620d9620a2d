#!/usr/bin/env node
// Runs the whole vitest suite and ends with a plain "N passed, N failed" line.
// Extra arguments are passed to vitest (e.g. `pnpm test --project lock-redis`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const outDir = join(root, '.tmp');
const report = join(outDir, 'vitest-report.json');
mkdirSync(outDir, { recursive: true });
rmSync(report, { force: true });

const args = [
  'exec',
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
];
const run = spawnSync('pnpm', args, { cwd: root, stdio: 'inherit' });

let summary = 'vitest wrote no report';
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  summary = `${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
  if (r.numTotalTests === 0) summary += ' (no test ran)';
}
console.log(`\ntests: ${summary}`);
process.exit(run.status ?? 1);
