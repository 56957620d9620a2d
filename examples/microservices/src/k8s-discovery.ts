import type {
  DiscoveryBackend,
  InstanceHealth,
  InstanceInput,
  Registration,
  ServiceInstance,
} from '@switchyard/core';

/**
 * Opt-in: run the demo's discovery on Kubernetes EndpointSlices, against the testkit's Kubernetes
 * API emulator (no cluster needed):
 *
 *   pnpm demo --backend k8s          (or SWITCHYARD_DEMO_BACKEND=k8s pnpm demo)
 *
 * The gateway reads through `@switchyard/discovery-k8s` over HTTPS with a bearer token, exactly as
 * it would against a kube-apiserver. Kubernetes registers Pods itself (the backend's `register` is
 * UNSUPPORTED), so here a tiny stand-in for the EndpointSlice controller turns each orders
 * instance's "registration" into an EndpointSlice (readiness = health, zone, tags and metadata in
 * `switchyard.io/*` annotations) and deletes it when the instance stops.
 */
export function k8sBackendRequested(
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const i = argv.indexOf('--backend');
  const arg = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--backend='))?.slice(10);
  return (arg ?? env.SWITCHYARD_DEMO_BACKEND) === 'k8s';
}

/** Where the demo's processes get their discovery clients from. */
export interface DemoDiscovery {
  /** One client, as one process would open it. */
  connect(): DiscoveryBackend;
  /** Stops what `connect` needs (after every client is closed). */
  close(): Promise<void>;
  readonly description: string;
}

const NAMESPACE = 'default';

function conditions(health: InstanceHealth) {
  if (health === 'passing') return { ready: true, serving: true, terminating: false };
  // Maintenance reads back as a draining Pod: terminating, still serving.
  if (health === 'maintenance') return { ready: false, serving: true, terminating: true };
  return { ready: false, serving: false, terminating: false };
}

function sliceOf(input: InstanceInput, health: InstanceHealth) {
  const annotations: Record<string, string> = {};
  if (input.tags?.length) annotations['switchyard.io/tags'] = input.tags.join(',');
  for (const [k, v] of Object.entries(input.metadata ?? {})) annotations[`switchyard.io/meta.${k}`] = v;
  return {
    kind: 'EndpointSlice',
    metadata: {
      name: `${input.service}-${input.id}`,
      namespace: NAMESPACE,
      labels: {
        'kubernetes.io/service-name': input.service,
        'endpointslice.kubernetes.io/managed-by': 'switchyard-demo',
      },
      annotations,
    },
    addressType: input.address.includes(':') ? 'IPv6' : 'IPv4',
    ports: [{ name: 'http', port: input.port, protocol: 'TCP' }],
    endpoints: [
      {
        addresses: [input.address],
        conditions: conditions(health),
        ...(input.zone ? { zone: input.zone } : {}),
        targetRef: { kind: 'Pod', name: input.id, namespace: NAMESPACE },
      },
    ],
  };
}

/** Starts the emulator and returns the clients' factory; `close()` stops the emulator. */
export async function startK8sDemoDiscovery(): Promise<DemoDiscovery> {
  // Loaded only on request: the default in-memory demo never touches client-node or the emulator.
  const [{ KubeConfig }, { createK8sDiscovery }, { startK8sEmulator }] = await Promise.all([
    import('@kubernetes/client-node'),
    import('@switchyard/discovery-k8s'),
    import('@switchyard/testkit/emulators/k8s'),
  ]);
  const emulator = await startK8sEmulator({ tls: true, token: 'switchyard-demo', bookmarkInterval: 10_000 });

  /** The EndpointSlice controller's part: a Pod that is up is an endpoint of its Service. */
  const register = async (input: InstanceInput): Promise<Registration> => {
    let health: InstanceHealth = input.health ?? 'passing';
    emulator.apply(sliceOf(input, health));
    let closed = false;
    const handle: Registration = {
      instance: {
        ...input,
        tags: input.tags ?? [],
        metadata: input.metadata ?? {},
        weight: input.weight ?? 1,
        health,
      } as ServiceInstance,
      async setHealth(next) {
        health = next;
        if (!closed) emulator.apply(sliceOf(input, health));
      },
      on: () => () => {},
      async close() {
        if (closed) return;
        closed = true;
        emulator.remove('EndpointSlice', NAMESPACE, `${input.service}-${input.id}`);
      },
      [Symbol.asyncDispose]: () => handle.close(),
    };
    return handle;
  };

  return {
    description: `Kubernetes EndpointSlices on the testkit API emulator at ${emulator.url}`,
    connect() {
      const kc = new KubeConfig();
      kc.loadFromOptions(emulator.kubeconfig({ namespace: NAMESPACE }));
      const reads = createK8sDiscovery({ client: kc });
      const backend: DiscoveryBackend = {
        name: reads.name,
        capabilities: reads.capabilities,
        register,
        resolve: (service, options) => reads.resolve(service, options),
        watch: (service, options) => reads.watch(service, options),
        services: (options) => reads.services(options),
        close: () => reads.close(),
        [Symbol.asyncDispose]: () => reads.close(),
      };
      return backend;
    },
    close: () => emulator.close(),
  };
}
