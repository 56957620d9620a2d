// Config: namespaces per environment; for one namespace the LIVE release, its gray release, history
// with diffs, compare releases / environments, and guarded publish, rollback, gray promote / abort.
import { ApiError, get, guarded, mutate, post } from '../api.js';
import { el, table, toast } from '../dom.js';

const enc = encodeURIComponent;
const when = (t) => (typeof t === 'number' ? new Date(t).toISOString().replace('T', ' ').slice(0, 19) : '');
const show = (v) => (v === undefined ? '' : JSON.stringify(v));

/** The operator's name for releases and the config center's audit (remembered in this browser). */
function authorInput() {
  const input = el('input', {
    id: 'config-author',
    placeholder: 'your name (recorded on releases)',
    value: localStorage.getItem('switchyard.author') ?? '',
    size: 28,
  });
  input.addEventListener('change', () => localStorage.setItem('switchyard.author', input.value.trim()));
  return input;
}

function diffCount(d) {
  if (!d) return 'first release';
  const n = (o) => Object.keys(o).length;
  const total = n(d.added) + n(d.changed) + n(d.removed);
  return total === 0 ? 'no change' : `+${n(d.added)} ~${n(d.changed)} -${n(d.removed)}`;
}

/** A side-by-side diff: item | left | right, coloured by kind. */
export function diffTable(d, left, right, id) {
  const rows = [
    ...Object.entries(d.changed).map(([k, v]) => ['diff-chg', k, show(v.from), show(v.to)]),
    ...Object.entries(d.added).map(([k, v]) => ['diff-add', k, '', show(v)]),
    ...Object.entries(d.removed).map(([k, v]) => ['diff-del', k, show(v), '']),
  ];
  if (rows.length === 0)
    return el('p', { class: 'muted', id }, `No difference between ${left} and ${right}.`);
  return el(
    'div',
    { id },
    table(
      ['ITEM', left, right],
      rows.map(([, k, a, b]) => [el('code', {}, k), a, b]),
      (i) => ({ class: rows[i][0] }),
    ),
  );
}

function errorText(error) {
  const field = error instanceof ApiError ? error.body?.field : undefined;
  return field ? `${field}: ${error.message}` : error.message;
}

