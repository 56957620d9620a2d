import { randomBytes } from 'node:crypto';
import { assertInteger, type Clock, type ConfigStore } from '@switchyard/core';
import type { ReleaseLayout } from './release-layout.js';

export type AuditAction =
  | 'publish'
  | 'rollback'
  | 'auto-rollback'
  | 'gray:start'
  | 'gray:promote'
  | 'gray:abort'
  | 'lock'
  | 'unlock'
  | 'propose'
  | 'approve'
  | 'reject'
  | 'reencrypt';

export interface AuditRecord {
  action: AuditAction;
  actor: string;
  env: string;
  namespace: string;
  cluster: string;
  time: number;
  /** Store revision the action produced, when it wrote a release. */
  revision?: number;
  details?: Record<string, unknown>;
}

export interface AuditQuery {
  env?: string;
  namespace?: string;
  action?: AuditAction;
  actor?: string;
  /** Only records at or after this wall-clock ms. */
  since?: number;
  /** Newest first, at most this many (default 100). */
  limit?: number;
  signal?: AbortSignal;
}

/** Who did what and when: one store key per record under `<app>/@audit/`, so it is shared and queryable. */
export class AuditLog {
  constructor(
    readonly store: ConfigStore,
    readonly layout: ReleaseLayout,
    readonly clock: Clock,
  ) {}

  async record(r: Omit<AuditRecord, 'time'>, signal?: AbortSignal): Promise<AuditRecord> {
    const record: AuditRecord = { ...r, time: this.clock.now() };
    const id = `${String(record.time).padStart(15, '0')}-${randomBytes(4).toString('hex')}`;
    await this.store.put(`${this.layout.auditPrefix()}${id}`, JSON.stringify(record), {
      author: r.actor,
      message: r.action,
      expectedRevision: 0, // a new key: one round trip on etcd
      ...(signal ? { signal } : {}),
    });
    return record;
  }

  async query(q: AuditQuery = {}): Promise<AuditRecord[]> {
    const limit = assertInteger('config-center', 'limit', q.limit ?? 100, 1);
    const { entries } = await this.store.list(
      this.layout.auditPrefix(),
      q.signal ? { signal: q.signal } : {},
    );
    const out: AuditRecord[] = [];
    const newestFirst = [...entries].sort((a, b) => b.revision - a.revision);
    for (const entry of newestFirst) {
      if (out.length >= limit) break;
      const r = JSON.parse(entry.value) as AuditRecord;
      if (q.env !== undefined && r.env !== q.env) continue;
      if (q.namespace !== undefined && r.namespace !== q.namespace) continue;
      if (q.action !== undefined && r.action !== q.action) continue;
      if (q.actor !== undefined && r.actor !== q.actor) continue;
      if (q.since !== undefined && r.time < q.since) continue;
      out.push(r);
    }
    return out;
  }
}
