import type { ConfigAdmin, ItemsDiff, NamespaceRef, ReleaseView } from '@switchyard/config-center';
import type { ConsoleModule, ConsoleRequest, ConsoleRoute } from '../console-module.js';
import { badRequest, HttpError, notFound } from '../http/http-error.js';
import {
  auditAction,
  authorOf,
  conflict,
  diffCounts,
  diffViews,
  intOf,
  itemsOf,
  MASK,
  name,
  notesOf,
  refOf,
  refText,
  ruleOf,
  ruleText,
  schemaError,
} from './config/config-input.js';
import { configSearchRoute } from './config/config-search.js';

type Ref = Required<NamespaceRef>;
const NS = '/api/config/ns/:env/:cluster/:namespace';

/**
 * The Config page: namespaces per environment, the live release, history with diffs, diffs between
 * releases and environments, and guarded publish / rollback / gray start, promote and abort over a
 * `ConfigAdmin` of @switchyard/config-center. Every preview is the diff against live.
 */
export function configModule(admin: ConfigAdmin): ConsoleModule {
  const live = async (ref: Ref, signal: AbortSignal) => admin.get(ref, { signal });
  const needLive = async (ref: Ref, signal: AbortSignal): Promise<ReleaseView> => {
    const r = await live(ref, signal);
    if (!r) throw notFound(`a live release of ${refText(ref)}`);
    return r;
  };
  const needGray = async (req: ConsoleRequest) => {
    const ref = refOf(req);
    const gray = await admin.gray(ref, { signal: req.signal });
    if (!gray) throw notFound(`a gray release of ${refText(ref)}`);
    const expected = intOf(req.body['grayRevision'], 'grayRevision', 1);
    if (gray.revision !== expected) {
      throw conflict(
        'grayRevision',
        `the gray release is now at revision ${gray.revision}, not ${expected}: reload and review it`,
      );
    }
    return { ref, gray };
  };
  const checkExpected = (req: ConsoleRequest, current: number, required: boolean) => {
    const raw = req.body['expectedRevision'];
    if (raw === undefined && !required) return;
    if (raw === undefined) throw badRequest('expectedRevision', 'is required: the live revision you edited');
    const expected = intOf(raw, 'expectedRevision', 0);
    if (expected !== current) {
      throw conflict(
        'expectedRevision',
        `live is now at revision ${current}, not ${expected}: someone published; reload and review`,
      );
    }
  };
  /** Diff against live of `items` published whole, with the admin's schema verdict. */
  const publishPreview = async (req: ConsoleRequest) => {
    const ref = refOf(req);
    const items = itemsOf(req.body['items']);
    const notes = notesOf(req, true);
    authorOf(req);
    const p = await admin.preview(ref, items, { signal: req.signal });
    checkExpected(req, p.baseRevision, true);
    if (!p.valid) throw schemaError(p.issues);
    return { ref, items, notes, diff: p.diff, baseRevision: p.baseRevision };
  };
  /** Live ∪ gray overlay, as the matching instances will see it: diff and (when it can tell) validity. */
  const overlayPreview = async (ref: Ref, overlay: Record<string, unknown>, signal: AbortSignal) => {
    const current = (await live(ref, signal))?.items ?? {};
    const merged = { ...current, ...overlay };
    const masked = Object.values(merged).some((v) => v === MASK);
    if (masked) {
      return {
        diff: diffViews(current, merged, Object.keys(overlay)),
        validation: 'checked when it runs (secrets)',
      };
    }
    const p = await admin.preview(ref, merged, { signal });
    if (!p.valid) throw schemaError(p.issues);
    return { diff: p.diff, validation: 'valid' };
  };
  const result = async (ref: Ref, signal: AbortSignal, release?: ReleaseView) => ({
    release,
    live: (await live(ref, signal)) ?? null,
    gray: (await admin.gray(ref, { signal })) ?? null,
  });

  const routes: ConsoleRoute[] = [
    {
      method: 'GET',
      pattern: '/api/config/namespaces',
      async handle(req) {
        const env = req.query.get('env');
        const namespaces = await admin.namespaces({
          ...(env ? { env: name('env', env) } : {}),
          signal: req.signal,
        });
        return { namespaces, environments: [...new Set(namespaces.map((n) => n.env))].sort() };
      },
    },
    {
      method: 'GET',
      pattern: NS,
      async handle(req) {
        const ref = refOf(req);
        const [current, gray] = await Promise.all([
          live(ref, req.signal),
          admin.gray(ref, { signal: req.signal }),
        ]);
        return { ref, live: current ?? null, gray: gray ?? null };
      },
    },
    {
      method: 'GET',
      pattern: `${NS}/history`,
      async handle(req) {
        const ref = refOf(req);
        const limitRaw = req.query.get('limit');
        const limit = limitRaw === null ? 20 : intOf(limitRaw, 'limit', 1);
        if (limit > 100) throw badRequest('limit', 'must be at most 100');
        // One more than shown: the oldest shown release is diffed against its predecessor.
        const all = await admin.history(ref, { limit: limit + 1, signal: req.signal });
        const newest = [...all].sort((a, b) => b.revision - a.revision);
        const shown = newest.slice(0, limit);
        const releases = await Promise.all(
          shown.map(async (r, i) => {
            const prev = newest[i + 1];
            const diff: ItemsDiff | null = prev
              ? await admin.diff(ref, prev.revision, r.revision, { signal: req.signal })
              : null;
            return { ...r, previousRevision: prev?.revision ?? null, diff, live: i === 0 };
          }),
        );
        return { ref, releases, more: newest.length > limit };
      },
    },
    {
      method: 'GET',
      pattern: `${NS}/diff`,
      async handle(req) {
        const ref = refOf(req);
        const from = intOf(req.query.get('from'), 'from', 1);
        const to = intOf(req.query.get('to'), 'to', 1);
        return { ref, from, to, diff: await admin.diff(ref, from, to, { signal: req.signal }) };
      },
    },
    {
      method: 'GET',
      pattern: '/api/config/env-diff/:cluster/:namespace',
      async handle(req) {
        const cluster = name('cluster', req.params['cluster']);
        const namespace = name('namespace', req.params['namespace']);
        const from = name('from', req.query.get('from'));
        const to = name('to', req.query.get('to'));
        const diff = await admin.diffEnvironments(namespace, from, to, { cluster, signal: req.signal });
        return { namespace, cluster, from, to, diff };
      },
    },
    configSearchRoute(admin),
    {
      method: 'GET',
      pattern: '/api/config/audit',
      async handle(req) {
        const q = req.query;
        const env = q.get('env');
        const namespace = q.get('namespace');
        const actor = q.get('actor');
        const action = auditAction(q.get('action'));
        const limit = q.get('limit') === null ? 50 : intOf(q.get('limit'), 'limit', 1);
        if (limit > 1000) throw badRequest('limit', 'must be at most 1000');
        const records = await admin.audit({
          ...(env ? { env: name('env', env) } : {}),
          ...(namespace ? { namespace: name('namespace', namespace) } : {}),
          ...(actor ? { actor } : {}),
          ...(action ? { action: action as never } : {}),
          limit,
          signal: req.signal,
        });
        return { records };
      },
    },
    {
      method: 'POST',
      pattern: `${NS}/publish`,
      mutation: {
        target: (req) => `config ${refText(refOf(req))}`,
        async preview(req) {
          const p = await publishPreview(req);
          return {
            summary: `publish ${refText(p.ref)} over live revision ${p.baseRevision}: ${diffCounts(p.diff)}`,
            details: { diff: p.diff, validation: 'valid', baseRevision: p.baseRevision, notes: p.notes },
          };
        },
      },
      async handle(req) {
        const p = await publishPreview(req);
        const release = await admin.publish(p.ref, p.items, {
          author: authorOf(req),
          message: p.notes!,
          expectedRevision: p.baseRevision,
          signal: req.signal,
        });
        return result(p.ref, req.signal, release);
      },
    },
    {
      method: 'POST',
      pattern: `${NS}/rollback`,
      mutation: {
        target: (req) => `config ${refText(refOf(req))}`,
        async preview(req) {
          const ref = refOf(req);
          const revision = intOf(req.body['revision'], 'revision', 1);
          notesOf(req, false);
          authorOf(req);
          const current = await needLive(ref, req.signal);
          checkExpected(req, current.revision, false);
          const diff = await admin.diff(ref, current.revision, revision, { signal: req.signal });
          return {
            summary: `roll ${refText(ref)} back to revision ${revision}: a new release over live revision ${current.revision} (${diffCounts(diff)})`,
            details: { diff, from: current.revision, to: revision },
          };
        },
      },
      async handle(req) {
        const ref = refOf(req);
        const revision = intOf(req.body['revision'], 'revision', 1);
        const notes = notesOf(req, false);
        checkExpected(req, (await needLive(ref, req.signal)).revision, false);
        const release = await admin.rollback(ref, revision, {
          author: authorOf(req),
          message: notes ?? `rollback to revision ${revision}`,
          signal: req.signal,
        });
        return result(ref, req.signal, release);
      },
    },
    {
      method: 'POST',
      pattern: `${NS}/gray`,
      mutation: {
        target: (req) => `config ${refText(refOf(req))} gray`,
        async preview(req) {
          const ref = refOf(req);
          const items = itemsOf(req.body['items']);
          const rule = ruleOf(req.body['rule']);
          notesOf(req, true);
          authorOf(req);
          if (Object.keys(items).length === 0) throw badRequest('items', 'must change at least one item');
          const existing = await admin.gray(ref, { signal: req.signal });
          const p = await overlayPreview(ref, items, req.signal);
          return {
            summary: `gray release of ${refText(ref)} to ${ruleText(rule)}: ${diffCounts(p.diff)} for them${existing ? ` (replaces the gray release at revision ${existing.revision})` : ''}`,
            details: { diff: p.diff, rule, validation: p.validation },
          };
        },
      },
      async handle(req) {
        const ref = refOf(req);
        const release = await admin.startGray(ref, itemsOf(req.body['items']), ruleOf(req.body['rule']), {
          author: authorOf(req),
          message: notesOf(req, true)!,
          signal: req.signal,
        });
        return result(ref, req.signal, release);
      },
    },
    {
      method: 'POST',
      pattern: `${NS}/gray/promote`,
      mutation: {
        target: (req) => `config ${refText(refOf(req))} gray`,
        async preview(req) {
          const { ref, gray } = await needGray(req);
          notesOf(req, false);
          authorOf(req);
          const p = await overlayPreview(ref, gray.items, req.signal);
          return {
            summary: `promote the gray release of ${refText(ref)} (${ruleText(gray.rule)}, by ${gray.author ?? '?'}) to every instance: ${diffCounts(p.diff)}`,
            details: { diff: p.diff, rule: gray.rule, validation: p.validation },
          };
        },
      },
      async handle(req) {
        const { ref } = await needGray(req);
        const notes = notesOf(req, false);
        const release = await admin.promoteGray(ref, {
          author: authorOf(req),
          ...(notes ? { message: notes } : {}),
          signal: req.signal,
        });
        return result(ref, req.signal, release);
      },
    },
    {
      method: 'POST',
      pattern: `${NS}/gray/abort`,
      mutation: {
        target: (req) => `config ${refText(refOf(req))} gray`,
        async preview(req) {
          const { ref, gray } = await needGray(req);
          notesOf(req, false);
          authorOf(req);
          const current = (await live(ref, req.signal))?.items ?? {};
          const diff = diffViews({ ...current, ...gray.items }, current, Object.keys(gray.items));
          return {
            summary: `abort the gray release of ${refText(ref)} (${ruleText(gray.rule)}): its instances go back to live (${diffCounts(diff)} for them)`,
            details: { diff, rule: gray.rule },
          };
        },
      },
      async handle(req) {
        const { ref, gray } = await needGray(req);
        const notes = notesOf(req, false);
        const aborted = await admin.abortGray(ref, {
          author: authorOf(req),
          expectedRevision: gray.revision,
          ...(notes ? { message: notes } : {}),
          signal: req.signal,
        });
        if (!aborted) throw new HttpError(409, 'CONFLICT', 'the gray release changed or ended meanwhile');
        return result(ref, req.signal);
      },
    },
  ];
  return { name: 'config', title: 'Config', routes };
}
