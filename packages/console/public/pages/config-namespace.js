// Config page, one namespace: the LIVE release, its GRAY release, history with diffs, compare
// releases / environments, the DRAFT editors (publish, gray) and the config center's audit.
import { get, guarded, mutate } from '../api.js';
import { el, table, toast } from '../dom.js';
import { diffCount, diffTable, enc, show, when } from './config-common.js';
import { grayEditor, publishSection } from './config-editors.js';

/**
 * Renders namespace `env/cluster/namespace` into `detail`; `who()` is the operator's name,
 * `reloadList()` refreshes the namespace list after an action.
 */
export async function renderNamespace(detail, { session, envParam, clusterParam, nsParam, who, reloadList }) {
  const base = `/api/config/ns/${enc(envParam)}/${enc(clusterParam)}/${enc(nsParam)}`;
  const name = `${envParam}/${clusterParam}/${nsParam}`;
  const canWrite = !session.readOnly;

  /** A guarded mutation; on success the page re-renders with the effective config. */
  async function act(path, body, done) {
    const result = await mutate(path, { ...body, ...who() });
    if (!result) return;
    toast(done(result));
    // The editor is re-filled from the new live release: an unpublished draft is never left
    // standing over it (Apollo's "pending edits after a rollback"), and the page says so.
    const editor = document.getElementById('publish-items');
    discarded = !path.endsWith('/publish') && editor !== null && editor.value !== editor.defaultValue;
    await Promise.all([load(), reloadList()]);
  }
  let discarded = false;

  async function load() {
    const [ns, hist, audit] = await Promise.all([
      get(base),
      get(`${base}/history?limit=20`),
      get(`/api/config/audit?env=${enc(envParam)}&namespace=${enc(nsParam)}&limit=30`),
    ]);
    const liveBox = liveSection(ns);
    const parts = [
      el('h2', {}, name),
      liveBox,
      graySection(ns),
      historySection(ns, hist),
      compareSection(hist),
      canWrite
        ? publishSection(ns, { base, act, who, discarded })
        : el('p', { class: 'muted' }, 'Read-only console: publishing is off.'),
      canWrite ? grayEditor(ns, { base, act }) : null,
      auditSection(audit.records),
    ];
    detail.replaceChildren(...parts.filter(Boolean)); // replaceChildren would print a null
  }

  function liveSection(ns) {
    const r = ns.live;
    if (!r) {
      return el(
        'section',
        { id: 'config-live', class: 'panel' },
        el('p', { class: 'muted' }, 'No live release: publish the first one below.'),
      );
    }
    return el(
      'section',
      { id: 'config-live', class: 'panel live' },
      el(
        'h3',
        {},
        el('span', { class: 'badge live' }, 'LIVE'),
        ` revision ${r.revision}`,
        r.rollbackOf ? ` (rollback to ${r.rollbackOf})` : '',
      ),
      el(
        'p',
        {},
        `by ${r.author ?? '?'} at ${when(r.time)} · `,
        el('q', { id: 'config-live-notes' }, r.message ?? '(no notes)'),
      ),
      table(
        ['ITEM', 'VALUE'],
        Object.entries(r.items).map(([k, v]) => [el('code', {}, k), show(v)]),
        (i) => ({ dataset: { item: Object.keys(r.items)[i] } }),
      ),
    );
  }

  function graySection(ns) {
    const g = ns.gray;
    if (!g) return null;
    const rule = [
      g.rule.percentage !== undefined ? `${g.rule.percentage}% of instances` : null,
      g.rule.labels
        ? `labels ${Object.entries(g.rule.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}`
        : null,
      g.rule.instances ? `instances ${g.rule.instances.join(', ')}` : null,
      g.rule.ips ? `ips ${g.rule.ips.join(', ')}` : null,
    ]
      .filter(Boolean)
      .join(' or ');
    return el(
      'section',
      { id: 'config-gray', class: 'panel gray' },
      el(
        'h3',
        {},
        el('span', { class: 'badge gray' }, 'GRAY'),
        ` revision ${g.revision} on live ${g.baseRevision}`,
      ),
      el('p', {}, `To ${rule} · by ${g.author ?? '?'} at ${when(g.time)} · ${g.message ?? ''}`),
      el(
        'p',
        { class: 'muted' },
        'Instance counts are not tracked by the config center: check your app metrics.',
      ),
      diffTable(grayDiff(ns), 'live', 'gray instances', 'config-gray-diff'),
      el(
        'div',
        { class: 'toolbar' },
        el(
          'button',
          {
            type: 'button',
            id: 'gray-promote',
            disabled: !canWrite,
            onclick: guarded(() =>
              act(
                `${base}/gray/promote`,
                { grayRevision: g.revision },
                (x) => `promoted: live revision ${x.live.revision}`,
              ),
            ),
          },
          'Promote to everyone…',
        ),
        el(
          'button',
          {
            type: 'button',
            id: 'gray-abort',
            class: 'danger',
            disabled: !canWrite,
            onclick: guarded(() =>
              act(`${base}/gray/abort`, { grayRevision: g.revision }, () => 'gray release aborted'),
            ),
          },
          'Abort…',
        ),
      ),
    );
  }

  function grayDiff(ns) {
    const live = ns.live?.items ?? {};
    const d = { added: {}, removed: {}, changed: {} };
    for (const [k, v] of Object.entries(ns.gray.items)) {
      if (!(k in live)) d.added[k] = v;
      else d.changed[k] = { from: live[k], to: v };
    }
    return d;
  }

  function historySection(ns, hist) {
    const out = el('div', { id: 'config-history-diff' });
    const releases = hist.releases;
    const rollback = (rev) =>
      act(
        `${base}/rollback`,
        { revision: rev, expectedRevision: ns.live?.revision },
        (x) => `rolled back: live revision ${x.live.revision} = revision ${rev}`,
      );
    const previous = releases[1];
    return el(
      'section',
      { id: 'config-history' },
      el('h3', {}, 'History'),
      previous && canWrite
        ? el(
            'div',
            { class: 'toolbar' },
            el(
              'button',
              {
                type: 'button',
                id: 'rollback-previous',
                class: 'danger',
                onclick: guarded(() => rollback(previous.revision)),
              },
              `Roll back to the previous release (revision ${previous.revision})…`,
            ),
          )
        : null,
      table(
        ['REVISION', 'TIME', 'AUTHOR', 'NOTES', 'CHANGES', ''],
        releases.map((r) => [
          r.live
            ? el('span', {}, `${r.revision} `, el('span', { class: 'badge live' }, 'LIVE'))
            : String(r.revision),
          when(r.time),
          r.author ?? '',
          r.message ?? (r.rollbackOf ? `rollback to ${r.rollbackOf}` : ''),
          el(
            'button',
            {
              type: 'button',
              class: 'link',
              dataset: { diff: r.revision },
              onclick: () =>
                out.replaceChildren(
                  el('h4', {}, `Revision ${r.revision} vs ${r.previousRevision ?? 'nothing'}`),
                  r.diff
                    ? diffTable(r.diff, `revision ${r.previousRevision}`, `revision ${r.revision}`)
                    : el('p', { class: 'muted' }, 'The first release.'),
                ),
            },
            diffCount(r.diff),
          ),
          !r.live && canWrite
            ? el(
                'button',
                {
                  type: 'button',
                  dataset: { rollback: r.revision },
                  onclick: guarded(() => rollback(r.revision)),
                },
                'Roll back to this…',
              )
            : '',
        ]),
        (i) => ({ dataset: { revision: releases[i].revision } }),
      ),
      hist.more ? el('p', { class: 'muted' }, 'Older releases: use the compare form.') : null,
      out,
    );
  }

  function compareSection(hist) {
    const out = el('div', { id: 'config-compare' });
    const revs = hist.releases.map((r) => r.revision);
    const from = el(
      'select',
      { id: 'compare-from' },
      revs.map((v) => el('option', { value: v }, `revision ${v}`)),
    );
    const to = el(
      'select',
      { id: 'compare-to' },
      revs.map((v) => el('option', { value: v }, `revision ${v}`)),
    );
    if (revs.length > 1) from.value = String(revs[1]);
    const otherEnv = el('input', { id: 'compare-env', placeholder: 'other env', size: 10 });
    return el(
      'section',
      {},
      el('h3', {}, 'Compare'),
      el(
        'div',
        { class: 'toolbar' },
        from,
        '→',
        to,
        el(
          'button',
          {
            type: 'button',
            id: 'compare-releases',
            onclick: guarded(async () => {
              const body = await get(`${base}/diff?from=${enc(from.value)}&to=${enc(to.value)}`);
              out.replaceChildren(diffTable(body.diff, `revision ${body.from}`, `revision ${body.to}`));
            }),
          },
          'Compare releases',
        ),
        el('span', { class: 'muted' }, '·'),
        `${envParam} vs`,
        otherEnv,
        el(
          'button',
          {
            type: 'button',
            id: 'compare-envs',
            onclick: guarded(async () => {
              const body = await get(
                `/api/config/env-diff/${enc(clusterParam)}/${enc(nsParam)}?from=${enc(envParam)}&to=${enc(otherEnv.value.trim())}`,
              );
              out.replaceChildren(diffTable(body.diff, `${body.from} (live)`, `${body.to} (live)`));
            }),
          },
          'Compare environments',
        ),
      ),
      out,
    );
  }

  function auditSection(records) {
    return el(
      'section',
      { id: 'config-audit' },
      el('h3', {}, 'Config center audit (every writer: consoles, CLIs, auto-rollbacks)'),
      records.length === 0
        ? el('p', { class: 'muted' }, 'No records.')
        : table(
            ['TIME', 'ACTOR', 'ACTION', 'REVISION', 'DETAILS'],
            records.map((r) => [
              when(r.time),
              r.actor,
              r.action,
              r.revision ?? '',
              r.details ? JSON.stringify(r.details) : '',
            ]),
          ),
    );
  }

  await load();
}
