import { createConfigAdmin, createRedisConfigStore } from '@switchyard/config-center';
import { createRedisDiscovery } from '@switchyard/discovery-redis';
import { type RedisServer, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BinaryResult, runBinary } from './run-binary.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

interface Started {
  console: { url: string; login: string; backend: string; pages: string[]; readOnly: boolean };
}

/**
 * Starts `switchyard console … --json`, runs `check` on the first line (the URL and login link)
 * while it serves, then SIGTERMs it. Resolves with the process result and what `check` returned.
 */
async function withConsole<T>(
  args: readonly string[],
  check: (started: Started) => Promise<T>,
): Promise<{ result: BinaryResult; value: T }> {
  let value: T | undefined;
  let failure: unknown;
  let begun = false;
  const result = await runBinary(['console', '--port', '0', '--json', ...args], {
    timeout: 20_000,
    onStdout: (text, kill) => {
      if (begun || !text.includes('\n')) return;
      begun = true;
      check(JSON.parse(text.split('\n')[0]!) as Started)
        .then((v) => {
          value = v;
        })
        .catch((e) => {
          failure = e;
        })
        .finally(() => kill('SIGTERM'));
    },
  });
  if (failure) throw failure;
  if (!begun) throw new Error(`console printed nothing:\n${result.stdout}\n${result.stderr}`);
  return { result, value: value as T };
}

const session = async (url: string, cookie?: string) =>
  (await fetch(`${url}/api/session`, { headers: cookie ? { cookie } : {} })).json();

async function loginWith(url: string, token: string): Promise<string> {
  const res = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-switchyard-console': '1', origin: url },
    body: JSON.stringify({ token }),
  });
  expect(res.status).toBe(200);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

type Json = any;

describe('switchyard console (built binary)', () => {
  it('serves the page over Redis discovery, prints a working login link, stops on SIGTERM with exit 0', async () => {
    await using d = createRedisDiscovery({ url: redis.url });
    await using _r = await d.register({ id: 'o1', service: 'orders', address: '10.1.0.1', port: 8080 });
    const { result, value } = await withConsole(['--redis', redis.url], async ({ console: c }) => {
      expect(c).toMatchObject({ backend: 'redis', pages: ['services'], readOnly: true });
      expect(c.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const token = decodeURIComponent(/#token=(.+)$/.exec(c.login)![1]!);
      expect(token.length).toBeGreaterThanOrEqual(20);
      const page = await fetch(`${c.url}/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('Switchyard');
      expect(html).not.toContain(token);
      expect(await session(c.url)).toMatchObject({
        authenticated: false,
        authRequired: true,
        readOnly: true,
      });
      expect((await fetch(`${c.url}/api/services`)).status).toBe(401);
      const cookie = await loginWith(c.url, token);
      expect(await session(c.url, cookie)).toMatchObject({ authenticated: true });
      const read = async (path: string): Promise<Record<string, unknown>> =>
        (await fetch(`${c.url}${path}`, { headers: { cookie } })).json() as Promise<Record<string, unknown>>;
      const services = await read('/api/services');
      const orders = await read('/api/services/orders');
      return { services, orders, url: c.url };
    });
    expect(result.code, result.stderr).toBe(0);
    expect(value.services.services).toEqual([
      { name: 'orders', instances: 1, passing: 1, pulledOut: 0, zones: [] },
    ]);
    // Without a rules source on a shared backend, pull-outs are off (not faked in the console process).
    expect(value.orders).toMatchObject({ rulesWritable: false, instances: [{ id: 'o1', port: 8080 }] });
    expect(result.lines().at(-1)).toEqual({ stopped: true });
    await expect(fetch(`${value.url}/`)).rejects.toThrow();
  });

  it('--read-write with --token: the given token logs in; the memory demo can pull out', async () => {
    const token = 'cli-console-token-0123456789';
    const { result, value } = await withConsole(
      ['--backend', 'memory', '--read-write', '--token', token],
      async ({ console: c }) => {
        expect(c.login).toBe(`${c.url}/#token=${token}`);
        const cookie = await loginWith(c.url, token);
        return session(c.url, cookie);
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(value).toMatchObject({ authenticated: true, readOnly: false, pages: [{ name: 'services' }] });
  });

  it('--config-app adds the Config page over the same Redis: live release, guarded rollback', async () => {
    const app = `cliconsole${process.pid}`;
    await using store = createRedisConfigStore({ url: redis.url });
    const admin = createConfigAdmin({ store, app });
    const r1 = await admin.publish({ env: 'prod', namespace: 'http' }, { timeout: 100 }, { author: 'alice' });
    await admin.publish({ env: 'prod', namespace: 'http' }, { timeout: 900 }, { author: 'bob' });
    const token = 'cli-console-token-0123456789';
    const { result, value } = await withConsole(
      ['--redis', redis.url, '--config-app', app, '--read-write', '--token', token],
      async ({ console: c }) => {
        expect(c.pages).toEqual(['services', 'config']);
        const cookie = await loginWith(c.url, token);
        const headers = {
          cookie,
          'content-type': 'application/json',
          'x-switchyard-console': '1',
          origin: c.url,
        };
        const ns = (await (
          await fetch(`${c.url}/api/config/ns/prod/default/http`, { headers })
        ).json()) as Json;
        const path = `${c.url}/api/config/ns/prod/default/http/rollback`;
        const body = { revision: r1.revision };
        const ask = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
        const { confirmation } = (await ask.json()) as Json;
        const done = await fetch(path, {
          method: 'POST',
          headers,
          body: JSON.stringify({ ...body, confirm: confirmation.token, reason: 'cli test' }),
        });
        return { ns, status: ask.status, preview: confirmation, done: done.status };
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(value.ns.live).toMatchObject({ author: 'bob', items: { timeout: 900 } });
    expect(value.status).toBe(409);
    expect(value.preview.details.diff.changed).toEqual({ timeout: { from: 900, to: 100 } });
    expect(value.done).toBe(200);
    expect((await admin.get({ env: 'prod', namespace: 'http' }))!.items).toEqual({ timeout: 100 });

    const memory = await runBinary(['console', '--backend', 'memory', '--config-app', app]);
    expect(memory.code).toBe(2);
    expect(memory.stderr).toContain('--config-app');
  });

  it('human output: the URL and the login link; bad flags are usage errors (exit 2)', async () => {
    let printed = '';
    const human = await runBinary(['console', '--port', '0', '--backend', 'memory'], {
      onStdout: (text, kill) => {
        if (!printed && text.includes('log in:')) {
          printed = text;
          kill('SIGINT');
        }
      },
    });
    expect(human.code, human.stderr).toBe(0);
    expect(printed).toMatch(/console on http:\/\/127\.0\.0\.1:\d+ over memory \(services; read-only/);
    expect(printed).toMatch(/log in: http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{20,}/);

    const short = await runBinary(['console', '--backend', 'memory', '--token', 'short']);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('--token');
    const port = await runBinary(['console', '--backend', 'memory', '--port', '70000']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--port');
    const none = await runBinary(['console']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--backend');
  });
});
