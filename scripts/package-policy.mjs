#!/usr/bin/env node
// The packaging rules every published package follows; `check-packages.mjs` runs the check,
// `node scripts/package-policy.mjs --fix` applies what can be applied mechanically.
//  - metadata: license MIT + a LICENSE file, repository (with directory), homepage, bugs, keywords;
//  - @switchyard/core is a peer with range `workspace:0.x` (published as `0.x`: it survives every
//    0.y release) and a devDependency `workspace:*`;
//  - client libraries a user holds an instance of are peers, never dependencies.
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const REPO = 'https://github.com/switchyard-dev/switchyard';
const CLIENTS = ['ioredis', 'etcd3', 'consul', '@kubernetes/client-node', 'undici'];
const fix = process.argv.includes('--fix');

export function checkPackage(dir) {
  const file = join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  const problems = [];
  if (pkg.private) return { pkg, problems };
  const name = dir.split('/').at(-1);
  const want = {
    license: 'MIT',
    repository: { type: 'git', url: `git+${REPO}.git`, directory: `packages/${name}` },
    homepage: `${REPO}/tree/main/packages/${name}#readme`,
    bugs: { url: `${REPO}/issues` },
  };
  for (const [k, v] of Object.entries(want)) {
    if (JSON.stringify(pkg[k]) !== JSON.stringify(v)) {
      problems.push(`${k} should be ${JSON.stringify(v)}`);
      if (fix) pkg[k] = v;
    }
  }
  if (!Array.isArray(pkg.keywords) || !pkg.keywords.includes('switchyard')) {
    problems.push('keywords should include "switchyard"');
    if (fix) pkg.keywords = [...new Set(['switchyard', ...name.split('-'), ...(pkg.keywords ?? [])])];
  }
  if (!existsSync(join(dir, 'LICENSE'))) {
    problems.push('LICENSE file missing');
    if (fix) copyFileSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
  }
  if (!(pkg.files ?? []).includes('LICENSE')) {
    problems.push('files should list LICENSE');
    if (fix) pkg.files = [...(pkg.files ?? []), 'LICENSE'];
  }
  if (name !== 'core') {
    const peer = pkg.peerDependencies?.['@switchyard/core'];
    const inDeps = pkg.dependencies?.['@switchyard/core'];
    if (peer !== 'workspace:0.x' && !(name === 'testkit' && inDeps === 'workspace:0.x')) {
      problems.push(`@switchyard/core peer range should be "workspace:0.x" (is ${peer ?? inDeps})`);
      if (fix) {
        if (name === 'testkit') pkg.dependencies['@switchyard/core'] = 'workspace:0.x';
        else pkg.peerDependencies = { ...pkg.peerDependencies, '@switchyard/core': 'workspace:0.x' };
      }
    }
  }
  for (const client of CLIENTS) {
    if (pkg.dependencies?.[client]) {
      problems.push(`${client} should be a peer dependency (the user's client instance is the one used)`);
      if (fix) {
        const range = pkg.dependencies[client];
        delete pkg.dependencies[client];
        pkg.peerDependencies = { ...pkg.peerDependencies, [client]: range };
        pkg.devDependencies = { ...pkg.devDependencies, [client]: range };
      }
    }
  }
  if (fix) writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  return { pkg, problems };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let failed = 0;
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  for (const name of readdirSync(join(root, 'packages')).sort()) {
    if (only.length > 0 && !only.includes(name)) continue;
    const dir = join(root, 'packages', name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const { problems } = checkPackage(dir);
    for (const p of problems)
      console[fix ? 'log' : 'error'](`${fix ? 'fixed' : 'FAIL'} @switchyard/${name}: ${p}`);
    if (!fix) failed += problems.length;
  }
  process.exit(failed ? 1 : 0);
}
