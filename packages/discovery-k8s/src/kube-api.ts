import { CoreV1Api, DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '@switchyard/core';
import { openWatch, type WatchConnection, type WatchEvent } from './watch-request.js';

export interface ListParams {
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  limit?: number;
  continueToken?: string;
}

export interface ListPage {
  readonly items: readonly Record<string, unknown>[];
  readonly resourceVersion: string;
  readonly continueToken: string | undefined;
}

export interface WatchParams {
  resourceVersion: string;
  timeoutSeconds: number;
}

/** List and watch of one resource in one scope (a namespace, or `undefined` for all namespaces). */
export interface ResourceClient {
  /** e.g. `endpointslices in shop`, for messages. */
  readonly what: string;
  list(params: ListParams, signal: AbortSignal): Promise<ListPage>;
  watch(
    params: WatchParams,
    onEvent: (event: WatchEvent) => void,
    options: { signal: AbortSignal; timeout: number },
  ): Promise<WatchConnection>;
}

export type ResourceKind = 'endpointslices' | 'services';

export interface ClientSettings {
  kubeConfig: KubeConfig;
  clock: Clock;
  labelSelector: string | undefined;
  fieldSelector: string | undefined;
}

/** Hands the call's signal to client-node's fetch (its middleware API is the only way in). */
function withSignal(signal: AbortSignal) {
  const pre = (ctx: { setSignal(s: unknown): void }) => {
    ctx.setSignal(signal);
    return { toPromise: () => Promise.resolve(ctx) };
  };
  const post = (ctx: unknown) => ({ toPromise: () => Promise.resolve(ctx) });
  // biome-ignore lint/suspicious/noExplicitAny: client-node's Observable-stub middleware types
  return { middleware: [{ pre, post }], middlewareMergeStrategy: 'append' } as any;
}

function page(list: {
  items?: unknown[];
  metadata?: { resourceVersion?: string; _continue?: string };
}): ListPage {
  return {
    items: (list.items ?? []) as Record<string, unknown>[],
    resourceVersion: list.metadata?.resourceVersion ?? '',
    continueToken: list.metadata?._continue || undefined,
  };
}

/** A `ResourceClient` on client-node: lists through its generated API, watches with the KubeConfig's credentials. */
export function resourceClient(
  kind: ResourceKind,
  namespace: string | undefined,
  s: ClientSettings,
): ResourceClient {
  const discovery = kind === 'endpointslices' ? s.kubeConfig.makeApiClient(DiscoveryV1Api) : undefined;
  const core = kind === 'services' ? s.kubeConfig.makeApiClient(CoreV1Api) : undefined;
  const base = kind === 'endpointslices' ? '/apis/discovery.k8s.io/v1' : '/api/v1';
  const path = `${base}${namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`}/${kind}`;
  const selectors = { labelSelector: s.labelSelector, fieldSelector: s.fieldSelector };
  return {
    what: `${kind} ${namespace === undefined ? 'in all namespaces' : `in ${namespace}`}`,
    async list(p, signal) {
      const args = {
        ...selectors,
        resourceVersion: p.resourceVersion,
        resourceVersionMatch: p.resourceVersionMatch,
        limit: p.limit,
        _continue: p.continueToken,
      };
      const options = withSignal(signal);
      if (discovery) {
        return page(
          namespace === undefined
            ? await discovery.listEndpointSliceForAllNamespaces(args, options)
            : await discovery.listNamespacedEndpointSlice({ ...args, namespace }, options),
        );
      }
      return page(
        namespace === undefined
          ? await core!.listServiceForAllNamespaces(args, options)
          : await core!.listNamespacedService({ ...args, namespace }, options),
      );
    },
    watch(p, onEvent, o) {
      return openWatch(
        s.kubeConfig,
        path,
        {
          ...selectors,
          resourceVersion: p.resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(p.timeoutSeconds),
        },
        onEvent,
        { clock: s.clock, timeout: o.timeout, signal: o.signal },
      );
    },
  };
}
