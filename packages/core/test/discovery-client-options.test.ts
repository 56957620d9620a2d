import { describe, expect, it } from 'vitest';
import { createDiscoveryClient, type DiscoveryClientOptions, SwitchyardError } from '../src/index.js';
import { env } from './discovery-client-fixtures.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(SwitchyardError.is(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toMatch(/^\[core\] /);
    return (error as SwitchyardError).field;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('discovery client: options and arguments', () => {
  const { backend } = env();
  const make = (extra: Partial<DiscoveryClientOptions> | Record<string, unknown>) => () =>
    createDiscoveryClient({ backend, ...extra } as DiscoveryClientOptions);

  it('rejects bad options with INVALID_ARGUMENT naming the field', () => {
    expect(fieldOf(() => createDiscoveryClient(undefined as never))).toBe('backend');
    expect(fieldOf(() => createDiscoveryClient(42 as never))).toBe('options');
    expect(fieldOf(make({ panicTreshold: 0.3 }))).toBe('panicTreshold');
    expect(fieldOf(make({ backend: {} }))).toBe('backend');
    expect(fieldOf(make({ rules: { current: 1 } }))).toBe('rules');
    expect(fieldOf(make({ clock: {} }))).toBe('clock');
    expect(fieldOf(make({ panicThreshold: 50 }))).toBe('panicThreshold');
    expect(fieldOf(make({ panicThreshold: Number.NaN }))).toBe('panicThreshold');
    expect(fieldOf(make({ resyncInterval: -1 }))).toBe('resyncInterval');
    expect(fieldOf(make({ resyncInterval: 10_000, staleAfter: 5_000 }))).toBe('staleAfter');
    expect(fieldOf(make({ resyncInterval: 0, staleAfter: 5_000 }))).toBe('staleAfter');
    expect(fieldOf(make({ syncTimeout: 0 }))).toBe('syncTimeout');
    expect(fieldOf(make({ requestTimeout: '5s' }))).toBe('requestTimeout');
    expect(fieldOf(make({ backoff: 5 }))).toBe('backoff');
    expect(fieldOf(make({ backoff: { base: -1 } }))).toBe('backoff.base');
  });

  it('rejects bad resolve/watch/status arguments naming the field', async () => {
    await using client = createDiscoveryClient({ backend });
    await expect(client.resolve('bad name!')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'service',
    });
    await expect(client.resolve('api', { filter: { health: ['dead' as never] } })).rejects.toMatchObject({
      field: 'filter.health[0]',
    });
    await expect(client.resolve('api', { filter: { where: 'x' as never } })).rejects.toMatchObject({
      field: 'filter.where',
    });
    expect(fieldOf(() => client.watch('', {}))).toBe('service');
    expect(fieldOf(() => client.watch('api', { filter: { tags: 'a' as never } }))).toBe('filter.tags');
    expect(fieldOf(() => client.status('-x'))).toBe('service');
    expect(client.status('api')).toMatchObject({ state: 'idle', version: 0 });
    const ac = new AbortController();
    ac.abort();
    await expect(client.resolve('api', { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
