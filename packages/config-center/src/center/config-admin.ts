import { type Clock, type ConfigStore, invalidArgument, SwitchyardError } from '@switchyard/core';
import { createAdminContext, MASK } from './admin-context.js';
import { workflowOperations } from './admin-workflow.js';
import type { AuditQuery, AuditRecord } from './audit-log.js';
import type { GrayRule } from './gray-rule.js';
import type { NamespaceSpec } from './namespace-resolver.js';
import { diffItems, type ItemsDiff } from './release-diff.js';
import {
  assertItems,
  assertName,
  assertRef,
  decodeDocument,
  type GrayDocument,
  type NamespaceRef,
  type ReleaseDocument,
} from './release-layout.js';
import { isSealed, type Keyring } from './secret-box.js';

export { MASK };

const PKG = 'config-center';

export interface ConfigAdminOptions {
  store: ConfigStore;
  app: string;
  /** How each namespace is validated and which items are secret (the same specs the clients use). */
  namespaces?: Record<string, NamespaceSpec>;
  keyring?: Keyring;
  /** Store a release gzip-compressed when its items serialize to more than this many bytes (default 32 KiB). */
  compressAbove?: number;
  clock?: Clock;
}

export interface WriteAs {
  /** Who does it: recorded on the release and in the audit log. */
  author: string;
  message?: string;
  signal?: AbortSignal;
}

/** A release as an operator sees it: secrets masked. */
export interface ReleaseView {
  revision: number;
  id: string;
  items: Record<string, unknown>;
  author: string | undefined;
  message: string | undefined;
  time: number;
  rollbackOf?: number | undefined;
}

/** A gray release as an operator sees it: its overlay items (secrets masked), rule and base. */
export interface GrayView extends ReleaseView {
  rule: GrayRule;
  /** Revision of the main release it was started on. */
  baseRevision: number;
}

/** A namespace that has a release or a gray release in the store. */
export interface NamespaceSummary {
  env: string;
  cluster: string;
  namespace: string;
  /** Store revision of the live release (0: only a gray release). */
  revision: number;
  gray: boolean;
}

/** The operator side: publish, history, diff, rollback, gray, lock, approval, audit. */
export interface ConfigAdmin {
  publish(
    ref: NamespaceRef,
    items: Record<string, unknown>,
    o: WriteAs & { expectedRevision?: number; lockHolder?: string },
  ): Promise<ReleaseView>;
  /**
   * Dry run ("shadow apply"): what publishing `items` would change and whether every client would
   * accept it, without writing anything. `baseRevision` is the CAS value for the real publish.
   */
  preview(
    ref: NamespaceRef,
    items: Record<string, unknown>,
    o?: { signal?: AbortSignal },
  ): Promise<{ valid: boolean; issues: string[]; diff: ItemsDiff; baseRevision: number }>;
  get(ref: NamespaceRef, o?: { signal?: AbortSignal }): Promise<ReleaseView | undefined>;
  /** The running gray release of the namespace (secrets masked), if any. */
  gray(ref: NamespaceRef, o?: { signal?: AbortSignal }): Promise<GrayView | undefined>;
  /** Namespaces with a release or gray release, per environment and cluster (one env, or all). */
  namespaces(o?: { env?: string; signal?: AbortSignal }): Promise<NamespaceSummary[]>;
  history(ref: NamespaceRef, o?: { limit?: number; signal?: AbortSignal }): Promise<ReleaseView[]>;
  diff(
    ref: NamespaceRef,
    fromRevision: number,
    toRevision: number,
    o?: { signal?: AbortSignal },
  ): Promise<ItemsDiff>;
  diffEnvironments(
    namespace: string,
    fromEnv: string,
    toEnv: string,
    o?: { cluster?: string; signal?: AbortSignal },
  ): Promise<ItemsDiff>;
  rollback(ref: NamespaceRef, revision: number, o: WriteAs): Promise<ReleaseView>;
  startGray(
    ref: NamespaceRef,
    items: Record<string, unknown>,
    rule: GrayRule,
    o: WriteAs,
  ): Promise<ReleaseView>;
  promoteGray(ref: NamespaceRef, o: WriteAs): Promise<ReleaseView>;
  abortGray(
    ref: NamespaceRef,
    o: WriteAs & { expectedRevision?: number; automatic?: boolean },
  ): Promise<boolean>;
  lock(ref: NamespaceRef, o: { holder: string; ttl?: number; signal?: AbortSignal }): Promise<void>;
  unlock(ref: NamespaceRef, o: { holder: string; signal?: AbortSignal }): Promise<void>;
  propose(ref: NamespaceRef, items: Record<string, unknown>, o: WriteAs): Promise<void>;
  approve(ref: NamespaceRef, o: WriteAs): Promise<ReleaseView>;
  reject(ref: NamespaceRef, o: WriteAs): Promise<void>;
  /** Re-seals every secret of the namespace with the keyring's primary key (after a rotation). */
  reencrypt(ref: NamespaceRef, o: WriteAs): Promise<ReleaseView>;
  audit(q?: AuditQuery): Promise<AuditRecord[]>;
}

