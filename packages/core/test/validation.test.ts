import { describe, expect, it } from 'vitest';
import {
  assertAddress,
  assertDuration,
  assertInstanceId,
  assertInteger,
  assertKey,
  assertPort,
  assertServiceName,
  assertStringRecord,
  assertWait,
  createMemoryCacheStore,
  createMemoryConfigStore,
  createMemoryDiscovery,
  createMemoryLock,
  createMemoryRulesSource,
  fullJitterBackoff,
  isSwitchyardError,
  normalizeInstance,
  validateFilter,
  withLock,
} from '../src/index.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isSwitchyardError(e, 'INVALID_ARGUMENT')) {
      expect(e.message).toContain(e.field!);
      return e.field;
    }
    throw e;
  }
  return undefined;
}

async function fieldOfAsync(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    if (isSwitchyardError(e, 'INVALID_ARGUMENT')) return e.field;
    throw e;
  }
  return undefined;
}

const base = { id: 'a-1', service: 'api', address: '10.0.0.1', port: 80 };

describe('validation helpers', () => {
  it.each([
    ['service name', () => assertServiceName('p', 'service', 'has space'), 'service'],
    ['service name empty', () => assertServiceName('p', 'service', ''), 'service'],
    ['service name non-string', () => assertServiceName('p', 'service', 42), 'service'],
    ['instance id', () => assertInstanceId('p', 'id', 'bad/id'), 'id'],
    ['port 0', () => assertPort('p', 'port', 0), 'port'],
    ['port 65536', () => assertPort('p', 'port', 65536), 'port'],
    ['port float', () => assertPort('p', 'port', 80.5), 'port'],
    ['address', () => assertAddress('p', 'address', 'no spaces allowed'), 'address'],
    ['key empty', () => assertKey('p', 'key', ''), 'key'],
    ['key NUL', () => assertKey('p', 'key', 'a\u0000b'), 'key'],
    ['key too long', () => assertKey('p', 'key', 'x'.repeat(2000)), 'key'],
    ['duration 0', () => assertDuration('p', 'ttl', 0), 'ttl'],
    ['duration negative', () => assertDuration('p', 'ttl', -1), 'ttl'],
    ['duration NaN', () => assertDuration('p', 'ttl', Number.NaN), 'ttl'],
    ['duration absurd', () => assertDuration('p', 'ttl', 1e12), 'ttl'],
    ['duration string', () => assertDuration('p', 'ttl', '10s'), 'ttl'],
    ['wait negative', () => assertWait('p', 'wait', -1), 'wait'],
    ['integer', () => assertInteger('p', 'permits', 0, 1), 'permits'],
    ['record', () => assertStringRecord('p', 'metadata', { a: 1 }), 'metadata.a'],
  ])('%s names the field', (_name, fn, field) => {
    expect(fieldOf(fn)).toBe(field);
  });

  it('accepts good values and returns them', () => {
    expect(assertPort('p', 'port', 65535)).toBe(65535);
    expect(assertAddress('p', 'a', '::1')).toBe('::1');
    expect(assertAddress('p', 'a', 'fe80::1%eth0')).toBe('fe80::1%eth0');
    expect(assertAddress('p', 'a', 'my-host.svc.cluster.local')).toBe('my-host.svc.cluster.local');
    expect(assertWait('p', 'wait', Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(assertWait('p', 'wait', 0)).toBe(0);
    expect(assertServiceName('p', 's', 'user-service.v2')).toBe('user-service.v2');
  });
});

describe('public functions of core reject bad input with INVALID_ARGUMENT naming the field', () => {
  it.each([
    ['normalizeInstance port', () => normalizeInstance('p', { ...base, port: 0 }), 'instance.port'],
    ['normalizeInstance address', () => normalizeInstance('p', { ...base, address: '' }), 'instance.address'],
    [
      'normalizeInstance service',
      () => normalizeInstance('p', { ...base, service: 'a b' }),
      'instance.service',
    ],
    ['normalizeInstance id', () => normalizeInstance('p', { ...base, id: '' }), 'instance.id'],
    [
      'normalizeInstance weight',
      () => normalizeInstance('p', { ...base, weight: Number.NaN }),
      'instance.weight',
    ],
    [
      'normalizeInstance tags',
      () => normalizeInstance('p', { ...base, tags: [1 as unknown as string] }),
      'instance.tags[0]',
    ],
    [
      'normalizeInstance metadata',
      () => normalizeInstance('p', { ...base, metadata: { a: 2 as unknown as string } }),
      'instance.metadata.a',
    ],
    [
      'normalizeInstance health',
      () => normalizeInstance('p', { ...base, health: 'ok' as never }),
      'instance.health',
    ],
    ['normalizeInstance zone', () => normalizeInstance('p', { ...base, zone: '' }), 'instance.zone'],
    ['validateFilter health', () => validateFilter('p', { health: ['bad' as never] }), 'filter.health[0]'],
    ['validateFilter tags', () => validateFilter('p', { tags: 'x' as never }), 'filter.tags'],
    ['fullJitterBackoff base', () => fullJitterBackoff({ base: -1 }), 'backoff.base'],
    ['fullJitterBackoff factor', () => fullJitterBackoff({ factor: 0.5 }), 'backoff.factor'],
    ['createMemoryDiscovery ttl', () => createMemoryDiscovery({ ttl: 0 }), 'ttl'],
    ['createMemoryLock ttl', () => createMemoryLock({ ttl: -1 }), 'ttl'],
    ['createMemoryCacheStore maxEntries', () => createMemoryCacheStore({ maxEntries: 0 }), 'maxEntries'],
    [
      'createMemoryConfigStore historyLimit',
      () => createMemoryConfigStore({ historyLimit: 0 }),
      'historyLimit',
    ],
    [
      'rules pulledInstances',
      () => createMemoryRulesSource({ pulledInstances: [{ service: '', id: 'x' }] }),
      'rules.pulledInstances[0].service',
    ],
    [
      'rules route weight',
      () =>
        createMemoryRulesSource({
          routes: [{ service: 's', groups: [{ name: 'g', weight: -1, match: {} }] }],
        }),
      'rules.routes[0].groups[0].weight',
    ],
    [
      'rules canary group',
      () =>
        createMemoryRulesSource({
          routes: [
            { service: 's', groups: [{ name: 'g', weight: 1, match: {} }], canary: { group: 'nope' } },
          ],
        }),
      'rules.routes[0].canary.group',
    ],
  ])('%s', (_name, fn, field) => {
    expect(fieldOf(fn)).toBe(field);
  });

  it('async entry points: withLock, memory lock, discovery, cache and config methods', async () => {
    const lock = createMemoryLock();
    expect(await fieldOfAsync(() => withLock(lock, 'k', 'nope' as never))).toBe('fn');
    expect(await fieldOfAsync(() => lock.acquire('k', { owner: '' }))).toBe('owner');
    const d = createMemoryDiscovery();
    expect(await fieldOfAsync(() => d.resolve('svc', { filter: { health: ['x' as never] } }))).toBe(
      'filter.health[0]',
    );
    const reg = await d.register(base);
    expect(await fieldOfAsync(() => reg.setHealth('sick' as never))).toBe('health');
    const cache = createMemoryCacheStore();
    expect(await fieldOfAsync(() => cache.clear(5 as never))).toBe('prefix');
    expect(await fieldOfAsync(() => cache.deleteMany('k' as never))).toBe('keys');
    const cfg = createMemoryConfigStore();
    expect(await fieldOfAsync(() => cfg.put('k', 'v', { author: '' }))).toBe('author');
    expect(fieldOf(() => cfg.watch('p', { fromRevision: -1 }))).toBe('fromRevision');
    expect(fieldOf(() => cfg.watch(3 as never))).toBe('prefix');
    await Promise.all([lock.close(), d.close(), cache.close(), cfg.close()]);
  });
});

describe('normalizeInstance', () => {
  it('fills defaults and freezes', () => {
    const i = normalizeInstance('p', base);
    expect(i).toEqual({
      ...base,
      tags: [],
      metadata: {},
      weight: 1,
      zone: undefined,
      region: undefined,
      health: 'passing',
    });
    expect(Object.isFrozen(i)).toBe(true);
  });
});
