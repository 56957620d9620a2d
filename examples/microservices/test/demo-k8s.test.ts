import { expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';
import { k8sBackendRequested, startK8sDemoDiscovery } from '../src/k8s-discovery.js';

it('the demo runs end to end with its gateway on discovery-k8s over the Kubernetes API emulator (--backend k8s)', async () => {
  expect(k8sBackendRequested(['--backend', 'k8s'], {})).toBe(true);
  expect(k8sBackendRequested(['--backend=k8s'], {})).toBe(true);
  expect(k8sBackendRequested([], { SWITCHYARD_DEMO_BACKEND: 'k8s' })).toBe(true);
  expect(k8sBackendRequested([], {})).toBe(false);
  const discovery = await startK8sDemoDiscovery();
  const gatewaySaw: string[] = [];
  const result = await runDemo(
    (line) => {
      if (line.includes('gateway:')) gatewaySaw.push(line);
    },
    { discovery },
  );
  expect(result.instancesSeen).toBe(3);
  expect(result.instancesAfterShutdown).toBe(2);
  expect(result.pulledOut).toEqual(['orders-1', 'orders-3']);
  expect(result.responses).toHaveLength(30);
  // The gateway's view came from the watch (EndpointSlice events), not from the in-memory registry.
  expect(gatewaySaw.some((l) => l.includes('/watch ') && l.includes('-[orders-3@zone-b]'))).toBe(true);
});
