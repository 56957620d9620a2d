import { randomUUID } from 'node:crypto';
import { assertDuration, assertNonEmptyString, SwitchyardError } from '@switchyard/core';
import type { AdminContext } from './admin-context.js';
import type { ConfigAdmin } from './config-admin.js';
import { validateGrayRule } from './gray-rule.js';
import {
  assertItems,
  assertRef,
  decodeDocument,
  encodeDocument,
  type GrayDocument,
  type LockDocument,
  type ProposalDocument,
  type ReleaseDocument,
} from './release-layout.js';

const PKG = 'config-center';

/** Gray release, the editing lock and the approval flow. */
export function workflowOperations(
  ctx: AdminContext,
): Pick<
  ConfigAdmin,
  'startGray' | 'promoteGray' | 'abortGray' | 'lock' | 'unlock' | 'propose' | 'approve' | 'reject'
> {
  const { store, layout, audit, clock, sig, author, seal, validate, view, checkLock, write } = ctx;
  return {
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
      const entry = await store.put(layout.gray(r), encodeDocument(doc, ctx.compressAbove), {
        author: who,
        ...sig(o.signal),
      });
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
      await store.put(layout.proposal(r), encodeDocument(doc, ctx.compressAbove), {
        author: who,
        ...sig(o.signal),
      });
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
  };
}
