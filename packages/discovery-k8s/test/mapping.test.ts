import { describe, expect, it } from 'vitest';
import {
  type EndpointSliceLike,
  endpointHealth,
  type MappingOptions,
  mergeInstances,
  pickPort,
  sliceInstances,
} from '../src/slice-mapping.js';

const defaults: MappingOptions = {
  portName: undefined,
  draining: 'exclude',
  addressTypes: ['IPv4', 'IPv6'],
  region: undefined,
};

// kubernetes/website content/en/docs/concepts/services-networking/endpoint-slices.md ("EndpointSlice API").
const DOCS_EXAMPLE: EndpointSliceLike = {
  metadata: {
    name: 'example-abc',
    namespace: 'default',
    labels: { 'kubernetes.io/service-name': 'example' },
  },
  addressType: 'IPv4',
  ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
  endpoints: [
    {
      addresses: ['10.1.2.3'],
      conditions: { ready: true },
      hostname: 'pod-1',
      nodeName: 'node-1',
      zone: 'us-west2-a',
    },
  ],
};

// .../topology-aware-routing.md: an EndpointSlice with hints populated.
const HINTS_EXAMPLE: EndpointSliceLike = {
  metadata: {
    name: 'example-hints',
    namespace: 'default',
    labels: { 'kubernetes.io/service-name': 'example-svc' },
  },
  addressType: 'IPv4',
  ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
  endpoints: [
    {
      addresses: ['10.1.2.3'],
      conditions: { ready: true },
      hostname: 'pod-1',
      zone: 'zone-a',
      hints: { forZones: [{ name: 'zone-a' }] },
    },
  ],
};

// .../service.md "Services without selectors": a manually managed slice, endpoints without conditions.
const MANUAL_EXAMPLE: EndpointSliceLike = {
  metadata: {
    name: 'my-service-1',
    namespace: 'default',
    labels: { 'kubernetes.io/service-name': 'my-service' },
  },
  addressType: 'IPv4',
  ports: [{ name: 'http', appProtocol: 'http', protocol: 'TCP', port: 9376 }],
  endpoints: [{ addresses: ['10.4.5.6'] }, { addresses: ['10.1.2.3'] }],
};

