import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRedisDiscovery } from '@switchyard/discovery-redis';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBinary } from './run-binary.js';

const run = promisify(execFile);
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

async function dig(port: number, name: string, type: string): Promise<string[]> {
  const { stdout } = await run('dig', [
    '@127.0.0.1',
    '-p',
    String(port),
    name,
    type,
    '+short',
    '+time=2',
    '+tries=2',
  ]);
  return stdout.split('\n').filter(Boolean).sort();
}

describe('switchyard dns serve (built binary, queried with dig)', () => {
  it('publishes the registry of the chosen backend as A and SRV until SIGINT (exit 0)', async () => {
    await using d = createRedisDiscovery({ url: redis.url });
    await using _a = await d.register({ id: 'a', service: 'orders', address: '10.9.0.1', port: 8080 });
    await using _b = await d.register({ id: 'b', service: 'orders', address: '10.9.0.2', port: 8081 });
    let answers: { a: string[]; srv: string[] } | undefined;
    let failure: unknown;
    const served = await runBinary(
      ['dns', 'serve', '--zone', 'svc.test.', '--port', '0', '--redis', redis.url, '--json'],
      {
        timeout: 30_000,
        onStdout: (text, kill) => {
          if (answers || failure) return;
          const first = text.split('\n')[0];
          if (!first || !text.includes('\n')) return;
          const { port } = (JSON.parse(first) as { listening: { port: number } }).listening;
          answers = { a: [], srv: [] };
          Promise.all([dig(port, 'orders.svc.test', 'A'), dig(port, 'orders.svc.test', 'SRV')])
            .then(([a, srv]) => {
              answers = { a, srv };
            })
            .catch((e: unknown) => {
              failure = e;
            })
            .finally(() => kill('SIGINT'));
        },
      },
    );
    expect(failure).toBeUndefined();
    expect(served.code).toBe(0);
    expect(answers?.a).toEqual(['10.9.0.1', '10.9.0.2']);
    expect(answers?.srv).toHaveLength(2);
    expect(answers?.srv.join(' ')).toMatch(/8080/);
    expect(served.lines<{ stopped?: boolean }>().at(-1)).toMatchObject({ stopped: true });
  });

  it('--zone is required (exit 2)', async () => {
    const r = await runBinary(['dns', 'serve', '--redis', redis.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--zone');
  });
});
