import { KubeConfig } from '@kubernetes/client-node';
import { type Clock, invalidArgument, systemClock } from '@switchyard/core';
import { DEFAULT_REQUEST_TIMEOUT, exclusiveOptions, opt, parseOptions } from '@switchyard/core/driver';
import type { AddressType, DrainingPolicy } from './slice-mapping.js';

export const PKG = 'discovery-k8s';

export interface K8sDiscoveryOptions {
  /** Your client-node `KubeConfig` (never modified or closed by us). Excludes `kubeconfig`. */
  client?: KubeConfig;
  /** Path of a kubeconfig file. Without `client` or `kubeconfig`: client-node's `loadFromDefault()` (KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfig?: string;
  /** Namespace of bare service names (default: the kubeconfig context's, in a Pod its own, else `default`). */
  namespace?: string;
  /** One watch of every namespace instead of one per namespace used (needs cluster-wide list/watch RBAC). Default false. */
  allNamespaces?: boolean;
  /** Label selector of the EndpointSlices watched (e.g. `endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io`). */
  labelSelector?: string;
  /** Field selector of the EndpointSlices watched (`metadata.name`, `metadata.namespace`). */
  fieldSelector?: string;
  /** Only Services that pass: a label selector (sent to the API) and annotations that must match exactly. */
  serviceFilter?: { labelSelector?: string; annotations?: Record<string, string> };
  /** Port to use by name (or per service); default: the slice's only port. */
  portName?: string | ((service: string) => string | undefined);
  /** Terminating but serving endpoints: `exclude` (health `maintenance`, default), `serve`, or `fallback` (when nothing else passes). */
  draining?: DrainingPolicy;
  /** Address families to map (default IPv4 and IPv6; FQDN slices on request). */
  addressTypes?: AddressType[];
  /** Region of every instance (a cluster lives in one); a slice annotation `switchyard.io/region` overrides it. */
  region?: string;
  /** Deadline of one API call (a list page, a watch's response headers), ms. Default 5 000. */
  requestTimeout?: number;
  /** How long a read waits for the shared cache's first sync, ms. Default 30 000. */
  syncTimeout?: number;
  /** `limit` of list pages (0: unpaged). Default 500, like client-go's pager. */
  pageSize?: number;
  /** Server-side watch timeout: random in [watchTimeout, 2 × watchTimeout), ms. Default 300 000 (client-go). */
  watchTimeout?: number;
  /** Relist when a watch delivers no event and no bookmark for this long, ms (0: never). Default 150 000. */
  quietTimeout?: number;
  /**
   * Relist this long after the last list even when the watch looks healthy, ms (0: never). Anti-entropy:
   * catches what no watch can report (an apiserver restored onto an older history); what it finds is
   * counted as `missedChanges`. Default 600 000.
   */
  resyncInterval?: number;
  /** Delays between list+watch rounds after failures, ms. Default `{ base: 800, max: 30_000, factor: 2 }` (client-go). */
  backoff?: { base?: number; max?: number; factor?: number; random?: () => number };
  /** How long a namespace's watch keeps running after its last reader when nobody watches, ms. Default 30 000. */
  idleTimeout?: number;
  clock?: Clock;
}

const isKubeConfig = (v: unknown) =>
  v instanceof KubeConfig ||
  (typeof v === 'object' &&
    v !== null &&
    typeof (v as KubeConfig).makeApiClient === 'function' &&
    typeof (v as KubeConfig).applyToHTTPSOptions === 'function');

const K8S_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseK8sOptions(options: K8sDiscoveryOptions) {
  const o = parseOptions(PKG, options, {
    client: opt.instance<KubeConfig>(isKubeConfig, 'a @kubernetes/client-node KubeConfig'),
    kubeconfig: opt.string(),
    namespace: opt.string({ maxLength: 63, pattern: K8S_NAME, hint: 'a Kubernetes namespace name' }),
    allNamespaces: opt.boolean().default(false),
    labelSelector: opt.string(),
    fieldSelector: opt.string(),
    serviceFilter: opt.object({
      labelSelector: opt.string(),
      annotations: opt.custom((v, at) => {
        if (
          typeof v !== 'object' ||
          v === null ||
          Array.isArray(v) ||
          Object.values(v).some((x) => typeof x !== 'string')
        ) {
          throw invalidArgument(at.pkg, at.field, 'must be an object of string values');
        }
        return v as Record<string, string>;
      }),
    }),
    portName: opt.custom((v, at) => {
      if ((typeof v === 'string' && v !== '') || typeof v === 'function')
        return v as K8sDiscoveryOptions['portName'];
      throw invalidArgument(at.pkg, at.field, 'must be a port name or a function of the service name');
    }),
    draining: opt.oneOf(['exclude', 'serve', 'fallback'] as const).default('exclude'),
    addressTypes: opt
      .array(opt.oneOf(['IPv4', 'IPv6', 'FQDN'] as const), { min: 1 })
      .default(['IPv4', 'IPv6']),
    region: opt.string({ maxLength: 253 }),
    requestTimeout: opt.duration().default(DEFAULT_REQUEST_TIMEOUT),
    syncTimeout: opt.duration().default(30_000),
    pageSize: opt.integer(0, 100_000).default(500),
    watchTimeout: opt.duration({ min: 1_000 }).default(300_000),
    quietTimeout: opt.duration({ allowZero: true }).default(150_000),
    resyncInterval: opt.duration({ allowZero: true }).default(600_000),
    backoff: opt.backoff({ base: 800, max: 30_000, factor: 2 }),
    idleTimeout: opt.duration({ allowZero: true }).default(30_000),
    clock: opt.clock().default(systemClock),
  });
  exclusiveOptions(PKG, o, ['client', 'kubeconfig']);
  let kubeConfig = o.client;
  if (!kubeConfig) {
    kubeConfig = new KubeConfig();
    if (o.kubeconfig) kubeConfig.loadFromFile(o.kubeconfig);
    else kubeConfig.loadFromDefault();
  }
  if (!kubeConfig.getCurrentCluster()) {
    throw invalidArgument(
      PKG,
      o.client ? 'client' : 'kubeconfig',
      'has no current cluster (check its current-context)',
    );
  }
  const contextNamespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace?.trim();
  const namespace = o.namespace ?? (contextNamespace || 'default');
  return { ...o, kubeConfig, namespace };
}
