import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createJsonFileRouteSource } from '../src/routes/json-file-route-source.js';
import { parseRoutes } from '../src/routes/route-config.js';
import { Router, upstreamPath } from '../src/routes/router.js';

describe('parseRoutes', () => {
  it('names the bad field', () => {
    const bad: [unknown, RegExp][] = [
      [{}, /routes/],
      [{ routes: [{ name: 'a' }] }, /routes\[0\]\.service/],
      [{ routes: [{ name: 'a', service: 's', pathPrefix: 'x' }] }, /routes\[0\]\.pathPrefix/],
      [{ routes: [{ name: 'a', service: 's', picker: 'best' }] }, /routes\[0\]\.picker/],
      [{ routes: [{ name: 'a', service: 's', sticky: { by: 'header' } }] }, /routes\[0\]\.sticky\.name/],
      [{ routes: [{ name: 'a', service: 's', timeout: -1 }] }, /routes\[0\]\.timeout/],
      [{ routes: [{ name: 'a', service: 's', prefix: '/x' }] }, /routes\[0\]\.prefix/],
      [
        {
          routes: [
            { name: 'a', service: 's' },
            { name: 'a', service: 't' },
          ],
        },
        /routes\[1\]\.name.*duplicates/,
      ],
    ];
    for (const [input, re] of bad) {
      expect(() => parseRoutes(input)).toThrow(re);
      expect(() => parseRoutes(input)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

describe('Router', () => {
  const router = new Router(
    parseRoutes({
      routes: [
        { name: 'any', service: 'fallback' },
        { name: 'api', pathPrefix: '/api/', service: 'api', stripPrefix: true },
        { name: 'api-v2', pathPrefix: '/api/v2', service: 'api2' },
        { name: 'wild', host: '*.shop.test', service: 'shop' },
        { name: 'exact', host: 'admin.shop.test', pathPrefix: '/', service: 'admin' },
      ],
    }),
  );
  const m = (host: string | undefined, path: string) => router.match(host, path)?.name;
  it('prefers exact host, then wildcard, then the longest prefix on segment boundaries', () => {
    expect(m('admin.shop.test', '/api')).toBe('exact');
    expect(m('eu.shop.test', '/api')).toBe('wild');
    expect(m('other', '/api/v2/x')).toBe('api-v2');
    expect(m('other', '/api/v1')).toBe('api');
    expect(m('other', '/api?x=1')).toBe('api');
    expect(m('other', '/apix')).toBe('any');
    expect(m(undefined, '/')).toBe('any');
  });
  it('strips the prefix', () => {
    const api = router.routes.find((r) => r.name === 'api')!;
    expect(upstreamPath(api, '/api/users?x=1')).toBe('/users?x=1');
    expect(upstreamPath(api, '/api')).toBe('/');
    expect(upstreamPath(api, '/api?x')).toBe('/?x');
  });
});

describe('JSON file route source', () => {
  it('reloads on change (also on rename-over), keeps the old table on a bad edit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-routes-'));
    const file = join(dir, 'routes.json');
    writeFileSync(file, JSON.stringify({ routes: [{ name: 'a', service: 'a' }] }));
    const errors: unknown[] = [];
    const source = createJsonFileRouteSource({ path: file, debounce: 10, onError: (e) => errors.push(e) });
    try {
      expect(source.current().routes.map((r) => r.name)).toEqual(['a']);
      const next = new Promise((resolve) => source.subscribe(resolve));
      writeFileSync(file, JSON.stringify({ routes: [{ name: 'b', service: 'b' }] }));
      await next;
      expect(source.current().routes.map((r) => r.name)).toEqual(['b']);
      writeFileSync(file, JSON.stringify({ routes: [{ name: 'c' }] }));
      await expect.poll(() => errors.length, { timeout: 2_000 }).toBe(1);
      expect(source.current().routes.map((r) => r.name)).toEqual(['b']);
      const renamed = new Promise((resolve) => source.subscribe(resolve));
      writeFileSync(join(dir, 'tmp.json'), JSON.stringify({ routes: [{ name: 'd', service: 'd' }] }));
      renameSync(join(dir, 'tmp.json'), file);
      await renamed;
      expect(source.current().routes.map((r) => r.name)).toEqual(['d']);
    } finally {
      await source.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unreadable file at start is BACKEND_UNAVAILABLE', () => {
    expect(() => createJsonFileRouteSource({ path: '/nonexistent/routes.json' })).toThrow(
      expect.objectContaining({ code: 'BACKEND_UNAVAILABLE' }),
    );
  });
});
