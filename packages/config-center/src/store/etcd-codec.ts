import type { ConfigEntry, ConfigHistoryRecord } from '@switchyard/core';

/** What an etcd value holds besides etcd's own revisions: the value and who wrote it. */
interface Envelope {
  v: string;
  a?: string;
  m?: string;
  t: number;
}

interface HistoryEnvelope extends Envelope {
  type: 'put' | 'delete';
  key: string;
  cr: number;
  ver: number;
}

export interface EtcdKv {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
  create_revision: string;
  version: string;
}

/** Key layout and value encoding of the etcd config store. */
export class EtcdCodec {
  constructor(readonly prefix: string) {}

  dataKey(key: string): string {
    return `${this.prefix}/kv/${key}`;
  }

  dataPrefix(prefix: string): string {
    return `${this.prefix}/kv/${prefix}`;
  }

  /** Every history record of every key starting with `prefix` (encoding is per character). */
  historyWatchPrefix(prefix: string): string {
    return `${this.prefix}/h/${encodeURIComponent(prefix)}`;
  }

  historyPrefix(key: string): string {
    return `${this.prefix}/h/${encodeURIComponent(key)}/`;
  }

  envelope(value: string, author: string | undefined, message: string | undefined, now: number): string {
    const e: Envelope = { v: value, t: now };
    if (author !== undefined) e.a = author;
    if (message !== undefined) e.m = message;
    return JSON.stringify(e);
  }

  historyRecord(type: 'put' | 'delete', entry: Omit<ConfigEntry, 'revision'>): string {
    const h: HistoryEnvelope = {
      type,
      key: entry.key,
      v: entry.value,
      t: entry.updatedAt,
      cr: entry.createRevision,
      ver: entry.version,
    };
    if (entry.author !== undefined) h.a = entry.author;
    if (entry.message !== undefined) h.m = entry.message;
    return JSON.stringify(h);
  }

  /** The entry a data key holds (`revision` overrides for a delete, whose kv is the previous one). */
  entry(kv: EtcdKv, revision?: number): ConfigEntry {
    const key = kv.key.toString().slice(this.prefix.length + 4);
    const e = JSON.parse(kv.value.toString()) as Envelope;
    return Object.freeze({
      key,
      value: e.v,
      revision: revision ?? Number(kv.mod_revision),
      createRevision: Number(kv.create_revision),
      version: Number(kv.version),
      author: e.a,
      message: e.m,
      updatedAt: e.t,
    });
  }

  history(kv: EtcdKv): ConfigHistoryRecord {
    const h = JSON.parse(kv.value.toString()) as HistoryEnvelope;
    return Object.freeze({
      type: h.type,
      key: h.key,
      value: h.v,
      revision: Number(kv.mod_revision),
      createRevision: h.cr || Number(kv.mod_revision),
      version: h.ver,
      author: h.a,
      message: h.m,
      updatedAt: h.t,
    });
  }
}
