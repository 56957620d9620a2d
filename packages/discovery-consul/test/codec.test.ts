import { createManualClock } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { aggregateHealth, decodeEntries, fromHealthEntry, registrationBody } from '../src/instance-codec.js';
import { QuerySlots } from '../src/query-slots.js';
import { TokenBucket } from '../src/token-bucket.js';

const keys = { zone: 'zone', region: 'region', weight: 'weight' };

describe('health entry → instance', () => {
  it("maps the sample entry of Consul's health API docs", () => {
    // api-docs/health.mdx, "List Nodes for Service", sample response (trimmed).
    const entry = {
      Node: { Node: 'foobar', Address: '10.1.10.12' },
      Service: {
        ID: 'redis',
        Service: 'redis',
        Tags: ['primary'],
        Address: '10.1.10.12',
        Meta: { redis_version: '4.0' },
        Port: 8000,
        Weights: { Passing: 10, Warning: 1 },
      },
      Checks: [
        { CheckID: 'service:redis', Status: 'passing', ServiceID: 'redis' },
        { CheckID: 'serfHealth', Status: 'passing', ServiceID: '' },
      ],
    };
    expect(fromHealthEntry(entry, keys, true)).toEqual({
      id: 'redis',
      service: 'redis',
      address: '10.1.10.12',
      port: 8000,
      tags: ['primary'],
      metadata: { redis_version: '4.0' },
      weight: 10,
      zone: undefined,
      region: undefined,
      health: 'passing',
    });
  });

  it('falls back to the node address, strips our prefix and reads zone/region/weight from Meta', () => {
    const i = fromHealthEntry(
      {
        Node: { Address: '10.0.0.9' },
        Service: {
          ID: 'api:7',
          Service: 'api',
          Port: 1,
          Meta: { zone: 'z', region: 'r', weight: '0.25', k: 'v' },
        },
        Checks: [],
      },
      keys,
      true,
    );
    expect(i).toMatchObject({
      id: '7',
      address: '10.0.0.9',
      zone: 'z',
      region: 'r',
      weight: 0.25,
      metadata: { k: 'v' },
    });
    expect(fromHealthEntry({ Service: { ID: 'api:7', Service: 'api' } }, keys, false)?.id).toBe('api:7');
    expect(
      fromHealthEntry({ Service: { ID: 'x', Service: 'api', Meta: { weight: 'lots' } } }, keys, true)?.weight,
    ).toBe(1);
    expect(fromHealthEntry({ Node: {} }, keys, true)).toBeUndefined();
  });

  it('aggregates checks: maintenance wins, else the worst status', () => {
    expect(aggregateHealth([])).toBe('passing');
    expect(aggregateHealth([{ Status: 'passing' }, { Status: 'warning' }])).toBe('warning');
    expect(aggregateHealth([{ Status: 'warning' }, { Status: 'critical' }])).toBe('critical');
    expect(
      aggregateHealth([{ CheckID: '_service_maintenance:x', Status: 'critical' }, { Status: 'passing' }]),
    ).toBe('maintenance');
    expect(aggregateHealth([{ CheckID: '_node_maintenance', Status: 'critical' }])).toBe('maintenance');
  });

  it('builds the registration body with Weights, Meta and checks', () => {
    const body = registrationBody(
      {
        id: 'a',
        service: 'api',
        address: '10.0.0.1',
        port: 80,
        tags: ['t'],
        metadata: { v: '1' },
        weight: 3,
        zone: 'z1',
        region: undefined,
        health: 'warning',
      },
      {
        keys,
        prefix: true,
        ttl: 3000,
        deregisterAfter: 60_000,
        ttlCheckId: 'service:api:a:ttl',
        checks: [{ tcp: '10.0.0.1:80', interval: 5000 }],
      },
    );
    expect(body).toMatchObject({
      ID: 'api:a',
      Name: 'api',
      Tags: ['t'],
      Meta: { v: '1', zone: 'z1' },
      Weights: { Passing: 3, Warning: 3 },
      Checks: [
        {
          CheckID: 'service:api:a:ttl',
          TTL: '3000ms',
          Status: 'warning',
          DeregisterCriticalServiceAfter: '60000ms',
        },
        { CheckID: 'service:api:a:1', TCP: '10.0.0.1:80', Interval: '5000ms' },
      ],
    });
  });
});

describe('instance identity (node + service ID)', () => {
  const entry = (node: string, id: string, port: number) => ({
    Node: { Node: node, Address: '10.0.0.1' },
    Service: { ID: `api:${id}`, Service: 'api', Port: port },
    Checks: [],
  });

  it('keeps the registered id when it is on one node, and qualifies an id found on several nodes', () => {
    const ids = decodeEntries(
      [entry('n1', 'a', 1), entry('n2', 'a', 2), entry('n2', 'b', 3)],
      keys,
      true,
    ).map((i) => [i.id, i.port]);
    expect(ids).toEqual([
      ['a@n1', 1],
      ['a@n2', 2],
      ['b', 3],
    ]);
  });

  it('never yields two instances with one id', () => {
    const out = decodeEntries([entry('n1', 'a', 1), entry('n1', 'a', 2)], keys, true);
    expect(out.map((i) => i.id)).toEqual(['a']);
  });
});

describe('query slots', () => {
  const never = new AbortController().signal;

  it('queues past the cap in FIFO order and drops an aborted waiter', async () => {
    const slots = new QuerySlots(1);
    const first = await slots.acquire(never, false);
    const order: string[] = [];
    const ac = new AbortController();
    const gone = slots.acquire(ac.signal, false);
    const queued = (name: string) =>
      slots.acquire(never, false).then((s) => {
        order.push(name);
        return s;
      });
    const second = queued('second');
    const third = queued('third');
    ac.abort();
    await expect(gone).rejects.toMatchObject({ code: 'ABORTED' });
    first.release();
    first.release(); // idempotent
    (await second).release();
    (await third).release();
    expect(order).toEqual(['second', 'third']);
  });

  it('with more loops than slots, takes long waits back once and reports contention', async () => {
    const slots = new QuerySlots(2);
    const leaves = [slots.join(), slots.join()];
    const long = await slots.acquire(never, true);
    const short = await slots.acquire(never, false);
    expect(slots.contended).toBe(false);
    leaves.push(slots.join());
    expect(slots.contended).toBe(true);
    expect([long.preempted, long.signal.aborted]).toEqual([true, true]);
    expect([short.preempted, short.signal.aborted]).toEqual([false, false]);
    long.release();
    short.release();
    for (const leave of leaves) leave();
    expect(slots.contended).toBe(false);
  });

  it("the slot's signal follows the caller's abort, which is not a preemption", async () => {
    const slots = new QuerySlots(1);
    const ac = new AbortController();
    const slot = await slots.acquire(ac.signal, true);
    ac.abort();
    expect(slot.signal.aborted).toBe(true);
    expect(slot.preempted).toBe(false);
    slot.release();
  });
});

describe('token bucket', () => {
  it('lets a burst through, then one call per interval', async () => {
    const clock = createManualClock();
    const bucket = new TokenBucket(2, 1000, clock);
    await bucket.take();
    await bucket.take();
    let third = false;
    const pending = bucket.take().then(() => {
      third = true;
    });
    await clock.advance(999);
    expect(third).toBe(false);
    await clock.advance(1);
    await pending;
    expect(third).toBe(true);
  });

  it('an aborted wait rejects with ABORTED', async () => {
    const clock = createManualClock();
    const bucket = new TokenBucket(1, 1000, clock);
    await bucket.take();
    const ac = new AbortController();
    const pending = bucket.take(ac.signal);
    ac.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
