import { expect, it } from 'vitest';
import {
  type DiscoveryDriver,
  defineDiscoveryBackend,
  type WatchBatch,
  type WatchPosition,
  watchResetError,
} from '../src/driver/index.js';
import { fullJitterBackoff, SwitchyardError, systemClock } from '../src/index.js';

const instance = (id: string) =>
  Object.freeze({
    id,
    service: 'api',
    address: '10.0.0.1',
    port: 80,
    tags: [],
    metadata: {},
    weight: 1,
    health: 'passing' as const,
  });

it('the kit hands a driver back the opaque cursor of its last listing or batch', async () => {
  const positions: WatchPosition[] = [];
  let lists = 0;
  let watches = 0;
  const driver: DiscoveryDriver = {
    name: 'fake',
    capabilities: { watch: true, ttlGranularity: 'milliseconds', healthUpdates: true, register: false },
    async list() {
      lists++;
      return lists === 1
        ? { instances: [], revision: 5, cursor: 'L5' }
        : { instances: [instance('a'), instance('b')], revision: 9, cursor: 'L9' };
    },
    async *watch(_service, from): AsyncGenerator<WatchBatch> {
      positions.push(from);
      watches++;
      if (watches === 1) {
        yield { changes: [{ type: 'put', instance: instance('a') }], revision: 6, cursor: 'B6' };
        yield { revision: 6 }; // progress without a token keeps the last one
        throw new SwitchyardError('BACKEND_UNAVAILABLE', '[fake] connection lost');
      }
      if (watches === 2) throw watchResetError('fake', 'trimmed');
      yield { changes: [{ type: 'put', instance: instance('c') }], revision: 10, cursor: 'B10' };
      await new Promise(() => {});
    },
    async services() {
      return [];
    },
  };
  await using backend = defineDiscoveryBackend(driver, {
    pkg: 'core',
    clock: systemClock,
    backoff: fullJitterBackoff({ base: 1, max: 2 }),
    requestTimeout: 1000,
    ttl: 1000,
  });
  const seen: string[] = [];
  const ac = new AbortController();
  for await (const e of backend.watch('api', { signal: ac.signal })) {
    seen.push(`${e.snapshot.instances.map((i) => i.id).join()}${e.stale ? ' (stale)' : ''}`);
    if (seen.at(-1) === 'a,b,c') ac.abort();
  }
  expect(positions.map((p) => `${p.revision}:${p.cursor}`)).toEqual(['5:L5', '6:B6', '9:L9']);
  // One broken stream that resumes at once is not marked stale.
  expect(seen).toEqual(['', 'a', 'a,b', 'a,b,c']);
});