export async function render(root, { session, params }) {
  const [envParam, clusterParam, nsParam] = params;
  const author = authorInput();
  const list = el('div', { id: 'config-namespaces' });
  const detail = el('div', { id: 'config-detail' });
  const envFilter = el('select', { id: 'config-env' }, el('option', { value: '' }, 'all environments'));
  const openForm = el(
    'form',
    {
      class: 'toolbar',
      onsubmit: (e) => {
        e.preventDefault();
        const f = new FormData(openForm);
        location.hash = `#/config/${enc(f.get('env'))}/${enc(f.get('cluster') || 'default')}/${enc(f.get('ns'))}`;
      },
    },
    'Open',
    el('input', { name: 'env', placeholder: 'env', required: true, size: 10 }),
    el('input', { name: 'cluster', placeholder: 'default', size: 10 }),
    el('input', { name: 'ns', placeholder: 'namespace', required: true, size: 16 }),
    el('button', { type: 'submit' }, 'Open'),
  );
  const search = el('input', {
    type: 'search',
    id: 'config-search',
    placeholder: 'search keys and values',
    size: 24,
  });
  const results = el('div', { id: 'config-search-results' });
  const runSearch = guarded(async (e) => {
    e?.preventDefault?.();
    const env = envFilter.value ? `&env=${enc(envFilter.value)}` : '';
    const body = await get(`/api/config/search?q=${enc(search.value)}${env}`);
    const open = (m) => () => {
      location.hash = `#/config/${enc(m.env)}/${enc(m.cluster)}/${enc(m.namespace)}`;
    };
    results.replaceChildren(
      ...[
        el('h3', {}, `${body.total} item(s) matching "${body.q}" in ${body.scanned} namespace(s)`),
        body.matches.length === 0
          ? el('p', { class: 'muted' }, 'Nothing matches (secrets are never matched by value).')
          : table(
              ['ENV', 'CLUSTER', 'NAMESPACE', 'ITEM', 'LIVE VALUE'],
              body.matches.map((m) => [m.env, m.cluster, m.namespace, el('code', {}, m.item), show(m.value)]),
              (i) => ({ class: 'clickable', onclick: open(body.matches[i]) }),
            ),
        body.truncated ? el('p', { class: 'muted' }, 'Only the first 500 namespaces were searched.') : null,
      ].filter(Boolean),
    );
  });
  const searchForm = el(
    'form',
    { class: 'toolbar', onsubmit: runSearch },
    search,
    el('button', { type: 'submit', id: 'config-search-button' }, 'Search'),
  );
  root.append(
    el('h1', {}, 'Config'),
    el('div', { class: 'toolbar' }, envFilter, author),
    searchForm,
    results,
    list,
    openForm,
    detail,
  );

  async function loadList() {
    const env = envFilter.value;
    const body = await get(`/api/config/namespaces${env ? `?env=${enc(env)}` : ''}`);
    if (envFilter.options.length === 1) {
      for (const e of body.environments) envFilter.append(el('option', { value: e }, e));
    }
    list.replaceChildren(
      body.namespaces.length === 0
        ? el('p', { class: 'muted' }, 'No namespace has a release yet: open one by name to publish.')
        : table(
            ['ENV', 'CLUSTER', 'NAMESPACE', 'LIVE REVISION', 'GRAY'],
            body.namespaces.map((n) => [
              n.env,
              n.cluster,
              n.namespace,
              n.revision || '—',
              n.gray ? el('span', { class: 'badge gray' }, 'gray running') : '',
            ]),
            (i) => {
              const n = body.namespaces[i];
              const here = n.env === envParam && n.cluster === clusterParam && n.namespace === nsParam;
              return {
                class: here ? 'clickable selected' : 'clickable',
                dataset: { ns: `${n.env}/${n.cluster}/${n.namespace}` },
                onclick: () => {
                  location.hash = `#/config/${enc(n.env)}/${enc(n.cluster)}/${enc(n.namespace)}`;
                },
              };
            },
          ),
    );
  }
  envFilter.addEventListener('change', guarded(loadList));
  await loadList();
  if (!envParam || !clusterParam || !nsParam) return;

  const base = `/api/config/ns/${enc(envParam)}/${enc(clusterParam)}/${enc(nsParam)}`;
  const name = `${envParam}/${clusterParam}/${nsParam}`;
  const canWrite = !session.readOnly;
  const who = () => (author.value.trim() ? { author: author.value.trim() } : {});

  /** A guarded mutation; on success the page re-renders with the effective config. */
  async function act(path, body, done) {
    const result = await mutate(path, { ...body, ...who() });
    if (!result) return;
    toast(done(result));
    // The editor is re-filled from the new live release: an unpublished draft is never left
    // standing over it (Apollo's "pending edits after a rollback"), and the page says so.
    const editor = document.getElementById('publish-items');
    discarded = !path.endsWith('/publish') && editor !== null && editor.value !== editor.defaultValue;
    await Promise.all([load(), loadList()]);
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
      canWrite ? publishSection(ns) : el('p', { class: 'muted' }, 'Read-only console: publishing is off.'),
      canWrite ? grayEditor(ns) : null,
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

  function publishSection(ns) {
    const editor = el('textarea', { id: 'publish-items', rows: 10, spellcheck: 'false' });
    editor.defaultValue = JSON.stringify(ns.live?.items ?? {}, null, 2);
    editor.value = editor.defaultValue;
    const notes = el('input', { id: 'publish-notes', placeholder: 'release notes (required)', size: 50 });
    const feedback = el('div', { id: 'publish-preview' });
    const body = () => {
      let items;
      try {
        items = JSON.parse(editor.value);
      } catch (e) {
        throw new Error(`items: not JSON (${e.message})`);
      }
      return { items, notes: notes.value, expectedRevision: ns.live?.revision ?? 0, ...who() };
    };
    const fail = (error) =>
      feedback.replaceChildren(el('p', { class: 'error', id: 'publish-error' }, errorText(error)));
    const preview = guarded(async () => {
      try {
        await post(`${base}/publish`, body());
      } catch (error) {
        if (error instanceof ApiError && error.body?.error === 'CONFIRMATION_REQUIRED') {
          const c = error.body.confirmation;
          feedback.replaceChildren(
            el('p', {}, c.summary),
            el('p', { class: 'ok' }, 'Schema: valid.'),
            diffTable(
              c.details.diff,
              `live (revision ${c.details.baseRevision})`,
              'your draft',
              'publish-diff',
            ),
          );
          return;
        }
        fail(error);
      }
    });
    const publish = guarded(async () => {
      try {
        await act(`${base}/publish`, body(), (x) => `published: live revision ${x.live.revision}`);
      } catch (error) {
        fail(error);
      }
    });
    const secrets = Object.values(ns.live?.items ?? {}).includes('******');
    return el(
      'section',
      { id: 'publish-editor', class: 'panel draft' },
      el('h3', {}, el('span', { class: 'badge draft' }, 'DRAFT'), ' Publish a new release (all items, JSON)'),
      discarded
        ? el(
            'p',
            { class: 'error', id: 'draft-discarded' },
            `Your unpublished draft was discarded: the editor now shows live revision ${ns.live?.revision}.`,
          )
        : null,
      secrets
        ? el(
            'p',
            { class: 'muted' },
            'Secrets show as ****** and must be typed again to publish (the console never reads them).',
          )
        : null,
      editor,
      el(
        'div',
        { class: 'toolbar' },
        notes,
        el(
          'button',
          { type: 'button', id: 'publish-preview-button', onclick: preview },
          'Preview diff against live',
        ),
        el('button', { type: 'button', id: 'publish-button', class: 'danger', onclick: publish }, 'Publish…'),
      ),
      feedback,
    );
  }

  function grayEditor(ns) {
    const items = el('textarea', {
      id: 'gray-items',
      rows: 4,
      spellcheck: 'false',
      placeholder: '{ "item": "value for gray instances" }',
    });
    const pct = el('input', {
      id: 'gray-percentage',
      type: 'number',
      min: 0,
      max: 100,
      step: 'any',
      size: 5,
      placeholder: '%',
    });
    const labels = el('input', { id: 'gray-labels', placeholder: 'labels zone=a,tier=web', size: 24 });
    const notes = el('input', { id: 'gray-notes', placeholder: 'notes (required)', size: 30 });
    const feedback = el('div', { id: 'gray-feedback' });
    const start = guarded(async () => {
      try {
        const rule = {};
        if (pct.value !== '') rule.percentage = Number(pct.value);
        if (labels.value.trim()) {
          rule.labels = Object.fromEntries(
            labels.value
              .split(',')
              .map((p) => p.trim())
              .filter(Boolean)
              .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
          );
        }
        let overlay;
        try {
          overlay = JSON.parse(items.value || '{}');
        } catch (e) {
          throw new Error(`items: not JSON (${e.message})`);
        }
        await act(
          `${base}/gray`,
          { items: overlay, rule, notes: notes.value },
          (x) => `gray release started: revision ${x.gray?.revision}`,
        );
        feedback.replaceChildren();
      } catch (error) {
        feedback.replaceChildren(el('p', { class: 'error' }, errorText(error)));
      }
    });
    return el(
      'section',
      { id: 'gray-editor', class: 'panel draft' },
      el('h3', {}, 'Gray release (items overlaid on live for matching instances)'),
      ns.gray ? el('p', { class: 'muted' }, 'Starting a new one replaces the running gray release.') : null,
      items,
      el(
        'div',
        { class: 'toolbar' },
        pct,
        labels,
        notes,
        el('button', { type: 'button', id: 'gray-start', onclick: start }, 'Start gray…'),
      ),
      feedback,
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
