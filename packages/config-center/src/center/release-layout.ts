import { gunzipSync, gzipSync } from 'node:zlib';
import { type ConfigEntry, invalidArgument, SwitchyardError } from '@switchyard/core';
import type { GrayRule } from './gray-rule.js';

const PKG = 'config-center';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const DEFAULT_CLUSTER = 'default';

/** Which namespace: application × environment × cluster × namespace. */
export interface NamespaceRef {
  env: string;
  namespace: string;
  /** Default `default`. */
  cluster?: string;
}

/** A release as stored: every item of the namespace, released together. */
export interface ReleaseDocument {
  /** Unique id of this release (`rel-…`). */
  id: string;
  items: Record<string, unknown>;
  author?: string;
  message?: string;
  time: number;
  /** The release this one rolled back to, if any. */
  rollbackOf?: number;
}

/** A gray release: items merged over the main release for the instances its rule matches. */
export interface GrayDocument extends ReleaseDocument {
  rule: GrayRule;
  /** Revision of the main release it was started on. */
  baseRevision: number;
}

export interface LockDocument {
  holder: string;
  expiresAt: number;
}

export interface ProposalDocument {
  items: Record<string, unknown>;
  author: string;
  message?: string;
  time: number;
  /** The main release revision it was proposed on (CAS when approved). */
  baseRevision: number;
}

export function assertName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw invalidArgument(PKG, field, `must match ${NAME.source}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function assertRef(ref: NamespaceRef, field = 'ref'): Required<NamespaceRef> {
  if (typeof ref !== 'object' || ref === null)
    throw invalidArgument(PKG, field, 'must be { env, namespace, cluster? }');
  return {
    env: assertName(`${field}.env`, ref.env),
    namespace: assertName(`${field}.namespace`, ref.namespace),
    cluster: ref.cluster === undefined ? DEFAULT_CLUSTER : assertName(`${field}.cluster`, ref.cluster),
  };
}

/** Store keys of one application. */
export class ReleaseLayout {
  constructor(readonly app: string) {}

  envPrefix(env: string): string {
    return `${this.app}/${env}/`;
  }
  release(r: Required<NamespaceRef>): string {
    return `${this.app}/${r.env}/${r.cluster}/${r.namespace}`;
  }
  gray(r: Required<NamespaceRef>): string {
    return `${this.release(r)}@gray`;
  }
  lock(r: Required<NamespaceRef>): string {
    return `${this.release(r)}@lock`;
  }
  proposal(r: Required<NamespaceRef>): string {
    return `${this.release(r)}@proposal`;
  }
  auditPrefix(): string {
    return `${this.app}/@audit/`;
  }
}

/** Namespaces whose items serialize to more than this are stored gzip-compressed (default 32 KiB). */
export const DEFAULT_COMPRESS_ABOVE = 32 * 1024;

/** A document as stored: `items` replaced by `itemsGz` (base64 gzip of the items' JSON) when large. */
export function encodeDocument(
  doc: { items: Record<string, unknown> },
  compressAbove = DEFAULT_COMPRESS_ABOVE,
): string {
  const json = JSON.stringify(doc);
  if (json.length <= compressAbove) return json;
  const { items, ...rest } = doc;
  return JSON.stringify({ ...rest, itemsGz: gzipSync(JSON.stringify(items)).toString('base64') });
}

export function decodeDocument<T>(entry: ConfigEntry | undefined): T | undefined {
  if (!entry) return undefined;
  try {
    const doc = JSON.parse(entry.value) as { items?: unknown; itemsGz?: string };
    if (typeof doc.itemsGz === 'string') {
      doc.items = JSON.parse(gunzipSync(Buffer.from(doc.itemsGz, 'base64')).toString('utf8'));
      delete doc.itemsGz;
    }
    return doc as T;
  } catch (cause) {
    throw new SwitchyardError(
      'INTERNAL',
      `[${PKG}] "${entry.key}" at revision ${entry.revision} is not a release document`,
      {
        cause,
      },
    );
  }
}

export function assertItems(items: unknown, field = 'items'): Record<string, unknown> {
  if (typeof items !== 'object' || items === null || Array.isArray(items)) {
    throw invalidArgument(PKG, field, 'must be a plain object of item → JSON value');
  }
  for (const [k, v] of Object.entries(items)) {
    if (k === '' || k.length > 256)
      throw invalidArgument(PKG, `${field}.${k}`, 'item names are 1..256 characters');
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') {
      throw invalidArgument(PKG, `${field}.${k}`, 'must be a JSON value');
    }
  }
  return items as Record<string, unknown>;
}
