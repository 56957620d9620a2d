#!/usr/bin/env node
// Makes sure the real servers the test suite starts (and the headless Chromium the console's browser
// tests drive) are installed. As root, installs missing ones with apt-get; otherwise prints the exact
// command and fails (a missing server or browser is never a skip).
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const needed = {
  'redis-server': 'redis-server',
  etcd: 'etcd-server',
  dnsmasq: 'dnsmasq-base',
  dig: 'dnsutils',
  // packages/console browser tests (playwright-core launches this binary; no downloaded browsers).
  chromium: 'chromium',
};

function has(bin) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  return dirs.some((d) => {
    try {
      accessSync(join(d, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

// CHROMIUM_PATH (the browser tests' override) counts as the browser when it is executable.
function hasChromiumPath() {
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: read by the test command, not by a turbo task
  const p = process.env.CHROMIUM_PATH;
  if (!p) return false;
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const present = (bin) => has(bin) || (bin === 'chromium' && hasChromiumPath());
const missing = Object.entries(needed).filter(([bin]) => !present(bin));
if (missing.length === 0) process.exit(0);
const pkgs = [...new Set(missing.map(([, pkg]) => pkg))];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  console.error(`[switchyard] missing servers/browser: ${missing.map(([b]) => b).join(', ')}`);
  console.error(`[switchyard] install them with: sudo apt-get install -y ${pkgs.join(' ')}`);
  process.exit(1);
}
console.log(`[switchyard] installing ${pkgs.join(' ')} with apt-get`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
  stdio: 'inherit',
  env,
});
const still = Object.keys(needed).filter((bin) => !present(bin));
if (still.length > 0) {
  console.error(`[switchyard] still missing after install: ${still.join(', ')}`);
  process.exit(1);
}
