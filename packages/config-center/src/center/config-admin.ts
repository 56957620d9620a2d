import { randomUUID } from 'node:crypto';
import {
  assertDuration,
  assertInteger,
  assertNonEmptyString,
  type Clock,
  type ConfigEntry,
  type ConfigStore,
  invalidArgument,
  SwitchyardError,
  systemClock,
} from '@switchyard/core';
import { AuditLog, type AuditQuery, type AuditRecord } from './audit-log.js';
import { type GrayRule, validateGrayRule } from './gray-rule.js';
import { type NamespaceSpec, resolveNamespace, secretLocation } from './namespace-resolver.js';
import { diffItems, type ItemsDiff } from './release-diff.js';
import {
  assertItems,
  assertName,
  assertRef,
  decodeDocument,
  type GrayDocument,
  type LockDocument,
  type NamespaceRef,
  type ProposalDocument,
  type ReleaseDocument,
  ReleaseLayout,
} from './release-layout.js';
import { isSealed, type Keyring, SecretBox } from './secret-box.js';
import { validateWith } from './standard-schema.js';

const PKG = 'config-center';

export interface ConfigAdminOptions {
  store: ConfigStore;
  app: string;
  /** How each namespace is validated and which items are secret (the same specs the clients use). */
  namespaces?: Record<string, NamespaceSpec>;
  keyring?: Keyring;
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

export const MASK = '******';

/** The operator side: publish, history, diff, rollback, gray, lock, approval, audit. */
export interface ConfigAdmin {
  publish(
    ref: NamespaceRef,
    items: Record<string, unknown>,
    o: WriteAs & { expectedRevision?: number; lockHolder?: string },
  ): Promise<ReleaseView>;
  get(ref: NamespaceRef, o?: { signal?: AbortSignal }): Promise<ReleaseView | undefined>;
  history(ref: NamespaceRef, o?: { limit?: number; signal?: AbortSignal }): Promise<ReleaseView[]>;
  diff(ref: NamespaceRef, fromRevision: number, toRevision: number): Promise<ItemsDiff>;
  diffEnvironments(
    namespace: string,
    fromEnv: string,
    toEnv: string,
    o?: { cluster?: string },
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
  const { store } = options;
  if (!store || typeof store.put !== 'function') throw invalidArgument(PKG, 'store', 'must be a ConfigStore');
  const app = assertName('app', options.app);
  const specs = options.namespaces ?? {};
  const box = options.keyring ? new SecretBox(options.keyring) : undefined;
  const clock = options.clock ?? systemClock;
  const layout = new ReleaseLayout(app);
  const audit = new AuditLog(store, layout, clock);
  const sig = (s?: AbortSignal) => (s ? { signal: s } : {});
  const author = (o: WriteAs) => assertNonEmptyString(PKG, 'author', o?.author, 256);

  function seal(
    r: Required<NamespaceRef>,
    items: Record<string, unknown>,
    extra: string[] = [],
  ): Record<string, unknown> {
    const secrets = [...(specs[r.namespace]?.secrets ?? []), ...extra];
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(items)) {
      if (!secrets.includes(k) || isSealed(v)) out[k] = v;
      else if (!box) throw invalidArgument(PKG, 'keyring', `is needed: "${k}" of ${r.namespace} is a secret`);
      else out[k] = box.seal(v, secretLocation(app, r.env, r.namespace, k));
    }
    return out;
  }

  function mask(items: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(items).map(([k, v]) => [k, isSealed(v) ? MASK : v]));
  }

  function view(_r: Required<NamespaceRef>, entry: ConfigEntry): ReleaseView {
    const doc = decodeDocument<ReleaseDocument>(entry)!;
    return {
      revision: entry.revision,
      id: doc.id,
      items: mask(doc.items),
      author: doc.author,
      message: doc.message,
      time: doc.time,
      ...(doc.rollbackOf === undefined ? {} : { rollbackOf: doc.rollbackOf }),
    };
  }

