import { invalidArgument } from '@switchyard/core';

/** A Kubernetes Service as a Switchyard service name: `name` (default namespace) or `name.namespace`. */
export interface ServiceRef {
  readonly name: string;
  readonly namespace: string;
  /** `namespace/name`, the key of the shared cache. */
  readonly key: string;
}

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Parses `web` or `web.shop`; both parts must be Kubernetes names (RFC 1123 labels). */
export function parseServiceName(pkg: string, service: string, defaultNamespace: string): ServiceRef {
  const dot = service.indexOf('.');
  const name = dot < 0 ? service : service.slice(0, dot);
  const namespace = dot < 0 ? defaultNamespace : service.slice(dot + 1);
  if (!LABEL.test(name) || name.length > 63 || !LABEL.test(namespace) || namespace.length > 63) {
    throw invalidArgument(
      pkg,
      'service',
      `must be "<service>" or "<service>.<namespace>" with lower-case Kubernetes names, got ${JSON.stringify(service)}`,
    );
  }
  return { name, namespace, key: `${namespace}/${name}` };
}

/** The Switchyard name of a Service: bare in the default namespace, `name.namespace` elsewhere. */
export function serviceNameOf(namespace: string, name: string, defaultNamespace: string): string {
  return namespace === defaultNamespace ? name : `${name}.${namespace}`;
}
