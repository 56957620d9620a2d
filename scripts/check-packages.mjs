#!/usr/bin/env node
// Packaging hygiene for every published package: publint (exports, files) and attw (types resolve
// for ESM, CJS and bundlers). Run after `pnpm build`.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPackage } from './package-policy.mjs';

const root = join(import.meta.dirname, '..', 'packages');
let failed = 0;
for (const name of readdirSync(root).sort()) {
  const dir = join(root, name);
  const pkgFile = join(dir, 'package.json');
  if (!existsSync(pkgFile)) continue;
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  if (pkg.private) continue;
  for (const problem of checkPackage(dir).problems) {
    failed++;
    console.error(`FAIL ${pkg.name} policy: ${problem} (node scripts/package-policy.mjs --fix)`);
  }
  for (const [tool, args] of [
    ['publint', ['--strict']],
    // testkit's conformance entry is ESM-only on purpose (vitest refuses to be required from CJS).
    [
      'attw',
      [
        '--pack',
        '.',
        '--profile',
        'node16',
        '--format',
        'ascii',
        ...(name === 'testkit' ? ['--ignore-rules', 'cjs-resolves-to-esm'] : []),
      ],
    ],
  ]) {
    try {
      execFileSync('pnpm', ['exec', tool, ...args], { cwd: dir, stdio: 'pipe' });
      console.log(`ok   ${pkg.name} ${tool}`);
    } catch (error) {
      failed++;
      console.error(`FAIL ${pkg.name} ${tool}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
  }
}
process.exit(failed ? 1 : 0);
