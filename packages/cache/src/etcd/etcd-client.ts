import { invalidArgument } from '@switchyard/core';
import { Etcd3, type IOptions } from 'etcd3';

export function isEtcdClient(value: unknown): boolean {
  const c = value as Partial<Etcd3> | null;
  return typeof c === 'object' && c !== null && typeof c.watch === 'function' && typeof c.kv === 'object';
}

/** The user's `Etcd3` (never closed by us), or one we create from `hosts` (closed by `close()`). */
export function resolveEtcdClient(
  pkg: string,
  o: { client?: Etcd3 | undefined; hosts?: string[] | undefined; clientOptions?: IOptions | undefined },
): { client: Etcd3; owned: boolean } {
  if (o.client) return { client: o.client, owned: false };
  if (!o.hosts) throw invalidArgument(pkg, 'client', 'is required (or hosts)');
  return { client: new Etcd3({ ...o.clientOptions, hosts: o.hosts }), owned: true };
}

/** `hosts`: one endpoint or a list of them. */
export function hostsOption(value: unknown, at: { pkg: string; field: string }): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.some((h) => typeof h !== 'string' || h === '')) {
    throw invalidArgument(at.pkg, at.field, 'must be an endpoint or a non-empty array of endpoints');
  }
  return list as string[];
}
