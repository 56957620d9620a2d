import { runDiscoveryConformance } from '@switchyard/testkit/conformance';
import { afterAll } from 'vitest';
import { createK8sDiscovery } from '../src/index.js';
import { sliceRegistrar } from './slice-hook.js';
import { type K8sTarget, REAL_CLUSTER, startTarget } from './target.js';

// A real cluster when KUBECONFIG is set, otherwise the testkit emulator (see target.ts).
let target: K8sTarget | undefined;
afterAll(async () => {
  await target?.close();
});

runDiscoveryConformance({
  name: REAL_CLUSTER ? `kubernetes (cluster from KUBECONFIG)` : 'kubernetes (emulator)',
  readOnly: true,
  healthStates: ['passing', 'critical', 'maintenance'],
  ownMetadata: /^k8s\./,
  ttlGranularity: 'seconds',
  create: async () => {
    target ??= await startTarget();
    const t = target;
    const options = { namespace: t.namespace, backoff: { base: 50, max: 500 }, idleTimeout: 0 };
    const a = createK8sDiscovery({ ...options, client: t.kubeConfig() });
    const b = createK8sDiscovery({ ...options, client: t.kubeConfig() });
    const hook = sliceRegistrar(t.kubeConfig(), t.namespace);
    const emulator = t.emulator;
    return {
      a,
      b,
      register: hook.register,
      cleanup: async () => {
        await Promise.all([a.close(), b.close(), hook.cleanup()]);
      },
      // Only the emulator can be restarted from a test; against a real cluster this check is not run.
      interrupt: emulator ? () => emulator.restart() : undefined,
    };
  },
});
