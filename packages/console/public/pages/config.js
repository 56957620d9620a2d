// Config: namespaces per environment, search, and one namespace (config-namespace.js).
import { get, guarded } from '../api.js';
import { el, table } from '../dom.js';
import { enc, show } from './config-common.js';
import { renderNamespace } from './config-namespace.js';

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
      el('h3', {}, 'Namespaces'),
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
  const who = () => (author.value.trim() ? { author: author.value.trim() } : {});
  await renderNamespace(detail, { session, envParam, clusterParam, nsParam, who, reloadList: loadList });
}