export function createConfigAdmin(options: ConfigAdminOptions): ConfigAdmin {
  const ctx = createAdminContext(options);
  const { store, specs, box, layout, audit, sig, view, write, releaseAt, plain, maskedDiff, seal, check } =
    ctx;
  const admin: ConfigAdmin = {
    publish: async (ref, items, o) => write(assertRef(ref), items, o, 'publish'),
    async preview(ref, items, o = {}) {
      const r = assertRef(ref);
      assertItems(items);
      const sealed = seal(r, items);
      const [{ issues }, current] = await Promise.all([
        check(r, sealed, o.signal),
        store.get(layout.release(r), sig(o.signal)),
      ]);
      const before = decodeDocument<ReleaseDocument>(current)?.items ?? {};
      return {
        valid: issues.length === 0,
        issues,
        diff: maskedDiff(r, before, sealed),
        baseRevision: current?.revision ?? 0,
      };
    },
    async get(ref, o = {}) {
      const r = assertRef(ref);
      const entry = await store.get(layout.release(r), sig(o.signal));
      return entry ? view(r, entry) : undefined;
    },
    async gray(ref, o = {}) {
      const r = assertRef(ref);
      const entry = await store.get(layout.gray(r), sig(o.signal));
      const doc = decodeDocument<GrayDocument>(entry);
      if (!entry || !doc) return undefined;
      return { ...view(r, entry), rule: doc.rule, baseRevision: doc.baseRevision };
    },
    async namespaces(o = {}) {
      const env = o.env === undefined ? undefined : assertName('env', o.env);
      const appPrefix = `${ctx.app}/`;
      const { entries } = await store.list(env ? layout.envPrefix(env) : appPrefix, sig(o.signal));
      const found = new Map<string, NamespaceSummary>();
      for (const e of entries) {
        const parts = e.key.slice(appPrefix.length).split('/');
        if (parts.length !== 3 || parts[0]!.startsWith('@')) continue;
        const [envName, cluster, last] = parts as [string, string, string];
        const at = last.indexOf('@');
        const namespace = at < 0 ? last : last.slice(0, at);
        const suffix = at < 0 ? '' : last.slice(at);
        if (suffix !== '' && suffix !== '@gray') continue;
        const id = `${envName}/${cluster}/${namespace}`;
        const cur = found.get(id) ?? { env: envName, cluster, namespace, revision: 0, gray: false };
        if (suffix === '@gray') cur.gray = true;
        else cur.revision = e.revision;
        found.set(id, cur);
      }
      return [...found.values()].sort(
        (a, b) =>
          a.env.localeCompare(b.env) ||
          a.cluster.localeCompare(b.cluster) ||
          a.namespace.localeCompare(b.namespace),
      );
    },
    async history(ref, o = {}) {
      const r = assertRef(ref);
      const records = await store.history(layout.release(r), {
        ...(o.limit === undefined ? {} : { limit: o.limit }),
        ...sig(o.signal),
      });
      return records.filter((h) => h.type === 'put').map((h) => view(r, h));
    },
    async diff(ref, fromRevision, toRevision, o = {}) {
      const r = assertRef(ref);
      const [a, b] = await Promise.all([
        releaseAt(r, fromRevision, o.signal),
        releaseAt(r, toRevision, o.signal),
      ]);
      return maskedDiff(r, a.items, b.items);
    },
    async diffEnvironments(namespace, fromEnv, toEnv, o = {}) {
      const cluster = o.cluster === undefined ? {} : { cluster: o.cluster };
      const a = assertRef({ env: fromEnv, namespace, ...cluster }, 'fromEnv');
      const b = assertRef({ env: toEnv, namespace, ...cluster }, 'toEnv');
      const [ea, eb] = await Promise.all([
        store.get(layout.release(a), sig(o.signal)),
        store.get(layout.release(b), sig(o.signal)),
      ]);
      const ia = decodeDocument<ReleaseDocument>(ea)?.items ?? {};
      const ib = decodeDocument<ReleaseDocument>(eb)?.items ?? {};
      // Secrets are bound to their environment: compare them after opening each with its own location.
      const d = diffItems(plain(a, ia), plain(b, ib));
      for (const k of specs[namespace]?.secrets ?? []) {
        if (k in d.added) d.added[k] = MASK;
        if (k in d.removed) d.removed[k] = MASK;
        if (k in d.changed) d.changed[k] = { from: MASK, to: MASK };
      }
      return d;
    },
    async rollback(ref, revision, o) {
      const r = assertRef(ref);
      const target = await releaseAt(r, revision, o.signal);
      const current = await store.get(layout.release(r), sig(o.signal));
      return write(
        r,
        target.items,
        {
          ...o,
          message: o.message ?? `rollback to revision ${revision}`,
          expectedRevision: current?.revision ?? 0,
          rollbackOf: revision,
        },
        'rollback',
        { to: revision },
      );
    },
    ...workflowOperations(ctx),
    async reencrypt(ref, o) {
      const r = assertRef(ref);
      if (!box) throw invalidArgument(PKG, 'keyring', 'is needed to re-encrypt');
      const cur = await store.get(layout.release(r), sig(o.signal));
      const doc = decodeDocument<ReleaseDocument>(cur);
      if (!cur || !doc) throw new SwitchyardError('NOT_FOUND', `[${PKG}] ${r.namespace} has no release`);
      return write(
        r,
        plain(r, doc.items),
        {
          ...o,
          message: o.message ?? `re-encrypt with ${box.primary}`,
          expectedRevision: cur.revision,
          seal: Object.keys(doc.items).filter((k) => isSealed(doc.items[k])),
        },
        'reencrypt',
        { key: box.primary },
      );
    },
    audit: (q) => audit.query(q),
  };
  return admin;
}
