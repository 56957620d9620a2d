import { afterEach, describe, expect, it } from 'vitest';
import {
  createDiscoveryClient,
  type DiscoveryBackend,
  type InstanceInput,
  normalizeInstance,
} from '../src/index.js';
import { deadEndRegistration, env, ids } from './discovery-client-fixtures.js';

const input: InstanceInput = { id: 'me', service: 'api', address: '10.0.0.7', port: 9000 };

describe('discovery client: registration helper', () => {
  const noop = () => {};
  afterEach(() => {
    process.off('SIGTERM', noop);
    process.off('SIGUSR2', noop);
  });

  it('delegates to the backend and deregisters on dispose', async () => {
    const { backend, store } = env();
    await using client = createDiscoveryClient({ backend });
    {
      await using reg = await client.register(input, { ttl: 5_000 });
      expect(reg.instance).toMatchObject({ id: 'me', health: 'passing' });
      expect(ids(store.snapshot('api').instances)).toEqual(['me']);
      await reg.setHealth('maintenance');
      expect(store.snapshot('api').instances[0]?.health).toBe('maintenance');
      expect(backend.calls.register).toBe(1);
    }
    expect(store.snapshot('api').instances).toEqual([]);
  });

  it('forwards loss and restore when the backend re-creates the registration itself', async () => {
    const { backend, store, clock } = env();
    await using client = createDiscoveryClient({ backend, clock });
    const reg = await client.register(input, { ttl: 3_000 });
    const log: string[] = [];
    reg.on('registration:lost', () => log.push('lost'));
    reg.on('registration:restored', () => log.push('restored'));
    store.reset(); // the server forgot everything
    await clock.advance(1_000); // memory heartbeat (ttl / 3) notices and re-puts
    expect(log).toEqual(['lost', 'restored']);
    await clock.advance(5_000);
    expect(reg.registrations).toBe(2); // the backend's own re-registration
    expect(backend.calls.register).toBe(1);
    expect(ids(store.snapshot('api').instances)).toEqual(['me']);
  });

  it('forwards the loss reported by a backend that does not restore it (no second state machine)', async () => {
    const { memory } = env();
    let handle: ReturnType<typeof deadEndRegistration> | undefined;
    const backend: DiscoveryBackend = {
      ...memory,
      async register(instance) {
        handle = deadEndRegistration(normalizeInstance('test', instance), () => {});
        return handle;
      },
    };
    await using client = createDiscoveryClient({ backend });
    const reg = await client.register(input);
    const log: string[] = [];
    reg.on('registration:lost', () => log.push('lost'));
    handle?.loseIt();
    expect(log).toEqual(['lost']);
    expect(reg.registrations).toBe(1);
  });

  it('deregisters on an opted-in process signal and removes its signal listeners', async () => {
    const { backend, store } = env();
    const before = process.listenerCount('SIGTERM');
    process.on('SIGTERM', noop); // keeps the test process alive: the helper only re-raises when alone
    await using client = createDiscoveryClient({ backend });
    const reg = await client.register(input, { deregisterOnSignals: ['SIGTERM', 'SIGUSR2'] });
    expect(process.listenerCount('SIGTERM')).toBe(before + 2);
    process.emit('SIGTERM');
    await new Promise((r) => setTimeout(r, 10));
    expect(store.snapshot('api').instances).toEqual([]);
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    expect(process.listenerCount('SIGUSR2')).toBe(0);
    await reg.close(); // idempotent

    const again = await client.register(input, { deregisterOnSignals: ['SIGUSR2'] });
    expect(process.listenerCount('SIGUSR2')).toBe(1);
    await again.close();
    expect(process.listenerCount('SIGUSR2')).toBe(0);
  });

  it('closes managed registrations and their listeners when the client closes', async () => {
    const { backend, store } = env();
    const client = createDiscoveryClient({ backend });
    await client.register(input, { deregisterOnSignals: ['SIGUSR2'] });
    await client.register({ ...input, id: 'me2' });
    expect(store.snapshot('api').instances).toHaveLength(2);
    await client.close();
    expect(store.snapshot('api').instances).toEqual([]);
    expect(process.listenerCount('SIGUSR2')).toBe(0);
    await expect(client.register(input)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('rejects bad registration options naming the field', async () => {
    const { backend } = env();
    await using client = createDiscoveryClient({ backend });
    await expect(
      client.register(input, { deregisterOnSignals: ['sigterm' as NodeJS.Signals] }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'deregisterOnSignals[0]',
    });
    await expect(client.register(input, { deregisterOnSignals: ['SIGKILL'] })).rejects.toMatchObject({
      field: 'deregisterOnSignals[0]',
    });
    await expect(client.register(input, { restoreGrace: 1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'restoreGrace',
    });
    await expect(client.register(input, { deregisterTimeout: 0 })).rejects.toMatchObject({
      field: 'deregisterTimeout',
    });
    await expect(client.register({ ...input, port: 70_000 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'instance.port',
    });
    // Client options are checked before the backend is called; an unknown key (restoreGrace) reaches
    // the backend, which rejects it before doing anything.
    expect(backend.calls.register).toBe(2);
  });
});
