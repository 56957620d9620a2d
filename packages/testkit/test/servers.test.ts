import { afterAll, describe, expect, it } from 'vitest';
import {
  type EtcdCluster,
  findBinary,
  freePort,
  type RedisServer,
  redisCommand,
  startDnsmasq,
  startEtcd,
  startRedis,
} from '../src/servers/index.js';

describe('server harness: redis', () => {
  let redis: RedisServer | undefined;
  afterAll(async () => redis?.stop());

  it('starts, answers, kills, restarts, pauses and resumes a redis-server', async () => {
    redis = await startRedis();
    expect(await redis.command('PING')).toBe('+PONG\r\n');
    expect(await redis.command('SET k v')).toBe('+OK\r\n');

    await redis.process.kill();
    expect(redis.process.running).toBe(false);
    await expect(redisCommand(redis.host, redis.port, 'PING', 300)).rejects.toThrow();

    await redis.process.start();
    expect(await redis.command('PING')).toBe('+PONG\r\n');
    // no persistence: a restart loses the data
    expect(await redis.command('GET k')).toBe('$-1\r\n');

    redis.process.pause();
    await expect(redisCommand(redis.host, redis.port, 'PING', 300)).rejects.toThrow(/timed out/);
    redis.process.resume();
    expect(await redis.command('PING')).toBe('+PONG\r\n');
  });
});

describe('server harness: etcd 3-member cluster', () => {
  let cluster: EtcdCluster | undefined;
  afterAll(async () => cluster?.stop());

  it('starts a cluster, survives killing a member, restarts and pauses it', async () => {
    cluster = await startEtcd({ members: 3 });
    expect(cluster.endpoints).toHaveLength(3);
    for (const m of cluster.members) expect(await m.healthy()).toBe(true);

    const victim = cluster.members[0]!;
    await victim.process.kill();
    expect(await victim.healthy()).toBe(false);
    await cluster.waitHealthy(); // quorum of 2 remains

    await victim.process.start();
    await cluster.waitHealthy();
    await expect.poll(() => victim.healthy(), { timeout: 15_000 }).toBe(true);

    victim.process.pause();
    expect(await victim.healthy()).toBe(false);
    victim.process.resume();
    await expect.poll(() => victim.healthy(), { timeout: 15_000 }).toBe(true);
  });
});

describe('server harness: dnsmasq', () => {
  it('serves records from a hosts file on a free port', async () => {
    await using dns = await startDnsmasq({ hosts: ['10.1.2.3 api.switchyard.test'] });
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(findBinary('dig'), [
      '@127.0.0.1',
      '-p',
      String(dns.port),
      '+short',
      'api.switchyard.test',
    ]).toString();
    expect(out.trim()).toBe('10.1.2.3');
  });
});

describe('server harness: helpers', () => {
  it('finds free ports and names the apt package of a missing binary', async () => {
    const p = await freePort();
    expect(p).toBeGreaterThan(0);
    const { MissingServerBinaryError } = await import('../src/servers/binaries.js');
    expect(new MissingServerBinaryError('etcd').message).toContain('apt-get install -y etcd-server');
  });
});
