import * as grpc from '@grpc/grpc-js';
import { createMemoryDiscovery } from '@switchyard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerSwitchyardGrpc,
  SwitchyardLbConfig,
  switchyardChannelStats,
  switchyardServiceConfig,
} from '../src/index.js';
import { EchoClient, type EchoServer, startEchoServer, unary } from './echo-service.js';

const discovery = createMemoryDiscovery();
const servers: EchoServer[] = [];
let registration: ReturnType<typeof registerSwitchyardGrpc>;
const clients: grpc.Client[] = [];

function client(config: Parameters<typeof switchyardServiceConfig>[0] = {}, target = 'switchyard:///echo') {
  const c = new EchoClient(target, grpc.credentials.createInsecure(), {
    'grpc.service_config': switchyardServiceConfig(config),
  });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  registration = registerSwitchyardGrpc({ discovery });
  for (const id of ['echo-1', 'echo-2', 'echo-3']) servers.push(await startEchoServer(id, discovery));
});
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  registration.unregister();
  await discovery.close();
});

describe('switchyard:/// resolver + switchyard LB policy', () => {
  it('spreads calls over every registered instance and follows registrations', async () => {
    const c = client();
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) seen.add((await unary(c, `m${i}`)).id);
    expect([...seen].sort()).toEqual(['echo-1', 'echo-2', 'echo-3']);
    const extra = await startEchoServer('echo-4', discovery);
    servers.push(extra);
    await expect.poll(async () => (await unary(c, 'x')).id, { timeout: 5_000, interval: 1 }).toBe('echo-4');
    await extra.close();
    servers.pop();
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 30; i++) expect((await unary(c, 'y')).id).not.toBe('echo-4');
  });

  it('ring hash by a metadata key keeps a user on one server', async () => {
    const c = client({ picker: 'ring_hash', hashMetadata: 'user-id' });
    const owners = new Map<string, string>();
    for (let u = 0; u < 20; u++) {
      const md = new grpc.Metadata();
      md.set('user-id', `user-${u}`);
      const first = (await unary(c, 'a', md)).id;
      for (let i = 0; i < 5; i++) expect((await unary(c, 'b', md)).id).toBe(first);
      owners.set(`user-${u}`, first);
    }
    expect(new Set(owners.values()).size).toBeGreaterThan(1);
  });

  it('call outcomes feed the breakers: a sick server stops getting calls', async () => {
    const c = client({
      picker: 'round_robin',
      breaker: { consecutiveFailures: 3 },
      outlierDetection: { consecutiveFailures: 3, maxEjectionPercent: 50 },
    } as never);
    const sick = servers[1]!;
    sick.sick(true);
    let failures = 0;
    for (let i = 0; i < 30; i++) await unary(c, 'warm').catch(() => failures++);
    expect(failures).toBeGreaterThan(0);
    expect(failures).toBeLessThanOrEqual(6);
    const before = sick.calls();
    for (let i = 0; i < 30; i++) expect((await unary(c, 'after')).id).not.toBe(sick.id);
    expect(sick.calls()).toBe(before);
    const stat = switchyardChannelStats('echo').find((s) => s.id === sick.id && !s.eligible);
    expect(stat?.breaker === 'open' || stat?.ejected).toBe(true);
    sick.sick(false);
  });

  it('an unknown discovery name fails the call with UNAVAILABLE', async () => {
    const c = client({}, 'switchyard://nowhere/echo');
    await expect(unary(c, 'x')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it('bad breaker options fail the calls with a message naming the field, not the process', async () => {
    const c = client({ breaker: { consecutiveFailures: -1 } } as never);
    const err = await unary(c, 'x').catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    expect((err as grpc.ServiceError).details).toMatch(/breaker\.consecutiveFailures/);
  });

  it('bad LB config is INVALID_ARGUMENT naming the field', () => {
    expect(() => new SwitchyardLbConfig({ picker: 'best' })).toThrow(/switchyard\.picker/);
    expect(() => switchyardServiceConfig({ hashMetadata: 'Bad Key' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => SwitchyardLbConfig.createFromJson({ pickr: 'x' })).toThrow(/switchyard\.pickr/);
  });
});
