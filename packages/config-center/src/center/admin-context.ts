import { randomUUID } from 'node:crypto';
import {
  assertInteger,
  assertNonEmptyString,
  type ConfigEntry,
  invalidArgument,
  SwitchyardError,
  systemClock,
} from '@switchyard/core';
import { AuditLog, type AuditRecord } from './audit-log.js';
import type { ConfigAdminOptions, ReleaseView, WriteAs } from './config-admin.js';
import { resolveNamespace, secretLocation } from './namespace-resolver.js';
import { diffItems, type ItemsDiff } from './release-diff.js';
import {
  assertItems,
  assertName,
  DEFAULT_CLUSTER,
  DEFAULT_COMPRESS_ABOVE,
  decodeDocument,
  encodeDocument,
  type LockDocument,
  type NamespaceRef,
  type ReleaseDocument,
  ReleaseLayout,
} from './release-layout.js';
import { isSealed, SecretBox } from './secret-box.js';
import { validateWith } from './standard-schema.js';

const PKG = 'config-center';
export const MASK = '******';

/** What every admin operation shares: sealing, validation before apply, the lock check, the audited write. */
export type AdminContext = ReturnType<typeof createAdminContext>;

export function createAdminContext(options: ConfigAdminOptions) {
  const { store } = options;
  if (!store || typeof store.put !== 'function') throw invalidArgument(PKG, 'store', 'must be a ConfigStore');
  const app = assertName('app', options.app);
  const specs = options.namespaces ?? {};
  const box = options.keyring ? new SecretBox(options.keyring) : undefined;
  const clock = options.clock ?? systemClock;
  const layout = new ReleaseLayout(app);
  const compressAbove = options.compressAbove ?? DEFAULT_COMPRESS_ABOVE;
  if (!Number.isInteger(compressAbove) || compressAbove < 0)
    throw invalidArgument(PKG, 'compressAbove', 'must be an integer ≥ 0 (bytes)');
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

  /** The namespace as every client would resolve it with `sealed` released, and its schema issues. */
  async function check(
    r: Required<NamespaceRef>,
    sealed: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<{ issues: string[]; field: string }> {
    const spec = specs[r.namespace] ?? {};
    const key = layout.release(r);
    const docs = new Map<string, ConfigEntry>();
    // Only an inherited namespace or a non-default cluster adds layers below the candidate.
    if (spec.inherits !== undefined || r.cluster !== DEFAULT_CLUSTER) {
      const { entries } = await store.list(layout.envPrefix(r.env), sig(signal));
      for (const e of entries) docs.set(e.key, e);
    }
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
      return { issues: [`does not resolve: ${(cause as Error).message}`], field: 'items' };
    }
    const result = await validateWith(spec.schema, items);
    if (result.ok) return { issues: [], field: '' };
    const first = result.issues[0] ?? 'invalid';
    const path = first.includes(':') ? first.slice(0, first.indexOf(':')) : '';
    return { issues: result.issues, field: path ? `items.${path}` : 'items' };
  }

  /** Validated before apply: refuses what any client would refuse. */
  async function validate(
    r: Required<NamespaceRef>,
    sealed: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<void> {
    const { issues, field } = await check(r, sealed, signal);
    if (issues.length > 0) {
      throw new SwitchyardError(
        'INVALID_ARGUMENT',
        `[${PKG}] items of ${r.namespace} fail the schema: ${issues.join('; ')}`,
        { field, details: { issues } },
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
    const sealed = seal(r, items, o.seal);
    await Promise.all([checkLock(r, o.lockHolder, o.signal), validate(r, sealed, o.signal)]);
    const doc: ReleaseDocument = { id: `rel-${randomUUID()}`, items: sealed, author: who, time: clock.now() };
    if (o.message !== undefined) doc.message = o.message;
    if (o.rollbackOf !== undefined) doc.rollbackOf = o.rollbackOf;
    const entry = await store.put(layout.release(r), encodeDocument(doc, compressAbove), {
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

  return {
    compressAbove,
    store,
    app,
    specs,
    box,
    clock,
    layout,
    audit,
    sig,
    author,
    seal,
    mask,
    view,
    check,
    validate,
    checkLock,
    write,
    releaseAt,
    plain,
    maskedDiff,
  };
}
