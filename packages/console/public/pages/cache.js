// Cache: per-namespace counters of this process' cache (live), its tiers and bus; delete / expire
// by tag and delete by key, guarded and audited.
import { guarded, mutate, subscribe } from '../api.js';
import { el, ms, table, toast } from '../dom.js';

const pct = (r) => (r === null || r === undefined ? '—' : `${(r * 100).toFixed(1)}%`);
const nsName = (p) => (p === '' ? '(root)' : p);

export async function render(root, { session }) {
  const status = el('span', { class: 'muted', id: 'cache-status' }, 'connecting…');
  const summary = el('div', { id: 'cache-summary' });
  const nsBox = el('div', { id: 'cache-namespaces' });
  const nsList = el('datalist', { id: 'cache-ns-list' });
  const canAct = !session.readOnly;

  const tagNs = el('input', {
    id: 'tag-namespace',
    list: 'cache-ns-list',
    placeholder: 'namespace (empty: root)',
  });
  const tags = el('input', { id: 'tag-tags', placeholder: 'tags, comma-separated', size: 30 });
  const soft = el('input', { type: 'checkbox', id: 'tag-soft' });
  const tagButton = el(
    'button',
    {
      type: 'button',
      class: 'danger',
      id: 'tag-invalidate',
      disabled: !canAct,
      onclick: guarded(async () => {
        const list = tags.value
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean);
        const done = await mutate('/api/cache/invalidate-tags', {
          namespace: tagNs.value.trim(),
          tags: list,
          soft: soft.checked,
        });
        if (done) toast(`${done.mode} entries tagged ${done.tags.join(', ')}`);
      }),
    },
    'Invalidate tags',
  );
  const keyNs = el('input', {
    id: 'key-namespace',
    list: 'cache-ns-list',
    placeholder: 'namespace (empty: root)',
  });
  const key = el('input', { id: 'key-key', placeholder: 'key', size: 30 });
  const keyButton = el(
    'button',
    {
      type: 'button',
      class: 'danger',
      id: 'key-delete',
      disabled: !canAct,
      onclick: guarded(async () => {
        const done = await mutate('/api/cache/delete-key', { namespace: keyNs.value.trim(), key: key.value });
        if (done) toast(done.deleted ? `deleted ${done.key}` : `${done.key} was not cached`);
      }),
    },
    'Delete key',
  );

  root.append(
    el('h1', {}, 'Cache ', status),
    summary,
    el('h2', {}, 'Namespaces'),
    nsBox,
    nsList,
    el('h2', {}, 'Invalidate'),
    el(
      'div',
      { class: 'toolbar' },
      'By tag:',
      tagNs,
      tags,
      el('label', {}, soft, ' soft (expire, keep grace)'),
      tagButton,
    ),
    el('div', { class: 'toolbar' }, 'By key:', keyNs, key, keyButton),
    // append(null) would render the text "null": an empty paragraph instead.
    el('p', { class: 'muted' }, canAct ? '' : 'The console is read-only: invalidations are off.'),
  );

  function show(v) {
    const bus = v.bus
      ? `${v.bus.connected ? 'connected' : 'DISCONNECTED'}${v.bus.trusted ? '' : ' (untrusted)'} · published ${v.bus.published} · received ${v.bus.received} · gaps ${v.bus.gaps} · flushes ${v.bus.flushes} · staleness bound ${ms(v.bus.stalenessBoundMs)}`
      : 'none: invalidations reach this process only';
    summary.replaceChildren(
      el(
        'dl',
        { class: 'stats' },
        [
          ['cache', v.name],
          ['tiers', v.tierNames.join(' → ')],
          ['L1 entries', v.l1 ? v.l1.entries : '—'],
          ['L1 bytes', v.l1 ? v.l1.bytes : '—'],
          ['L1 evictions', v.l1 ? v.l1.evictions : '—'],
          ...v.tiers.map((t) => [
            `store ${t.name}`,
            `${t.open ? 'SKIPPED (breaker open)' : 'ok'} · ${t.failures} failures`,
          ]),
        ].map(([k, val]) => el('div', {}, el('dt', {}, k), el('dd', {}, String(val)))),
      ),
      el('p', { id: 'cache-bus' }, `Bus: ${bus}`),
    );
    nsList.replaceChildren(...v.namespaces.map((n) => el('option', { value: n.path })));
    nsBox.replaceChildren(
      v.namespaces.length === 0
        ? el('p', { class: 'muted' }, 'No namespace used yet.')
        : table(
            [
              'NAMESPACE',
              ...v.tierNames.map((t) => `HITS ${t}`),
              'MISSES',
              'HIT RATIO',
              'LOADS',
              'JOINED / NO LOAD',
              'MEAN LOAD',
              'LOAD ERRORS',
              'STALE SERVED',
              'NEGATIVE HITS',
              'EARLY REFRESH',
              'SETS',
              'DELETES',
            ],
            v.namespaces.map((n) => [
              nsName(n.path),
              ...v.tierNames.map((_t, i) => `${n.hits[i] ?? 0} (${pct(n.tierHitRatio[i])})`),
              n.misses,
              pct(n.hitRatio),
              n.loads,
              n.missesWithoutLoad,
              n.meanLoadMs === null ? '—' : ms(n.meanLoadMs),
              n.loadErrors > 0 ? el('span', { class: 'error' }, String(n.loadErrors)) : '0',
              n.staleServed,
              n.negativeHits,
              n.earlyRefreshes,
              n.sets,
              n.deletes,
            ]),
            (i) => ({ dataset: { namespace: v.namespaces[i].path } }),
          ),
      el(
        'p',
        { class: 'muted' },
        `Counters of this process' cache since it started · updated ${new Date(v.at).toLocaleTimeString()}. "Joined / no load": misses that started no load (callers that joined a load in flight, and plain get misses).`,
      ),
    );
  }

  const stop = subscribe('/api/cache/live', (v) => {
    if (v.error) {
      status.textContent = `error: ${v.error.message}`;
      status.className = 'error';
      return;
    }
    status.textContent = 'live';
    status.className = 'muted';
    show(v);
  });
  return stop;
}
