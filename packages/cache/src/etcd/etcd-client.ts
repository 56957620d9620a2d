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
