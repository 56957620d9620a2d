import { subscribeDiagnostic } from '@switchyard/core';
// The type import brings stateful-route's diagnostics channel names (`switchyard:link:moved`…) into core's map.
import type {} from '@switchyard/stateful-route';

/** One placement or move of a user, as a route client in this process reported it. */
export interface MoveEntry {
  readonly at: string;
  readonly kind: 'created' | 'moved';
  readonly pod: string;
  readonly from?: string;
  readonly reason?: string;
}

const PER_USER = 20;
const USERS = 10_000;

/**
 * A user's link history as seen on `node:diagnostics_channel`: every `RouteClient` in this process
 * publishes `switchyard:link:created` and `switchyard:link:moved` there. The store keeps only the
 * current link, so this is all the history there is; a console in another process sees none.
 * Bounded: the last 20 entries of the 10 000 most recently active users.
 */
export class MoveHistory {
  readonly #users = new Map<string, MoveEntry[]>();
  readonly #off: (() => void)[];

  constructor() {
    this.#off = [
      subscribeDiagnostic('switchyard:link:created', (e) =>
        this.#add(e.namespace, e.service, e.uid, {
          at: new Date().toISOString(),
          kind: 'created',
          pod: e.pod,
        }),
      ),
      subscribeDiagnostic('switchyard:link:moved', (e) =>
        this.#add(e.namespace, e.service, e.uid, {
          at: new Date().toISOString(),
          kind: 'moved',
          pod: e.pod,
          from: e.from,
          reason: e.reason,
        }),
      ),
    ];
  }

  static key(namespace: string, service: string, uid: string): string {
    return `${namespace}\u0000${service}\u0000${uid}`;
  }

  #add(namespace: string, service: string, uid: string, entry: MoveEntry): void {
    const key = MoveHistory.key(namespace, service, uid);
    const list = this.#users.get(key) ?? [];
    this.#users.delete(key); // re-insert: most recently active last
    list.push(entry);
    if (list.length > PER_USER) list.splice(0, list.length - PER_USER);
    this.#users.set(key, list);
    if (this.#users.size > USERS) this.#users.delete(this.#users.keys().next().value as string);
  }

  of(namespace: string, service: string, uid: string): readonly MoveEntry[] {
    return this.#users.get(MoveHistory.key(namespace, service, uid)) ?? [];
  }

  close(): void {
    for (const off of this.#off) off();
    this.#users.clear();
  }
}
