#!/usr/bin/env bash
# Writes the standard skeleton of a backend package on core's driver kit:
#   scripts/new-package.sh --kind <discovery|lock|cache-store|config-store> <name> "<description>"
# The result builds and type-checks at once: a driver whose calls reject with UNSUPPORTED until you
# write them, the conformance test of its contract (it fails until the driver works), a benchmark
# stub, a README skeleton and a changeset. See docs/writing-a-backend.md.
set -euo pipefail
kind=""
if [ "${1:-}" = "--kind" ]; then kind=$2; shift 2; fi
name=${1:?usage: scripts/new-package.sh --kind <discovery|lock|cache-store|config-store> <name> "<description>"}
desc=${2:?a one-line description is required}
case "$kind" in discovery|lock|cache-store|config-store) ;; *) echo "--kind must be discovery, lock, cache-store or config-store" >&2; exit 2;; esac
cd "$(dirname "$0")/.."
dir="packages/$name"
[ -e "$dir" ] && { echo "$dir already exists" >&2; exit 1; }
mkdir -p "$dir/src" "$dir/test" "$dir/bench"
# camelCase factory suffix: discovery-foo -> DiscoveryFoo
pascal=$(echo "$name" | sed -E 's/(^|-)([a-z])/\U\2/g')

cat > "$dir/package.json" <<JSON
{
  "name": "@switchyard/$name",
  "version": "0.0.0",
  "description": "$desc",
  "license": "MIT",
  "type": "module",
  "sideEffects": false,
  "engines": { "node": ">=20.19" },
  "files": ["dist", "src", "README.md", "LICENSE"],
  "main": "./dist/index.cjs",
  "module": "./dist/index.js",
  "types": "./dist/index.d.ts",
  "exports": {
    ".": {
      "switchyard-source": "./src/index.ts",
      "import": { "types": "./dist/index.d.ts", "default": "./dist/index.js" },
      "require": { "types": "./dist/index.d.cts", "default": "./dist/index.cjs" }
    },
    "./package.json": "./package.json"
  },
  "scripts": {
    "build": "tsup",
    "typecheck": "tsc -p tsconfig.json",
    "bench": "tsx --conditions=switchyard-source bench/$name.bench.ts"
  },
  "peerDependencies": { "@switchyard/core": "workspace:0.x" },
  "devDependencies": { "@switchyard/core": "workspace:*", "@switchyard/testkit": "workspace:*" }
}
JSON
cat > "$dir/tsconfig.json" <<'JSON'
{
  "extends": "../../tsconfig.base.json",
  "include": ["src", "test", "bench"]
}
JSON
cat > "$dir/tsup.config.ts" <<'TS'
import { packageConfig } from '../../tsup.config.base';

export default packageConfig();
TS
cat > "$dir/vitest.config.ts" <<TS
import { packageProject } from '../../vitest.shared';

export default packageProject('$name');
TS

todo="unsupportedError(PKG, 'this call', 'not written yet (see docs/writing-a-backend.md)')"
case "$kind" in
discovery)
cat > "$dir/src/index.ts" <<TS
import { type DiscoveryCapabilities, systemClock, unsupportedError } from '@switchyard/core';
import { DEFAULT_REQUEST_TIMEOUT, DEFAULT_TTL, defineDiscoveryBackend, type KitDiscoveryBackend, opt, parseOptions } from '@switchyard/core/driver';

const PKG = '$name';

const CAPABILITIES: DiscoveryCapabilities = Object.freeze({
  watch: true,
  ttlGranularity: 'milliseconds',
  healthUpdates: true,
  register: true,
});

export interface ${pascal}Options {
  ttl?: number;
  requestTimeout?: number;
}

/** $desc */
export function create${pascal}(options: ${pascal}Options = {}): KitDiscoveryBackend {
  const o = parseOptions(PKG, options, {
    ttl: opt.duration().default(DEFAULT_TTL.registration),
    requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
    backoff: opt.backoff({ base: 100, max: 5_000 }),
    clock: opt.clock().default(systemClock),
  });
  return defineDiscoveryBackend(
    {
      name: '$name',
      capabilities: CAPABILITIES,
      registration: {
        put: async () => Promise.reject($todo),
        heartbeat: async () => Promise.reject($todo),
        remove: async () => Promise.reject($todo),
      },
      list: async () => Promise.reject($todo),
      services: async () => Promise.reject($todo),
    },
    { pkg: PKG, clock: o.clock, backoff: o.backoff, requestTimeout: o.requestTimeout, ttl: o.ttl },
  );
}
TS
cat > "$dir/test/conformance.test.ts" <<TS
import { runDiscoveryConformance } from '@switchyard/testkit/conformance';
import { create${pascal} } from '../src/index.js';

