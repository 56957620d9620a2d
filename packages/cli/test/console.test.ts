import { createConfigAdmin, createRedisConfigStore } from '@switchyard/config-center';
import { createRedisDiscovery } from '@switchyard/discovery-redis';
import { createEtcdLock } from '@switchyard/lock-etcd';
import { createRedisLock } from '@switchyard/lock-redis';
import { createRedisRouteStore } from '@switchyard/stateful-route';
import { type EtcdCluster, type RedisServer, startEtcd, startRedis } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BinaryResult, runBinary } from './run-binary.js';

let redis: RedisServer;
let etcd: EtcdCluster;
beforeAll(async () => {
  [redis, etcd] = await Promise.all([startRedis(), startEtcd()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), etcd?.stop()]);
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

const session = async (url: string, cookie?: string): Promise<Record<string, unknown>> =>
  (await fetch(`${url}/api/session`, { headers: cookie ? { cookie } : {} })).json() as Promise<
    Record<string, unknown>
  >;

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
  it('serves every page over one Redis connection, prints a working login link, stops on SIGTERM with exit 0', async () => {
    // What the applications wrote, each with its own package: an instance, a held lock, a pod, a config release.
    await using d = createRedisDiscovery({ url: redis.url });
    await using _r = await d.register({ id: 'o1', service: 'orders', address: '10.1.0.1', port: 8080 });
    await using lock = createRedisLock({ url: redis.url });
    await using _held = await lock.acquire('orders:42', { owner: 'worker-a' });
    await using routes = createRedisRouteStore({ url: redis.url });
    await routes.registerPod('chat', 'pod-a', {
      state: 'NORMAL',
      load: 1,
      capacity: 1,
      ttl: 30_000,
      move: false,
    });
    const put = await runBinary([
      'config',
      'put',
      'orders',
      'discount=5',
      '--redis',
      redis.url,
      '--app',
      'shop',
      '--env',
      'prod',
    ]);
    expect(put.code, put.stderr).toBe(0);

    const flags = ['--redis', redis.url, '--app', 'shop', '--cache', 'catalog'];
    const { result, value } = await withConsole(flags, async ({ console: c }) => {
      expect(c).toMatchObject({ backend: 'redis', readOnly: true });
      expect([...c.pages].sort()).toEqual(['cache', 'config', 'locks', 'routes', 'services']);
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
      const read = async (path: string): Promise<Record<string, unknown>> => {
        const res = await fetch(`${c.url}${path}`, { headers: { cookie } });
        expect(res.status, path).toBe(200);
        return res.json() as Promise<Record<string, unknown>>;
      };
      return {
        url: c.url,
        services: await read('/api/services'),
        orders: await read('/api/services/orders'),
        locks: await read('/api/locks/mutex/held'),
        semaphores: await read('/api/locks/semaphore/held'),
        routes: await read('/api/routes/services'),
        config: await read('/api/config/namespaces'),
        cache: await read('/api/cache'),
      };
    });
    expect(result.code, result.stderr).toBe(0);
    expect(value.services.services).toEqual([
      { name: 'orders', instances: 1, passing: 1, pulledOut: 0, zones: [] },
    ]);
    // Without a rules source on a shared backend, pull-outs are off (not faked in the console process).
    expect(value.orders).toMatchObject({ rulesWritable: false, instances: [{ id: 'o1', port: 8080 }] });
    expect(value.locks).toMatchObject({ total: 1, locks: [{ key: 'orders:42', owner: 'worker-a' }] });
    expect(value.semaphores).toMatchObject({ total: 0 });
    expect(value.routes).toMatchObject({ services: ['chat'] });
    expect(value.config).toMatchObject({
      environments: ['prod'],
      namespaces: [{ env: 'prod', namespace: 'orders' }],
    });
    expect(value.cache).toBeTypeOf('object');
    expect(result.lines().at(-1)).toEqual({ stopped: true });
    await expect(fetch(`${value.url}/`)).rejects.toThrow();
  });

  it('on etcd: services, locks and config over the --etcd endpoints', async () => {
    const hosts = etcd.endpoints.join(',');
    await using lock = createEtcdLock({ hosts: etcd.endpoints });
    await using _held = await lock.acquire('jobs:nightly', { owner: 'cron-1' });
    const put = await runBinary(['config', 'put', 'web', 'theme=dark', '--etcd', hosts, '--app', 'shop']);
    expect(put.code, put.stderr).toBe(0);
    const { result, value } = await withConsole(
      ['--etcd', hosts, '--app', 'shop', '--token', 'etcd-console-token-0123456789'],
      async ({ console: c }) => {
        expect(c.backend).toBe('etcd');
        expect([...c.pages].sort()).toEqual(['config', 'locks', 'services']);
        const cookie = await loginWith(c.url, 'etcd-console-token-0123456789');
        const read = async (path: string) =>
          (await fetch(`${c.url}${path}`, { headers: { cookie } })).json() as Promise<
            Record<string, unknown>
          >;
        const { spaces } = (await read('/api/locks')) as { spaces: { name: string }[] };
        return {
          locks: await read(`/api/locks/${spaces[0]!.name}/held`),
          config: await read('/api/config/namespaces'),
        };
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(value.locks).toMatchObject({ total: 1, locks: [{ key: 'jobs:nightly', owner: 'cron-1' }] });
    expect(value.config).toMatchObject({ namespaces: [{ env: 'default', namespace: 'web' }] });
  });

  it('--read-write with --token: the given token logs in, the session is read-write', async () => {
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
    expect(value).toMatchObject({ authenticated: true, readOnly: false });
    // Memory demo without --app/--cache: the pages that need no name.
    expect((value.pages as { name: string }[]).map((p) => p.name).sort()).toEqual([
      'locks',
      'routes',
      'services',
    ]);
  });

  it('--app adds the Config page over the same Redis: live release, guarded rollback', async () => {
    const app = `cliconsole${process.pid}`;
    await using store = createRedisConfigStore({ url: redis.url });
    const admin = createConfigAdmin({ store, app });
    const r1 = await admin.publish({ env: 'prod', namespace: 'http' }, { timeout: 100 }, { author: 'alice' });
    await admin.publish({ env: 'prod', namespace: 'http' }, { timeout: 900 }, { author: 'bob' });
    const token = 'cli-console-token-0123456789';
    const { result, value } = await withConsole(
      ['--redis', redis.url, '--app', app, '--pages', 'services,config', '--read-write', '--token', token],
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
    expect(printed).toMatch(
      /console on http:\/\/127\.0\.0\.1:\d+ over memory \(services, locks, routes; read-only/,
    );
    expect(printed).toMatch(/log in: http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{20,}/);

    const short = await runBinary(['console', '--backend', 'memory', '--token', 'short']);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('--token');
    const port = await runBinary(['console', '--backend', 'memory', '--port', '70000']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--port');
    const pages = await runBinary(['console', '--backend', 'memory', '--pages', 'services,config']);
    expect(pages.code).toBe(2);
    expect(pages.stderr).toContain('config needs --app');
    const onConsul = await runBinary(['console', '--consul', 'http://127.0.0.1:1', '--pages', 'locks']);
    expect(onConsul.code).toBe(2);
    expect(onConsul.stderr).toContain('locks runs on redis, etcd, memory (not consul)');
    const none = await runBinary(['console']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--backend');
  });
});