  /** Validated before apply: the namespace as every client would resolve it must pass its schema. */
  async function validate(
    r: Required<NamespaceRef>,
    sealed: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<void> {
    const spec = specs[r.namespace] ?? {};
    const key = layout.release(r);
    const docs = new Map<string, ConfigEntry>();
    const { entries } = await store.list(layout.envPrefix(r.env), sig(signal));
    for (const e of entries) docs.set(e.key, e);
    const candidate = { id: 'candidate', items: sealed, time: clock.now() } satisfies ReleaseDocument;
    docs.set(key, {
      key,
      value: JSON.stringify(candidate),
      revision: Number.MAX_SAFE_INTEGER,
      createRevision: 0,
      version: 0,
      updatedAt: 0,
    });
    let items: Record<string, unknown>;
    try {
      items = resolveNamespace({
        layout,
        ...r,
        spec,
        instance: undefined,
        box,
        lookup: (k) => docs.get(k),
      }).items;
    } catch (cause) {
      throw new SwitchyardError(
        'INVALID_ARGUMENT',
        `[${PKG}] items of ${r.namespace} do not resolve: ${(cause as Error).message}`,
        { field: 'items', cause },
      );
    }
    const result = await validateWith(spec.schema, items);
    if (!result.ok) {
      const first = result.issues[0] ?? 'invalid';
      const path = first.includes(':') ? first.slice(0, first.indexOf(':')) : '';
      throw new SwitchyardError(
        'INVALID_ARGUMENT',
        `[${PKG}] items of ${r.namespace} fail the schema: ${result.issues.join('; ')}`,
        {
          field: path ? `items.${path}` : 'items',
          details: { issues: result.issues },
        },
      );
    }
  }

  async function checkLock(
    r: Required<NamespaceRef>,
    holder: string | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const lock = decodeDocument<LockDocument>(await store.get(layout.lock(r), sig(signal)));
    if (lock && lock.expiresAt > clock.now() && lock.holder !== holder) {
      throw new SwitchyardError('CONFLICT', `[${PKG}] ${r.namespace} is locked by ${lock.holder}`, {
        field: 'lock',
        details: { holder: lock.holder },
      });
    }
  }

  async function write(
    r: Required<NamespaceRef>,
    items: Record<string, unknown>,
    o: WriteAs & { expectedRevision?: number; lockHolder?: string; rollbackOf?: number; seal?: string[] },
    action: AuditRecord['action'],
    details?: Record<string, unknown>,
  ): Promise<ReleaseView> {
    const who = author(o);
    assertItems(items);
    if (o.expectedRevision !== undefined) assertInteger(PKG, 'expectedRevision', o.expectedRevision, 0);
    await checkLock(r, o.lockHolder, o.signal);
    const sealed = seal(r, items, o.seal);
    await validate(r, sealed, o.signal);
    const doc: ReleaseDocument = { id: `rel-${randomUUID()}`, items: sealed, author: who, time: clock.now() };
    if (o.message !== undefined) doc.message = o.message;
    if (o.rollbackOf !== undefined) doc.rollbackOf = o.rollbackOf;
    const entry = await store.put(layout.release(r), JSON.stringify(doc), {
      author: who,
      ...(o.message === undefined ? {} : { message: o.message }),
      ...(o.expectedRevision === undefined ? {} : { expectedRevision: o.expectedRevision }),
      ...sig(o.signal),
    });
    await audit.record({
      action,
      actor: who,
      ...r,
      revision: entry.revision,
      ...(details ? { details } : {}),
    });
    return view(r, entry);
  }

  async function releaseAt(
    r: Required<NamespaceRef>,
    revision: number,
    signal?: AbortSignal,
  ): Promise<ReleaseDocument> {
    assertInteger(PKG, 'revision', revision, 1);
    const records = await store.history(layout.release(r), sig(signal));
    const rec = records.find((h) => h.revision === revision && h.type === 'put');
    if (!rec)
      throw new SwitchyardError(
        'NOT_FOUND',
        `[${PKG}] ${r.namespace} has no release at revision ${revision}`,
        { details: { revision } },
      );
    return decodeDocument<ReleaseDocument>(rec)!;
  }

  function plain(r: Required<NamespaceRef>, items: Record<string, unknown>): Record<string, unknown> {
    if (!box) return items;
    return Object.fromEntries(
      Object.entries(items).map(([k, v]) => [
        k,
        isSealed(v) ? box.open(v, secretLocation(app, r.env, r.namespace, k)) : v,
      ]),
    );
  }

  function maskedDiff(
    r: Required<NamespaceRef>,
    a: Record<string, unknown>,
    b: Record<string, unknown>,
  ): ItemsDiff {
    const d = diffItems(plain(r, a), plain(r, b));
    const secret = new Set([
      ...(specs[r.namespace]?.secrets ?? []),
      ...Object.keys(a).filter((k) => isSealed(a[k])),
      ...Object.keys(b).filter((k) => isSealed(b[k])),
    ]);
    for (const k of secret) {
      if (k in d.added) d.added[k] = MASK;
      if (k in d.removed) d.removed[k] = MASK;
      if (k in d.changed) d.changed[k] = { from: MASK, to: MASK };
    }
    return d;
  }

  const admin: ConfigAdmin = {
    publish: async (ref, items, o) => write(assertRef(ref), items, o, 'publish'),
    async get(ref, o = {}) {
      const r = assertRef(ref);
      const entry = await store.get(layout.release(r), sig(o.signal));
      return entry ? view(r, entry) : undefined;
    },
    async history(ref, o = {}) {
      const r = assertRef(ref);
      const records = await store.history(layout.release(r), {
        ...(o.limit === undefined ? {} : { limit: o.limit }),
        ...sig(o.signal),
      });
      return records.filter((h) => h.type === 'put').map((h) => view(r, h));
    },
    async diff(ref, fromRevision, toRevision) {
      const r = assertRef(ref);
      const [a, b] = await Promise.all([releaseAt(r, fromRevision), releaseAt(r, toRevision)]);
      return maskedDiff(r, a.items, b.items);
    },
    async diffEnvironments(namespace, fromEnv, toEnv, o = {}) {
      const a = assertRef({ env: fromEnv, namespace, ...o }, 'fromEnv');
      const b = assertRef({ env: toEnv, namespace, ...o }, 'toEnv');
      const [ea, eb] = await Promise.all([store.get(layout.release(a)), store.get(layout.release(b))]);
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
    async startGray(ref, items, rule, o) {
      const r = assertRef(ref);
      const who = author(o);
      validateGrayRule(rule);
      assertItems(items);
      await checkLock(r, undefined, o.signal);
      const main = await store.get(layout.release(r), sig(o.signal));
      const mainItems = decodeDocument<ReleaseDocument>(main)?.items ?? {};
      const sealed = seal(r, items);
      await validate(r, { ...mainItems, ...sealed }, o.signal);
      const doc: GrayDocument = {
        id: `gray-${randomUUID()}`,
        items: sealed,
        author: who,
        time: clock.now(),
        rule,
        baseRevision: main?.revision ?? 0,
      };
      if (o.message !== undefined) doc.message = o.message;
      const entry = await store.put(layout.gray(r), JSON.stringify(doc), { author: who, ...sig(o.signal) });
      await audit.record({
        action: 'gray:start',
        actor: who,
        ...r,
        revision: entry.revision,
        details: { rule },
      });
      return view(r, entry);
    },
    async promoteGray(ref, o) {
      const r = assertRef(ref);
      const grayEntry = await store.get(layout.gray(r), sig(o.signal));
      const gray = decodeDocument<GrayDocument>(grayEntry);
      if (!grayEntry || !gray)
        throw new SwitchyardError('NOT_FOUND', `[${PKG}] ${r.namespace} has no gray release`);
      const main = await store.get(layout.release(r), sig(o.signal));
      const mainItems = decodeDocument<ReleaseDocument>(main)?.items ?? {};
      const released = await write(
        r,
        { ...mainItems, ...gray.items },
        { ...o, message: o.message ?? `promote ${gray.id}`, expectedRevision: main?.revision ?? 0 },
        'gray:promote',
        { gray: gray.id },
      );
      await store
        .delete(layout.gray(r), { expectedRevision: grayEntry.revision, author: author(o) })
        .catch(() => false);
      return released;
    },
    async abortGray(ref, o) {
      const r = assertRef(ref);
      const who = author(o);
      const entry = await store.get(layout.gray(r), sig(o.signal));
      if (!entry || (o.expectedRevision !== undefined && entry.revision !== o.expectedRevision)) return false;
      const deleted = await store
        .delete(layout.gray(r), { expectedRevision: entry.revision, author: who, ...sig(o.signal) })
        .catch((e) => {
          if ((e as SwitchyardError).code === 'CONFLICT') return false;
          throw e;
        });
      if (deleted)
        await audit.record({
          action: o.automatic ? 'auto-rollback' : 'gray:abort',
          actor: who,
          ...r,
          details: {
            gray: decodeDocument<GrayDocument>(entry)?.id,
            ...(o.message ? { reason: o.message } : {}),
          },
        });
      return deleted;
    },
    async lock(ref, o) {
      const r = assertRef(ref);
      const holder = assertNonEmptyString(PKG, 'holder', o?.holder, 256);
      const ttl = assertDuration(PKG, 'ttl', o.ttl ?? 600_000);
      const key = layout.lock(r);
      const cur = await store.get(key, sig(o.signal));
      const lock = decodeDocument<LockDocument>(cur);
      if (lock && lock.expiresAt > clock.now() && lock.holder !== holder) {
        throw new SwitchyardError('CONFLICT', `[${PKG}] ${r.namespace} is locked by ${lock.holder}`, {
          field: 'lock',
          details: { holder: lock.holder },
        });
      }
      await store.put(key, JSON.stringify({ holder, expiresAt: clock.now() + ttl } satisfies LockDocument), {
        expectedRevision: cur?.revision ?? 0,
        author: holder,
        ...sig(o.signal),
      });
      await audit.record({ action: 'lock', actor: holder, ...r, details: { ttl } });
    },
    async unlock(ref, o) {
      const r = assertRef(ref);
      const holder = assertNonEmptyString(PKG, 'holder', o?.holder, 256);
      const cur = await store.get(layout.lock(r), sig(o.signal));
      const lock = decodeDocument<LockDocument>(cur);
      if (!cur || !lock) return;
      if (lock.holder !== holder && lock.expiresAt > clock.now())
        throw new SwitchyardError('CONFLICT', `[${PKG}] ${r.namespace} is locked by ${lock.holder}`, {
          field: 'holder',
        });
      await store.delete(layout.lock(r), {
        expectedRevision: cur.revision,
        author: holder,
        ...sig(o.signal),
      });
      await audit.record({ action: 'unlock', actor: holder, ...r });
    },
    async propose(ref, items, o) {
      const r = assertRef(ref);
      const who = author(o);
      assertItems(items);
      const sealed = seal(r, items);
      await validate(r, sealed, o.signal);
      const main = await store.get(layout.release(r), sig(o.signal));
      const doc: ProposalDocument = {
        items: sealed,
        author: who,
        time: clock.now(),
        baseRevision: main?.revision ?? 0,
      };
      if (o.message !== undefined) doc.message = o.message;
      await store.put(layout.proposal(r), JSON.stringify(doc), { author: who, ...sig(o.signal) });
      await audit.record({ action: 'propose', actor: who, ...r });
    },
    async approve(ref, o) {
      const r = assertRef(ref);
      const who = author(o);
      const entry = await store.get(layout.proposal(r), sig(o.signal));
      const p = decodeDocument<ProposalDocument>(entry);
      if (!entry || !p) throw new SwitchyardError('NOT_FOUND', `[${PKG}] ${r.namespace} has no proposal`);
      if (p.author === who)
        throw new SwitchyardError('CONFLICT', `[${PKG}] ${who} proposed this release and cannot approve it`, {
          field: 'author',
        });
      const released = await write(
        r,
        p.items,
        {
          author: who,
          message: o.message ?? p.message ?? `approved proposal of ${p.author}`,
          expectedRevision: p.baseRevision,
          ...sig(o.signal),
        },
        'approve',
        { proposer: p.author },
      );
      await store
        .delete(layout.proposal(r), { expectedRevision: entry.revision, author: who })
        .catch(() => false);
      return released;
    },
    async reject(ref, o) {
      const r = assertRef(ref);
      const who = author(o);
      const entry = await store.get(layout.proposal(r), sig(o.signal));
      if (!entry) throw new SwitchyardError('NOT_FOUND', `[${PKG}] ${r.namespace} has no proposal`);
      await store.delete(layout.proposal(r), { expectedRevision: entry.revision, author: who });
      await audit.record({
        action: 'reject',
        actor: who,
        ...r,
        ...(o.message ? { details: { reason: o.message } } : {}),
      });
    },
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