runDiscoveryConformance({
  name: '$name',
  create: async () => {
    const a = create${pascal}();
    const b = create${pascal}();
    return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});
TS
;;
lock)
cat > "$dir/src/index.ts" <<TS
import { type KitLock, unsupportedError } from '@switchyard/core';
import { defineLock, lockOptions, parseOptions } from '@switchyard/core/driver';

const PKG = '$name';

export interface ${pascal}Options {
  ttl?: number;
  wait?: number;
  requestTimeout?: number;
}

/** $desc */
export function create${pascal}(options: ${pascal}Options = {}): KitLock {
  const o = parseOptions(PKG, options, lockOptions());
  return defineLock(
    {
      name: '$name',
      capabilities: Object.freeze({ fair: false, reentrant: o.reentrant, ttlGranularity: 'milliseconds', notifications: true }),
      attempt: async () => Promise.reject($todo),
      waiter: async () => Promise.reject($todo),
      extend: async () => Promise.reject($todo),
      release: async () => Promise.reject($todo),
      abandon: async () => Promise.reject($todo),
      inspect: async () => Promise.reject($todo),
      list: async () => Promise.reject($todo),
      forceRelease: async () => Promise.reject($todo),
    },
    { pkg: PKG, ...o },
  );
}
TS
cat > "$dir/test/conformance.test.ts" <<TS
import { runLockConformance } from '@switchyard/testkit/conformance';
import { create${pascal} } from '../src/index.js';

runLockConformance({
  name: '$name',
  create: async () => {
    const a = create${pascal}();
    const b = create${pascal}();
    return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});
TS
;;
cache-store)
cat > "$dir/src/index.ts" <<TS
import { type CacheStore, unsupportedError } from '@switchyard/core';
import { DEFAULT_REQUEST_TIMEOUT, defineCacheStore, opt, parseOptions } from '@switchyard/core/driver';

const PKG = '$name';

export interface ${pascal}Options {
  requestTimeout?: number;
}

/** $desc */
export function create${pascal}(options: ${pascal}Options = {}): CacheStore {
  const o = parseOptions(PKG, options, { requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT) });
  return defineCacheStore(
    {
      name: '$name',
      capabilities: { ttlGranularity: 'milliseconds', shared: true },
      get: async () => Promise.reject($todo),
      set: async () => Promise.reject($todo),
      delete: async () => Promise.reject($todo),
      clear: async () => Promise.reject($todo),
    },
    { pkg: PKG, requestTimeout: o.requestTimeout },
  );
}
TS
cat > "$dir/test/conformance.test.ts" <<TS
import { runCacheStoreConformance } from '@switchyard/testkit/conformance';
import { create${pascal} } from '../src/index.js';

runCacheStoreConformance({
  name: '$name',
  create: async () => {
    const store = create${pascal}();
    return { store, cleanup: () => store.close() };
  },
});
TS
;;
config-store)
cat > "$dir/src/index.ts" <<TS
import { type ConfigStore, unsupportedError } from '@switchyard/core';

const PKG = '$name';

/** $desc — implement the ConfigStore contract (see docs/writing-a-backend.md). */
export function create${pascal}(): ConfigStore {
  throw $todo;
}
TS
cat > "$dir/test/conformance.test.ts" <<TS
import { runConfigStoreConformance } from '@switchyard/testkit/conformance';
import { create${pascal} } from '../src/index.js';

runConfigStoreConformance({
  name: '$name',
  create: async () => {
    const a = create${pascal}();
    const b = create${pascal}();
    return { a, b, cleanup: async () => void (await Promise.all([a.close(), b.close()])) };
  },
});
TS
;;
esac

cat > "$dir/bench/$name.bench.ts" <<TS
// Benchmark of @switchyard/$name against the peers a user would pick instead, in the same run,
// printing ratios (see packages/testkit/src/bench and docs/writing-a-backend.md).
import { nsPerOp } from '@switchyard/testkit/bench';

console.log('$name: write the benchmark', typeof nsPerOp);
TS
cat > "$dir/README.md" <<MD
# @switchyard/$name

$desc

## Install

\`\`\`sh
pnpm add @switchyard/$name @switchyard/core
\`\`\`

## Usage

\`\`\`ts
import { create${pascal} } from '@switchyard/$name';
\`\`\`

## Options

| option | default | meaning |
|---|---|---|

## Guarantees and limits

## Benchmarks

## Testing locally

\`\`\`sh
pnpm exec vitest run --project $name
\`\`\`
MD
cp LICENSE "$dir/LICENSE"
cat > ".changeset/$name-initial.md" <<MD
---
"@switchyard/$name": minor
---

New package: $desc
MD
node scripts/package-policy.mjs --fix "$name" >/dev/null
echo "created $dir ($kind). Next: pnpm install, then write the driver (docs/writing-a-backend.md)."
