import type { ConfigEntry } from '@switchyard/core';
import { type GrayRule, type InstanceIdentity, matchesGray } from './gray-rule.js';
import {
  DEFAULT_CLUSTER,
  decodeDocument,
  type GrayDocument,
  type ReleaseDocument,
  type ReleaseLayout,
} from './release-layout.js';
import { isSealed, type SecretBox } from './secret-box.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** How one namespace is read and released, the same for the admin and every client. */
export interface NamespaceSpec<S extends StandardSchemaV1 | undefined = StandardSchemaV1 | undefined> {
  /** A Standard Schema (zod, valibot, arktype…) the whole namespace must pass, before apply. */
  schema?: S;
  /** Items stored encrypted (AES-256-GCM); needs a `keyring`. */
  secrets?: string[];
  /** A namespace of the same app and environment whose items this one inherits and overrides. */
  inherits?: string;
  /** Values used for items no release sets. */
  defaults?: Record<string, unknown>;
}

/** Where a resolved value came from. */
export interface Provenance {
  /** Store revision of the release (own namespace, the most specific layer) that produced it. */
  revision: number;
  releaseId: string | undefined;
  author: string | undefined;
  message: string | undefined;
  time: number | undefined;
  cluster: string;
  /** The gray rule that matched this instance, if a gray release applies. */
  gray: GrayRule | undefined;
  /** `store` when read from Redis/etcd, `snapshot` when from the local snapshot file. */
  source: 'store' | 'snapshot';
}

export interface ResolvedNamespace {
  items: Record<string, unknown>;
  provenance: Omit<Provenance, 'source'>;
  /** Store keys this namespace depends on (for watches and snapshots). */
  keys: string[];
  /** The revision of every layer, to tell a real change from a re-delivery. */
  fingerprint: string;
  /** Revision of the gray release applied, if any. */
  grayRevision: number | undefined;
  mainRevision: number;
}

/**
 * The effective items of a namespace for one instance: defaults, then the inherited namespace
 * (default cluster, then this cluster), then the namespace itself (default cluster, then this
 * cluster), then a gray release whose rule matches the instance; secrets decrypted.
 */
export function resolveNamespace(input: {
  layout: ReleaseLayout;
  env: string;
  cluster: string;
  namespace: string;
  spec: NamespaceSpec;
  instance: InstanceIdentity | undefined;
  box: SecretBox | undefined;
  lookup: (key: string) => ConfigEntry | undefined;
}): ResolvedNamespace {
  const { layout, env, cluster, namespace, spec, lookup } = input;
  const clusters = cluster === DEFAULT_CLUSTER ? [DEFAULT_CLUSTER] : [DEFAULT_CLUSTER, cluster];
  const keys: string[] = [];
  const items: Record<string, unknown> = { ...spec.defaults };
  const fp: string[] = [];
  const layer = (ns: string) => {
    let last: { entry: ConfigEntry; doc: ReleaseDocument; cluster: string } | undefined;
    for (const c of clusters) {
      const key = layout.release({ env, cluster: c, namespace: ns });
      keys.push(key);
      const entry = lookup(key);
      fp.push(String(entry?.revision ?? 0));
      const doc = decodeDocument<ReleaseDocument>(entry);
      if (entry && doc) {
        Object.assign(items, open(doc.items, input, ns));
        last = { entry, doc, cluster: c };
      }
    }
    return last;
  };
  if (spec.inherits) layer(spec.inherits);
  const own = layer(namespace);
  let gray: GrayDocument | undefined;
  let grayRevision: number | undefined;
  if (input.instance) {
    for (const c of clusters) {
      const key = layout.gray({ env, cluster: c, namespace });
      keys.push(key);
      const entry = lookup(key);
      fp.push(String(entry?.revision ?? 0));
      const doc = decodeDocument<GrayDocument>(entry);
      if (entry && doc && matchesGray(doc.rule, namespace, input.instance)) {
        gray = doc;
        grayRevision = entry.revision;
      }
    }
    if (gray) Object.assign(items, open(gray.items, input, namespace));
  }
  const top = gray ?? own?.doc;
  return {
    items,
    keys,
    fingerprint: fp.join(','),
    grayRevision,
    mainRevision: own?.entry.revision ?? 0,
    provenance: {
      revision: grayRevision ?? own?.entry.revision ?? 0,
      releaseId: top?.id,
      author: top?.author,
      message: top?.message,
      time: top?.time,
      cluster: own?.cluster ?? DEFAULT_CLUSTER,
      gray: gray?.rule,
    },
  };
}

function open(
  items: Record<string, unknown>,
  input: { layout: ReleaseLayout; env: string; box: SecretBox | undefined },
  namespace: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(items)) {
    if (!isSealed(v)) out[k] = v;
    else if (!input.box) throw new Error(`${k} is a secret and this client has no keyring`);
    else out[k] = input.box.open(v, secretLocation(input.layout.app, input.env, namespace, k));
  }
  return out;
}

export function secretLocation(app: string, env: string, namespace: string, item: string): string {
  return `${app}/${env}/${namespace}/${item}`;
}
