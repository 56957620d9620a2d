import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ConfigStore } from '@switchyard/core';
import { startEtcd, startRedis } from '@switchyard/testkit/servers';
import { afterEach, describe, expect, it } from 'vitest';
import { createConfigAdmin, createEtcdConfigStore, createRedisConfigStore } from '../src/index.js';

const WORKER = fileURLToPath(new URL('./fixtures/watcher-process.ts', import.meta.url));
const TSX = new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const RELEASES = 30;
const spawned = new Set<ChildProcess>();
afterEach(() => {
  for (const child of spawned) if (child.exitCode === null) child.kill('SIGKILL');
  spawned.clear();
});

function spawnWatchers(kind: string, target: string, app: string, count: number): Promise<ChildProcess> {
  const child = fork(WORKER, [kind, target, app, String(count)], {
    execArgv: ['--import', TSX, '--conditions=switchyard-source'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  spawned.add(child);
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`watcher process exited with ${code}`)));
  });
}

function report(child: ChildProcess): Promise<number[][]> {
  return new Promise((resolve) => {
    child.once('message', (m: { seen: number[][] }) => resolve(m.seen));
    child.send({ report: true });
  });
}

async function publishAll(store: ConfigStore, app: string, fault: () => Promise<void>): Promise<void> {
  const admin = createConfigAdmin({ store, app });
  for (let seq = 1; seq <= RELEASES; seq++) {
    if (seq === RELEASES / 2) await fault();
    for (let tries = 0; ; tries++) {
      try {
        await admin.publish({ env: 'prod', namespace: 'fan' }, { seq }, { author: 'bench' });
        break;
      } catch (e) {
        expect(e).toMatchObject({ code: expect.stringMatching(/BACKEND_UNAVAILABLE|CONFLICT/) });
        if (tries > 100) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

async function expectEveryRelease(children: ChildProcess[]): Promise<void> {
  const expected = Array.from({ length: RELEASES - 1 }, (_, i) => i + 2);
  const deadline = Date.now() + 20_000;
  let all: number[][] = [];
  // poll the processes until every watcher has every release (or the bound passes)
  for (;;) {
    all = (await Promise.all(children.map(report))).flat();
    if (all.every((seen) => seen.length >= expected.length) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  for (const child of children) child.send({ exit: true });
  expect(all).toHaveLength(100);
  // each watcher: every release after the initial one, in order, none twice
  for (const seen of all) expect(seen).toEqual(expected);
}

describe('100 watchers in 3 processes receive every release in order', () => {
  it('through a Redis restart', async () => {
    await using redis = await startRedis({ persistence: true });
    const app = `fan${randomUUID().slice(0, 6)}`;
    const store = createRedisConfigStore({ url: redis.url });
    await createConfigAdmin({ store, app }).publish(
      { env: 'prod', namespace: 'fan' },
      { seq: 1 },
      { author: 'bench' },
    );
    const children = await Promise.all([34, 33, 33].map((n) => spawnWatchers('redis', redis.url, app, n)));
    await publishAll(store, app, () => redis.process.restart());
    await expectEveryRelease(children);
    await store.close();
  }, 60_000);

  it('through an etcd member kill (3-member cluster)', async () => {
    await using etcd = await startEtcd({ members: 3 });
    const app = `fan${randomUUID().slice(0, 6)}`;
    const store = createEtcdConfigStore({ hosts: etcd.endpoints });
    await createConfigAdmin({ store, app }).publish(
      { env: 'prod', namespace: 'fan' },
      { seq: 1 },
      { author: 'bench' },
    );
    const children = await Promise.all(
      [34, 33, 33].map((n) => spawnWatchers('etcd', etcd.endpoints.join(','), app, n)),
    );
    await publishAll(store, app, () => etcd.members[0]!.process.kill());
    await expectEveryRelease(children);
    await store.close();
  }, 60_000);
});
