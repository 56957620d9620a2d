import type { DiscoveryBackend, ServiceInstance, ServiceSnapshot } from '@switchyard/core';
import { expect, it } from 'vitest';
import { runBinary } from './run-binary.js';

interface WatchFrame {
  revision: number;
  reason: string;
  instances: ServiceInstance[];
  diff: { added: string[]; removed: string[]; updated: string[] };
}

/**
 * The discovery commands against one backend: `connect` is the flags reaching it, `open` a
 * library client on the same backend (the application's view).
 */
export function discoveryCommandSuite(
  name: string,
  connect: () => string[],
  open: () => DiscoveryBackend,
): void {
  it(`${name}: services, resolve with filters, ls counts, a missing service exits 3`, async () => {
    await using d = open();
    const service = `orders-${name}`;
    const a = await d.register({
      id: 'o-1',
      service,
      address: '10.0.0.1',
      port: 8080,
      zone: 'a',
      tags: ['v2'],
      weight: 5,
    });
    const b = await d.register({ id: 'o-2', service, address: '10.0.0.2', port: 8080, zone: 'b' });
    try {
      const services = await runBinary(['discovery', 'services', ...connect(), '--json']);
      expect(services.code).toBe(0);
      expect(services.json<string[]>()).toContain(service);

      const resolve = await runBinary(['discovery', 'resolve', service, ...connect(), '--json']);
      expect(resolve.code).toBe(0);
      const snap = resolve.json<ServiceSnapshot>();
      expect(snap.instances.map((i) => i.id).sort()).toEqual(['o-1', 'o-2']);
      expect(snap.instances.find((i) => i.id === 'o-1')).toMatchObject({
        zone: 'a',
        weight: 5,
        tags: ['v2'],
      });

      const zoneA = await runBinary(['discovery', 'resolve', service, '--zone', 'a', ...connect(), '--json']);
      expect(zoneA.json<ServiceSnapshot>().instances.map((i) => i.id)).toEqual(['o-1']);
      const tagged = await runBinary(['discovery', 'ls', service, '--tag', 'v2', ...connect()]);
      expect(tagged.stdout).toContain('o-1');
      expect(tagged.stdout).not.toContain('o-2');

      const counts = await runBinary(['discovery', 'ls', ...connect(), '--json']);
      expect(counts.json()).toContainEqual({ service, instances: 2 });

      const missing = await runBinary(['discovery', 'resolve', `nothing-${name}`, ...connect()]);
      expect(missing.code).toBe(3);
      expect(missing.stderr).toContain('NOT_FOUND');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it(`${name}: register keeps an instance alive until --for ends, then deregisters; watch shows both changes`, async () => {
    await using d = open();
    const service = `billing-${name}`;
    const seed = await d.register({ id: 'seed', service, address: '10.0.1.1', port: 9000 });
    try {
      let registering: ReturnType<typeof runBinary> | undefined;
      const watch = runBinary(['discovery', 'watch', service, '--count', '3', ...connect(), '--json'], {
        timeout: 30_000,
        onStdout: () => {
          registering ??= runBinary(
            [
              'discovery',
              'register',
              service,
              '--port',
              '9001',
              '--id',
              'cli-1',
              '--zone',
              'z',
              '--meta',
              'v=1',
              '--ttl',
              '5000',
              '--for',
              '1500',
              ...connect(),
              '--json',
            ],
            { timeout: 30_000 },
          );
        },
      });
      const frames = (await watch).lines<WatchFrame>();
      const reg = await (registering as ReturnType<typeof runBinary>);
      expect(reg.code).toBe(0);
      const [registered, deregistered] = reg.lines<{ registered?: ServiceInstance; deregistered?: string }>();
      expect(registered?.registered).toMatchObject({
        id: 'cli-1',
        port: 9001,
        zone: 'z',
        metadata: { v: '1' },
      });
      expect(deregistered).toEqual({ deregistered: 'cli-1' });

      expect(frames.map((f) => f.instances.map((i) => i.id).sort())).toEqual([
        ['seed'],
        ['cli-1', 'seed'],
        ['seed'],
      ]);
      expect(frames[1]?.diff.added).toEqual(['cli-1']);
      expect(frames[2]?.diff.removed).toEqual(['cli-1']);
      expect((await d.resolve(service)).instances.map((i) => i.id)).toEqual(['seed']);
    } finally {
      await seed.close();
    }
  });
}
