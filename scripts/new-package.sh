#!/usr/bin/env bash
# Creates the standard package skeleton: scripts/new-package.sh <name> "<description>"
set -euo pipefail
name=$1; desc=$2
dir="packages/$name"
mkdir -p "$dir/src" "$dir/test"
cat > "$dir/package.json" <<JSON
{
  "name": "@switchyard/$name",
  "version": "0.0.0",
  "description": "$desc",
  "license": "MIT",
  "type": "module",
  "sideEffects": false,
  "engines": { "node": ">=20.19" },
  "files": ["dist", "src", "README.md"],
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
    "check:package": "publint --strict"
  }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "include": ["src", "test", "bench"]
}
JSON
cat > "$dir/tsup.config.ts" <<TS
import { packageConfig } from '../../tsup.config.base';

export default packageConfig();
TS
cat > "$dir/vitest.config.ts" <<TS
import { packageProject } from '../../vitest.shared';

export default packageProject('$name');
TS
