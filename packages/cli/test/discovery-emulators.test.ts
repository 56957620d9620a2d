import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceSnapshot } from '@switchyard/core';
import { createConsulDiscovery } from '@switchyard/discovery-consul';
import { type ConsulEmulator, startConsulEmulator } from '@switchyard/testkit/emulators/consul';
import { type K8sEmulator, startK8sEmulator } from '@switchyard/testkit/emulators/k8s';
import { makeTempDir } from '@switchyard/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoveryCommandSuite } from './discovery-suite.js';
import { runBinary } from './run-binary.js';

let consul: ConsulEmulator;
let k8s: K8sEmulator;
let kubeconfig: string;

beforeAll(async () => {
  [consul, k8s] = await Promise.all([startConsulEmulator(), startK8sEmulator()]);
  kubeconfig = join(makeTempDir('cli-k8s'), 'kubeconfig.json');
  writeFileSync(kubeconfig, k8s.kubeconfigFile({ namespace: 'shop' }));
});
afterAll(async () => {
  await Promise.all([consul?.close(), k8s?.close()]);
});

describe('switchyard discovery on Consul (HTTP API emulator, built binary)', () => {
  discoveryCommandSuite(
    'consul',
    () => ['--consul', consul.url],
    () => createConsulDiscovery({ url: consul.url }),
  );
});

function slice(service: string, name: string, pods: { pod: string; ip: string; zone: string }[]) {
  return {
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: pods.map((p) => ({
      addresses: [p.ip],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', name: p.pod, namespace: 'shop' },
      zone: p.zone,
    })),
  };
}

describe('switchyard discovery on Kubernetes (API emulator, built binary)', () => {
  it('resolve and watch EndpointSlices; register is UNSUPPORTED (exit 6)', async () => {
    k8s.apply(slice('cart', 'cart-1', [{ pod: 'cart-a', ip: '10.2.0.1', zone: 'eu-1a' }]));
    const flags = ['--kubeconfig', kubeconfig];
    const resolve = await runBinary(['discovery', 'resolve', 'cart', ...flags, '--json']);
    expect(resolve.code).toBe(0);
    expect(resolve.json<ServiceSnapshot>().instances).toEqual([
      expect.objectContaining({ address: '10.2.0.1', port: 8080, zone: 'eu-1a' }),
    ]);

    const watch = runBinary(['discovery', 'watch', 'cart', '--count', '2', '--json'], {
      env: { SWITCHYARD_KUBECONFIG: kubeconfig, SWITCHYARD_BACKEND: 'k8s' },
      onStdout: () => {
        k8s.apply(slice('cart', 'cart-2', [{ pod: 'cart-b', ip: '10.2.0.2', zone: 'eu-1b' }]));
      },
    });
    const frames = (await watch).lines<ServiceSnapshot>();
    expect(frames.map((f) => f.instances.map((i) => i.address).sort())).toEqual([
      ['10.2.0.1'],
      ['10.2.0.1', '10.2.0.2'],
    ]);

    const other = await runBinary(['discovery', 'resolve', 'cart', ...flags, '--k8s-namespace', 'default']);
    expect(other.code).toBe(3);

    const register = await runBinary(['discovery', 'register', 'cart', '--port', '1', ...flags, '--json']);
    expect(register.code).toBe(6);
    expect(JSON.parse(register.stderr).error.code).toBe('UNSUPPORTED');
  });
});