// tutorials/services/pods-and-endpoint-termination-flow.md: a terminating endpoint still serving.
const TERMINATING_EXAMPLE: EndpointSliceLike = {
  metadata: {
    name: 'nginx-service-6tjbr',
    namespace: 'default',
    labels: { 'kubernetes.io/service-name': 'nginx-service' },
  },
  addressType: 'IPv4',
  ports: [{ name: '', port: 80, protocol: 'TCP' }],
  endpoints: [
    {
      addresses: ['10.244.0.6'],
      conditions: { ready: false, serving: true, terminating: true },
      nodeName: 'kind-control-plane',
      targetRef: { kind: 'Pod', name: 'nginx-deployment-7768647bf9-b4b9s', namespace: 'default' },
      zone: 'zone-a',
    },
    {
      addresses: ['10.244.0.12'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'kind-control-plane',
      targetRef: { kind: 'Pod', name: 'nginx-deployment-7768647bf9-rkxlw', namespace: 'default' },
      zone: 'zone-a',
    },
  ],
};

describe('EndpointSlice → instances (documented shapes)', () => {
  it('maps the EndpointSlice API example: address, port, zone, node, hostname', () => {
    const { instances, problem } = sliceInstances('example', DOCS_EXAMPLE, defaults);
    expect(problem).toBeUndefined();
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({
      id: 'pod-1',
      service: 'example',
      address: '10.1.2.3',
      port: 80,
      zone: 'us-west2-a',
      health: 'passing',
      weight: 1,
      tags: [],
    });
    expect(instances[0]!.metadata).toEqual({
      'k8s.namespace': 'default',
      'k8s.slice': 'example-abc',
      'k8s.addressType': 'IPv4',
      'k8s.protocol': 'TCP',
      'k8s.portName': 'http',
      'k8s.ready': 'true',
      'k8s.serving': 'true',
      'k8s.terminating': 'false',
      'k8s.node': 'node-1',
      'k8s.hostname': 'pod-1',
    });
    expect(Object.isFrozen(instances[0])).toBe(true);
    expect(Object.isFrozen(instances[0]!.metadata)).toBe(true);
  });

  it('keeps topology hints (forZones, forNodes) in metadata', () => {
    const [i] = sliceInstances('example-svc', HINTS_EXAMPLE, defaults).instances;
    expect(i!.metadata['k8s.hints.zones']).toBe('zone-a');
    const nodes = {
      ...HINTS_EXAMPLE,
      endpoints: [{ ...HINTS_EXAMPLE.endpoints![0]!, hints: { forNodes: [{ name: 'n1' }, { name: 'n2' }] } }],
    };
    expect(sliceInstances('example-svc', nodes, defaults).instances[0]!.metadata['k8s.hints.nodes']).toBe(
      'n1,n2',
    );
  });

  it('a manually managed slice: nil conditions are ready; ids are the addresses; appProtocol kept', () => {
    const { instances } = sliceInstances('my-service', MANUAL_EXAMPLE, defaults);
    expect(instances.map((i) => [i.id, i.address, i.port, i.health])).toEqual([
      ['10.4.5.6', '10.4.5.6', 9376, 'passing'],
      ['10.1.2.3', '10.1.2.3', 9376, 'passing'],
    ]);
    expect(instances[0]!.metadata['k8s.appProtocol']).toBe('http');
  });

  it('terminating endpoints: maintenance by default, passing with draining "serve", fallback only when nothing else passes', () => {
    const map = (draining: MappingOptions['draining'], slice = TERMINATING_EXAMPLE) =>
      mergeInstances([sliceInstances('nginx-service', slice, { ...defaults, draining }).instances], draining);
    const byPod = (list: ReturnType<typeof map>) => Object.fromEntries(list.map((i) => [i.id, i.health]));
    expect(byPod(map('exclude'))).toEqual({
      'nginx-deployment-7768647bf9-b4b9s': 'maintenance',
      'nginx-deployment-7768647bf9-rkxlw': 'passing',
    });
    expect(byPod(map('serve'))['nginx-deployment-7768647bf9-b4b9s']).toBe('passing');
    expect(byPod(map('fallback'))['nginx-deployment-7768647bf9-b4b9s']).toBe('maintenance');
    const onlyTerminating = { ...TERMINATING_EXAMPLE, endpoints: [TERMINATING_EXAMPLE.endpoints![0]!] };
    expect(byPod(map('fallback', onlyTerminating))).toEqual({
      'nginx-deployment-7768647bf9-b4b9s': 'passing',
    });
    const pod = map('exclude')[0]!;
    expect(pod.metadata).toMatchObject({
      'k8s.pod': 'nginx-deployment-7768647bf9-b4b9s',
      'k8s.node': 'kind-control-plane',
      'k8s.terminating': 'true',
    });
  });

  it('condition table (api reference): nil ready = ready; serving defers to ready; not serving = critical', () => {
    expect(endpointHealth(undefined, 'exclude')).toBe('passing');
    expect(endpointHealth({}, 'exclude')).toBe('passing');
    expect(endpointHealth({ ready: false }, 'exclude')).toBe('critical');
    expect(endpointHealth({ ready: null, serving: null, terminating: null }, 'exclude')).toBe('passing');
    expect(endpointHealth({ terminating: true }, 'serve')).toBe('critical');
    expect(endpointHealth({ ready: false, serving: false, terminating: true }, 'serve')).toBe('critical');
    expect(endpointHealth({ ready: false, serving: true, terminating: true }, 'exclude')).toBe('maintenance');
  });

  it('dual stack: the IPv4 and IPv6 slices of one Pod give two instances; address types can be chosen', () => {
    const pod = { kind: 'Pod', name: 'web-0', namespace: 'default' };
    const v4: EndpointSliceLike = {
      ...DOCS_EXAMPLE,
      metadata: { ...DOCS_EXAMPLE.metadata, name: 'web-v4' },
      endpoints: [{ addresses: ['10.0.0.5'], targetRef: pod }],
    };
    const v6: EndpointSliceLike = {
      ...DOCS_EXAMPLE,
      metadata: { ...DOCS_EXAMPLE.metadata, name: 'web-v6' },
      addressType: 'IPv6',
      endpoints: [{ addresses: ['2001:db8::5'], targetRef: pod }],
    };
    const both = mergeInstances(
      [v4, v6].map((s) => sliceInstances('web', s, defaults).instances),
      'exclude',
    );
    expect(both.map((i) => [i.id, i.address]).sort()).toEqual([
      ['web-0', '10.0.0.5'],
      ['web-0@ipv6', '2001:db8::5'],
    ]);
    const v6only = { ...defaults, addressTypes: ['IPv6' as const] };
    expect(sliceInstances('web', v4, v6only).instances).toEqual([]);
    expect(sliceInstances('web', v6, v6only).instances.map((i) => i.address)).toEqual(['2001:db8::5']);
    const fqdn: EndpointSliceLike = {
      ...DOCS_EXAMPLE,
      addressType: 'FQDN',
      endpoints: [{ addresses: ['db.example.com'] }],
    };
    expect(sliceInstances('web', fqdn, defaults).instances).toEqual([]);
    expect(sliceInstances('web', fqdn, { ...defaults, addressTypes: ['FQDN'] }).instances[0]!.address).toBe(
      'db.example.com',
    );
  });

  it('ports: by name, the only one, the unnamed one; several without portName are a reported problem', () => {
    const multi: EndpointSliceLike = {
      ...DOCS_EXAMPLE,
      ports: [
        { name: 'http', port: 80 },
        { name: 'grpc', port: 9090 },
      ],
    };
    expect(sliceInstances('example', multi, { ...defaults, portName: 'grpc' }).instances[0]!.port).toBe(9090);
    expect(
      sliceInstances('example', multi, {
        ...defaults,
        portName: (s) => (s === 'example' ? 'http' : undefined),
      }).instances[0]!.port,
    ).toBe(80);
    const unnamed = sliceInstances('example', multi, defaults);
    expect(unnamed.instances).toEqual([]);
    expect(unnamed.problem).toMatch(/2 ports \(http, grpc\): set portName/);
    expect(sliceInstances('example', multi, { ...defaults, portName: 'metrics' }).problem).toMatch(
      /no port named "metrics"/,
    );
    expect(pickPort({ ports: [{ name: 'a', port: 1 }, { port: 2 }] }, undefined)).toEqual({
      port: { port: 2 },
    });
    // A nil port means "all ports": there is nothing to dial.
    expect(
      sliceInstances('example', { ...DOCS_EXAMPLE, ports: [{ name: 'x', port: null }] }, defaults).problem,
    ).toMatch(/no port/);
    expect(sliceInstances('example', { ...DOCS_EXAMPLE, ports: null }, defaults).problem).toMatch(/no port/);
  });

  it('labels become metadata (not the controller bookkeeping ones); switchyard.io annotations give tags, weight, region, metadata', () => {
    const s: EndpointSliceLike = {
      ...DOCS_EXAMPLE,
      metadata: {
        ...DOCS_EXAMPLE.metadata,
        labels: {
          'kubernetes.io/service-name': 'example',
          'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
          'app.kubernetes.io/name': 'example',
        },
        annotations: {
          'switchyard.io/tags': 'v2, canary',
          'switchyard.io/weight': '5',
          'switchyard.io/region': 'eu-west',
          'switchyard.io/meta.team': 'payments',
          'endpoints.kubernetes.io/last-change-trigger-time': '2024-01-01T00:00:00Z',
        },
      },
    };
    const [i] = sliceInstances('example', s, { ...defaults, region: 'us-east' }).instances;
    expect(i!.tags).toEqual(['v2', 'canary']);
    expect(i!.weight).toBe(5);
    expect(i!.region).toBe('eu-west');
    expect(i!.metadata.team).toBe('payments');
    expect(i!.metadata['app.kubernetes.io/name']).toBe('example');
    expect(i!.metadata['kubernetes.io/service-name']).toBeUndefined();
    expect(i!.metadata['endpointslice.kubernetes.io/managed-by']).toBeUndefined();
    expect(
      sliceInstances('example', DOCS_EXAMPLE, { ...defaults, region: 'us-east' }).instances[0]!.region,
    ).toBe('us-east');
  });

  it('an endpoint listed by two slices (while the controller moves it) appears once, with its healthiest entry', () => {
    const a = sliceInstances(
      'example',
      {
        ...DOCS_EXAMPLE,
        endpoints: [{ addresses: ['10.1.2.3'], hostname: 'pod-1', conditions: { ready: false } }],
      },
      defaults,
    );
    const b = sliceInstances('example', DOCS_EXAMPLE, defaults);
    const merged = mergeInstances([a.instances, b.instances], 'exclude');
    expect(merged.map((i) => [i.id, i.health])).toEqual([['pod-1', 'passing']]);
  });
});
