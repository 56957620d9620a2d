import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConsulDiscovery } from '@switchyard/discovery-consul';
import { type ConsulEmulator, startConsulEmulator } from '@switchyard/testkit/emulators/consul';
import { createTestCertificate } from '@switchyard/testkit/emulators/k8s';
import { makeTempDir } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBinary } from './run-binary.js';

let consul: ConsulEmulator;
let caFile: string;
const TOKEN = 'ops-token';

beforeAll(async () => {
  const cert = createTestCertificate();
  caFile = join(makeTempDir('cli-tls'), 'ca.pem');
  writeFileSync(caFile, cert.cert);
  consul = await startConsulEmulator({ tls: cert, aclToken: TOKEN });
});
afterAll(async () => {
  await consul?.close();
});

describe('TLS and ACL tokens are passed through (Consul emulator over HTTPS with ACLs)', () => {
  it('--tls-ca + --consul-token reach it; no CA or no token: BACKEND_UNAVAILABLE (exit 4) with the cause', async () => {
    await using d = createConsulDiscovery({
      url: consul.url,
      token: TOKEN,
      tls: { ca: readFileSync(caFile) },
    });
    await using _r = await d.register({ id: 'api-1', service: 'api', address: '10.3.0.1', port: 443 });
    expect(consul.url.startsWith('https://')).toBe(true);

    const ok = await runBinary(
      ['discovery', 'resolve', 'api', '--consul', consul.url, '--tls-ca', caFile, '--json'],
      {
        env: { SWITCHYARD_CONSUL_TOKEN: TOKEN },
      },
    );
    expect(ok.code).toBe(0);
    expect(ok.json<{ instances: { id: string }[] }>().instances.map((i) => i.id)).toEqual(['api-1']);

    const noCa = await runBinary([
      'discovery',
      'services',
      '--consul',
      consul.url,
      '--consul-token',
      TOKEN,
      '--timeout',
      '2000',
      '--json',
    ]);
    expect(noCa.code).toBe(4);
    expect(JSON.parse(noCa.stderr).error).toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: expect.stringMatching(/certificate/),
    });

    const noToken = await runBinary([
      'discovery',
      'services',
      '--consul',
      consul.url,
      '--tls-ca',
      caFile,
      '--json',
    ]);
    expect(noToken.code).toBe(4);
    expect(JSON.parse(noToken.stderr).error.message).toContain('403');
  });
});
