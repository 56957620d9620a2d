import { type EtcdCluster, startEtcd } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBinary } from './run-binary.js';

let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

interface Release {
  revision: number;
  items: Record<string, unknown>;
  author: string;
}

describe('switchyard config on etcd (built binary)', () => {
  it('put, get, history, diff, rollback', async () => {
    const flags = [
      '--etcd',
      etcd.endpoints.join(','),
      '--app',
      'shop',
      '--env',
      'prod',
      '--author',
      'ops',
      '--json',
    ];
    expect((await runBinary(['config', 'get', 'orders', ...flags])).code).toBe(3);

    const first = await runBinary(['config', 'put', 'orders', 'discount=5', 'banner=hello', ...flags]);
    expect(first.code).toBe(0);
    const r1 = first.json<Release>();
    const second = await runBinary(['config', 'put', 'orders', 'discount=10', ...flags]);
    const r2 = second.json<Release>();
    expect(r2.revision).toBeGreaterThan(r1.revision);

    const get = await runBinary(['config', 'get', 'orders', ...flags]);
    expect(get.json<Release>()).toMatchObject({ items: { discount: 10, banner: 'hello' }, author: 'ops' });

    const history = await runBinary(['config', 'history', 'orders', ...flags]);
    expect(history.json<Release[]>().map((r) => r.revision)).toEqual([r2.revision, r1.revision]);

    const diff = await runBinary([
      'config',
      'diff',
      'orders',
      String(r1.revision),
      String(r2.revision),
      ...flags,
    ]);
    expect(diff.json()).toEqual({ added: {}, removed: {}, changed: { discount: { from: 5, to: 10 } } });
    const human = await runBinary([
      'config',
      'diff',
      'orders',
      String(r1.revision),
      String(r2.revision),
      ...flags.slice(0, -1),
    ]);
    expect(human.stdout).toContain('~ discount: 5 -> 10');

    expect((await runBinary(['config', 'rollback', 'orders', String(r1.revision), ...flags])).code).toBe(5);
    const back = await runBinary(['config', 'rollback', 'orders', String(r1.revision), '--yes', ...flags]);
    expect(back.code).toBe(0);
    expect(back.json<Release>().items).toEqual({ discount: 5, banner: 'hello' });

    const noApp = await runBinary(['config', 'get', 'orders', '--etcd', etcd.endpoints[0] as string]);
    expect(noApp.code).toBe(2);
    expect(noApp.stderr).toContain('--app');
  });
});
