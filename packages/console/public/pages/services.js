// Services: a paged list with counts; a service's instances live over SSE; pull-out / pull-in.
import { get, guarded, mutate, subscribe } from '../api.js';
import { age, el, table, toast } from '../dom.js';

export async function render(root, { session, params }) {
  const q = el('input', { type: 'search', placeholder: 'filter services', id: 'service-filter' });
  const list = el('div', { id: 'service-list' });
  const detail = el('div', { id: 'service-detail' });
  root.append(el('h1', {}, 'Services'), el('div', { class: 'toolbar' }, q), list, detail);
  let stop;

  async function loadList() {
    const body = await get(`/api/services?q=${encodeURIComponent(q.value)}&limit=200`);
    // replaceChildren renders null as the text "null": absent parts are empty strings.
    list.replaceChildren(
      table(
        ['SERVICE', 'INSTANCES', 'PASSING', 'PULLED OUT', 'ZONES'],
        body.services.map((s) => [s.name, s.instances, s.passing, s.pulledOut, s.zones.join(', ')]),
        (i) => ({
          class: 'clickable',
          dataset: { service: body.services[i].name },
          onclick: () => {
            location.hash = `#/services/${encodeURIComponent(body.services[i].name)}`;
          },
        }),
      ),
      body.total > body.services.length
        ? el('p', { class: 'muted' }, `${body.services.length} of ${body.total} shown: filter to narrow.`)
        : '',
    );
  }

  function showInstances(snap) {
    const canAct = !session.readOnly && snap.rulesWritable;
    const action = (path, label, danger, body) =>
      el(
        'button',
        {
          type: 'button',
          class: danger ? 'danger' : '',
          disabled: !canAct,
          onclick: guarded(async () => {
            const done = await mutate(path, body);
            if (done) toast(`${label}: done`);
          }),
        },
        label,
      );
    const base = `/api/services/${encodeURIComponent(snap.service)}`;
    const zones = [...new Set(snap.instances.map((i) => i.zone).filter(Boolean))].sort();
    detail.replaceChildren(
      el(
        'h2',
        {},
        `Instances of ${snap.service}`,
        el('span', { class: 'muted' }, ` (revision ${snap.revision})`),
      ),
      snap.instances.length === 0
        ? el('p', { class: 'muted' }, 'No instances.')
        : table(
            ['ID', 'ADDRESS', 'ZONE', 'WEIGHT', 'HEALTH', 'ROTATION', 'TAGS', 'METADATA', 'SEEN FOR', ''],
            snap.instances.map((i) => [
              i.id,
              `${i.address}:${i.port}`,
              i.zone ?? '',
              i.weight,
              el('span', { class: `health-${i.health}` }, i.health),
              i.pulledOut ? el('span', { class: 'pulled' }, `pulled out (${i.pulledBy})`) : 'in rotation',
              i.tags.join(', '),
              Object.entries(i.metadata)
                .map(([k, v]) => `${k}=${v}`)
                .join(' '),
              age(i.firstSeen),
              i.pulledBy === 'instance'
                ? action(`${base}/instances/${encodeURIComponent(i.id)}/pull-in`, 'Pull in')
                : action(`${base}/instances/${encodeURIComponent(i.id)}/pull-out`, 'Pull out', true),
            ]),
            (n) => ({ dataset: { instance: snap.instances[n].id } }),
          ),
      zones.length
        ? el(
            'div',
            { class: 'toolbar' },
            'Zones:',
            ...zones.flatMap((z) => [
              action(`/api/zones/${encodeURIComponent(z)}/pull-out`, `Pull out ${z}`, true, {
                service: snap.service,
              }),
              action(`/api/zones/${encodeURIComponent(z)}/pull-in`, `Pull in ${z}`, false, {
                service: snap.service,
              }),
            ]),
          )
        : '',
      snap.rulesWritable
        ? ''
        : el('p', { class: 'muted' }, 'Started without a rules source: pull-outs are off.'),
    );
  }

  q.addEventListener('input', guarded(loadList));
  await loadList();
  const service = params[0];
  if (service) {
    showInstances(await get(`/api/services/${encodeURIComponent(service)}`));
    stop = subscribe(`/api/services/${encodeURIComponent(service)}/events`, (snap) => {
      showInstances(snap);
      loadList().catch(() => {});
    });
  }
  return () => stop?.();
}
