import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryDiscovery } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { loadServiceConfig, startDnsServer, startRegistrationApi } from '../src/index.js';
import { dig, eventually, header, short, sleep } from './dig.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-dns-config-'));

describe('configuration (YAML file, then SWITCHYARD_* variables)', () => {
  it('merges the file and the environment, with defaults', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(
      file,
      'dns:\n  zone: svc.example.\n  port: 5400\n  upstreams: [127.0.0.53]\nhttp:\n  port: 8100\n',
    );
    const c = loadServiceConfig({
      file,
      env: {
        SWITCHYARD_DNS_PORT: '5500',
        SWITCHYARD_DNS_NEGATIVE_TTL: '2000',
        SWITCHYARD_HTTP_ENABLED: 'false',
      },
    });
    expect(c.dns).toMatchObject({
      zone: 'svc.example.',
      port: 5500,
      negativeTtl: 2000,
      ttl: 5000,
      upstreams: ['127.0.0.53'],
    });
    expect(c.http).toMatchObject({ enabled: false, port: 8100, ttl: 10_000 });
    expect(c.registry.backend).toBe('memory');
  });

  it('names the field and where the bad value came from', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'dns:\n  zone: svc.example.\n  ttll: 5\n');
    expect(() => loadServiceConfig({ file, env: {} })).toThrow(/dns\.ttll.*bad\.yaml/);
    expect(() =>
      loadServiceConfig({ env: { SWITCHYARD_DNS_ZONE: 'z.test', SWITCHYARD_DNS_PORT: 'x' } }),
    ).toThrow(/dns\.port.*SWITCHYARD_DNS_PORT/);
    expect(() => loadServiceConfig({ env: {} })).toThrow(/dns/);
    writeFileSync(join(dir, 'broken.yaml'), 'dns: [unclosed');
    expect(() => loadServiceConfig({ file: join(dir, 'broken.yaml'), env: {} })).toThrow(/not valid YAML/);
  });
});

describe('HTTP registration API (seed 004) in front of the DNS server', () => {
  it('register → dig answers; heartbeats keep it; silence removes it after its ttl; DELETE removes it', async () => {
    await using memory = createMemoryDiscovery();
    await using api = await startRegistrationApi({ discovery: memory, ttl: 1_000 });
    await using dns = await startDnsServer({ discovery: memory, zone: 'api.test', missRefresh: 0 });
    const base = `http://127.0.0.1:${api.port}/api/v1/services`;
    const post = (body: unknown) => fetch(base, { method: 'POST', body: JSON.stringify(body) });

    const bad = await post({ service: 'web', address: '10.0.0.1', port: 70_000 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { field: string }).field).toBe('instance.port');
    expect((await fetch(base, { method: 'POST', body: 'nope' })).status).toBe(400);

    const created = await post({ id: 'w1', service: 'web', address: '10.0.0.1', port: 80, tags: ['http'] });
    expect(created.status).toBe(201);
    expect((await post({ id: 'w1', service: 'web', address: '10.0.0.1', port: 80 })).status).toBe(409);
    expect(await short(dns.port, 'web.api.test')).toEqual(['10.0.0.1']);
    expect(((await (await fetch(base)).json()) as { services: string[] }).services).toEqual(['web']);

    for (let i = 0; i < 4; i++) {
      await sleep(400);
      expect((await fetch(`${base}/web/w1/heartbeat`, { method: 'PUT' })).status).toBe(200);
    }
    expect(await short(dns.port, 'web.api.test')).toEqual(['10.0.0.1']);

    const health = await fetch(`${base}/web/w1/health`, {
      method: 'PUT',
      body: JSON.stringify({ health: 'critical' }),
    });
    expect(health.status).toBe(200);
    await eventually(async () => (await short(dns.port, 'web.api.test')).length === 0);
    const listed = (await (await fetch(`${base}/web`)).json()) as {
      instances: { id: string; health: string }[];
    };
    expect(listed.instances.map((i) => `${i.id}:${i.health}`)).toEqual(['w1:critical']);

    // No heartbeat: gone after the ttl.
    await eventually(
      async () => header(await dig(dns.port, ['web.api.test', 'A'])).status === 'NXDOMAIN',
      3_000,
    );
    expect(api.size).toBe(0);
    expect((await fetch(`${base}/web/w1/heartbeat`, { method: 'PUT' })).status).toBe(404);

    await post({ id: 'w2', service: 'web', address: '10.0.0.2', port: 80 });
    expect(await short(dns.port, 'web.api.test')).toEqual(['10.0.0.2']);
    expect((await fetch(`${base}/web/w2`, { method: 'DELETE' })).status).toBe(204);
    await eventually(async () => header(await dig(dns.port, ['web.api.test', 'A'])).status === 'NXDOMAIN');
  });
});

describe('switchyard-dns process', () => {
  it('starts from the environment, serves, and exits 0 on SIGTERM', async () => {
    const bin = fileURLToPath(new URL('../src/bin/switchyard-dns.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=switchyard-source', bin], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: {
        ...process.env,
        SWITCHYARD_DNS_ZONE: 'bin.test',
        SWITCHYARD_DNS_PORT: '0',
        SWITCHYARD_HTTP_PORT: '0',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    try {
      await eventually(() => /registration API/.test(err), 20_000);
      const dnsPort = Number(/:(\d+) \(udp, tcp\)/.exec(err)?.[1]);
      const httpPort = Number(/http:\/\/127\.0\.0\.1:(\d+)/.exec(err)?.[1]);
      const r = await fetch(`http://127.0.0.1:${httpPort}/api/v1/services`, {
        method: 'POST',
        body: JSON.stringify({ service: 'job', address: '10.9.0.1', port: 9 }),
      });
      expect(r.status).toBe(201);
      expect(await short(dnsPort, 'job.bin.test')).toEqual(['10.9.0.1']);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(err).toMatch(/stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 30_000);

  it('a bad configuration exits 2 with the field in the message', async () => {
    const bin = fileURLToPath(new URL('../src/bin/switchyard-dns.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=switchyard-source', bin], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, SWITCHYARD_DNS_ZONE: 'bin.test', SWITCHYARD_DNS_TTL: '-5' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(err).toMatch(/dns\.ttl.*SWITCHYARD_DNS_TTL/);
  }, 30_000);
});
