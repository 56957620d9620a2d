import { KubeConfig } from '@kubernetes/client-node';
import {
  type K8sEmulator,
  type K8sEmulatorOptions,
  startK8sEmulator,
} from '@switchyard/testkit/emulators/k8s';

/**
 * Where the tests talk to: a real cluster when KUBECONFIG is set (namespace from
 * SWITCHYARD_K8S_NAMESPACE, default `default`), otherwise the testkit emulator over TLS with a
 * bearer token. Fault tests need the emulator's hooks and run only on it.
 */
export interface K8sTarget {
  /** A new KubeConfig for the target (each client gets its own, like separate processes). */
  kubeConfig(): KubeConfig;
  namespace: string;
  emulator: K8sEmulator | undefined;
  close(): Promise<void>;
}

export const REAL_CLUSTER = Boolean(process.env.KUBECONFIG);

export async function startTarget(options: K8sEmulatorOptions = {}): Promise<K8sTarget> {
  if (REAL_CLUSTER) {
    return {
      kubeConfig: () => {
        const kc = new KubeConfig();
        kc.loadFromDefault();
        return kc;
      },
      namespace: process.env.SWITCHYARD_K8S_NAMESPACE ?? 'default',
      emulator: undefined,
      close: async () => {},
    };
  }
  const emulator = await startK8sEmulator({
    tls: true,
    token: 'conformance-token',
    tooLargeWait: 200,
    ...options,
  });
  return {
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromOptions(emulator.kubeconfig({ namespace: 'default' }));
      return kc;
    },
    namespace: 'default',
    emulator,
    close: () => emulator.close(),
  };
}

/** A plain-HTTP emulator and a KubeConfig for it (fault tests: a TCP reset only exists without TLS). */
export async function startEmulator(options: K8sEmulatorOptions = {}) {
  const emulator = await startK8sEmulator({ tooLargeWait: 200, ...options });
  const kubeConfig = () => {
    const kc = new KubeConfig();
    kc.loadFromOptions(emulator.kubeconfig({ namespace: 'default' }));
    return kc;
  };
  return { emulator, kubeConfig };
}

/** Polls `fn` until it returns a truthy value or `timeout` ms pass. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeout = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let seq = 0;
/** A service name unique to this run (a real cluster keeps state between runs). */
export function uniqueService(prefix = 'svc'): string {
  return `${prefix}-${process.pid.toString(36)}-${Date.now().toString(36)}-${++seq}`;
}
